//! A shard as a snapshot: a stream of bounded chunks read lazily from the index and the
//! log, and how a receiver stages and installs them.
//!
//! Chunks: first a header `[1][last counter u64][last arrival i64][sealed u8][trimmed
//! before i64][first counter u64]`, then records
//! `[3][count u32]` and per record `[counter u64][arrival i64][flags u8][body]`, the body
//! as in a record batch (shard/batch.rs): a record of an encrypted stream travels and lands
//! still sealed, so a snapshot never holds its plaintext. Each chunk holds about
//! `SNAPSHOT_CHUNK_BYTES_MAX` at most.
//!
//! A receiver writes each chunk's records straight into its index as inline rows. Until
//! the install raises the shard's applied counter they are invisible (reads stop at the
//! applied counter), and a record the replica already had is rewritten with the same
//! content: committed records are the same on every replica. Chunk markers record which
//! chunks of which transmission arrived; the install checks them all. The install drops
//! what retention trimmed at the sender (a replica that was away keeps nothing expired).

use super::applied::{ShardApplied, Trim};
use super::batch::decode_flagged_body;
use super::index;
use super::read::read_stored;
use crate::domain::{GroupId, ShardId};
use crate::raft::snapshot::{markers, ChunkMessage, SnapshotSource, StagedSnapshot, SNAPSHOT_CHUNK_BYTES_MAX};
use crate::raft::types::SnapshotMeta;
use crate::storage::envelope::corrupt;
use crate::storage::keys::{self, KeyKind};
use crate::storage::{Batch, Cf, Engine};
use std::io;
use std::sync::Arc;

const CHUNK_HEADER: u8 = 1;
/// Kind 2 carried records without flags (before encryption); it is neither sent nor read.
const CHUNK_RECORDS: u8 = 3;
/// Records per chunk at the most, whatever their size.
const CHUNK_RECORDS_MAX: usize = 10_000;
const HEADER_BYTES: usize = 8 + 8 + 1 + 8 + 8;

/// The shard as it was when the snapshot was taken: records up to `last_counter`.
pub struct ShardSnapshotSource {
    engine: Arc<dyn Engine>,
    group: GroupId,
    shard: ShardId,
    last_counter: u64,
    last_arrival_ms: i64,
    sealed: bool,
    trim: Option<Trim>,
    next_counter: u64,
    header_sent: bool,
}

impl ShardSnapshotSource {
    pub fn new(engine: Arc<dyn Engine>, group: GroupId, shard: ShardId, applied: &ShardApplied) -> Self {
        ShardSnapshotSource {
            engine,
            group,
            shard,
            last_counter: applied.last_counter,
            last_arrival_ms: applied.last_arrival_ms,
            sealed: applied.sealed,
            trim: applied.trim,
            next_counter: applied.first_counter(),
            header_sent: false,
        }
    }
}

impl SnapshotSource for ShardSnapshotSource {
    fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if !self.header_sent {
            self.header_sent = true;
            let mut chunk = vec![CHUNK_HEADER];
            chunk.extend_from_slice(&self.last_counter.to_be_bytes());
            chunk.extend_from_slice(&self.last_arrival_ms.to_be_bytes());
            chunk.push(u8::from(self.sealed));
            chunk.extend_from_slice(&self.trim.map_or(i64::MIN, |t| t.before_ms).to_be_bytes());
            chunk.extend_from_slice(&self.trim.map_or(0, |t| t.first_counter).to_be_bytes());
            return Ok(Some(chunk));
        }
        if self.next_counter > self.last_counter {
            return Ok(None);
        }
        // Records are only ever added above `last_counter`, so this view stays consistent
        // while the shard goes on taking writes; a trim meanwhile only leaves records out,
        // and the receiver applies that trim's entry after the snapshot.
        let batch = read_stored(
            self.engine.as_ref(),
            self.group,
            self.shard,
            self.next_counter,
            self.last_counter,
            CHUNK_RECORDS_MAX,
            SNAPSHOT_CHUNK_BYTES_MAX,
        )?;
        if batch.records.is_empty() {
            self.next_counter = self.last_counter.saturating_add(1);
            return Ok(None);
        }
        let bytes: usize = batch.records.iter().map(|r| 8 + 8 + 1 + 2 + 4 + r.body.as_body().stored_bytes()).sum();
        let mut chunk = Vec::with_capacity(1 + 4 + bytes);
        chunk.push(CHUNK_RECORDS);
        chunk.extend_from_slice(&(batch.records.len() as u32).to_be_bytes());
        for r in &batch.records {
            chunk.extend_from_slice(&r.sequence_number.counter().to_be_bytes());
            chunk.extend_from_slice(&r.arrival_ms.to_be_bytes());
            r.body.as_body().encode_flagged_into(&mut chunk).map_err(|e| corrupt("shard snapshot", &e.to_string()))?;
        }
        self.next_counter = batch.next_counter;
        Ok(Some(chunk))
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| corrupt("snapshot chunk", "truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().map_err(|_| corrupt("snapshot chunk", "u64"))?))
    }
    fn flag(&mut self) -> io::Result<bool> {
        match self.take(1)? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(corrupt("snapshot header", "a flag is neither 0 nor 1")),
        }
    }

    fn i64(&mut self) -> io::Result<i64> {
        Ok(self.u64()? as i64)
    }
}

