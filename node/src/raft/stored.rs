//! How Raft's own values are persisted: Runnel's formats, inside the storage envelope
//! (version byte, CRC), never the serde encoding of openraft's types, whose shape may
//! change between openraft releases.
//!
//! Entry body: `[kind u8][term u64 BE][index u64 BE][payload]`, payload by kind:
//! blank: nothing; normal: the command bytes; membership: postcard of `MembershipRecord`.

use super::types::{log_id, Command, Entry, EntryPayload, LogId, Membership, StoredMembership, Vote};
use crate::domain::NodeId;
use crate::storage::envelope;
use openraft::entry::RaftEntry;
use openraft::BasicNode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io;

/// Entry kinds. Persisted: never renumber.
const ENTRY_BLANK: u8 = 0;
const ENTRY_NORMAL: u8 = 1;
const ENTRY_MEMBERSHIP: u8 = 2;
const ENTRY_HEADER_BYTES: usize = 1 + 8 + 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogIdRecord {
    pub term: u64,
    pub index: u64,
}

impl From<&LogId> for LogIdRecord {
    fn from(id: &LogId) -> Self {
        LogIdRecord { term: id.leader_id.term, index: id.index }
    }
}

impl From<LogIdRecord> for LogId {
    fn from(r: LogIdRecord) -> Self {
        log_id(r.term, r.index)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRecord {
    pub term: u64,
    pub node: NodeId,
    pub committed: bool,
}

impl From<&Vote> for VoteRecord {
    fn from(v: &Vote) -> Self {
        VoteRecord { term: v.leader_id().term, node: v.leader_id().voted_for, committed: v.is_committed() }
    }
}

impl From<VoteRecord> for Vote {
    fn from(r: VoteRecord) -> Self {
        if r.committed {
            Vote::new_committed(r.term, r.node)
        } else {
            Vote::new(r.term, r.node)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MembershipRecord {
    /// The voter sets (two during a joint change).
    pub configs: Vec<Vec<NodeId>>,
    /// Every member (voters and learners) and its peer address.
    pub nodes: Vec<(NodeId, String)>,
}

impl From<&Membership> for MembershipRecord {
    fn from(m: &Membership) -> Self {
        MembershipRecord {
            configs: m.get_joint_config().iter().map(|c| c.iter().copied().collect()).collect(),
            nodes: m.nodes().map(|(id, n)| (*id, n.addr.clone())).collect(),
        }
    }
}

impl TryFrom<MembershipRecord> for Membership {
    type Error = io::Error;

    fn try_from(r: MembershipRecord) -> io::Result<Membership> {
        let configs: Vec<BTreeSet<NodeId>> = r.configs.into_iter().map(|c| c.into_iter().collect()).collect();
        let nodes: std::collections::BTreeMap<NodeId, BasicNode> =
            r.nodes.into_iter().map(|(id, addr)| (id, BasicNode::new(addr))).collect();
        Membership::new(configs, nodes).map_err(|e| envelope::corrupt("membership", &e.to_string()))
    }
}

/// A stored membership: the log id of the entry that set it, and the membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StoredMembershipRecord {
    pub log_id: Option<LogIdRecord>,
    pub membership: MembershipRecord,
}

impl From<&StoredMembership> for StoredMembershipRecord {
    fn from(m: &StoredMembership) -> Self {
        StoredMembershipRecord {
            log_id: m.log_id().as_ref().map(LogIdRecord::from),
            membership: MembershipRecord::from(m.membership()),
        }
    }
}

impl TryFrom<StoredMembershipRecord> for StoredMembership {
    type Error = io::Error;

    fn try_from(r: StoredMembershipRecord) -> io::Result<StoredMembership> {
        let membership = if r.membership.configs.is_empty() && r.membership.nodes.is_empty() {
            Membership::default()
        } else {
            Membership::try_from(r.membership)?
        };
        Ok(StoredMembership::new(r.log_id.map(LogId::from), membership))
    }
}

/// The stored form of an entry.
pub fn encode_entry(entry: &Entry) -> io::Result<Vec<u8>> {
    let id = entry.log_id();
    let (kind, body_bytes) = match &entry.payload {
        EntryPayload::Blank => (ENTRY_BLANK, 0),
        EntryPayload::Normal(cmd) => (ENTRY_NORMAL, cmd.0.len()),
        EntryPayload::Membership(_) => (ENTRY_MEMBERSHIP, 64),
    };
    let mut buf = envelope::begin(ENTRY_HEADER_BYTES + body_bytes);
    buf.push(kind);
    buf.extend_from_slice(&id.leader_id.term.to_be_bytes());
    buf.extend_from_slice(&id.index.to_be_bytes());
    match &entry.payload {
        EntryPayload::Blank => {}
        EntryPayload::Normal(cmd) => buf.extend_from_slice(&cmd.0),
        EntryPayload::Membership(m) => {
            buf = postcard::to_extend(&MembershipRecord::from(m), buf)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
    Ok(envelope::finish(buf))
}

/// An entry from its stored form; corruption is an error, never an entry.
pub fn decode_entry(bytes: &[u8]) -> io::Result<Entry> {
    let body = envelope::open(bytes, "log entry")?;
    if body.len() < ENTRY_HEADER_BYTES {
        return Err(envelope::corrupt("log entry", "header too short"));
    }
    let term = u64::from_be_bytes(body[1..9].try_into().map_err(|_| envelope::corrupt("log entry", "term"))?);
    let index = u64::from_be_bytes(body[9..17].try_into().map_err(|_| envelope::corrupt("log entry", "index"))?);
    let rest = &body[ENTRY_HEADER_BYTES..];
    let payload = match body[0] {
        ENTRY_BLANK if rest.is_empty() => EntryPayload::Blank,
        ENTRY_NORMAL => EntryPayload::Normal(Command(rest.to_vec())),
        ENTRY_MEMBERSHIP => {
            let record: MembershipRecord =
                postcard::from_bytes(rest).map_err(|e| envelope::corrupt("membership entry", &e.to_string()))?;
            EntryPayload::Membership(Membership::try_from(record)?)
        }
        other => return Err(envelope::corrupt("log entry", &format!("unknown kind {other}"))),
    };
    Ok(Entry { log_id: log_id(term, index), payload })
}

/// The command of a stored normal entry, without building an `Entry`: shard reads load
/// record data this way. `None` for blank and membership entries.
pub fn entry_command(bytes: &[u8]) -> io::Result<Option<&[u8]>> {
    let body = envelope::open(bytes, "log entry")?;
    if body.len() < ENTRY_HEADER_BYTES {
        return Err(envelope::corrupt("log entry", "header too short"));
    }
    Ok((body[0] == ENTRY_NORMAL).then(|| &body[ENTRY_HEADER_BYTES..]))
}

/// The stored size of an entry, without encoding it: for bounding replication messages.
pub fn entry_bytes(entry: &Entry) -> usize {
    ENTRY_HEADER_BYTES
        + match &entry.payload {
            EntryPayload::Normal(cmd) => cmd.0.len(),
            _ => 64,
        }
}

pub fn encode_log_id(id: &LogId) -> io::Result<Vec<u8>> {
    envelope::seal_postcard(&LogIdRecord::from(id))
}

pub fn decode_log_id(bytes: &[u8], what: &str) -> io::Result<LogId> {
    envelope::open_postcard::<LogIdRecord>(bytes, what).map(LogId::from)
}

pub fn encode_vote(vote: &Vote) -> io::Result<Vec<u8>> {
    envelope::seal_postcard(&VoteRecord::from(vote))
}

pub fn decode_vote(bytes: &[u8]) -> io::Result<Vote> {
    envelope::open_postcard::<VoteRecord>(bytes, "vote").map(Vote::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn membership() -> Membership {
        let nodes: BTreeMap<u64, BasicNode> = (1..=3).map(|i| (i, BasicNode::new(format!("http://n{i}:1")))).collect();
        Membership::new(vec![[1, 2, 3].into_iter().collect()], nodes).unwrap()
    }

    #[test]
    fn entries_round_trip_in_runnels_own_format() {
        let entries = [
            Entry { log_id: log_id(3, 7), payload: EntryPayload::Blank },
            Entry { log_id: log_id(4, 8), payload: EntryPayload::Normal(Command(vec![1, 2, 3])) },
            Entry { log_id: log_id(u64::MAX, u64::MAX), payload: EntryPayload::Normal(Command(vec![])) },
            Entry { log_id: log_id(5, 9), payload: EntryPayload::Membership(membership()) },
        ];
        for entry in entries {
            let bytes = encode_entry(&entry).unwrap();
            let back = decode_entry(&bytes).unwrap();
            assert_eq!(format!("{back:?}"), format!("{entry:?}"));
            let mut bad = bytes.clone();
            let mid = bad.len() / 2;
            bad[mid] ^= 0x40;
            assert!(decode_entry(&bad).is_err(), "corruption must be reported");
        }
        let normal = encode_entry(&Entry { log_id: log_id(1, 1), payload: EntryPayload::Normal(Command(vec![9])) });
        assert_eq!(entry_command(&normal.unwrap()).unwrap(), Some(&[9u8][..]));
    }

    #[test]
    fn votes_log_ids_and_memberships_round_trip() {
        for vote in [Vote::new(2, 3), Vote::new_committed(9, 1)] {
            assert_eq!(decode_vote(&encode_vote(&vote).unwrap()).unwrap(), vote);
        }
        let id = log_id(7, 42);
        assert_eq!(decode_log_id(&encode_log_id(&id).unwrap(), "id").unwrap(), id);
        let stored = StoredMembership::new(Some(log_id(1, 2)), membership());
        let record = StoredMembershipRecord::from(&stored);
        assert_eq!(StoredMembership::try_from(record).unwrap(), stored);
        let empty = StoredMembership::default();
        assert_eq!(StoredMembership::try_from(StoredMembershipRecord::from(&empty)).unwrap(), empty);
    }
}
