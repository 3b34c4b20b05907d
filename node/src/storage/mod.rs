//! Storage: one engine per node, shared by every Raft group on it.
//!
//! - `engine`: the `Engine` trait (ordered key-value column families, unsynced writes,
//!   an explicit `sync`), with a RocksDB engine and an in-memory engine for simulation.
//! - `keys`: how each kind of key is laid out; every key starts with its group id.
//! - `group_commit`: one fsync for the appends of many groups.

pub mod engine;
pub mod group_commit;
pub mod keys;
pub mod memory;
pub mod rocks;

pub use engine::{Batch, Cf, Engine};
pub use group_commit::{AckPolicy, GroupCommit};
