//! Snapshots of both kinds of group as chunk streams, and their staging and install on a
//! receiver. A shard's chunks are its records (shard/snapshot.rs); the metadata group's
//! are slices of its encoded state, staged as they come and decoded at the install.

use crate::control::applied::{decode_state, encode_state};
use crate::control::{MetaApplied, MetaState};
use crate::domain::GroupId;
use crate::raft::snapshot::{markers, ChunkMessage, SnapshotSource, StagedSnapshot, SNAPSHOT_CHUNK_BYTES_MAX};
use crate::raft::types::SnapshotMeta;
use crate::shard;
use crate::storage::{Batch, Engine};
use std::io;

/// The metadata state as it was when the snapshot was taken, sent in slices.
pub struct MetaSnapshotSource {
    bytes: Vec<u8>,
    offset: usize,
}

impl MetaSnapshotSource {
    pub fn new(state: &MetaState) -> io::Result<MetaSnapshotSource> {
        Ok(MetaSnapshotSource { bytes: encode_state(state)?, offset: 0 })
    }
}

impl SnapshotSource for MetaSnapshotSource {
    fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.offset >= self.bytes.len() {
            return Ok(None);
        }
        let end = (self.offset + SNAPSHOT_CHUNK_BYTES_MAX).min(self.bytes.len());
        let chunk = self.bytes[self.offset..end].to_vec();
        self.offset = end;
        Ok(Some(chunk))
    }
}

/// Stages one received chunk for `group`.
pub fn stage(engine: &dyn Engine, group: GroupId, is_meta: bool, msg: &ChunkMessage) -> io::Result<()> {
    if !is_meta {
        return shard::snapshot::stage_chunk(engine, group, msg);
    }
    let mut out = Batch::default();
    markers::mark(&mut out, group, msg, &msg.data);
    engine.write(out)
}

/// The staged metadata slices of `staged`, in order, when all of them arrived.
fn staged_meta_bytes(engine: &dyn Engine, group: GroupId, staged: &StagedSnapshot) -> io::Result<Vec<u8>> {
    Ok(markers::complete(engine, group, staged)?.concat())
}

/// Whether every chunk of `staged` arrived (checked before handing an install to Raft, so
/// a transmission that another one overtook is refused rather than installed).
pub fn check_staged(engine: &dyn Engine, group: GroupId, is_meta: bool, staged: &StagedSnapshot) -> io::Result<()> {
    if is_meta {
        staged_meta_bytes(engine, group, staged).map(|_| ())
    } else {
        shard::snapshot::staged_header(engine, group, staged).map(|_| ())
    }
}

/// Installs a staged metadata snapshot; returns the new applied state.
pub fn install_meta(
    engine: &dyn Engine,
    group: GroupId,
    meta: &SnapshotMeta,
    staged: &StagedSnapshot,
) -> io::Result<MetaApplied> {
    let state = decode_state(&staged_meta_bytes(engine, group, staged)?)?;
    let applied = MetaApplied { last_applied: meta.last_log_id, membership: meta.last_membership.clone(), state };
    let mut out = Batch::default();
    applied.put_whole(&mut out, group)?;
    markers::clear(&mut out, group);
    engine.write(out)?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{MetaCommand, StreamMode};
    use crate::domain::StreamName;
    use crate::raft::types::{log_id, StoredMembership};
    use crate::storage::memory::MemoryEngine;

    #[test]
    fn a_large_metadata_state_travels_in_bounded_slices() {
        let mut state =
            MetaState { nodes: (1..=3).map(|i| (i, format!("http://n{i}"))).collect(), ..Default::default() };
        for i in 0..400 {
            let cmd = MetaCommand::CreateStream {
                name: StreamName::parse(&format!("stream-{i}")).unwrap(),
                shard_count: 500,
                mode: StreamMode::Provisioned,
                created_ms: 1,
                replication_factor: 3,
                retention_hours: 24,
                max_record_size_kib: crate::limits::MAX_RECORD_SIZE_KIB_DEFAULT,
                warm_mibps: None,
            };
            assert_eq!(state.apply(&cmd), crate::control::MetaResult::Ok);
        }
        let mut source = MetaSnapshotSource::new(&state).unwrap();
        let engine = MemoryEngine::default();
        let group = GroupId(0);
        let mut seq = 0;
        while let Some(data) = source.next_chunk().unwrap() {
            assert!(data.len() <= SNAPSHOT_CHUNK_BYTES_MAX);
            stage(&engine, group, true, &ChunkMessage { id: 3, seq, data }).unwrap();
            seq += 1;
        }
        assert!(seq > 1, "200,000 shards of metadata take more than one chunk");
        let staged = StagedSnapshot { id: 3, chunks: seq };
        check_staged(&engine, group, true, &staged).unwrap();
        assert!(check_staged(&engine, group, true, &StagedSnapshot { id: 4, chunks: seq }).is_err());
        let meta = SnapshotMeta { last_log_id: Some(log_id(2, 500)), last_membership: StoredMembership::default() };
        let applied = install_meta(&engine, group, &meta, &staged).unwrap();
        assert_eq!(applied.state, state);
        assert_eq!(MetaApplied::load(&engine, group).unwrap(), applied);
        assert!(check_staged(&engine, group, true, &staged).is_err(), "the staging is cleared by the install");
    }
}
