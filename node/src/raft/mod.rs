//! Raft plumbing shared by every group, and nothing else: the type configuration (commands
//! and replies are opaque bytes), how entries, votes and log ids are stored (`stored`),
//! the log store over the node's engine (its newest entries cached in memory, `recent`),
//! the network over the peer transport, snapshots as streams of chunks, and the async
//! runtime (seeded, and fail-stop on a panic). What a command means, and what a snapshot
//! chunk holds, belongs to the state machines above (`replica/`, `shard/`, `control/`).

pub mod log_store;
pub mod network;
pub mod recent;
pub mod runtime;
pub mod snapshot;
pub mod stored;
pub mod types;

pub use types::{Command, Reply, TypeConfig};
