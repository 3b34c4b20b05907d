//! A node: the metadata group, the shard groups placed here, and what runs them.

use super::clock::Clock;
use super::coalesce::Coalescer;
use super::join::{self, CatchUp, JoinError, JoinState};
use super::leadership::{self, Leading};
use super::supervise::supervise;
use super::throughput::ShardTraffic;
use super::{quiesce, reconcile};
use crate::config::NodeConfig;
use crate::control::{MetaApplied, ShardMeta};
use crate::domain::{GroupId, NodeId, META_GROUP};
use crate::failstop::{self, FailStop};
use crate::raft::log_store::LogStore;
use crate::raft::network::NetworkFactory;
use crate::raft::recent::{self, CacheBudget};
use crate::raft::types::Runtime;
use crate::replica::{GroupStateMachine, Holds, MetaShared, Raft};
use crate::shard::{ShardApplied, ShardShared};
use crate::storage::keys::{self, KeyKind};
use crate::storage::{AckPolicy, Batch, Cf, Engine, GroupCommit, SyncMetrics};
use crate::transport::{Connector, Peers};
use openraft::{BasicNode, SnapshotPolicy};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How shard reads are checked. Only `Linearizable` is correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadCheck {
    /// The leader confirms its leadership (lease or a heartbeat round) before reading.
    #[default]
    Linearizable,
    /// The node that believes it leads reads at once. Deliberately broken: the
    /// simulation's self-test turns it on to show its checker catches stale reads.
    TrustLocalLeader,
}

/// How the metadata leader ends a reshard's parents. Only `Seal` is correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParentEnd {
    /// A seal entry in the parent's log: later writes are refused there.
    #[default]
    Seal,
    /// The parent's newest counter is read and taken as its end, without sealing.
    /// Deliberately broken (writes racing the reshard land in the parent after its end):
    /// the simulation's self-test turns it on to show its checker catches it.
    ReadWithoutSealing,
}

/// How retention trims a shard. Only `Replicated` is correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrimPath {
    /// A `Trim` entry in the shard's log: every replica drops the same records.
    #[default]
    Replicated,
    /// The leader drops the records from its own copy only. Deliberately broken (a
    /// replica that leads later still has them: expired records come back): the
    /// simulation's self-test turns it on to show its checker catches it.
    LeaderOnly,
}

/// What a subscription's continuation sequence number names. Only `BeforeNext` is
/// correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Continuation {
    /// The counter just before the next record to send (the last one sent, in a busy
    /// shard): a subscription resuming AFTER it loses and repeats nothing.
    #[default]
    BeforeNext,
    /// The next record's counter. Deliberately broken (a resume AFTER it skips that
    /// record): the simulation's self-test turns it on to show its checker catches it.
    AtNext,
    /// The counter before the last record sent. Deliberately broken (a resume AFTER it
    /// sends that record again): the simulation's self-test shows its checker catches it.
    AtLast,
}

/// What a follower of a quiet group does once its leader is lost (cluster/quiesce.rs).
/// Only `Elect` is correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LostLeader {
    /// One surviving voter stands for election at once; the timers of every replica take
    /// over if no leader appears.
    #[default]
    Elect,
    /// The followers stay quiet while they remember a leader. Deliberately broken (a group
    /// whose leader's node died never elects again): the simulation's self-test turns it on
    /// to show its liveness check catches it.
    StayQuiet,
}

/// Where the node's secrets (token signing keys) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// The operating system's randomness (production).
    Os,
    /// A seed, so that a simulation replays.
    Seeded(u64),
}

/// What a node is given rather than creates, so that a simulation can substitute each.
pub struct NodeDeps {
    pub engine: Arc<dyn Engine>,
    pub connector: Arc<dyn Connector>,
    pub clock: Arc<dyn Clock>,
    /// Seeds openraft's randomness (election timeouts) on this node.
    pub seed: u64,
    pub ack_policy: AckPolicy,
    pub read_check: ReadCheck,
    pub parent_end: ParentEnd,
    pub trim_path: TrimPath,
    pub continuation: Continuation,
    pub lost_leader: LostLeader,
    pub secrets: SecretSource,
    pub fail_stop: FailStop,
}