/// Stages one received chunk of a shard snapshot.
pub fn stage_chunk(engine: &dyn Engine, group: GroupId, msg: &ChunkMessage) -> io::Result<()> {
    let mut out = Batch::default();
    let mut c = Cursor { bytes: &msg.data, at: 0 };
    match c.take(1)?[0] {
        CHUNK_HEADER => {
            // last counter, last arrival, sealed flag, trimmed before, first counter.
            let header = c.take(HEADER_BYTES)?;
            markers::mark(&mut out, group, msg, header);
        }
        CHUNK_RECORDS => {
            let count = u32::from_be_bytes(c.take(4)?.try_into().map_err(|_| corrupt("snapshot chunk", "count"))?);
            let mut last_arrival = None;
            for _ in 0..count {
                let counter = c.u64()?;
                let arrival = c.i64()?;
                let (body, used) =
                    decode_flagged_body(&c.bytes[c.at..]).map_err(|e| corrupt("snapshot chunk", &e.to_string()))?;
                c.at += used;
                out.put(Cf::Index, keys::numbered(group, KeyKind::Record, counter), index::inline(arrival, body));
                if last_arrival.is_none_or(|a| arrival > a) {
                    // A time row at each new arrival time (a spare one at a chunk's start
                    // is harmless: the seek finds the smallest counter first).
                    out.put(Cf::Index, keys::arrival(group, arrival, counter), Vec::new());
                    last_arrival = Some(arrival);
                }
            }
            markers::mark(&mut out, group, msg, &[]);
        }
        other => return Err(corrupt("snapshot chunk", &format!("unknown kind {other}"))),
    }
    if c.at != msg.data.len() {
        return Err(corrupt("snapshot chunk", "trailing bytes"));
    }
    engine.write(out)
}

/// The shard's position in a snapshot: its newest counter and arrival time, whether it is
/// sealed, and where retention left it (`trimmed_before_ms` is `i64::MIN` before any trim).
pub struct SnapshotHeader {
    pub last_counter: u64,
    pub last_arrival_ms: i64,
    pub sealed: bool,
    pub trimmed_before_ms: i64,
    pub first_counter: u64,
}

/// The header of a completely staged transmission, or why it is not complete.
pub fn staged_header(engine: &dyn Engine, group: GroupId, staged: &StagedSnapshot) -> io::Result<SnapshotHeader> {
    let extras = markers::complete(engine, group, staged)?;
    let header = extras.first().map(Vec::as_slice).unwrap_or_default();
    let mut c = Cursor { bytes: header, at: 0 };
    Ok(SnapshotHeader {
        last_counter: c.u64()?,
        last_arrival_ms: c.i64()?,
        sealed: c.flag()?,
        trimmed_before_ms: c.i64()?,
        first_counter: c.u64()?,
    })
}

