//! The state machine of a group: a shard's records or the cluster metadata.
//!
//! Each `apply` call writes its effects and the new applied state in one engine batch, so a
//! crash leaves either all of them or none; openraft then re-applies committed entries
//! after the applied log id, and re-applying overwrites the same rows with the same values.

use super::types::{Entry, LogId, Request, Response, SnapshotMeta, StoredMembership, TypeConfig};
use super::{decode, encode};
use crate::control::metadata::MetaState;
use crate::domain::GroupId;
use crate::shard::append::apply_append;
use crate::shard::read::read_records;
use crate::shard::{IndexValue, ShardApplied, ShardShared};
use crate::storage::keys::{self, MetaKey};
use crate::storage::{Batch, Cf, Engine};
use futures::{Stream, TryStreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use serde::{Deserialize, Serialize};
use std::io::{self, Cursor};
use std::sync::Arc;
use tokio::sync::watch;

pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, Cursor<Vec<u8>>>;

/// The metadata group's applied state, persisted with every apply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MetaApplied {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub state: MetaState,
}

/// What the node reads of the metadata group.
pub struct MetaShared {
    tx: watch::Sender<Arc<MetaApplied>>,
}

impl MetaShared {
    pub fn new(applied: MetaApplied) -> Arc<MetaShared> {
        let (tx, _) = watch::channel(Arc::new(applied));
        Arc::new(MetaShared { tx })
    }

    pub fn current(&self) -> Arc<MetaApplied> {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<MetaApplied>> {
        self.tx.subscribe()
    }
}

#[derive(Clone)]
pub enum Holds {
    Meta(Arc<MetaShared>),
    Shard(Arc<ShardShared>),
}

#[derive(Clone)]
pub struct GroupStateMachine {
    group: GroupId,
    engine: Arc<dyn Engine>,
    holds: Holds,
}

/// A shard snapshot: every record, for a replica that lost the log before it.
#[derive(Serialize, Deserialize)]
struct ShardSnapshot {
    last_counter: u64,
    last_arrival_ms: i64,
    records: Vec<(u64, IndexValue)>,
}

/// Records in one shard snapshot at the most; snapshots of shards are built only when a
/// replica needs the log openraft purged, which Runnel does not do yet.
const SNAPSHOT_RECORDS_MAX: usize = 10_000_000;

pub fn load_shard_applied(engine: &dyn Engine, group: GroupId) -> io::Result<ShardApplied> {
    match engine.get(Cf::State, &keys::meta(group, MetaKey::Applied))? {
        Some(bytes) => decode(&bytes),
        None => Ok(ShardApplied::default()),
    }
}

pub fn load_meta_applied(engine: &dyn Engine, group: GroupId) -> io::Result<MetaApplied> {
    match engine.get(Cf::State, &keys::meta(group, MetaKey::Metadata))? {
        Some(bytes) => decode(&bytes),
        None => Ok(MetaApplied::default()),
    }
}

impl GroupStateMachine {
    pub fn new(group: GroupId, engine: Arc<dyn Engine>, holds: Holds) -> GroupStateMachine {
        GroupStateMachine { group, engine, holds }
    }

    fn snapshot_bytes(&self) -> io::Result<(Option<LogId>, StoredMembership, Vec<u8>)> {
        match &self.holds {
            Holds::Meta(meta) => {
                let applied = meta.current();
                Ok((applied.last_applied, applied.membership.clone(), encode(&applied.state)?))
            }
            Holds::Shard(shard) => {
                let applied = shard.applied();
                let rows =
                    read_records(self.engine.as_ref(), self.group, shard.shard, 0, SNAPSHOT_RECORDS_MAX, usize::MAX)?;
                let records = rows
                    .records
                    .into_iter()
                    .map(|r| {
                        let value = IndexValue::Inline {
                            arrival_ms: r.arrival_ms,
                            partition_key: r.partition_key,
                            data: r.data,
                        };
                        (r.sequence_number.counter(), value)
                    })
                    .collect();
                let snap = ShardSnapshot {
                    last_counter: applied.last_counter,
                    last_arrival_ms: applied.last_arrival_ms,
                    records,
                };
                Ok((applied.last_applied, applied.membership, encode(&snap)?))
            }
        }
    }
}

fn respond(responder: Option<openraft::storage::ApplyResponder<TypeConfig>>, response: Response) {
    if let Some(r) = responder {
        r.send(response);
    }
}

impl RaftSnapshotBuilder<TypeConfig> for GroupStateMachine {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let (last_log_id, last_membership, data) = self.snapshot_bytes()?;
        Ok(Snapshot { meta: SnapshotMeta { last_log_id, last_membership }, snapshot: Cursor::new(data) })
    }
}

