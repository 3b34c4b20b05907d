//! Storage: one engine per node, shared by every Raft group on it.
//!
//! - `engine`: the `Engine` trait (ordered key-value column families, unsynced writes,
//!   an explicit `sync`), with a RocksDB engine (`rocks`) and an in-memory engine for
//!   simulation (`memory`).
//! - `keys`: the one enum of key kinds (stable numbers) and how each key is laid out;
//!   every key starts with its group id.
//! - `envelope`: the version byte and CRC around every persisted value.
//! - `group_commit`: one fsync for the appends of many groups; a failed fsync stops the
//!   node.
//! - `metrics`: fsync latency, group-commit batch sizes, bytes on disk.

pub mod engine;
pub mod envelope;
pub mod group_commit;
pub mod keys;
pub mod memory;
pub mod metrics;
pub mod rocks;

pub use engine::{off_thread, Batch, Cf, Engine};
pub use group_commit::{AckPolicy, GroupCommit};
pub use metrics::SyncMetrics;
