//! The metadata group's applied state, persisted in Runnel's own format as a header (the
//! applied log id, the membership, and all of the state but the streams) and one row per
//! stream. An apply writes the header and the streams it changed, so its cost follows what
//! changed, not how many streams and shards the cluster holds.

use super::attributes::AccountSettings;
use super::state::{MetaState, StreamMeta, Streams, TokenKey};
use crate::domain::{GroupId, NodeId, StreamName};
use crate::raft::stored::{LogIdRecord, StoredMembershipRecord};
use crate::raft::types::{LogId, StoredMembership};
use crate::storage::envelope;
use crate::storage::keys::{self, KeyKind};
use crate::storage::{Batch, Cf, Engine};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;

/// Stream rows read per engine call when loading.
const STREAM_ROWS_PAGE: usize = 256;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaApplied {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub state: MetaState,
}

/// The header row (`KeyKind::MetaHeader`). Borrows when writing, owns when reading.
#[derive(Serialize, Deserialize)]
struct Header<'a> {
    last_applied: Option<LogIdRecord>,
    membership: StoredMembershipRecord,
    next_group: u64,
    nodes: Cow<'a, BTreeMap<NodeId, String>>,
    token_keys: Cow<'a, [TokenKey]>,
    account: Cow<'a, AccountSettings>,
}

/// The whole state in one row (`KeyKind::MetaApplied`), as releases before the per-stream
/// rows wrote it on every apply. Read once at start and rewritten as header and rows.
#[derive(Deserialize)]
struct WholeRecord {
    last_applied: Option<LogIdRecord>,
    membership: StoredMembershipRecord,
    state: MetaState,
}

impl MetaApplied {
    /// Writes into `out` what changed since `before` (the state this one was applied from):
    /// the header, the streams no longer shared with `before`, and the removal of the
    /// streams `before` had and this state has not.
    pub fn put_changes(&self, before: &MetaState, out: &mut Batch, group: GroupId) -> io::Result<()> {
        self.put_header(out, group)?;
        let (written, removed) = self.state.streams.changes(&before.streams);
        for stream in written {
            out.put(Cf::State, stream_key(group, &stream.name), envelope::seal_postcard(stream)?);
        }
        for name in removed {
            out.delete(Cf::State, stream_key(group, name));
        }
        Ok(())
    }

    /// Writes into `out` the whole state in place of whatever `group` held (a snapshot
    /// installed, or the one-row layout rewritten).
    pub fn put_whole(&self, out: &mut Batch, group: GroupId) -> io::Result<()> {
        out.delete(Cf::State, keys::key(group, KeyKind::MetaApplied));
        out.delete_range(Cf::State, keys::key(group, KeyKind::MetaStream), keys::kind_end(group, KeyKind::MetaStream));
        self.put_changes(&MetaState::default(), out, group)
    }

    fn put_header(&self, out: &mut Batch, group: GroupId) -> io::Result<()> {
        let header = Header {
            last_applied: self.last_applied.as_ref().map(LogIdRecord::from),
            membership: StoredMembershipRecord::from(&self.membership),
            next_group: self.state.next_group,
            nodes: Cow::Borrowed(&self.state.nodes),
            token_keys: Cow::Borrowed(&self.state.token_keys),
            account: Cow::Borrowed(&self.state.account),
        };
        out.put(Cf::State, keys::key(group, KeyKind::MetaHeader), envelope::seal_postcard(&header)?);
        Ok(())
    }

    /// What `group` holds; the default state if nothing. A state still in the one-row
    /// layout is rewritten as header and rows first (one batch: either layout survives a
    /// crash whole).
    pub fn load(engine: &dyn Engine, group: GroupId) -> io::Result<MetaApplied> {
        if let Some(bytes) = engine.get(Cf::State, &keys::key(group, KeyKind::MetaHeader))? {
            let header: Header<'static> = envelope::open_postcard(&bytes, "metadata header")?;
            return Ok(MetaApplied {
                last_applied: header.last_applied.map(LogId::from),
                membership: StoredMembership::try_from(header.membership)?,
                state: MetaState {
                    streams: load_streams(engine, group)?,
                    next_group: header.next_group,
                    nodes: header.nodes.into_owned(),
                    token_keys: header.token_keys.into_owned(),
                    account: header.account.into_owned(),
                },
            });
        }
        let Some(bytes) = engine.get(Cf::State, &keys::key(group, KeyKind::MetaApplied))? else {
            return Ok(MetaApplied::default());
        };
        let whole: WholeRecord = envelope::open_postcard(&bytes, "metadata applied state")?;
        let applied = MetaApplied {
            last_applied: whole.last_applied.map(LogId::from),
            membership: StoredMembership::try_from(whole.membership)?,
            state: whole.state,
        };
        let mut out = Batch::default();
        applied.put_whole(&mut out, group)?;
        engine.write(out)?;
        Ok(applied)
    }
}

