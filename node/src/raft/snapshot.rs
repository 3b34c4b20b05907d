//! Snapshots in motion, as Raft plumbing sees them: a stream of bounded, opaque chunks.
//! The state machines decide what a chunk holds (replica/snapshot.rs); nothing here
//! ever holds a whole snapshot in memory.

use serde::{Deserialize, Serialize};
use std::io;

/// A snapshot chunk holds about this much at the most (a single item larger than this,
/// such as one big record, travels alone).
pub const SNAPSHOT_CHUNK_BYTES_MAX: usize = 4 * 1024 * 1024;

/// A consistent view of a state machine that yields its snapshot chunk by chunk.
pub trait SnapshotSource: Send + 'static {
    /// The next chunk, or `None` after the last. May block on storage: callers run it off
    /// the async threads (`storage::off_thread`).
    fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>>;
}

/// Chunks a receiver has staged, for the install that follows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedSnapshot {
    /// Names one transmission; chunks of another are not mixed in.
    pub id: u64,
    pub chunks: u64,
}

/// A snapshot as openraft passes it around.
pub enum SnapshotData {
    /// On the sending side: where the chunks come from.
    Source(Box<dyn SnapshotSource>),
    /// On the receiving side: what was staged.
    Staged(StagedSnapshot),
}

/// One chunk on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkMessage {
    pub id: u64,
    pub seq: u64,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Where a receiver keeps track of staged chunks: one marker per chunk, holding the
/// transmission id and whatever the state machine wants back at the install.
pub mod markers {
    use super::{ChunkMessage, StagedSnapshot};
    use crate::domain::GroupId;
    use crate::storage::keys::{self, KeyKind};
    use crate::storage::{Batch, Cf, Engine};
    use std::io;

    /// Adds the marker of `msg` (with `extra` kept for the install) to `out`; the first
    /// chunk of a transmission first clears the markers of any earlier one.
    pub fn mark(out: &mut Batch, group: GroupId, msg: &ChunkMessage, extra: &[u8]) {
        if msg.seq == 0 {
            clear(out, group);
        }
        let mut value = msg.id.to_be_bytes().to_vec();
        value.extend_from_slice(extra);
        out.put(Cf::State, keys::numbered(group, KeyKind::SnapshotChunk, msg.seq), value);
    }

    pub fn clear(out: &mut Batch, group: GroupId) {
        out.delete_range(
            Cf::State,
            keys::key(group, KeyKind::SnapshotChunk),
            keys::kind_end(group, KeyKind::SnapshotChunk),
        );
    }

    /// The extras of every chunk of `staged`, in order, when all of them arrived.
    pub fn complete(engine: &dyn Engine, group: GroupId, staged: &StagedSnapshot) -> io::Result<Vec<Vec<u8>>> {
        let from = keys::key(group, KeyKind::SnapshotChunk);
        let to = keys::kind_end(group, KeyKind::SnapshotChunk);
        let limit = usize::try_from(staged.chunks).unwrap_or(usize::MAX).saturating_add(1);
        let found = engine.scan(Cf::State, &from, &to, limit)?;
        let id = staged.id.to_be_bytes();
        let complete = found.len() as u64 == staged.chunks
            && found.iter().enumerate().all(|(i, (k, v))| {
                keys::number_of(k, group, KeyKind::SnapshotChunk) == Some(i as u64) && v.get(..8) == Some(&id[..])
            });
        if !complete {
            return Err(io::Error::other(format!("{group}: snapshot {} is not completely staged", staged.id)));
        }
        Ok(found.into_iter().map(|(_, mut v)| v.split_off(8)).collect())
    }
}
