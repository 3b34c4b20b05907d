//! Turns the metadata into running groups on this node, one pass at a time (walking the
//! groups only when the metadata changed, a group is not ready, or once a second): bootstrap the
//! metadata group, start and initialize the shard groups placed here, report shards ready,
//! drop the groups of deleted streams and expired shards, apply retention to the shards
//! here (cluster/retention.rs), split the busy shards it leads of on-demand streams, and
//! (on the metadata leader) carry out reshards, forget expired shards, activate and forget
//! consumers, purge deleted streams and rotate the token signing key.

use super::join::{self, JoinState};
use super::node::{Node, ShardGroup, StartError};
use super::propose::propose;
use super::retention::{self, PURGE_GRACE};
use crate::control::{
    ConsumerRef, ConsumerStatus, MetaApplied, MetaCommand, ShardMeta, StreamMeta, StreamMode, StreamStatus, Tags,
    TokenKey,
};
use crate::domain::{GroupId, META_GROUP};
use crate::limits::{CONSUMER_DELETE_GRACE_MS, SHARDS_PER_STREAM_MAX, TOKEN_KEY_ROTATION_MS};
use crate::replica::GroupCommand;
use openraft::async_runtime::WatchReceiver as _;
use openraft::BasicNode;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const PASS_INTERVAL: Duration = Duration::from_millis(200);
/// Retention needs no more than this (it reads each shard's oldest record): with thousands of
/// shards, every pass would cost more than all else an idle node does.
const RETENTION_INTERVAL_MAX: Duration = Duration::from_secs(1);
/// Every group placed here is looked at (started, initialized, reported ready, its traffic
/// and retention) on each pass while the metadata changes or a group here is not ready yet,
/// and otherwise this often: with thousands of idle groups, walking them every pass was
/// most of what an idle node did.
const WALK_INTERVAL_MAX: Duration = Duration::from_secs(1);
/// How often the same report (ShardReady, PurgeStream, a key rotation) is proposed again
/// while unseen.
const REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// Kinds of report, for `Pass::due`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Report {
    ShardReady,
    Purge,
    TokenKey,
    Reshard,
    Trim,
    LogPurge,
    Expire,
    Scale,
    Consumer,
}

/// Purge targets remembered per group while their grace runs; a new one is noted at most
/// every `PURGE_GRACE / PURGE_CANDIDATES_MAX`, so a few suffice however often trims come.
const PURGE_CANDIDATES_MAX: u32 = 8;

struct Pass {
    node: Arc<Node>,
    started: Instant,
    meta_initialized: bool,
    first_seen: HashMap<GroupId, Instant>,
    reported: HashMap<(GroupId, Report), Instant>,
    /// Per group: log indexes it may purge up to, and since when it knew (oldest first).
    purge_candidates: HashMap<GroupId, VecDeque<(u64, Instant)>>,
    /// When the peers were last asked whether they all decided (metadata bootstrap).
    surveyed: Option<Instant>,
    /// When retention last looked at the shards here.
    retained: Option<Instant>,
    /// Per group: the oldest record's arrival time, and the first counter it is for.
    oldest: HashMap<GroupId, (u64, i64)>,
    /// When the groups here were last walked, and the metadata that walk saw.
    walked: Option<(Instant, Arc<MetaApplied>)>,
    /// A group here was not started or not ready at the last walk: walk again next pass.
    unsettled: bool,
}

pub async fn run(node: Arc<Node>) {
    let mut meta_rx = node.meta.subscribe();
    let mut shutdown = node.shutting_down();
    let mut pass = Pass {
        node,
        started: Instant::now(),
        meta_initialized: false,
        first_seen: HashMap::new(),
        reported: HashMap::new(),
        purge_candidates: HashMap::new(),
        surveyed: None,
        retained: None,
        oldest: HashMap::new(),
        walked: None,
        unsettled: true,
    };
    loop {
        if *shutdown.borrow() {
            return;
        }
        pass.run_once().await;
        // `biased`: no random branch choice, so a simulation replays exactly.
        tokio::select! {
            biased;
            _ = shutdown.changed() => {}
            _ = meta_rx.changed() => {}
            _ = tokio::time::sleep(PASS_INTERVAL) => {}
        }
    }
}

