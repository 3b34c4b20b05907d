//! The state machine of every group, above the shard and metadata logic and below the
//! node runtime: it decodes each committed command, hands it to `shard/` or `control/`,
//! persists the result with the applied state in one batch, and answers the proposer.
//!
//! - `command`: the commands a group accepts (`GroupCommand`) and its replies.
//! - `state_machine`: openraft's `RaftStateMachine` for both kinds of group.
//! - `snapshot`: snapshots of both kinds of group as chunk streams, staging and install.

pub mod command;
pub mod snapshot;
pub mod state_machine;

pub use command::{GroupCommand, GroupReply};
pub use state_machine::{GroupStateMachine, Holds, MetaShared};

/// A Raft group's handle, whatever the group holds.
pub type Raft = openraft::Raft<crate::raft::TypeConfig, GroupStateMachine>;
