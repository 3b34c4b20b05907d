//! Turns the metadata into running groups on this node, one pass at a time: bootstrap the
//! metadata group, start and initialize the shard groups placed here, report shards ready,
//! drop the groups of deleted streams, and (on the metadata leader) carry out reshards,
//! purge deleted streams and rotate the token signing key.

use super::node::{Node, StartError};
use super::propose::propose;
use crate::control::{MetaCommand, StreamStatus, TokenKey};
use crate::domain::{GroupId, META_GROUP};
use crate::limits::TOKEN_KEY_ROTATION_MS;
use crate::replica::GroupCommand;
use openraft::async_runtime::WatchReceiver as _;
use openraft::BasicNode;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const PASS_INTERVAL: Duration = Duration::from_millis(200);
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
}

struct Pass {
    node: Arc<Node>,
    started: Instant,
    meta_initialized: bool,
    first_seen: HashMap<GroupId, Instant>,
    reported: HashMap<(GroupId, Report), Instant>,
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
        let me = self.node.id;

        for (stream, shard) in meta.state.groups() {
            if !shard.replicas.contains(&me) || stream.status == StreamStatus::Deleting {
                continue;
            }
            let group = match self.node.start_group(shard).await {
                Ok(g) => g,
                Err(StartError::Tombstoned(_)) | Err(StartError::ShuttingDown) => continue,
                Err(e) => {
                    tracing::warn!(node = me, group = %shard.group, "cannot start group: {e}");
                    continue;
                }
            };
            if shard.ready {
                continue;
            }
            let first_seen = *self.first_seen.entry(shard.group).or_insert_with(Instant::now);
            // The preferred leader at once; the others in turn, one election timeout
            // apart, in case it is down (a reshard's children wait for this).
            let rank = shard.replicas.iter().position(|r| *r == me).unwrap_or(0) as u32;
            let grace = Duration::from_millis(self.node.config.raft.election_max_ms) * rank;
            let my_turn = first_seen.elapsed() >= grace;
            if my_turn && matches!(group.raft.is_initialized().await, Ok(false)) {
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

        // Groups of deleted streams: ids below `next_group` that no live stream holds here.
        for group in self.node.group_ids() {
            let live = meta
                .state
                .find_group(group)
                .is_some_and(|(stream, shard)| stream.status != StreamStatus::Deleting && shard.replicas.contains(&me));
            if !live && group.0 < meta.state.next_group {
                if let Err(e) = self.node.drop_group(group).await {
                    tracing::warn!(node = me, %group, "cannot drop group: {e}");
                }
                self.first_seen.remove(&group);
            }
        }

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

    async fn bootstrap_meta(&mut self) {
        if self.meta_initialized {
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
        if lowest || self.started.elapsed() > self.init_grace() {
            match self.node.meta_raft.initialize(self.node.cluster_members()).await {
                Ok(()) => tracing::info!(node = self.node.id, "initialized the metadata group"),
                Err(e) => tracing::debug!("metadata initialize: {e}"),
            }
        }
    }
}
