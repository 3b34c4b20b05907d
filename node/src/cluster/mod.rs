//! The node runtime: its Raft groups, how it reaches peers, and how it turns the metadata
//! into running groups.
//!
//! - `node`: `Node` (start, groups, tombstones, ordered shutdown) and what it is given
//!   (`NodeDeps`).
//! - `propose`: writing to a group from any node, with errors that say whether the write
//!   certainly did not happen.
//! - `coalesce`: a shard leader's concurrent appends coalesced into one Raft entry.
//! - `read`: linearizable shard reads at the leader, from any node.
//! - `reconcile`: metadata into running groups, reports, token key rotation.
//! - `join`: an empty node asks its peers before it joins; a node whose volume was lost
//!   refuses to start, or with confirmation rebuilds and votes only once caught up.
//! - `handoff`: a stopping node hands its leaderships to other voters first.
//! - `liveness`: node-level liveness, each peer asked a few times a second who it leads.
//! - `leadership`: the groups led here, followed per group through openraft's server
//!   metrics (what `liveness` answers, and each won term's quota start).
//! - `quiesce`: idle groups stop ticking (no heartbeats); followers rely on `liveness` and
//!   elect at once when their leader's node is lost.
//! - `reshard`: carrying out a recorded split or merge (seal the parents, then complete).
//! - `retention`: trims proposed by shard leaders, log purges on every replica.
//! - `throughput`: Kinesis's per-shard quotas at the leader (the `kinesis_limits` mode)
//!   and the write rate that on-demand streams scale by.
//! - `supervise`: restart-on-panic for long-running tasks.
//! - `peer_handler`: what the node does with each peer message (`transport::PeerHandler`).
//! - `status`: this node's view of its groups, for the Admin service, and its readiness.
//! - `metrics`: Raft and storage series, sampled (leader changes, lags, bytes on disk).
//! - `clock`: wall-clock time, injected.

pub mod clock;
pub mod coalesce;
pub mod handoff;
pub mod join;
pub mod leadership;
pub mod liveness;
pub mod metrics;
pub mod node;
pub mod peer_handler;
pub mod propose;
pub mod quiesce;
pub mod read;
pub mod reconcile;
pub mod reshard;
pub mod retention;
pub mod status;
pub mod supervise;
pub mod throughput;

pub use node::{Continuation, LostLeader, Node, NodeDeps, ParentEnd, ReadCheck, SecretSource, TrimPath};
