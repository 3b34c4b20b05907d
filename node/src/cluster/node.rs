//! A node: the metadata group, the shard groups placed here, and the services on top.

use super::clock::Clock;
use super::peers::{Connector, Peers};
use super::reconcile;
use crate::config::NodeConfig;
use crate::control::metadata::ShardMeta;
use crate::domain::{GroupId, NodeId, META_GROUP};
use crate::raft::log_store::{drop_group, LogStore};
use crate::raft::network::NetworkFactory;
use crate::raft::state_machine::{load_meta_applied, load_shard_applied, GroupStateMachine, Holds, MetaShared};
use crate::raft::types::Runtime;
use crate::raft::Raft;
use crate::shard::ShardShared;
use crate::storage::{AckPolicy, Engine, GroupCommit};
use openraft::{BasicNode, SnapshotPolicy};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// What a node is given rather than creates, so that a simulation can substitute each.
pub struct NodeDeps {
    pub engine: Arc<dyn Engine>,
    pub connector: Arc<dyn Connector>,
    pub clock: Arc<dyn Clock>,
    /// Seeds openraft's randomness (election timeouts) on this node.
    pub seed: u64,
    pub ack_policy: AckPolicy,
}

pub struct ShardGroup {
    pub raft: Raft,
    pub shared: Arc<ShardShared>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Storage(#[from] std::io::Error),
    #[error("raft: {0}")]
    Raft(String),
}

pub struct Node {
    pub id: NodeId,
    pub config: NodeConfig,
    pub engine: Arc<dyn Engine>,
    pub peers: Peers,
    pub clock: Arc<dyn Clock>,
    pub meta_raft: Raft,
    pub meta: Arc<MetaShared>,
    commit: GroupCommit,
    raft_config: Arc<openraft::Config>,
    groups: RwLock<BTreeMap<GroupId, Arc<ShardGroup>>>,
    seed: u64,
    shutdown: watch::Sender<bool>,
}

impl Node {
    pub async fn start(config: NodeConfig, deps: NodeDeps) -> Result<Arc<Node>, StartError> {
        let raft_config = openraft::Config {
            cluster_name: "runnel".into(),
            heartbeat_interval: config.raft.heartbeat_ms,
            election_timeout_min: config.raft.election_min_ms,
            election_timeout_max: config.raft.election_max_ms,
            // The shard log is the data: it is never compacted into snapshots (yet).
            snapshot_policy: SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: u64::MAX,
            // A node that acknowledges before syncing (the simulation's deliberate bug) loses
            // acknowledged entries in a crash; let openraft carry on so the simulation's
            // checker, not an assertion deep in openraft, reports the loss.
            allow_log_reversion: Some(deps.ack_policy == AckPolicy::BeforeSync),
            ..Default::default()
        };
        let raft_config = Arc::new(raft_config.validate().map_err(|e| StartError::Raft(e.to_string()))?);
        let commit = GroupCommit::start(deps.engine.clone(), deps.ack_policy);
        let peers = Peers::new(deps.connector.clone());

        let meta = MetaShared::new(load_meta_applied(deps.engine.as_ref(), META_GROUP)?);
        let sm = GroupStateMachine::new(META_GROUP, deps.engine.clone(), Holds::Meta(meta.clone()));
        let meta_raft = Runtime::scope(
            deps.seed,
            Raft::new(
                config.id,
                raft_config.clone(),
                NetworkFactory { group: META_GROUP, peers: peers.clone() },
                LogStore::new(META_GROUP, deps.engine.clone(), commit.clone()),
                sm,
            ),
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;

        let (shutdown, _) = watch::channel(false);
        let node = Arc::new(Node {
            id: config.id,
            config,
            engine: deps.engine,
            peers,
            clock: deps.clock,
            meta_raft,
            meta,
            commit,
            raft_config,
            groups: RwLock::default(),
            seed: deps.seed,
            shutdown,
        });
        tokio::spawn(reconcile::run(node.clone()));
        Ok(node)
    }

    /// The members of the metadata group: every configured node.
    pub fn cluster_members(&self) -> BTreeMap<NodeId, BasicNode> {
        self.config.peers.iter().map(|(id, addr)| (*id, BasicNode::new(addr))).collect()
    }

    pub fn group(&self, group: GroupId) -> Option<Arc<ShardGroup>> {
        self.groups.read().ok()?.get(&group).cloned()
    }

    pub fn group_ids(&self) -> Vec<GroupId> {
        self.groups.read().map(|g| g.keys().copied().collect()).unwrap_or_default()
    }

    /// The Raft handle of any group hosted here, the metadata group included.
    pub fn raft(&self, group: GroupId) -> Option<Raft> {
        if group == META_GROUP {
            Some(self.meta_raft.clone())
        } else {
            self.group(group).map(|g| g.raft.clone())
        }
    }

    /// Where a node can be reached, from the metadata (or the configuration before it).
    pub fn address_of(&self, node: NodeId) -> Option<String> {
        self.meta.current().state.nodes.get(&node).cloned().or_else(|| self.config.peers.get(&node).cloned())
    }

    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) async fn start_group(&self, shard: &ShardMeta) -> Result<Arc<ShardGroup>, StartError> {
        if let Some(existing) = self.group(shard.group) {
            return Ok(existing);
        }
        let applied = load_shard_applied(self.engine.as_ref(), shard.group)?;
        let shared = ShardShared::new(shard.group, shard.id, shard.starting_counter, applied);
        let sm = GroupStateMachine::new(shard.group, self.engine.clone(), Holds::Shard(shared.clone()));
        // Each group draws its own stream of randomness from the node's seed.
        let seed = self.seed ^ shard.group.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let raft = Runtime::scope(
            seed,
            Raft::new(
                self.id,
                self.raft_config.clone(),
                NetworkFactory { group: shard.group, peers: self.peers.clone() },
                LogStore::new(shard.group, self.engine.clone(), self.commit.clone()),
                sm,
            ),
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;
        let group = Arc::new(ShardGroup { raft, shared });
        if let Ok(mut groups) = self.groups.write() {
            groups.insert(shard.group, group.clone());
        }
        tracing::info!(node = self.id, group = %shard.group, shard = %shard.id, "started shard group");
        Ok(group)
    }

    /// Stops a group hosted here and deletes its data (its stream was deleted).
    pub(crate) async fn drop_group(&self, group: GroupId) {
        let removed = self.groups.write().ok().and_then(|mut g| g.remove(&group));
        if let Some(g) = removed {
            if let Err(e) = g.raft.shutdown().await {
                tracing::warn!(%group, "shutdown of a dropped group failed: {e}");
            }
        }
        match drop_group(self.engine.as_ref(), group) {
            Ok(()) => tracing::info!(node = self.id, %group, "dropped group data"),
            Err(e) => tracing::warn!(node = self.id, %group, "cannot drop group data: {e}"),
        }
    }

    /// Stops every group. The engine is left to the caller (a simulation may "crash" it).
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        let groups: Vec<_> =
            self.groups.write().map(|mut g| std::mem::take(&mut *g).into_iter().collect()).unwrap_or_default();
        for (_, g) in groups {
            let _ = g.raft.shutdown().await;
        }
        let _ = self.meta_raft.shutdown().await;
    }
}
