//! What a group is asked to do, and what it answers.

use crate::control::{MetaCommand, MetaResult};
use crate::domain::SequenceNumber;
use crate::raft::types::{Command, CommandKind, Reply};
use crate::shard::append::AppendRefused;
use crate::shard::batch::{AppendBatch, BatchView};
use serde::{Deserialize, Serialize};

/// A command for a group, before encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupCommand {
    /// Records to append to a shard (shard groups only).
    Append(AppendBatch),
    /// A change to streams, shards or placement (metadata group only).
    Meta(MetaCommand),
    /// Close the shard to writes: appends ordered after it are refused (shard groups only).
    Seal,
    /// Drop the records that arrived before `before_ms` (retention; shard groups only). The
    /// leader picks the time, so every replica drops the same records.
    Trim { before_ms: i64 },
}

/// A decoded command, borrowing record data from the entry.
pub enum Decoded<'a> {
    Append(BatchView<'a>),
    Meta(MetaCommand),
    Seal,
    Trim { before_ms: i64 },
}

impl GroupCommand {
    pub fn encode(&self) -> Result<Command, String> {
        match self {
            GroupCommand::Append(batch) => {
                Command::build(CommandKind::Append, batch.encoded_bytes_max(), |buf| batch.encode_into(buf))
                    .map_err(|e| e.to_string())
            }
            GroupCommand::Meta(cmd) => cmd.encode().map_err(|e| e.to_string()),
            GroupCommand::Seal => Command::build(CommandKind::Seal, 0, |_| Ok::<(), String>(())),
            GroupCommand::Trim { before_ms } => Command::build(CommandKind::Trim, 8, |buf| {
                buf.extend_from_slice(&before_ms.to_be_bytes());
                Ok::<(), String>(())
            }),
        }
    }
}

/// Decodes command bytes; an undecodable command is refused, never a panic.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, String> {
    match Command::split(bytes)? {
        (CommandKind::Append, body) => BatchView::decode(body).map(Decoded::Append).map_err(|e| e.to_string()),
        (CommandKind::Meta, body) => MetaCommand::decode(body).map(Decoded::Meta),
        (CommandKind::Seal, []) => Ok(Decoded::Seal),
        (CommandKind::Seal, _) => Err("a seal carries no body".into()),
        (CommandKind::Trim, body) => match <[u8; 8]>::try_from(body) {
            Ok(bytes) => Ok(Decoded::Trim { before_ms: i64::from_be_bytes(bytes) }),
            Err(_) => Err(format!("a trim carries 8 bytes, not {}", body.len())),
        },
    }
}

/// A group's answer to one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupReply {
    /// The sequence numbers of an `Append`, record for record.
    Appended(Vec<SequenceNumber>),
    /// The shard refused the append; nothing was written.
    AppendRefused(AppendRefused),
    Meta(MetaResult),
    /// The shard is sealed (now or earlier); `last_counter` is its newest record's counter
    /// and never changes again.
    Sealed {
        last_counter: u64,
    },
    /// Records before `first_counter` are gone (now or by an earlier trim).
    Trimmed {
        first_counter: u64,
    },
    /// A command this group does not hold (an `Append` sent to the metadata group...), or
    /// one it cannot decode; nothing was applied.
    Refused(String),
    /// Blank and membership entries.
    Empty,
}

impl GroupReply {
    pub fn encode(&self) -> Reply {
        // Plain enums of Runnel's own types: encoding cannot fail.
        Reply(postcard::to_stdvec(self).unwrap_or_default())
    }

    pub fn decode(reply: &Reply) -> GroupReply {
        postcard::from_bytes(&reply.0).unwrap_or_else(|e| GroupReply::Refused(format!("undecodable reply: {e}")))
    }
}
