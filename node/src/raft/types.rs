use crate::control::metadata::{MetaCommand, MetaResult};
use crate::domain::SequenceNumber;
use serde::{Deserialize, Serialize};

openraft::declare_raft_types!(
    /// One type configuration for every group; the state machine decides what a group holds.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = u64,
        Node = openraft::BasicNode,
        // Standard Raft elections: at most one leader per term (openraft's default allows
        // several per term, told apart by node id).
        LeaderId = openraft::impls::leader_id_std::LeaderId<u64, u64>,
        AsyncRuntime = Runtime,
);

/// Tokio, with openraft's randomness (election timeouts) drawn from a seed carried by the
/// task: every node runs its groups inside `Runtime::scope(seed, ..)`, so a simulation
/// replays the same elections from the same seed.
pub type Runtime = openraft_rt::deterministic_rng::DeterministicRng<openraft_rt_tokio::TokioRuntime>;

pub type Entry = openraft::alias::EntryOf<TypeConfig>;
pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
pub type Vote = openraft::alias::VoteOf<TypeConfig>;
pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;

/// What a Raft entry asks of its group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// A change to streams, shards or placement (metadata group only).
    Meta(MetaCommand),
    /// Records to append to a shard (shard groups only).
    Append(AppendBatch),
}

/// Records proposed together; they get consecutive sequence numbers when applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendBatch {
    /// The leader's clock when it proposed the batch. Replicas take the arrival time from
    /// here, never from their own clocks, so they all agree.
    pub arrival_ms: i64,
    pub records: Vec<NewRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecord {
    pub partition_key: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// SequenceNumberForOrdering: the record's number must exceed this one.
    pub after: Option<SequenceNumber>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Meta(MetaResult),
    /// The sequence numbers of an `Append`, record for record.
    Appended(Vec<SequenceNumber>),
    /// A request the group does not hold (an `Append` sent to the metadata group...).
    WrongGroup,
    /// Blank and membership entries.
    Empty,
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Meta(cmd) => write!(f, "meta {cmd:?}"),
            Request::Append(batch) => write!(f, "append {} records", batch.records.len()),
        }
    }
}

impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Response::Meta(r) => write!(f, "meta {r:?}"),
            Response::Appended(seqs) => write!(f, "appended {} records", seqs.len()),
            Response::WrongGroup => f.write_str("wrong group"),
            Response::Empty => f.write_str("empty"),
        }
    }
}