impl Pass {
    /// Someone else's turn to initialize: after this long without it happening, do it here.
    /// Initializing twice with the same members is safe; it only costs an election.
    fn init_grace(&self) -> Duration {
        Duration::from_millis(self.node.config.raft.election_max_ms * 3)
    }

    fn due(&mut self, key: (GroupId, Report)) -> bool {
        let now = Instant::now();
        match self.reported.get(&key) {
            Some(t) if now.duration_since(*t) < REPORT_INTERVAL => false,
            _ => {
                self.reported.insert(key, now);
                true
            }
        }
    }

    /// Proposes `command` to the metadata group in the background.
    fn report(&self, command: MetaCommand, what: &'static str) {
        let node = self.node.clone();
        tokio::spawn(async move {
            let replicas = node.config.peers.keys().copied().collect::<Vec<_>>();
            if let Err(e) = propose(&node, META_GROUP, &replicas, &GroupCommand::Meta(command)).await {
                tracing::debug!("{what} not recorded yet: {e}");
            }
        });
    }

    async fn run_once(&mut self) {
        self.bootstrap_meta().await;
        let meta = self.node.meta.current();
        // Only a member that is not stopping initializes groups (cluster/join.rs,
        // cluster/handoff.rs): initializing makes this node a candidate.
        let may_initialize = self.node.join_state() == JoinState::Member && !self.node.is_handing_over();
        if self.node.join_state() == JoinState::Rebuilding {
            self.finish_rebuild(&meta);
        }

        // A twentieth of a retention hour at the most: tests shorten the hour.
        let retention_every = RETENTION_INTERVAL_MAX
            .min(Duration::from_millis(self.node.config.retention_hour_ms / 20))
            .max(PASS_INTERVAL);
        let retention_due = self.retained.is_none_or(|t| t.elapsed() >= retention_every);
        if retention_due {
            self.retained = Some(Instant::now());
        }
        let changed = self.walked.as_ref().is_none_or(|(_, seen)| !Arc::ptr_eq(seen, &meta));
        let stale = self.walked.as_ref().is_none_or(|(at, _)| at.elapsed() >= WALK_INTERVAL_MAX);
        if changed || stale || retention_due || self.unsettled {
            self.walked = Some((Instant::now(), meta.clone()));
            self.unsettled = self.walk(&meta, may_initialize, retention_due).await;
        }
        self.lead_meta(&meta);
    }