impl RaftStateMachine<TypeConfig> for GroupStateMachine {
    type SnapshotData = Cursor<Vec<u8>>;
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok(match &self.holds {
            Holds::Meta(meta) => {
                let a = meta.current();
                (a.last_applied, a.membership.clone())
            }
            Holds::Shard(shard) => {
                let a = shard.applied();
                (a.last_applied, a.membership)
            }
        })
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut out = Batch::default();
        let mut responses = Vec::new();
        match self.holds.clone() {
            Holds::Shard(shard) => {
                let mut applied = shard.applied();
                while let Some((entry, responder)) = entries.try_next().await? {
                    let response = apply_shard_entry(&shard, &entry, &mut applied, &mut out)?;
                    applied.last_applied = Some(entry.log_id());
                    responses.push((responder, response));
                }
                out.put(Cf::State, keys::meta(self.group, MetaKey::Applied), encode(&applied)?);
                self.engine.write(out)?;
                shard.set_applied(applied);
            }
            Holds::Meta(meta) => {
                let mut applied = (*meta.current()).clone();
                while let Some((entry, responder)) = entries.try_next().await? {
                    let response = match &entry.payload {
                        EntryPayload::Normal(Request::Meta(cmd)) => Response::Meta(applied.state.apply(cmd)),
                        EntryPayload::Normal(Request::Append(_)) => Response::WrongGroup,
                        EntryPayload::Blank => Response::Empty,
                        EntryPayload::Membership(m) => {
                            applied.membership = StoredMembership::new(Some(entry.log_id()), m.clone());
                            applied.state.nodes = m.nodes().map(|(id, node)| (*id, node.addr.clone())).collect();
                            Response::Empty
                        }
                    };
                    applied.last_applied = Some(entry.log_id());
                    responses.push((responder, response));
                }
                out.put(Cf::State, keys::meta(self.group, MetaKey::Metadata), encode(&applied)?);
                self.engine.write(out)?;
                meta.tx.send_replace(Arc::new(applied));
            }
        }
        // Answer only once the effects are written (and so readable).
        for (responder, response) in responses {
            respond(responder, response);
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: Self::SnapshotData) -> Result<(), io::Error> {
        let data = snapshot.into_inner();
        let mut out = Batch::default();
        match self.holds.clone() {
            Holds::Meta(shared) => {
                let applied = MetaApplied {
                    last_applied: meta.last_log_id,
                    membership: meta.last_membership.clone(),
                    state: decode(&data)?,
                };
                out.put(Cf::State, keys::meta(self.group, MetaKey::Metadata), encode(&applied)?);
                self.engine.write(out)?;
                shared.tx.send_replace(Arc::new(applied));
            }
            Holds::Shard(shard) => {
                let snap: ShardSnapshot = decode(&data)?;
                out.delete_range(Cf::Index, keys::group_prefix(self.group), keys::group_end(self.group));
                for (counter, value) in &snap.records {
                    out.put(Cf::Index, keys::numbered(self.group, *counter), encode(value)?);
                }
                let applied = ShardApplied {
                    last_applied: meta.last_log_id,
                    membership: meta.last_membership.clone(),
                    last_counter: snap.last_counter,
                    last_arrival_ms: snap.last_arrival_ms,
                };
                out.put(Cf::State, keys::meta(self.group, MetaKey::Applied), encode(&applied)?);
                self.engine.write(out)?;
                shard.set_applied(applied);
            }
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        // The current state is always a valid snapshot of itself.
        self.build_snapshot().await.map(Some)
    }
}

fn apply_shard_entry(
    shard: &ShardShared,
    entry: &Entry,
    applied: &mut ShardApplied,
    out: &mut Batch,
) -> io::Result<Response> {
    Ok(match &entry.payload {
        EntryPayload::Normal(Request::Append(batch)) => {
            Response::Appended(apply_append(shard, entry.index(), batch, applied, out)?)
        }
        EntryPayload::Normal(Request::Meta(_)) => Response::WrongGroup,
        EntryPayload::Blank => Response::Empty,
        EntryPayload::Membership(m) => {
            applied.membership = StoredMembership::new(Some(entry.log_id()), m.clone());
            Response::Empty
        }
    })
}
