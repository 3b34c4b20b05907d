//! Retention on a node, driven by the reconcile pass.
//!
//! - The leader of a shard proposes a `Trim` when it holds records older than the
//!   stream's retention period (at most once per `RETENTION_TRIM_STEPS`-th of the period).
//!   Every replica applies it alike: the expired records' index rows go (shard/trim.rs).
//! - Each replica then purges, on its own, the log entries that held only trimmed records:
//!   a grace period after it saw the trim (a read that found a row just before may still
//!   be loading its entry), it has openraft build a snapshot (a cheap view) and purge the
//!   log up to it, and asks the engine to reclaim the space at once.
//! - The metadata leader forgets closed shards once all their records expired; every node
//!   then drops their groups (reconcile.rs).

use super::node::{Node, ShardGroup, TrimPath};
use super::propose::propose;
use crate::control::StreamMeta;
use crate::domain::{GroupId, NodeId};
use crate::limits::RETENTION_TRIM_STEPS;
use crate::replica::GroupCommand;
use crate::shard::read::next_arrival;
use crate::shard::trim::apply_trim;
use crate::storage::keys::{self, KeyKind};
use crate::storage::{off_thread, Batch, Cf};
use openraft::async_runtime::WatchReceiver as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a replica waits after a trim before purging the log entries it freed.
/// Reads load an entry moments after finding its index row; this is ample.
pub const PURGE_GRACE: Duration = Duration::from_secs(3);
/// Time openraft may take to build the snapshot and purge, before the next pass retries.
const PURGE_TIMEOUT: Duration = Duration::from_secs(30);

/// The time before which the shard's records should be trimmed now, if any: this node
/// must lead the shard, and a record older than the stream's retention must be there.
/// `oldest` remembers, per group, the arrival time of the oldest record found and the first
/// counter it was found from: it changes only with a trim, and reading it from the engine
/// every second for thousands of idle shards would be most of an idle node's work.
pub fn trim_due(
    node: &Node,
    stream: &StreamMeta,
    group: &ShardGroup,
    oldest: &mut HashMap<GroupId, (u64, i64)>,
) -> Option<i64> {
    let retention_ms = stream.retention_ms(node.config.retention_hour_ms);
    let before_ms = node.clock.now_ms().saturating_sub(retention_ms);
    let (trim, last_counter) = group.shared.retention_view();
    let step_ms = (retention_ms / RETENTION_TRIM_STEPS).max(1);
    if trim.is_some_and(|t| before_ms.saturating_sub(t.before_ms) < step_ms) {
        return None;
    }
    let id = group.shared.group;
    let first_counter = trim.map_or(0, |t| t.first_counter);
    let found = match oldest.get(&id) {
        Some((from, arrival_ms)) if *from == first_counter => Ok(Some(*arrival_ms)),
        _ => next_arrival(node.engine.as_ref(), id, first_counter, last_counter),
    };
    if let Ok(Some(arrival_ms)) = found {
        oldest.insert(id, (first_counter, arrival_ms));
    }
    match found {
        Ok(Some(arrival_ms)) if arrival_ms < before_ms => Some(before_ms),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(group = %group.shared.group, "retention cannot read the oldest record: {e}");
            None
        }
    }
}

/// Proposes the trim to the shard's group.
pub async fn trim(node: Arc<Node>, group: GroupId, replicas: Vec<NodeId>, before_ms: i64) {
    if node.trim_path == TrimPath::LeaderOnly {
        return trim_here_only(&node, group, before_ms);
    }
    match propose(&node, group, &replicas, &GroupCommand::Trim { before_ms }).await {
        Ok(done) => tracing::debug!(%group, before_ms, reply = ?done.reply, "trimmed"),
        Err(e) => tracing::debug!(%group, "trim not done yet: {e}"),
    }
}

/// The planted bug (`TrimPath::LeaderOnly`): the records go from this replica alone.
fn trim_here_only(node: &Node, id: GroupId, before_ms: i64) {
    let Some(group) = node.group(id) else { return };
    let mut applied = group.shared.applied();
    let index = applied.last_applied.map_or(0, |l| l.index());
    let mut out = Batch::default();
    if apply_trim(node.engine.as_ref(), id, index, before_ms, &mut applied, &mut out).is_ok()
        && node.engine.write(out).is_ok()
    {
        group.shared.set_applied(applied);
    }
}

/// The log index this replica may purge up to (inclusive), when its log still holds
/// entries below the latest trim's `log_start`.
pub fn purge_target(group: &ShardGroup) -> Option<u64> {
    let log_start = group.shared.retention_view().0?.log_start;
    let upto = log_start.checked_sub(1)?;
    let purged = group.raft.metrics().borrow_watched().purged.map(|id| id.index());
    purged.is_none_or(|p| p < upto).then_some(upto)
}

/// Purges the group's log up to `upto` through openraft (which needs a snapshot covering
/// it), then compacts the freed ranges so the disk space comes back.
pub async fn purge(node: Arc<Node>, group: Arc<ShardGroup>, upto: u64) {
    let id = group.shared.group;
    let work = async {
        let wait = group.raft.wait(Some(PURGE_TIMEOUT));
        group.raft.trigger().snapshot().await.map_err(|e| e.to_string())?;
        wait.metrics(|m| m.snapshot.is_some_and(|s| s.index() >= upto), "snapshot").await.map_err(|e| e.to_string())?;
        group.raft.trigger().purge_log(upto).await.map_err(|e| e.to_string())?;
        wait.metrics(|m| m.purged.is_some_and(|p| p.index() >= upto), "purge").await.map_err(|e| e.to_string())
    };
    if let Err(e) = work.await {
        // The next pass retries.
        return tracing::debug!(group = %id, "log purge not done: {e}");
    }
    let first_counter = group.shared.applied().first_counter();
    let engine = node.engine.clone();
    let compacted = off_thread(engine.io_blocks(), move || {
        engine.reclaim(Cf::Log, &keys::key(id, KeyKind::LogEntry), &keys::numbered(id, KeyKind::LogEntry, upto))?;
        let index_end = keys::numbered(id, KeyKind::Record, first_counter);
        engine.reclaim(Cf::Index, &keys::key(id, KeyKind::Record), &index_end)
    })
    .await;
    match compacted {
        Ok(()) => tracing::debug!(group = %id, upto, "log purged and compacted"),
        Err(e) => tracing::warn!(group = %id, "compaction after a purge failed: {e}"),
    }
}