/// `group | MetaStream | name`.
fn stream_key(group: GroupId, name: &StreamName) -> Vec<u8> {
    let mut key = keys::key(group, KeyKind::MetaStream);
    key.extend_from_slice(name.as_str().as_bytes());
    key
}

fn load_streams(engine: &dyn Engine, group: GroupId) -> io::Result<Streams> {
    let prefix = keys::key(group, KeyKind::MetaStream);
    let end = keys::kind_end(group, KeyKind::MetaStream);
    let mut from = prefix.clone();
    let mut streams = Vec::new();
    // Each page starts after the last key of the one before: the loop ends with the rows.
    loop {
        let page = engine.scan(Cf::State, &from, &end, STREAM_ROWS_PAGE)?;
        let last_page = page.len() < STREAM_ROWS_PAGE;
        for (key, value) in page {
            let stream: StreamMeta = envelope::open_postcard(&value, "metadata stream")?;
            if key[prefix.len()..] != *stream.name.as_str().as_bytes() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("metadata row of stream {} is stored under another name", stream.name),
                ));
            }
            streams.push(stream);
            from = key;
            from.push(0);
        }
        if last_page {
            return Ok(streams.into_iter().collect());
        }
    }
}

/// The metadata state alone, as a snapshot carries it.
pub fn encode_state(state: &MetaState) -> io::Result<Vec<u8>> {
    envelope::seal_postcard(state)
}

