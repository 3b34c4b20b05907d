//! Turns the metadata into running groups on this node, one pass at a time:
//! bootstrap the metadata group, start and initialize the shard groups placed here, report
//! shards ready, drop the groups of deleted streams, and (on the metadata leader) purge
//! deleted streams.

use super::node::Node;
use super::propose::propose;
use crate::control::metadata::{MetaCommand, StreamStatus};
use crate::domain::{GroupId, META_GROUP};
use crate::raft::Request;
use openraft::async_runtime::WatchReceiver as _;
use openraft::BasicNode;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const PASS_INTERVAL: Duration = Duration::from_millis(200);
/// How often the same report (ShardReady, PurgeStream) is proposed again while unseen.
const REPORT_INTERVAL: Duration = Duration::from_secs(2);

struct Pass {
    node: Arc<Node>,
    started: Instant,
    meta_initialized: bool,
    first_seen: HashMap<GroupId, Instant>,
    reported: HashMap<(GroupId, u8), Instant>,
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
        // `biased`: no random branch choice, so a simulation replays exactly.
        tokio::select! {
            biased;
            _ = meta_rx.changed() => {}
            _ = tokio::time::sleep(PASS_INTERVAL) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        pass.run_once().await;
    }
}

impl Pass {
    /// Someone else's turn to initialize: after this long without it happening, do it here.
    /// Initializing twice with the same members is safe; it only costs an election.
    fn init_grace(&self) -> Duration {
        Duration::from_millis(self.node.config.raft.election_max_ms * 3)
    }

    fn due(&mut self, key: (GroupId, u8)) -> bool {
        let now = Instant::now();
        match self.reported.get(&key) {
            Some(t) if now.duration_since(*t) < REPORT_INTERVAL => false,
            _ => {
                self.reported.insert(key, now);
                true
            }
        }
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
                Err(e) => {
                    tracing::warn!(node = me, group = %shard.group, "cannot start group: {e}");
                    continue;
                }
            };
            if shard.ready {
                continue;
            }
            let first_seen = *self.first_seen.entry(shard.group).or_insert_with(Instant::now);
            let my_turn = shard.replicas.first() == Some(&me) || first_seen.elapsed() > self.init_grace();
            if my_turn && matches!(group.raft.is_initialized().await, Ok(false)) {
                let members: BTreeMap<_, _> = shard
                    .replicas
                    .iter()
                    .filter_map(|id| self.node.address_of(*id).map(|a| (*id, BasicNode::new(a))))
                    .collect();
                if let Err(e) = group.raft.initialize(members).await {
                    tracing::debug!(node = me, group = %shard.group, "initialize: {e}");
                }
            }
            let leads = group.raft.metrics().borrow_watched().current_leader == Some(me);
            if leads && self.due((shard.group, 0)) {
                let node = self.node.clone();
                let cmd = Request::Meta(MetaCommand::ShardReady { group: shard.group });
                tokio::spawn(async move {
                    let replicas = node.config.peers.keys().copied().collect::<Vec<_>>();
                    if let Err(e) = propose(&node, META_GROUP, &replicas, cmd).await {
                        tracing::debug!("ShardReady not recorded yet: {e}");
                    }
                });
            }
        }

        // Groups of deleted streams: ids below `next_group` that no live stream holds.
        for group in self.node.group_ids() {
            let live = meta
                .state
                .find_group(group)
                .is_some_and(|(stream, shard)| stream.status != StreamStatus::Deleting && shard.replicas.contains(&me));
            if !live && group.0 < meta.state.next_group {
                self.node.drop_group(group).await;
                self.first_seen.remove(&group);
            }
        }

        if self.node.meta_raft.metrics().borrow_watched().current_leader == Some(me) {
            let deleting: Vec<_> = meta
                .state
                .streams
                .values()
                .filter(|s| s.status == StreamStatus::Deleting)
                .map(|s| (s.name.clone(), s.incarnation))
                .collect();
            for (name, incarnation) in deleting {
                if self.due((GroupId(incarnation), 1)) {
                    let node = self.node.clone();
                    tokio::spawn(async move {
                        let replicas = vec![node.id];
                        let cmd = Request::Meta(MetaCommand::PurgeStream { name, incarnation });
                        if let Err(e) = propose(&node, META_GROUP, &replicas, cmd).await {
                            tracing::debug!("PurgeStream not recorded yet: {e}");
                        }
                    });
                }
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