    /// Looks at every group placed here and drops those no longer placed here; true when
    /// one of them is not started or not ready yet.
    async fn walk(&mut self, meta: &MetaApplied, may_initialize: bool, retention_due: bool) -> bool {
        let me = self.node.id;
        let mut unsettled = false;
        for (stream, shard) in meta.state.groups() {
            if !shard.replicas.contains(&me) || stream.status == StreamStatus::Deleting {
                continue;
            }
            let group = match self.node.start_group(shard).await {
                Ok(g) => g,
                Err(StartError::Tombstoned(_)) | Err(StartError::ShuttingDown) => continue,
                Err(e) => {
                    tracing::warn!(node = me, group = %shard.group, "cannot start group: {e}");
                    unsettled = true;
                    continue;
                }
            };
            if retention_due {
                self.retain(stream, shard, &group);
            }
            self.traffic(stream, shard, &group);
            if shard.ready {
                continue;
            }
            unsettled = true;
            let first_seen = *self.first_seen.entry(shard.group).or_insert_with(Instant::now);
            // The preferred leader at once; the others in turn, one election timeout
            // apart, in case it is down (a reshard's children wait for this).
            let rank = shard.replicas.iter().position(|r| *r == me).unwrap_or(0) as u32;
            let grace = Duration::from_millis(self.node.config.raft.election_max_ms) * rank;
            let my_turn = first_seen.elapsed() >= grace;
            if may_initialize && my_turn && matches!(group.raft.is_initialized().await, Ok(false)) {
                let members: BTreeMap<_, _> = shard
                    .replicas
                    .iter()
                    .filter_map(|id| self.node.peer_address(*id).map(|a| (*id, BasicNode::new(a))))
                    .collect();
                if let Err(e) = group.raft.initialize(members).await {
                    tracing::debug!(node = me, group = %shard.group, "initialize: {e}");
                }
            }
            let leads = group.raft.metrics().borrow_watched().current_leader == Some(me);
            if leads && self.due((shard.group, Report::ShardReady)) {
                self.report(MetaCommand::ShardReady { group: shard.group }, "ShardReady");
            }
        }

        // Groups of deleted streams: ids below `next_group` that no live stream holds here
        // (one set per pass: a lookup per group would make the pass quadratic in groups).
        let live: HashSet<GroupId> = meta
            .state
            .groups()
            .filter(|(stream, shard)| stream.status != StreamStatus::Deleting && shard.replicas.contains(&me))
            .map(|(_, shard)| shard.group)
            .collect();
        for group in self.node.group_ids() {
            if !live.contains(&group) && group.0 < meta.state.next_group {
                if let Err(e) = self.node.drop_group(group).await {
                    tracing::warn!(node = me, %group, "cannot drop group: {e}");
                }
                self.first_seen.remove(&group);
                self.purge_candidates.remove(&group);
                self.oldest.remove(&group);
            }
        }
        unsettled
    }

    /// What the metadata leader carries out: reshards, expiry, consumers, purges of deleted
    /// streams and the token key rotation.
    fn lead_meta(&mut self, meta: &MetaApplied) {
        let me = self.node.id;
        if self.node.meta_raft.metrics().borrow_watched().current_leader != Some(me) {
            return;
        }
        for stream in meta.state.streams.values() {
            // Keyed by the first parent's group: each step is due at once.
            let Some(first) = stream.reshard.as_ref().and_then(|r| r.parents.first()) else { continue };
            let Some(group) = stream.shard(*first).map(|s| s.group) else { continue };
            if stream.status != StreamStatus::Deleting && self.due((group, Report::Reshard)) {
                let (node, stream) = (self.node.clone(), stream.clone());
                tokio::spawn(async move {
                    if let Err(e) = super::reshard::advance(node, stream).await {
                        tracing::debug!("reshard not done yet: {e}");
                    }
                });
            }
        }
        let (now, hour_ms) = (self.node.clock.now_ms(), self.node.config.retention_hour_ms);
        for stream in meta.state.streams.values() {
            let expired = stream.status != StreamStatus::Deleting && !stream.expired_shards(now, hour_ms).is_empty();
            if expired && self.due((GroupId(stream.incarnation), Report::Expire)) {
                let (name, incarnation) = (stream.name.clone(), stream.incarnation);
                self.report(MetaCommand::ExpireShards { name, incarnation, now_ms: now, hour_ms }, "ExpireShards");
            }
        }
        for stream in meta.state.streams.values() {
            for c in &stream.consumers {
                let consumer =
                    ConsumerRef { stream: stream.name.clone(), name: c.name.clone(), created_ms: c.created_ms };
                // One report key per consumer (registrations in the same millisecond too).
                let key = (GroupId(consumer_key(stream.incarnation, &c.name, c.created_ms)), Report::Consumer);
                match c.status {
                    ConsumerStatus::Creating if self.due(key) => {
                        self.report(MetaCommand::ActivateConsumer { consumer }, "consumer activation")
                    }
                    ConsumerStatus::Deleting
                        if c.deleting_since_ms.is_some_and(|t| now - t >= CONSUMER_DELETE_GRACE_MS)
                            && self.due(key) =>
                    {
                        self.report(MetaCommand::ForgetConsumer { consumer }, "consumer removal")
                    }
                    _ => {}
                }
            }
        }
        let deleting: Vec<_> = meta
            .state
            .streams
            .values()
            .filter(|s| s.status == StreamStatus::Deleting)
            .map(|s| (s.name.clone(), s.incarnation))
            .collect();
        for (name, incarnation) in deleting {
            if self.due((GroupId(incarnation), Report::Purge)) {
                self.report(MetaCommand::PurgeStream { name, incarnation }, "PurgeStream");
            }
        }
        let now = self.node.clock.now_ms();
        let newest = meta.state.token_keys.last();
        let stale = newest.is_none_or(|k| now.saturating_sub(k.created_ms) >= TOKEN_KEY_ROTATION_MS);
        if stale && self.due((META_GROUP, Report::TokenKey)) {
            let id = newest.map_or(Some(1), |k| k.id.checked_add(1));
            if let Some(id) = id {
                let key = TokenKey { id, secret: self.node.secret(), created_ms: now };
                self.report(MetaCommand::RotateTokenKey { key }, "token key rotation");
            }
        }
    }

