//! `runnel-node`: one node of a Runnel cluster.
//!
//! A stream is a set of shards; each shard is its own Raft group (openraft), replicated on
//! `replication_factor` nodes. A metadata group on every node holds streams, shards, hash
//! ranges and placement. All groups of a node share one storage engine and one fsync per
//! batch of appends (group commit).
//!
//! # Layout
//! - `limits`: every Kinesis quota, as named constants.
//! - `config`: node configuration (flags, environment, file).
//! - `domain`: newtypes: `ShardId`, `GroupId`, `SequenceNumber`, `StreamName`, `HashKey`.
//! - `storage`: the `Engine` trait, RocksDB and in-memory engines, key layouts, group commit.
//! - `raft`: openraft type config, log store, network, and the per-group state machine.
//! - `shard`: appending (sequence numbers) and reading (the index over the log) a shard.
//! - `control`: the metadata state (streams, shards, placement) and its commands.
//! - `cluster`: the node runtime: groups, peers, proposals and reads from any node,
//!   reconciling metadata into running groups.
//! - `api`: the gRPC services (`Kinesis`, `Admin`, `Peer`), tokens, validation, and the one
//!   mapping of errors to gRPC status.

pub mod api;
pub mod cluster;
pub mod config;
pub mod control;
pub mod domain;
pub mod limits;
pub mod raft;
pub mod shard;
pub mod storage;
