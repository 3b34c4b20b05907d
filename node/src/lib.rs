//! `runnel-node`: one node of a Runnel cluster.
//!
//! A stream is a set of shards; each shard is its own Raft group (openraft), replicated on
//! `replication_factor` nodes. A metadata group on every node holds streams, shards, hash
//! ranges and placement. All groups of a node share one storage engine and one fsync per
//! batch of appends (group commit).
//!
//! # Layout
//! Layers, top to bottom; a module imports only from layers below it (tests/layers.rs
//! checks this):
//! - `api`: the gRPC wire adapters on the client port (Kinesis, Admin), the one
//!   mapping of errors to gRPC status, and the operations listener (`/metrics`,
//!   `/healthz`, `/readyz`).
//! - `kinesis`: the Kinesis service, independent of any wire: plain requests in, plain
//!   responses or `KinesisError` out; authenticated tokens; validation; stream ARNs;
//!   bounded work; Kinesis's CloudWatch metrics.
//! - `cluster`: the node runtime: groups, proposals and linearizable reads from any node,
//!   reconciling metadata into running groups, reshards and retention carried out,
//!   per-shard throughput quotas and on-demand splits at the leader, supervision, the peer
//!   message handler, readiness, Raft and disk metrics (sampled), joining the cluster
//!   (refusing or rebuilding a node whose volume came back empty), and leaderships handed
//!   over before a stop.
//! - `replica`: the state machine of every group, dispatching commands to `shard` or
//!   `control` and persisting the applied state; snapshots of either kind.
//! - `shard` and `control`: the shard logic (sequence numbers, index, reads, snapshots,
//!   retention trims) and the metadata logic (streams, shards, placement, reshards,
//!   retention periods, capacity modes and record sizes, token keys, commands; tags,
//!   resource policies, enhanced monitoring, account settings, the cluster's shard limit).
//! - `raft`: Raft plumbing only: type config with opaque commands, stored formats of
//!   entries and votes, the log store (its newest entries cached in memory), the network
//!   over the transport, snapshot streams, the async runtime (seeded; a panic in a Raft task stops the node).
//! - `transport`: node-to-node channels and each peer's Raft stream, on which the Raft
//!   messages of every group and the writes forwarded to the peer go in batches (client
//!   half), and the peer listener (server half).
//! - `storage`: the `Engine` trait, RocksDB and in-memory engines, key kinds, the value
//!   envelope (version, CRC), group commit, its metrics (fsync latency, batch size).
//! - Leaves used by all: `domain` (newtypes), `limits` (quotas), `config`, `failstop`,
//!   `crypto` (the cipher of records encrypted at rest, and the cluster's key).

pub mod api;
pub mod cluster;
pub mod config;
pub mod control;
pub mod crypto;
pub mod domain;
pub mod failstop;
pub mod kinesis;
pub mod limits;
pub mod raft;
pub mod replica;
pub mod shard;
pub mod storage;
pub mod transport;
