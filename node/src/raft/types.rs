use serde::{Deserialize, Serialize};
use std::fmt;

openraft::declare_raft_types!(
    /// One type configuration for every group. Commands and replies are opaque bytes:
    /// Raft carries them without looking inside, and the state machines above own their
    /// formats (replica/command.rs), so nothing here depends on shards or metadata.
    pub TypeConfig:
        D = Command,
        R = Reply,
        NodeId = u64,
        // A peer address: where the node's peer listener is.
        Node = openraft::BasicNode,
        // Standard Raft elections: at most one leader per term (openraft's default allows
        // several per term, told apart by node id).
        LeaderId = openraft::impls::leader_id_std::LeaderId<u64, u64>,
        AsyncRuntime = Runtime,
);

pub use super::runtime::Runtime;

pub type Entry = openraft::alias::EntryOf<TypeConfig>;
pub type EntryPayload = openraft::alias::EntryPayloadOf<TypeConfig>;
pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
pub type Vote = openraft::alias::VoteOf<TypeConfig>;
pub type Membership = openraft::Membership<u64, openraft::BasicNode>;
pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;

/// An encoded command for a group's state machine: `[COMMAND_FORMAT][kind][body]`. The
/// body belongs to the state machine of that kind (shard/batch.rs, control/command.rs).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// The command layout of this release. Persisted (commands live in log entries).
pub const COMMAND_FORMAT: u8 = 1;

/// Which state machine a command is for. Persisted: never renumber.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// Records for a shard.
    Append = 1,
    /// A change to the cluster metadata.
    Meta = 2,
    /// Closes a shard to writes (a reshard's parent).
    Seal = 3,
    /// Drops a shard's records that retention expired.
    Trim = 4,
}

impl Command {
    /// A command of `kind` whose body `write` appends (about `body_bytes` of it).
    pub fn build<E>(
        kind: CommandKind,
        body_bytes: usize,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Command, E> {
        let mut bytes = Vec::with_capacity(2 + body_bytes);
        bytes.push(COMMAND_FORMAT);
        bytes.push(kind as u8);
        write(&mut bytes)?;
        Ok(Command(bytes))
    }

    /// The kind and body of encoded command bytes.
    pub fn split(bytes: &[u8]) -> Result<(CommandKind, &[u8]), String> {
        match bytes {
            [COMMAND_FORMAT, 1, body @ ..] => Ok((CommandKind::Append, body)),
            [COMMAND_FORMAT, 2, body @ ..] => Ok((CommandKind::Meta, body)),
            [COMMAND_FORMAT, 3, body @ ..] => Ok((CommandKind::Seal, body)),
            [COMMAND_FORMAT, 4, body @ ..] => Ok((CommandKind::Trim, body)),
            [COMMAND_FORMAT, kind, ..] => Err(format!("unknown command kind {kind}")),
            [format, ..] => Err(format!("unknown command format {format}")),
            [] => Err("empty command".into()),
        }
    }
}

/// An encoded answer of a group's state machine to one command.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply(#[serde(with = "serde_bytes")] pub Vec<u8>);

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({} bytes)", self.0.len())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "command of {} bytes", self.0.len())
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reply({} bytes)", self.0.len())
    }
}

/// A log id from its parts.
pub fn log_id(term: u64, index: u64) -> LogId {
    LogId::new_term_index(term, index)
}