/// Installs a completely staged snapshot: the shard's applied state moves to the
/// snapshot's, which makes the staged rows visible. Returns the new applied state.
pub fn install(
    engine: &dyn Engine,
    group: GroupId,
    meta: &SnapshotMeta,
    staged: &StagedSnapshot,
) -> io::Result<ShardApplied> {
    let header = staged_header(engine, group, staged)?;
    // openraft purges this replica's log up to the snapshot; every kept record came inline.
    let log_start = meta.last_log_id.map_or(0, |id| id.index() + 1);
    let trim = (header.trimmed_before_ms != i64::MIN).then_some(Trim {
        before_ms: header.trimmed_before_ms,
        first_counter: header.first_counter,
        log_start,
    });
    let applied = ShardApplied {
        last_applied: meta.last_log_id,
        membership: meta.last_membership.clone(),
        last_counter: header.last_counter,
        last_arrival_ms: header.last_arrival_ms,
        sealed: header.sealed,
        trim,
        inline_through: header.last_counter,
    };
    let mut out = Batch::default();
    if let Some(trim) = trim {
        // Rows this replica kept from before it went away, expired at the sender.
        out.delete_range(
            Cf::Index,
            keys::numbered(group, KeyKind::Record, 0),
            keys::numbered(group, KeyKind::Record, trim.first_counter),
        );
        out.delete_range(Cf::Index, keys::key(group, KeyKind::ArrivalTime), keys::arrival(group, trim.before_ms, 0));
    }
    out.put(Cf::State, ShardApplied::key(group), applied.encode()?);
    markers::clear(&mut out, group);
    engine.write(out)?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::RecordKey;
    use crate::raft::types::{log_id, StoredMembership};
    use crate::shard::append::apply_append;
    use crate::shard::batch::{AppendBatch, BatchView, NewRecord};
    use crate::shard::read::first_counter_at_or_after;
    use crate::shard::ShardShared;
    use crate::storage::memory::MemoryEngine;

    /// A shard with `n` records of `size` bytes in its log, written as applies do (sealed
    /// with `seal_with` when given).
    fn populated(
        engine: &Arc<MemoryEngine>,
        group: GroupId,
        n: u64,
        size: usize,
        seal_with: Option<&RecordKey>,
    ) -> ShardApplied {
        use crate::raft::stored::encode_entry;
        use crate::raft::types::{Command, CommandKind, Entry, EntryPayload};
        let shard = ShardShared::new(group, ShardId(0), 1, ShardApplied::default());
        let mut applied = ShardApplied::default();
        for i in 1..=n {
            let batch = AppendBatch {
                arrival_ms: i as i64 * 10,
                records: vec![NewRecord { partition_key: format!("k{i}"), data: vec![i as u8; size], after: None }],
                seal_with: seal_with.cloned(),
            };
            let command = Command::build(CommandKind::Append, 0, |b| batch.encode_into(b)).unwrap();
            let mut out = Batch::default();
            let entry = Entry { log_id: log_id(1, i), payload: EntryPayload::Normal(command.clone()) };
            out.put(Cf::Log, keys::numbered(group, KeyKind::LogEntry, i), encode_entry(&entry).unwrap());
            let (_, body) = Command::split(&command.0).unwrap();
            apply_append(&shard, i, &BatchView::decode(body).unwrap(), &mut applied, &mut out).unwrap();
            engine.write(out).unwrap();
        }
        applied.last_applied = Some(log_id(1, n));
        applied
    }

    fn all_records(engine: &dyn Engine, group: GroupId, last: u64) -> Vec<(u64, i64, String, Vec<u8>)> {
        read_stored(engine, group, ShardId(0), 0, last, usize::MAX, usize::MAX)
            .and_then(|batch| batch.open(group, None))
            .unwrap()
            .records
            .into_iter()
            .map(|r| (r.sequence_number.counter(), r.arrival_ms, r.partition_key, r.data))
            .collect()
    }

    #[test]
    fn a_snapshot_streams_in_bounded_chunks_and_installs_the_same_records() {
        let sender = Arc::new(MemoryEngine::default());
        let group = GroupId(9);
        // 40 records of 300 KiB: 12 MiB, which must not travel as one message.
        let applied = populated(&sender, group, 40, 300 * 1024, None);
        let mut source = ShardSnapshotSource::new(sender.clone(), group, ShardId(0), &applied);
        let receiver = MemoryEngine::default();
        let mut seq = 0;
        while let Some(data) = source.next_chunk().unwrap() {
            assert!(data.len() <= SNAPSHOT_CHUNK_BYTES_MAX + 400 * 1024, "chunk of {} bytes", data.len());
            stage_chunk(&receiver, group, &ChunkMessage { id: 7, seq, data }).unwrap();
            seq += 1;
            assert!(seq < 100, "the source must end");
        }
        assert!(seq >= 4, "12 MiB needs several chunks, got {seq}");
        // Staged rows are invisible until the install.
        assert!(all_records(&receiver, group, ShardApplied::load(&receiver, group).unwrap().last_counter).is_empty());
        let meta = SnapshotMeta { last_log_id: Some(log_id(1, 40)), last_membership: StoredMembership::default() };
        // An install naming another transmission, or too many chunks, is refused.
        assert!(install(&receiver, group, &meta, &StagedSnapshot { id: 8, chunks: seq }).is_err());
        assert!(install(&receiver, group, &meta, &StagedSnapshot { id: 7, chunks: seq + 1 }).is_err());
        let installed = install(&receiver, group, &meta, &StagedSnapshot { id: 7, chunks: seq }).unwrap();
        assert_eq!(installed.last_counter, applied.last_counter);
        assert_eq!(installed.last_arrival_ms, applied.last_arrival_ms);
        assert_eq!(ShardApplied::load(&receiver, group).unwrap(), installed);
        assert_eq!(all_records(&receiver, group, 40), all_records(sender.as_ref(), group, 40));
        // The time rows came along: AT_TIMESTAMP seeks work on the receiver.
        assert_eq!(first_counter_at_or_after(&receiver, group, 205, 40).unwrap(), Some(21));
        assert_eq!(first_counter_at_or_after(&receiver, group, 401, 40).unwrap(), None);
    }

    /// Every row under `group` in the index, keys and values together.
    fn index_bytes(engine: &dyn Engine, group: GroupId) -> Vec<u8> {
        let (from, to) = (keys::key(group, KeyKind::Record), keys::kind_end(group, KeyKind::Record));
        let rows = engine.scan(Cf::Index, &from, &to, usize::MAX).unwrap();
        rows.into_iter().flat_map(|(k, v)| k.into_iter().chain(v)).collect()
    }

    /// A snapshot of an encrypted shard carries its records sealed and lands them sealed:
    /// no chunk and no row of the receiver holds a byte of plaintext, and the key opens
    /// every record there.
    #[test]
    fn a_snapshot_of_sealed_records_carries_and_lands_only_ciphertext() {
        let key = RecordKey::generate();
        let sender = Arc::new(MemoryEngine::default());
        let group = GroupId(4);
        // Data bytes are `i` repeated; 64 in a row of any of them is plaintext.
        let applied = populated(&sender, group, 5, 4096, Some(&key));
        let plaintext = |bytes: &[u8]| (1..=5u8).any(|i| bytes.windows(64).any(|w| w.iter().all(|b| *b == i)));
        let mut source = ShardSnapshotSource::new(sender.clone(), group, ShardId(0), &applied);
        let receiver = MemoryEngine::default();
        let mut seq = 0;
        while let Some(data) = source.next_chunk().unwrap() {
            assert!(!plaintext(&data), "chunk {seq} holds plaintext");
            stage_chunk(&receiver, group, &ChunkMessage { id: 1, seq, data }).unwrap();
            seq += 1;
        }
        let meta = SnapshotMeta { last_log_id: Some(log_id(1, 5)), last_membership: StoredMembership::default() };
        install(&receiver, group, &meta, &StagedSnapshot { id: 1, chunks: seq }).unwrap();
        assert!(!plaintext(&index_bytes(&receiver, group)), "the receiver's index holds plaintext");
        let stored = read_stored(&receiver, group, ShardId(0), 0, 5, usize::MAX, usize::MAX).unwrap();
        assert_eq!(stored.records.len(), 5);
        assert!(stored.records.iter().all(|r| r.body.is_sealed()));
        let opened = stored.open(group, Some(&key)).unwrap();
        for (i, r) in opened.records.iter().enumerate() {
            assert!(r.encrypted);
            assert_eq!(r.partition_key, format!("k{}", i + 1));
            assert_eq!(r.data, vec![i as u8 + 1; 4096]);
        }
        // Without the key, or with another, a read fails; it never returns ciphertext.
        let again = || read_stored(&receiver, group, ShardId(0), 0, 5, usize::MAX, usize::MAX).unwrap();
        let no_key = again().open(group, None).unwrap_err();
        assert!(no_key.to_string().contains("no encryption key is configured"), "{no_key}");
        assert!(again().open(group, Some(&RecordKey::generate())).is_err());
    }
}