    /// Retention for one shard group here: a trim when this node leads it and records
    /// expired; a log purge once a trim's grace has passed.
    fn retain(&mut self, stream: &StreamMeta, shard: &ShardMeta, group: &Arc<ShardGroup>) {
        let leads = group.raft.metrics().borrow_watched().current_leader == Some(self.node.id);
        if leads {
            if let Some(before_ms) = retention::trim_due(&self.node, stream, group, &mut self.oldest) {
                if self.due((shard.group, Report::Trim)) {
                    let (node, replicas) = (self.node.clone(), shard.replicas.clone());
                    tokio::spawn(retention::trim(node, shard.group, replicas, before_ms));
                }
            }
        }
        let Some(target) = retention::purge_target(group) else {
            self.purge_candidates.remove(&shard.group);
            return;
        };
        let candidates = self.purge_candidates.entry(shard.group).or_default();
        let spacing = PURGE_GRACE / PURGE_CANDIDATES_MAX;
        if candidates.back().is_none_or(|(upto, at)| *upto < target && at.elapsed() >= spacing) {
            candidates.push_back((target, Instant::now()));
        }
        let ripe = candidates.iter().take_while(|(_, at)| at.elapsed() >= PURGE_GRACE).count();
        let Some(&(upto, _)) = ripe.checked_sub(1).and_then(|last| candidates.get(last)) else { return };
        if self.due((shard.group, Report::LogPurge)) {
            if let Some(candidates) = self.purge_candidates.get_mut(&shard.group) {
                candidates.drain(..ripe);
            }
            tokio::spawn(retention::purge(self.node.clone(), group.clone(), upto));
        }
    }

    /// The traffic of a shard this node leads: on-demand streams grow as Kinesis's do: a
    /// shard whose write rate stayed above half
    /// its capacity over a whole window (`on_demand_window_ms`) is split at its middle by
    /// its leader, within the stream's and the cluster's shard limits.
    fn traffic(&mut self, stream: &StreamMeta, shard: &ShardMeta, group: &Arc<ShardGroup>) {
        let (leader, term) = {
            let metrics = group.raft.metrics();
            let m = metrics.borrow_watched();
            (m.current_leader, m.current_term)
        };
        // The quota's term started when this node won it (cluster/leadership.rs).
        if leader != Some(self.node.id) {
            return;
        }
        if stream.mode != StreamMode::OnDemand {
            group.traffic.reset_meter();
            return;
        }
        if stream.status != StreamStatus::Active || !shard.is_open() {
            return;
        }
        let window = Duration::from_millis(self.node.config.on_demand_window_ms);
        let Some(rate) = group.traffic.take_write_rate(term, window) else { return };
        let room = (stream.open_shards().count() as u32) < SHARDS_PER_STREAM_MAX;
        let Some(middle) = shard.middle() else { return };
        if !(rate.above_half_capacity() && room && self.due((shard.group, Report::Scale))) {
            return;
        }
        tracing::info!(stream = %stream.name, shard = %shard.id, ?rate, "on-demand stream: splitting a busy shard");
        let split = MetaCommand::SplitShard { name: stream.name.clone(), shard: shard.id, new_starting_hash: middle };
        let command = MetaCommand::ShardLimited {
            shard_limit: self.node.config.shard_limit,
            tags: Tags::new(),
            command: Box::new(split),
        };
        self.report(command, "on-demand split");
    }