pub fn decode_state(bytes: &[u8]) -> io::Result<MetaState> {
    envelope::open_postcard(bytes, "metadata snapshot")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{MetaCommand, StreamMode};
    use crate::raft::types::log_id;
    use crate::storage::engine::Op;
    use crate::storage::memory::MemoryEngine;

    fn name(s: &str) -> StreamName {
        StreamName::parse(s).unwrap()
    }

    fn create(s: &str, shards: u32) -> MetaCommand {
        MetaCommand::CreateStream {
            name: name(s),
            shard_count: shards,
            mode: StreamMode::Provisioned,
            created_ms: 1,
            replication_factor: 3,
            retention_hours: 24,
            max_record_size_kib: crate::limits::MAX_RECORD_SIZE_KIB_DEFAULT,
            warm_mibps: None,
        }
    }

    /// Streams a, b, c of 50 shards each on three nodes, applied up to index 7.
    fn three_streams() -> MetaApplied {
        let mut state =
            MetaState { nodes: (1..=3).map(|i| (i, format!("http://n{i}"))).collect(), ..Default::default() };
        for s in ["a", "b", "c"] {
            assert_eq!(state.apply(&create(s, 50)), crate::control::MetaResult::Ok);
        }
        MetaApplied { last_applied: Some(log_id(1, 7)), state, ..Default::default() }
    }

    fn write(engine: &MemoryEngine, out: Batch) {
        Engine::write(engine, out).unwrap();
    }

    /// The keys a batch puts and deletes, apart from the header.
    fn stream_rows(out: &Batch) -> (Vec<String>, Vec<String>) {
        let name = |key: &[u8]| String::from_utf8(key[9..].to_vec()).unwrap();
        let stream_row = |key: &[u8]| key[8] == KeyKind::MetaStream as u8;
        let puts = out.ops.iter().filter_map(|op| match op {
            Op::Put(_, key, _) if stream_row(key) => Some(name(key)),
            _ => None,
        });
        let deletes = out.ops.iter().filter_map(|op| match op {
            Op::Delete(_, key) if stream_row(key) => Some(name(key)),
            _ => None,
        });
        (puts.collect(), deletes.collect())
    }

    #[test]
    fn an_apply_writes_the_header_and_only_the_streams_it_changed() {
        let engine = MemoryEngine::default();
        let group = GroupId(0);
        let before = three_streams();
        let mut out = Batch::default();
        before.put_whole(&mut out, group).unwrap();
        write(&engine, out);
        assert_eq!(MetaApplied::load(&engine, group).unwrap(), before);

        // A shard of b becomes ready: b alone is written.
        let mut after = before.clone();
        let b_group = after.state.streams[&name("b")].shards[10].group;
        after.state.apply(&MetaCommand::ShardReady { group: b_group });
        after.last_applied = Some(log_id(1, 8));
        let mut out = Batch::default();
        after.put_changes(&before.state, &mut out, group).unwrap();
        assert_eq!(stream_rows(&out), (vec!["b".to_string()], vec![]));
        assert!(out.ops.len() == 2, "the header and b's row: {:?}", out.ops.len());
        write(&engine, out);
        assert_eq!(MetaApplied::load(&engine, group).unwrap(), after);

        // A command that changes nothing writes the header alone.
        let mut again = after.clone();
        again.state.apply(&MetaCommand::DeleteStream { name: name("none") });
        let mut out = Batch::default();
        again.put_changes(&after.state, &mut out, group).unwrap();
        assert_eq!(stream_rows(&out), (vec![], vec![]));

        // A stream gone is a row deleted; a new one is a row written.
        let mut next = after.clone();
        assert!(next.state.streams.remove(&name("a")));
        next.state.apply(&create("d", 2));
        let mut out = Batch::default();
        next.put_changes(&after.state, &mut out, group).unwrap();
        assert_eq!(stream_rows(&out), (vec!["d".to_string()], vec!["a".to_string()]));
        write(&engine, out);
        let loaded = MetaApplied::load(&engine, group).unwrap();
        assert_eq!(loaded, next);
        assert_eq!(loaded.state.streams.values().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["b", "c", "d"]);
    }

    #[test]
    fn a_whole_state_replaces_every_row() {
        let engine = MemoryEngine::default();
        let group = GroupId(0);
        let mut out = Batch::default();
        three_streams().put_whole(&mut out, group).unwrap();
        write(&engine, out);
        // A snapshot holding only stream z.
        let mut state = MetaState::default();
        state.apply(&create("z", 1));
        let installed = MetaApplied { last_applied: Some(log_id(2, 90)), state, ..Default::default() };
        let mut out = Batch::default();
        installed.put_whole(&mut out, group).unwrap();
        write(&engine, out);
        assert_eq!(MetaApplied::load(&engine, group).unwrap(), installed);
        // Other groups' rows are not touched, nor read.
        assert_eq!(MetaApplied::load(&engine, GroupId(1)).unwrap(), MetaApplied::default());
    }

    #[test]
    fn the_one_row_layout_is_read_and_rewritten_as_rows() {
        let engine = MemoryEngine::default();
        let group = GroupId(0);
        let old = three_streams();
        // As earlier releases wrote it: the fields in order, the state whole.
        let record = (
            old.last_applied.as_ref().map(LogIdRecord::from),
            StoredMembershipRecord::from(&old.membership),
            &old.state,
        );
        let mut out = Batch::default();
        out.put(Cf::State, keys::key(group, KeyKind::MetaApplied), envelope::seal_postcard(&record).unwrap());
        write(&engine, out);

        assert_eq!(MetaApplied::load(&engine, group).unwrap(), old);
        assert_eq!(engine.get(Cf::State, &keys::key(group, KeyKind::MetaApplied)).unwrap(), None);
        assert!(engine.get(Cf::State, &keys::key(group, KeyKind::MetaHeader)).unwrap().is_some());
        assert_eq!(MetaApplied::load(&engine, group).unwrap(), old, "read again from the rows");
    }

    #[test]
    fn a_row_under_another_name_is_corruption() {
        let engine = MemoryEngine::default();
        let group = GroupId(0);
        let applied = three_streams();
        let mut out = Batch::default();
        applied.put_whole(&mut out, group).unwrap();
        let a = envelope::seal_postcard(&applied.state.streams[&name("a")]).unwrap();
        out.put(Cf::State, stream_key(group, &name("b")), a);
        write(&engine, out);
        let err = MetaApplied::load(&engine, group).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
