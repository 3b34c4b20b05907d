//! The metadata group's state machine: streams, shards, hash ranges, placement, and the
//! keys that sign client tokens.
//!
//! - `state`: what the metadata holds.
//! - `command`: the commands that change it and their deterministic `apply` (bad commands
//!   are refused the same way on every replica, never asserted on).
//! - `placement`: where a shard's replicas live.
//! - `reshard`: splits, merges and UNIFORM_SCALING steps; the tiling and lineage
//!   invariants.
//! - `retention`: retention periods, and forgetting closed shards once expired.
//! - `consumers`: enhanced fan-out consumers and their subscriptions' leases.
//! - `capacity`: stream modes, the largest record, warm throughput.
//! - `encryption`: whether a stream's new records are encrypted, and its KeyId.
//! - `attributes`: tags, resource policies, enhanced monitoring, account settings and the
//!   cluster's shard limit.
//! - `applied`: the metadata group's applied state as persisted.

pub mod applied;
pub mod attributes;
pub mod capacity;
pub mod command;
pub mod consumers;
pub mod encryption;
pub mod placement;
pub mod reshard;
pub mod retention;
pub mod state;

pub use applied::MetaApplied;
pub use attributes::{AccountSettings, CommitmentStatus, ShardMetric, Tags};
pub use command::{MetaCommand, MetaResult};
pub use consumers::{ConsumerMeta, ConsumerRef, ConsumerRefused, ConsumerStatus, Lease};
pub use retention::RetentionChange;
pub use state::{Closed, MetaState, Reshard, ShardMeta, StreamMeta, StreamMode, StreamStatus, TokenKey};
