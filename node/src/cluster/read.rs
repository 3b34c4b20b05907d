//! Reading a shard from any node, linearizably: reads are served by the shard's leader
//! after it confirms its leadership (a quorum acknowledged it within the lease, or a
//! heartbeat round now) and has applied everything committed up to then. A leader that was
//! cut off and deposed can therefore never answer without records the new leader
//! acknowledged. Other nodes forward to the leader (`Peer.Read`); a follower never serves
//! a read itself.

use super::node::{Node, ReadCheck};
use super::propose::HOPS_AT_ONCE;
use crate::crypto::RecordKey;
use crate::domain::{GroupId, NodeId, SequenceNumber, ShardId};
use crate::shard::read::{first_counter_at_or_after, next_arrival, read_stored, ReadBatch};
use crate::storage::off_thread;
use crate::transport::wire::{pack, unpack};
use openraft::async_runtime::WatchReceiver as _;
use openraft::error::{LinearizableReadError, RaftError};
use openraft::raft::linearizable_read::LinearizerOption;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

/// Leader hops and waits for an election, at the most, per read.
const READ_ATTEMPTS_MAX: u32 = 40;
/// Time a read may spend finding a leader that can serve it.
const READ_DEADLINE: Duration = Duration::from_secs(8);
/// Time one remote read may take (a full 10 MiB reply included).
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a leader may take to confirm its leadership for a read.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(3);
const BACKOFF_MIN: Duration = Duration::from_millis(20);
const BACKOFF_MAX: Duration = Duration::from_millis(400);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardRead {
    pub group: GroupId,
    pub shard: ShardId,
    pub from: ReadFrom,
    /// 0 asks only for the shard's position (LATEST, MillisBehindLatest).
    pub limit: u32,
    pub bytes_max: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum ReadFrom {
    Counter(u64),
    /// The first record that arrived at or after this time (AT_TIMESTAMP).
    Timestamp(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRecord {
    pub sequence_number: SequenceNumber,
    pub arrival_ms: i64,
    pub partition_key: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// Stored encrypted (its stream was encrypted when it was written).
    pub encrypted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardReadReply {
    pub records: Vec<ReadRecord>,
    /// Where the next read continues.
    pub next_counter: u64,
    /// The newest record's counter (0 when empty).
    pub last_counter: u64,
    /// Arrival time of the first record not returned, when there is one.
    pub next_arrival_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ReadError {
    /// No leader could serve the read in time.
    #[error("no leader of group {0} could serve the read in time")]
    Unavailable(GroupId),
    #[error("node {node} does not lead group {group}")]
    NotLeader { group: GroupId, node: NodeId, leader: Option<NodeId> },
    #[error("storage: {0}")]
    Storage(String),
    /// The shard's read quota is used up (`kinesis_limits` mode); nothing was read.
    #[error("the read quota of group {0} is used up")]
    Throttled(GroupId),
}

/// Reads the shard's applied state on this node, up to its applied counter. Only a leader
/// that confirmed its leadership may call this for a client.
async fn read_applied(node: &Node, req: &ShardRead) -> Result<ShardReadReply, ReadError> {
    let group = node.group(req.group).ok_or(ReadError::NotLeader { group: req.group, node: node.id, leader: None })?;
    let engine = node.engine.clone();
    let applied = group.shared.applied();
    let (first_counter, last_counter) = (applied.first_counter(), applied.last_counter);
    let req = req.clone();
    let key = node.config.encryption_key.clone();
    let result = off_thread(node.engine.io_blocks(), move || {
        read_at(engine.as_ref(), &req, first_counter, last_counter, key.as_ref())
    })
    .await;
    result.map_err(|e| ReadError::Storage(e.to_string()))
}

/// Reads this node's replica of a shard as far as it has applied, whoever leads: every
/// record it returns is committed, but the replica may lag the leader. For readers that
/// follow a shard and wait for more (SubscribeToShard), never for a read that must see
/// every acknowledged write. `None` when this node holds no replica of the group.
pub async fn read_replica(node: &Node, req: &ShardRead) -> Option<Result<ShardReadReply, ReadError>> {
    node.group(req.group)?;
    Some(read_applied(node, req).await)
}

/// Reads between the trim horizon `first_counter` and `last_counter`: a position that
/// retention expired reads on from the oldest record kept. Encrypted records are opened
/// with `key`, the node's; one it cannot open fails the read.
fn read_at(
    engine: &dyn crate::storage::Engine,
    req: &ShardRead,
    first_counter: u64,
    last_counter: u64,
    key: Option<&RecordKey>,
) -> std::io::Result<ShardReadReply> {
    let from_counter = match req.from {
        ReadFrom::Counter(c) => c.max(first_counter),
        ReadFrom::Timestamp(ts) => {
            first_counter_at_or_after(engine, req.group, ts, last_counter)?.unwrap_or(last_counter.saturating_add(1))
        }
    };
    let batch = if req.limit == 0 {
        ReadBatch { records: Vec::new(), next_counter: from_counter }
    } else {
        let bytes_max = usize::try_from(req.bytes_max).unwrap_or(usize::MAX);
        read_stored(engine, req.group, req.shard, from_counter, last_counter, req.limit as usize, bytes_max)?
            .open(req.group, key)?
    };
    // Counters may skip (SequenceNumberForOrdering): ask the index for the next record.
    let next_arrival_ms = next_arrival(engine, req.group, batch.next_counter, last_counter)?;
    Ok(ShardReadReply {
        records: batch
            .records
            .into_iter()
            .map(|r| ReadRecord {
                sequence_number: r.sequence_number,
                arrival_ms: r.arrival_ms,
                partition_key: r.partition_key,
                data: r.data,
                encrypted: r.encrypted,
            })
            .collect(),
        next_counter: batch.next_counter,
        last_counter,
        next_arrival_ms,
    })
}

/// Serves a read on this node as the shard's leader: confirms leadership, waits until
/// everything committed is applied, then reads. Refuses (`NotLeader`) otherwise.
pub async fn read_at_leader(node: &Node, req: &ShardRead) -> Result<ShardReadReply, ReadError> {
    let not_leader = |leader| ReadError::NotLeader { group: req.group, node: node.id, leader };
    let Some(group) = node.group(req.group) else { return Err(not_leader(None)) };
    if node.read_check == ReadCheck::TrustLocalLeader {
        return read_applied(node, req).await;
    }
    // Within the lease no message is needed; past it, one heartbeat round now.
    let option = LinearizerOption::new(None, true);
    match tokio::time::timeout(CONFIRM_TIMEOUT, group.raft.ensure_linearizable(option)).await {
        Err(_) => Err(not_leader(None)),
        Ok(Ok(_)) => read_within_quota(node, &group, req).await,
        Ok(Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(f)))) => Err(not_leader(f.leader_id)),
        Ok(Err(_)) => Err(not_leader(None)),
    }
}

/// A read at the confirmed leader, within the shard's read quota: GetRecords calls (not
/// the position probes of GetShardIterator) take a call and pay for the bytes returned.
async fn read_within_quota(
    node: &Node,
    group: &super::node::ShardGroup,
    req: &ShardRead,
) -> Result<ShardReadReply, ReadError> {
    if req.limit == 0 {
        return read_applied(node, req).await;
    }
    let term = group.raft.metrics().borrow_watched().current_term;
    if !group.traffic.admit_read(term) {
        return Err(ReadError::Throttled(req.group));
    }
    let reply = read_applied(node, req).await?;
    let bytes = reply.records.iter().map(|r| (r.partition_key.len() + r.data.len()) as u64).sum();
    group.traffic.charge_read(term, bytes);
    Ok(reply)
}

/// Reads a shard linearizably from any node: at this node when it leads the shard, else
/// at the leader it knows of, else at the replicas in turn; retried until `READ_DEADLINE`
/// while leadership moves.
pub async fn read(node: &Node, replicas: &[NodeId], req: &ShardRead) -> Result<ShardReadReply, ReadError> {
    let deadline = Instant::now() + READ_DEADLINE;
    let mut backoff = BACKOFF_MIN;
    let mut hint: Option<NodeId> = None;
    let mut hops = 0;
    let payload = pack(req).map_err(|e| ReadError::Storage(e.to_string()))?;
    for attempt in 0..READ_ATTEMPTS_MAX {
        let local_view = node.group(req.group).and_then(|g| g.raft.metrics().borrow_watched().current_leader);
        let target = hint
            .take()
            .or(local_view)
            .or_else(|| (!replicas.is_empty()).then(|| replicas[attempt as usize % replicas.len()]));
        let outcome = match target {
            None => None,
            Some(leader) if leader == node.id => Some(read_at_leader(node, req).await),
            Some(leader) => Some(read_remote(node, leader, req.group, &payload).await),
        };
        match outcome {
            Some(Ok(reply)) => return Ok(reply),
            Some(Err(ReadError::NotLeader { leader: Some(l), node: asked, .. })) if l != asked => {
                hint = Some(l);
                hops += 1;
                if hops <= HOPS_AT_ONCE {
                    continue;
                }
            }
            Some(Err(e @ (ReadError::Storage(_) | ReadError::Throttled(_)))) => return Err(e),
            _ => {}
        }
        if Instant::now() + backoff > deadline {
            break;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
        hops = 0;
    }
    Err(ReadError::Unavailable(req.group))
}

async fn read_remote(node: &Node, target: NodeId, group: GroupId, payload: &[u8]) -> Result<ShardReadReply, ReadError> {
    let unavailable = || ReadError::NotLeader { group, node: target, leader: None };
    let Some(addr) = node.peer_address(target) else { return Err(unavailable()) };
    match node.peers.read(&addr, payload.to_vec(), READ_TIMEOUT).await {
        Err(e) => {
            tracing::debug!(target, "read not served: {e}");
            Err(unavailable())
        }
        Ok(bytes) => unpack::<Result<ShardReadReply, ReadError>>(&bytes).map_err(|e| {
            tracing::debug!(target, "read reply undecodable: {e}");
            unavailable()
        })?,
    }
}