    /// A rebuilding node is a member again once the metadata group and every group placed
    /// on it have caught up (cluster/join.rs).
    fn finish_rebuild(&self, meta: &MetaApplied) {
        let node = &self.node;
        let applied = |raft: &crate::replica::Raft| raft.metrics().borrow_watched().last_applied.map(|l| l.index);
        if !node.catch_up.caught_up(META_GROUP, applied(&node.meta_raft)) {
            return;
        }
        for (stream, shard) in meta.state.groups() {
            if !shard.replicas.contains(&node.id) || stream.status == StreamStatus::Deleting {
                continue;
            }
            let caught_up =
                node.group(shard.group).is_some_and(|g| node.catch_up.caught_up(shard.group, applied(&g.raft)));
            if !caught_up {
                return;
            }
        }
        match node.set_join_state(JoinState::Member) {
            Ok(()) => tracing::info!(node = node.id, "rebuilt: every group here has caught up"),
            Err(e) => tracing::warn!(node = node.id, "cannot record the end of the rebuild: {e}"),
        }
    }

    async fn bootstrap_meta(&mut self) {
        if self.meta_initialized {
            return;
        }
        if self.node.join_state() != JoinState::Member || self.node.is_handing_over() {
            return;
        }
        match self.node.meta_raft.is_initialized().await {
            Ok(true) => {
                self.meta_initialized = true;
                return;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!("metadata group stopped: {e}");
                return;
            }
        }
        let lowest = self.node.config.peers.keys().next() == Some(&self.node.id);
        if !(lowest || self.started.elapsed() > self.init_grace()) {
            return;
        }
        // Every peer must have decided first: a node that starts a little later would
        // otherwise find a cluster that exists with it as a member, and take itself for a
        // node whose volume was lost (cluster/join.rs).
        if self.surveyed.is_some_and(|t| t.elapsed() < join::SURVEY_INTERVAL) {
            return;
        }
        self.surveyed = Some(Instant::now());
        if !join::all_decided(&join::survey(&self.node).await) {
            return;
        }
        match self.node.meta_raft.initialize(self.node.cluster_members()).await {
            Ok(()) => tracing::info!(node = self.node.id, "initialized the metadata group"),
            Err(e) => tracing::debug!("metadata initialize: {e}"),
        }
    }
}

/// A report key for one consumer of one stream incarnation. `DefaultHasher::new` uses
/// fixed keys: the same on every pass and in every simulation replay.
fn consumer_key(incarnation: u64, name: &str, created_ms: i64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (incarnation, name, created_ms).hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumers_registered_in_the_same_millisecond_have_their_own_report_keys() {
        let keys: std::collections::BTreeSet<u64> = (0..20).map(|i| consumer_key(7, &format!("c{i}"), 1_000)).collect();
        assert_eq!(keys.len(), 20);
        assert_eq!(consumer_key(7, "c1", 1_000), consumer_key(7, "c1", 1_000), "stable");
        assert_ne!(consumer_key(7, "c1", 1_000), consumer_key(8, "c1", 1_000));
    }
}
