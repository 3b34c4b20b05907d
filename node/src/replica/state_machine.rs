//! The state machine of a group: a shard's records or the cluster metadata.
//!
//! Each `apply` call writes its effects and the new applied state in one engine batch, so a
//! crash leaves either all of them or none; openraft then re-applies committed entries
//! after the applied log id, and re-applying overwrites the same rows with the same values.
//!
//! A storage error or a broken invariant here stops the node (`FailStop`): applied state
//! that cannot be trusted must not serve reads or acknowledge writes.

use super::command::{decode, Decoded, GroupReply};
use super::snapshot::{install_meta, MetaSnapshotSource};
use crate::control::MetaApplied;
use crate::domain::GroupId;
use crate::failstop::FailStop;
use crate::raft::snapshot::SnapshotData;
use crate::raft::types::{Entry, EntryPayload, LogId, SnapshotMeta, StoredMembership, TypeConfig};
use crate::shard::append::apply_append;
use crate::shard::snapshot::ShardSnapshotSource;
use crate::shard::trim::apply_trim;
use crate::shard::{ShardApplied, ShardShared};
use crate::storage::{Batch, Cf, Engine};
use futures::{Stream, TryStreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{OptionalSend, RaftSnapshotBuilder};
use std::io;
use std::sync::Arc;
use tokio::sync::watch;

pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, SnapshotData>;

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

    fn set(&self, applied: MetaApplied) {
        self.tx.send_replace(Arc::new(applied));
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
    fail_stop: FailStop,
}

fn respond(responder: Option<openraft::storage::ApplyResponder<TypeConfig>>, reply: GroupReply) {
    if let Some(r) = responder {
        r.send(reply.encode());
    }
}

impl GroupStateMachine {
    pub fn new(group: GroupId, engine: Arc<dyn Engine>, holds: Holds, fail_stop: FailStop) -> GroupStateMachine {
        GroupStateMachine { group, engine, holds, fail_stop }
    }

    /// Stops the node when an invariant of applied state breaks.
    fn invariant(&self, holds: bool, what: impl FnOnce() -> String) -> io::Result<()> {
        if holds {
            return Ok(());
        }
        Err(self.fail_stop.trigger(&format!("{}: broken invariant: {}", self.group, what())))
    }

    /// Applied entries are contiguous: each one follows the last.
    fn check_next(&self, last: &Option<LogId>, entry: &Entry) -> io::Result<()> {
        self.invariant(last.as_ref().is_none_or(|l| entry.index() == l.index + 1), || {
            format!("entry {} applied after {:?}", entry.index(), last)
        })
    }

    fn write(&self, out: Batch) -> io::Result<()> {
        let result = self.engine.write(out);
        self.fail_stop.check(&format!("{} apply", self.group), result)
    }

    fn build(&self) -> io::Result<Snapshot> {
        match &self.holds {
            Holds::Meta(meta) => {
                let applied = meta.current();
                let source = MetaSnapshotSource::new(&applied.state)?;
                Ok(Snapshot {
                    meta: SnapshotMeta {
                        last_log_id: applied.last_applied,
                        last_membership: applied.membership.clone(),
                    },
                    snapshot: SnapshotData::Source(Box::new(source)),
                })
            }
            Holds::Shard(shard) => {
                let applied = shard.applied();
                let source = ShardSnapshotSource::new(self.engine.clone(), self.group, shard.shard, &applied);
                Ok(Snapshot {
                    meta: SnapshotMeta {
                        last_log_id: applied.last_applied,
                        last_membership: applied.membership.clone(),
                    },
                    snapshot: SnapshotData::Source(Box::new(source)),
                })
            }
        }
    }

    async fn apply_shard<Strm>(&self, shard: &ShardShared, entries: &mut Strm) -> io::Result<()>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut out = Batch::default();
        let mut replies = Vec::new();
        let mut applied = shard.applied();
        while let Some((entry, responder)) = entries.try_next().await? {
            self.check_next(&applied.last_applied, &entry)?;
            let reply = match &entry.payload {
                EntryPayload::Normal(cmd) => match decode(&cmd.0) {
                    Ok(Decoded::Append(batch)) => {
                        match apply_append(shard, entry.index(), &batch, &mut applied, &mut out) {
                            Ok(seqs) => GroupReply::Appended(seqs),
                            Err(refused) => GroupReply::AppendRefused(refused),
                        }
                    }
                    Ok(Decoded::Seal) => {
                        applied.sealed = true;
                        GroupReply::Sealed { last_counter: applied.last_counter }
                    }
                    Ok(Decoded::Trim { before_ms }) => {
                        // The trim looks rows up: earlier entries' effects must be written.
                        self.write(std::mem::take(&mut out))?;
                        let engine = self.engine.as_ref();
                        let result = apply_trim(engine, self.group, entry.index(), before_ms, &mut applied, &mut out);
                        let first_counter = self.fail_stop.check(&format!("{} trim", self.group), result)?;
                        GroupReply::Trimmed { first_counter }
                    }
                    Ok(Decoded::Meta(_)) => GroupReply::Refused("a metadata command sent to a shard".into()),
                    Err(e) => GroupReply::Refused(e),
                },
                EntryPayload::Blank => GroupReply::Empty,
                EntryPayload::Membership(m) => {
                    applied.membership = StoredMembership::new(Some(entry.log_id()), m.clone());
                    GroupReply::Empty
                }
            };
            applied.last_applied = Some(entry.log_id());
            replies.push((responder, reply));
        }
        out.put(Cf::State, ShardApplied::key(self.group), applied.encode()?);
        self.write(out)?;
        shard.set_applied(applied);
        // Answer only once the effects are written (and so readable).
        for (responder, reply) in replies {
            respond(responder, reply);
        }
        Ok(())
    }

    async fn apply_meta<Strm>(&self, meta: &MetaShared, entries: &mut Strm) -> io::Result<()>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut replies = Vec::new();
        let before = meta.current();
        let mut applied = (*before).clone();
        while let Some((entry, responder)) = entries.try_next().await? {
            self.check_next(&applied.last_applied, &entry)?;
            let reply = match &entry.payload {
                EntryPayload::Normal(cmd) => match decode(&cmd.0) {
                    Ok(Decoded::Meta(cmd)) => GroupReply::Meta(applied.state.apply(&cmd)),
                    Ok(Decoded::Append(_)) => GroupReply::Refused("records sent to the metadata group".into()),
                    Ok(Decoded::Seal) => GroupReply::Refused("a seal sent to the metadata group".into()),
                    Ok(Decoded::Trim { .. }) => GroupReply::Refused("a trim sent to the metadata group".into()),
                    Err(e) => GroupReply::Refused(e),
                },
                EntryPayload::Blank => GroupReply::Empty,
                EntryPayload::Membership(m) => {
                    applied.membership = StoredMembership::new(Some(entry.log_id()), m.clone());
                    applied.state.nodes = m.nodes().map(|(id, node)| (*id, node.addr.clone())).collect();
                    GroupReply::Empty
                }
            };
            applied.last_applied = Some(entry.log_id());
            replies.push((responder, reply));
        }
        let mut out = Batch::default();
        applied.put_changes(&before.state, &mut out, self.group)?;
        self.write(out)?;
        meta.set(applied);
        for (responder, reply) in replies {
            respond(responder, reply);
        }
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for GroupStateMachine {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        // Cheap: a snapshot is a view that reads its chunks only when sent.
        self.build()
    }
}

impl RaftStateMachine<TypeConfig> for GroupStateMachine {
    type SnapshotData = SnapshotData;
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
        match self.holds.clone() {
            Holds::Shard(shard) => self.apply_shard(&shard, &mut entries).await,
            Holds::Meta(meta) => self.apply_meta(&meta, &mut entries).await,
        }
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: Self::SnapshotData) -> Result<(), io::Error> {
        let SnapshotData::Staged(staged) = snapshot else {
            // openraft installs at start-up what `get_current_snapshot` returned: the
            // current state itself, which is already in place.
            return Ok(());
        };
        let engine = self.engine.as_ref();
        match &self.holds {
            Holds::Meta(shared) => {
                let result = install_meta(engine, self.group, meta, &staged);
                let applied = self.fail_stop.check(&format!("{} install", self.group), result)?;
                shared.set(applied);
            }
            Holds::Shard(shard) => {
                let result = crate::shard::snapshot::install(engine, self.group, meta, &staged);
                let applied = self.fail_stop.check(&format!("{} install", self.group), result)?;
                shard.set_applied(applied);
            }
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        // The current state is always a valid snapshot of itself.
        self.build().map(Some)
    }
}
