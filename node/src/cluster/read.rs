//! Reading a shard from any node: at the shard's leader when known, else from any replica
//! (`Peer.Read` when it is not this node). Reads are idempotent, so any failure moves on to
//! the next replica.

use super::node::Node;
use crate::domain::{GroupId, NodeId, SequenceNumber, ShardId};
use crate::raft::{decode, encode};
use crate::shard::read::{first_counter_at_or_after, next_arrival, read_records};
use openraft::async_runtime::WatchReceiver as _;
use runnel_proto::v1::peer::ReadRequest;
use serde::{Deserialize, Serialize};
use std::time::Duration;

const READ_TIMEOUT: Duration = Duration::from_secs(10);

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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadRecord {
    pub sequence_number: SequenceNumber,
    pub arrival_ms: i64,
    pub partition_key: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
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

#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
pub enum ReadError {
    #[error("no replica of group {0} answered")]
    Unavailable(GroupId),
    #[error("group {0} is not hosted on this node")]
    NotHosted(GroupId),
    #[error("storage: {0}")]
    Storage(String),
}

pub fn read_local(node: &Node, req: &ShardRead) -> Result<ShardReadReply, ReadError> {
    let group = node.group(req.group).ok_or(ReadError::NotHosted(req.group))?;
    let engine = node.engine.as_ref();
    let storage = |e: std::io::Error| ReadError::Storage(e.to_string());
    let last_counter = group.shared.applied().last_counter;
    let from_counter = match req.from {
        ReadFrom::Counter(c) => c,
        ReadFrom::Timestamp(ts) => {
            first_counter_at_or_after(engine, req.group, ts).map_err(storage)?.unwrap_or(last_counter + 1)
        }
    };
    let batch = if req.limit == 0 {
        crate::shard::read::ReadBatch { records: Vec::new(), next_counter: from_counter }
    } else {
        read_records(engine, req.group, req.shard, from_counter, req.limit as usize, req.bytes_max as usize)
            .map_err(storage)?
    };
    // Counters may skip (SequenceNumberForOrdering): ask the index for the next record.
    let next_arrival_ms = if batch.next_counter <= last_counter {
        next_arrival(engine, req.group, batch.next_counter).map_err(storage)?
    } else {
        None
    };
    Ok(ShardReadReply {
        records: batch
            .records
            .into_iter()
            .map(|r| ReadRecord {
                sequence_number: r.sequence_number,
                arrival_ms: r.arrival_ms,
                partition_key: r.partition_key,
                data: r.data,
            })
            .collect(),
        next_counter: batch.next_counter,
        last_counter,
        next_arrival_ms,
    })
}

/// Reads at the shard's leader when it is known, so a record is readable as soon as its
/// put was acknowledged (the leader applies before it acknowledges); falls back to this
/// node's replica, then to the other replicas.
pub async fn read(node: &Node, replicas: &[NodeId], req: &ShardRead) -> Result<ShardReadReply, ReadError> {
    let leader = node.group(req.group).and_then(|g| g.raft.metrics().borrow_watched().current_leader);
    let hosted = node.group(req.group).is_some();
    if hosted && (leader.is_none() || leader == Some(node.id)) {
        return read_local(node, req);
    }
    let payload = encode(req).map_err(|e| ReadError::Storage(e.to_string()))?;
    if let Some(leader) = leader {
        if let Some(reply) = read_remote(node, leader, &payload).await {
            return Ok(reply);
        }
    }
    if hosted {
        return read_local(node, req);
    }
    for replica in replicas {
        if let Some(reply) = read_remote(node, *replica, &payload).await {
            return Ok(reply);
        }
    }
    Err(ReadError::Unavailable(req.group))
}

async fn read_remote(node: &Node, replica: NodeId, payload: &[u8]) -> Option<ShardReadReply> {
    let addr = node.address_of(replica)?;
    let mut client = node.peers.client(&addr).ok()?;
    let call = client.read(ReadRequest { payload: payload.to_vec() });
    let Ok(Ok(reply)) = tokio::time::timeout(READ_TIMEOUT, call).await else { return None };
    match decode::<Result<ShardReadReply, ReadError>>(&reply.into_inner().payload) {
        Ok(Ok(r)) => Some(r),
        Ok(Err(e)) => {
            tracing::debug!(replica, "read refused: {e}");
            None
        }
        Err(e) => {
            tracing::debug!(replica, "read reply undecodable: {e}");
            None
        }
    }
}