pub struct ShardGroup {
    pub raft: Raft,
    pub shared: Arc<ShardShared>,
    /// Its quotas and write rate, used while this node leads it.
    pub traffic: ShardTraffic,
    /// Appends proposed here while this node leads it, coalesced into entries.
    pub coalescer: Coalescer,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Storage(#[from] std::io::Error),
    #[error("raft: {0}")]
    Raft(String),
    #[error("{0} was dropped on this node and never starts again")]
    Tombstoned(GroupId),
    #[error("the node is shutting down")]
    ShuttingDown,
    #[error("{0}")]
    Join(#[from] JoinError),
}

pub struct Node {
    pub id: NodeId,
    pub config: NodeConfig,
    pub engine: Arc<dyn Engine>,
    pub peers: Peers,
    pub clock: Arc<dyn Clock>,
    pub meta_raft: Raft,
    pub meta: Arc<MetaShared>,
    pub fail_stop: FailStop,
    pub read_check: ReadCheck,
    pub parent_end: ParentEnd,
    pub trim_path: TrimPath,
    pub continuation: Continuation,
    pub lost_leader: LostLeader,
    /// Shard groups whose replica here does not tick, as the last quiesce scan left them.
    quiet_groups: AtomicUsize,
    /// Shard groups led here (cluster/leadership.rs).
    leading: Arc<Leading>,
    commit: GroupCommit,
    /// What the groups' logs keep of their newest entries in memory, together.
    log_cache: Arc<CacheBudget>,
    shard_raft_config: Arc<openraft::Config>,
    groups: RwLock<BTreeMap<GroupId, Arc<ShardGroup>>>,
    /// Serialises starting and dropping groups: check, create and insert happen as one,
    /// so two callers can never run two Raft instances on one log.
    group_lock: tokio::sync::Mutex<()>,
    seed: u64,
    secrets: Mutex<StdRng>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Where this node stands in the cluster (cluster/join.rs).
    join: Mutex<JoinState>,
    /// While rebuilding: per group, what this node waits for before it votes there.
    pub catch_up: CatchUp,
    /// Set when the node hands its leaderships over before stopping (cluster/handoff.rs).
    handing_over: AtomicBool,
    /// Why the node refuses to run, once it does (its volume came back empty).
    refused: watch::Sender<Option<String>>,
}

fn raft_config(config: &NodeConfig, ack_policy: AckPolicy, meta: bool) -> Result<Arc<openraft::Config>, StartError> {
    let raft_config = openraft::Config {
        cluster_name: "runnel".into(),
        heartbeat_interval: config.raft.heartbeat_ms,
        election_timeout_min: config.raft.election_min_ms,
        election_timeout_max: config.raft.election_max_ms,
        // Byte bounds (raft/log_store.rs) keep each message small; this only caps the
        // count of tiny entries.
        max_payload_entries: 256,
        snapshot_policy: if meta {
            SnapshotPolicy::LogsSinceLast(config.meta_snapshot_logs)
        } else {
            // A shard's log is its data: it is purged only by retention, never compacted.
            SnapshotPolicy::Never
        },
        max_in_snapshot_log_to_keep: if meta { config.meta_snapshot_logs / 4 } else { u64::MAX },
        // A node that acknowledges before syncing (the simulation's deliberate bug) loses
        // acknowledged entries in a crash; let openraft carry on so the simulation's
        // checker, not an assertion deep in openraft, reports the loss.
        allow_log_reversion: Some(ack_policy == AckPolicy::BeforeSync),
        // Neither the applied state nor the committed log id is synced, so a leader that
        // restarts may have lost what it applied and what it knew committed. openraft's
        // default lets it resume leading in its old term at once, and its linearizable
        // reads then stop at that stale commit: a stale read (the simulation found it,
        // after a crash of every node). Without the restore it stands for election again
        // and commits an entry of its new term before it serves anything.
        enable_leader_restore: Some(false),
        ..Default::default()
    };
    Ok(Arc::new(raft_config.validate().map_err(|e| StartError::Raft(e.to_string()))?))
}

/// Every kind of a group's data, as ranges of `(cf, from, to)`; the tombstone stays.
fn group_data_ranges(group: GroupId) -> Vec<(Cf, Vec<u8>, Vec<u8>)> {
    KeyKind::GROUP_DATA
        .iter()
        .flat_map(|kind| Cf::ALL.map(|cf| (cf, keys::key(group, *kind), keys::kind_end(group, *kind))))
        .collect()
}

impl Node {
    /// The budget of the groups' in-memory log caches, and their reads.
    pub fn log_cache(&self) -> &CacheBudget {
        &self.log_cache
    }

    pub async fn start(config: NodeConfig, deps: NodeDeps) -> Result<Arc<Node>, StartError> {
        let meta_raft_config = raft_config(&config, deps.ack_policy, true)?;
        let shard_raft_config = raft_config(&config, deps.ack_policy, false)?;
        let metered = config.metrics_listen.is_some();
        let sync_metrics = if metered { SyncMetrics::new(config.id) } else { SyncMetrics::off() };
        let join = join::load(deps.engine.as_ref(), config.id)?;
        let commit = GroupCommit::start(deps.engine.clone(), deps.ack_policy, deps.fail_stop.clone(), sync_metrics)?;
        let log_cache = CacheBudget::new(recent::NODE_BYTES_MAX);
        let peers = Peers::new(deps.connector.clone());
        let io_blocks = deps.engine.io_blocks();

        let meta = MetaShared::new(MetaApplied::load(deps.engine.as_ref(), META_GROUP)?);
        let sm =
            GroupStateMachine::new(META_GROUP, deps.engine.clone(), Holds::Meta(meta.clone()), deps.fail_stop.clone());
        let meta_raft = Runtime::scope(
            deps.seed,
            deps.fail_stop.clone(),
            Raft::new(
                config.id,
                meta_raft_config,
                NetworkFactory { group: META_GROUP, peers: peers.clone(), io_blocks },
                LogStore::new(
                    META_GROUP,
                    deps.engine.clone(),
                    commit.clone(),
                    log_cache.clone(),
                    deps.fail_stop.clone(),
                ),
                sm,
            ),
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;

        let secrets = match deps.secrets {
            SecretSource::Os => StdRng::from_os_rng(),
            SecretSource::Seeded(seed) => StdRng::seed_from_u64(seed),
        };
        let (shutdown, _) = watch::channel(false);
        let node = Arc::new(Node {
            id: config.id,
            config,
            engine: deps.engine,
            peers,
            clock: deps.clock,
            meta_raft,
            meta,
            fail_stop: deps.fail_stop,
            read_check: deps.read_check,
            parent_end: deps.parent_end,
            trim_path: deps.trim_path,
            continuation: deps.continuation,
            lost_leader: deps.lost_leader,
            quiet_groups: AtomicUsize::new(0),
            leading: Arc::default(),
            commit,
            log_cache,
            shard_raft_config,
            groups: RwLock::default(),
            group_lock: tokio::sync::Mutex::new(()),
            seed: deps.seed,
            secrets: Mutex::new(secrets),
            shutdown,
            tasks: Mutex::new(Vec::new()),
            join: Mutex::new(join),
            catch_up: CatchUp::default(),
            handing_over: AtomicBool::new(false),
            refused: watch::channel(None).0,
        });
        if join != JoinState::Member {
            tracing::info!(node = node.id, state = ?join, "not yet a member of the cluster");
            let task = tokio::spawn(join::decide(node.clone()));
            failstop::lock(&node.tasks, "node tasks").push(task);
        }
        let reconciler = node.clone();
        let task =
            tokio::spawn(supervise("reconcile", node.fail_stop.clone(), move || reconcile::run(reconciler.clone())));
        failstop::lock(&node.tasks, "node tasks").push(task);
        let quiescing = node.clone();
        let task = tokio::spawn(supervise("quiesce", node.fail_stop.clone(), move || quiesce::run(quiescing.clone())));
        failstop::lock(&node.tasks, "node tasks").push(task);
        if metered {
            let sampled = node.clone();
            let task = tokio::spawn(supervise("metrics", node.fail_stop.clone(), move || {
                super::metrics::run(sampled.clone())
            }));
            failstop::lock(&node.tasks, "node tasks").push(task);
        }
        Ok(node)
    }

    /// The shard groups led here and their terms, in order (kept as leaderships change,
    /// not walked).
    pub fn leading_groups(&self) -> Vec<(GroupId, u64)> {
        self.leading.groups()
    }

    /// Shard groups whose replica here does not tick (cluster/quiesce.rs).
    pub fn quiet_groups(&self) -> usize {
        self.quiet_groups.load(Ordering::Relaxed)
    }

    pub(crate) fn set_quiet_groups(&self, quiet: usize) {
        self.quiet_groups.store(quiet, Ordering::Relaxed);
    }

    pub fn join_state(&self) -> JoinState {
        *failstop::lock(&self.join, "join state")
    }

    /// Records a decision about this node's place in the cluster, durably first.
    pub fn set_join_state(&self, state: JoinState) -> std::io::Result<()> {
        join::persist(self.engine.as_ref(), self.id, state)?;
        *failstop::lock(&self.join, "join state") = state;
        tracing::info!(node = self.id, ?state, "joined the cluster");
        Ok(())
    }

    /// Stops this node from running: the process reports `reason` and exits.
    pub fn refuse(&self, reason: String) {
        tracing::error!(node = self.id, "{reason}");
        self.refused.send_replace(Some(reason));
    }

    /// Why this node refuses to run, if it does.
    pub fn refusal(&self) -> Option<String> {
        self.refused.borrow().clone()
    }

    /// Resolves with the reason once this node refuses to run.
    pub async fn refused(&self) -> String {
        let mut rx = self.refused.subscribe();
        let reason = rx.wait_for(Option::is_some).await.map(|r| r.clone());
        match reason {
            Ok(reason) => reason.unwrap_or_default(),
            // The sender lives as long as the node.
            Err(_) => std::future::pending().await,
        }
    }

    /// From now on this node takes no leadership: see cluster/handoff.rs.
    pub fn begin_handoff(&self) {
        self.handing_over.store(true, Ordering::SeqCst);
    }

    pub fn is_handing_over(&self) -> bool {
        self.handing_over.load(Ordering::SeqCst)
    }

    /// The members of the metadata group: every configured node, by peer address.
    pub fn cluster_members(&self) -> BTreeMap<NodeId, BasicNode> {
        self.config.peers.iter().map(|(id, addr)| (*id, BasicNode::new(addr))).collect()
    }

    pub fn group(&self, group: GroupId) -> Option<Arc<ShardGroup>> {
        failstop::read(&self.groups, "group map").get(&group).cloned()
    }

    pub fn group_ids(&self) -> Vec<GroupId> {
        failstop::read(&self.groups, "group map").keys().copied().collect()
    }

    /// Every shard group hosted here with its Raft handle, in group order, taken under one
    /// lock (for passes over all groups).
    pub fn group_rafts(&self) -> Vec<(GroupId, Raft)> {
        failstop::read(&self.groups, "group map").iter().map(|(g, s)| (*g, s.raft.clone())).collect()
    }

    /// The Raft handle of any group hosted here, the metadata group included.
    pub fn raft(&self, group: GroupId) -> Option<Raft> {
        if group == META_GROUP {
            Some(self.meta_raft.clone())
        } else {
            self.group(group).map(|g| g.raft.clone())
        }
    }

    /// Where a node's peer listener is, from the metadata (or the configuration before it).
    pub fn peer_address(&self, node: NodeId) -> Option<String> {
        self.meta.current().state.nodes.get(&node).cloned().or_else(|| self.config.peers.get(&node).cloned())
    }

    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// 32 bytes of secret randomness (token signing keys).
    pub fn secret(&self) -> [u8; 32] {
        let mut secret = [0u8; 32];
        failstop::lock(&self.secrets, "secret source").fill_bytes(&mut secret);
        secret
    }

    /// A fresh random id (a subscription's lease), from the same injected source as the
    /// secrets, so that a simulation replays.
    pub fn random_id(&self) -> u64 {
        failstop::lock(&self.secrets, "secret source").next_u64()
    }

    fn tombstone_key(group: GroupId) -> Vec<u8> {
        keys::key(group, KeyKind::Tombstone)
    }

    pub fn is_tombstoned(&self, group: GroupId) -> std::io::Result<bool> {
        Ok(self.engine.get(Cf::State, &Node::tombstone_key(group))?.is_some())
    }

    /// Starts the group of `shard` here, or returns the one already running. Never starts a
    /// group that was dropped on this node.
    pub async fn start_group(&self, shard: &ShardMeta) -> Result<Arc<ShardGroup>, StartError> {
        let _guard = self.group_lock.lock().await;
        if let Some(existing) = self.group(shard.group) {
            return Ok(existing);
        }
        if self.is_shutting_down() || self.is_handing_over() {
            return Err(StartError::ShuttingDown);
        }
        if self.is_tombstoned(shard.group)? {
            return Err(StartError::Tombstoned(shard.group));
        }
        let applied = ShardApplied::load(self.engine.as_ref(), shard.group)?;
        let shared = ShardShared::new(shard.group, shard.id, shard.starting_counter, applied);
        let sm = GroupStateMachine::new(
            shard.group,
            self.engine.clone(),
            Holds::Shard(shared.clone()),
            self.fail_stop.clone(),
        );
        // Each group draws its own stream of randomness from the node's seed.
        let seed = self.seed ^ shard.group.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let network =
            NetworkFactory { group: shard.group, peers: self.peers.clone(), io_blocks: self.engine.io_blocks() };
        let log = LogStore::new(
            shard.group,
            self.engine.clone(),
            self.commit.clone(),
            self.log_cache.clone(),
            self.fail_stop.clone(),
        );
        let raft = Runtime::scope(
            seed,
            self.fail_stop.clone(),
            Raft::new(self.id, self.shard_raft_config.clone(), network, log, sm),
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;
        let traffic = ShardTraffic::new(shard.group, self.config.kinesis_limits);
        let coalescer = Coalescer::start(shard.group, self.id, raft.clone());
        let group = Arc::new(ShardGroup { raft, shared, traffic, coalescer });
        failstop::write(&self.groups, "group map").insert(shard.group, group.clone());
        tokio::spawn(leadership::follow(self.id, shard.group, group.clone(), self.leading.clone()));
        tracing::info!(node = self.id, group = %shard.group, shard = %shard.id, "started shard group");
        Ok(group)
    }

    /// Drops a group hosted here (its stream was deleted): a durable tombstone first, so
    /// that nothing (a stale metadata view, a restart) can ever start it again, then the
    /// Raft instance, then its data.
    pub async fn drop_group(&self, group: GroupId) -> std::io::Result<()> {
        assert_ne!(group, META_GROUP, "the metadata group is never dropped");
        let _guard = self.group_lock.lock().await;
        let mut batch = Batch::default();
        batch.put(Cf::State, Node::tombstone_key(group), Vec::new());
        self.engine.write(batch)?;
        self.commit.sync().await?;
        let removed = failstop::write(&self.groups, "group map").remove(&group);
        self.leading.forget(group);
        if let Some(g) = removed {
            if let Err(e) = g.raft.shutdown().await {
                tracing::warn!(%group, "shutdown of a dropped group failed: {e}");
            }
        }
        let mut batch = Batch::default();
        for (cf, from, to) in group_data_ranges(group) {
            batch.delete_range(cf, from, to);
        }
        self.engine.write(batch)?;
        self.commit.sync().await?;
        tracing::info!(node = self.id, %group, "dropped group");
        Ok(())
    }

    /// Stops everything in order: the reconcile loop, every group, the metadata group, the
    /// sync worker, and last the engine, so nothing touches storage while or after it
    /// closes. The caller stops the servers first.
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        self.fail_stop.disarm();
        let tasks = std::mem::take(&mut *failstop::lock(&self.tasks, "node tasks"));
        for task in tasks {
            let _ = task.await;
        }
        let _guard = self.group_lock.lock().await;
        let groups: Vec<_> = std::mem::take(&mut *failstop::write(&self.groups, "group map")).into_values().collect();
        for g in groups {
            let _ = g.raft.shutdown().await;
        }
        let _ = self.meta_raft.shutdown().await;
        self.commit.stop().await;
        self.engine.close();
        tracing::info!(node = self.id, "stopped");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cluster::clock::SystemClock;
    use crate::config::{NodeLimits, RaftTiming, ACCOUNT_ID_DEFAULT, META_SNAPSHOT_LOGS_DEFAULT, REGION_DEFAULT};
    use crate::domain::ShardId;
    use crate::limits::{
        ON_DEMAND_WINDOW_MS_DEFAULT, RETENTION_HOUR_MS_DEFAULT, SCALINGS_PER_WINDOW_DEFAULT, SHARD_LIMIT_DEFAULT,
        SUBSCRIPTION_MS_DEFAULT,
    };
    use crate::storage::memory::MemoryEngine;
    use crate::transport::TcpConnector;

    pub(crate) async fn single_node(engine: Arc<MemoryEngine>) -> Arc<Node> {
        let config = NodeConfig {
            id: 1,
            listen: "127.0.0.1:1".parse().unwrap(),
            advertise: "http://127.0.0.1:1".into(),
            peer_listen: "127.0.0.1:2".parse().unwrap(),
            peers: [(1, "http://127.0.0.1:2".to_string())].into(),
            data_dir: "/unused".into(),
            replication_factor: 1,
            raft: RaftTiming::default(),
            limits: NodeLimits::default(),
            meta_snapshot_logs: META_SNAPSHOT_LOGS_DEFAULT,
            scalings_per_window_max: SCALINGS_PER_WINDOW_DEFAULT,
            retention_hour_ms: RETENTION_HOUR_MS_DEFAULT,
            region: REGION_DEFAULT.into(),
            account_id: ACCOUNT_ID_DEFAULT.into(),
            shard_limit: SHARD_LIMIT_DEFAULT,
            kinesis_limits: false,
            on_demand_window_ms: ON_DEMAND_WINDOW_MS_DEFAULT,
            encryption_key: None,
            subscription_ms: SUBSCRIPTION_MS_DEFAULT,
            metrics_listen: None,
            aws_listen: None,
            aws_credentials: None,
            aws_tls: None,
            rebuild_empty: false,
        };
        let deps = NodeDeps {
            engine,
            connector: Arc::new(TcpConnector),
            clock: Arc::new(SystemClock),
            seed: 1,
            ack_policy: AckPolicy::AfterSync,
            read_check: ReadCheck::Linearizable,
            parent_end: ParentEnd::Seal,
            trim_path: TrimPath::Replicated,
            continuation: Continuation::BeforeNext,
            lost_leader: LostLeader::Elect,
            secrets: SecretSource::Seeded(1),
            fail_stop: FailStop::with_action(|r| panic!("unexpected fail-stop: {r}")),
        };
        Node::start(config, deps).await.unwrap()
    }

    pub(crate) fn shard(group: u64) -> ShardMeta {
        ShardMeta {
            id: ShardId(0),
            group: GroupId(group),
            start_hash: 0,
            end_hash: u128::MAX,
            replicas: vec![1],
            ready: false,
            starting_counter: 1,
            parents: Vec::new(),
            opened_ms: 0,
            closed: None,
        }
    }

    /// The fault: start_group checked, awaited Raft::new, then inserted, so two callers
    /// could both create a Raft instance on one log.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_starts_of_one_group_share_one_raft_instance() {
        let node = single_node(Arc::new(MemoryEngine::default())).await;
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let node = node.clone();
                tokio::spawn(async move { node.start_group(&shard(7)).await.map_err(|e| e.to_string()) })
            })
            .collect();
        let mut groups = Vec::new();
        for s in starts {
            groups.push(s.await.unwrap().unwrap());
        }
        assert!(groups.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])), "one instance for every caller");
        assert_eq!(node.group_ids(), vec![GroupId(7)]);
        node.shutdown().await;
    }

    /// The fault: groups were dropped as soon as the metadata said so, with nothing to stop
    /// a replica with a stale view from starting (and initializing) the group again.
    #[tokio::test]
    async fn a_dropped_group_never_starts_again_even_after_a_restart() {
        let engine = Arc::new(MemoryEngine::default());
        let node = single_node(engine.clone()).await;
        let group = node.start_group(&shard(5)).await.unwrap();
        group.raft.initialize(node.cluster_members()).await.unwrap();
        node.drop_group(GroupId(5)).await.unwrap();
        assert!(node.group(GroupId(5)).is_none());
        assert!(matches!(node.start_group(&shard(5)).await, Err(StartError::Tombstoned(_))));
        node.shutdown().await;
        // Power loss right after: the tombstone was synced before anything was deleted.
        engine.crash(0);
        let node = single_node(engine.clone()).await;
        assert!(matches!(node.start_group(&shard(5)).await, Err(StartError::Tombstoned(_))));
        // The group's data is gone, its tombstone is not.
        let (from, to) = (keys::key(GroupId(5), KeyKind::LogEntry), keys::kind_end(GroupId(5), KeyKind::LogEntry));
        assert!(engine.scan(Cf::Log, &from, &to, 1).unwrap().is_empty());
        // Another group starts as usual.
        node.start_group(&shard(6)).await.unwrap();
        node.shutdown().await;
    }
}
