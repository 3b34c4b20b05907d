//! One simulated run: build the turmoil world, start the real node code on simulated hosts,
//! drive the workload, inject the seed's faults, restart nodes that fail-stop, sample the
//! live invariants as it goes, heal, and judge what was observed.

use crate::disks::Disks;
use crate::faults::{self, Fault, Who};
use crate::invariants::{self, ReplicaContents, Violation};
use crate::net::{host_name, incoming, node_url, peer_url, SimClock, SimConnector, CLIENT_PORT, PEER_PORT};
use crate::oracle::Oracle;
use crate::sampler::Sampler;
use crate::swarm::{Focus, Swarm};
use crate::workload::{self, Ctx, STREAM};
use openraft::async_runtime::WatchReceiver as _;
use openraft::ServerState;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_node::cluster::{Continuation, LostLeader, Node, NodeDeps, ParentEnd, ReadCheck, SecretSource, TrimPath};
use runnel_node::config::{
    NodeConfig, NodeLimits, RaftTiming, ACCOUNT_ID_DEFAULT, META_SNAPSHOT_LOGS_DEFAULT, REGION_DEFAULT,
};
use runnel_node::domain::NodeId;
use runnel_node::failstop::FailStop;
use runnel_node::limits::{
    ON_DEMAND_WINDOW_MS_DEFAULT, RETENTION_HOURS_DEFAULT, RETENTION_HOUR_MS_DEFAULT, SCALINGS_PER_WINDOW_DEFAULT,
    SHARD_LIMIT_DEFAULT,
};
use runnel_node::raft::runtime::{panic_message, RAFT_PANIC_REASON};
use runnel_node::shard::read::read_stored;
use runnel_node::shard::ShardApplied;
use runnel_node::storage::AckPolicy;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A deliberately broken behaviour, to show the checker catches what it should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// Appends count as durable before they are synced.
    AckBeforeSync,
    /// A node that believes it leads a shard serves reads without confirming it still does.
    StaleReads,
    /// The metadata leader ends a reshard's parents at their newest records without
    /// sealing them: writes routed by a stale view still land in a closed parent.
    NoSeal,
    /// Retention trims the shard leader's copy only: a replica that leads later still
    /// has the expired records.
    LeaderOnlyTrim,
    /// A subscription's continuation number names the next record instead of the one
    /// before it: a subscriber resuming after it (a renewal, a failover) skips a record.
    ContinuationOffByOne,
    /// A subscription's continuation number names the record before the last one sent: a
    /// subscriber resuming after it is pushed that last record again.
    ContinuationRepeats,
    /// Followers of a quiet group stay quiet while they remember a leader, even once its
    /// node stopped answering: a group whose leader's node died never elects again.
    QuietFollowers,
}

impl Bug {
    pub const ALL: [Bug; 7] = [
        Bug::AckBeforeSync,
        Bug::StaleReads,
        Bug::NoSeal,
        Bug::LeaderOnlyTrim,
        Bug::ContinuationOffByOne,
        Bug::ContinuationRepeats,
        Bug::QuietFollowers,
    ];

    /// Its name on the command line (`--bug`).
    pub fn flag(self) -> &'static str {
        match self {
            Bug::AckBeforeSync => "ack-before-sync",
            Bug::StaleReads => "stale-reads",
            Bug::NoSeal => "no-seal",
            Bug::LeaderOnlyTrim => "leader-only-trim",
            Bug::ContinuationOffByOne => "continuation-off-by-one",
            Bug::ContinuationRepeats => "continuation-repeats",
            Bug::QuietFollowers => "quiet-followers",
        }
    }

    pub fn parse(flag: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.flag() == flag)
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub nodes: usize,
    pub shards: u32,
    /// Producers over raw gRPC.
    pub producers: usize,
    /// Producers through `runnel-client`.
    pub client_producers: usize,
    pub ops_per_producer: usize,
    /// How long faults are injected.
    pub safety: Duration,
    /// Forces what the faults exercise; `None` draws everything from the seed.
    pub focus: Option<Focus>,
    pub bug: Option<Bug>,
    /// The client producers split PutRecords per leader (`ClientConfig::split_put_records`).
    pub split_put_records: bool,
}

impl SimConfig {
    pub fn new(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            nodes: 3,
            shards: 3,
            producers: 2,
            client_producers: 1,
            ops_per_producer: 40,
            safety: Duration::from_secs(15),
            focus: None,
            bug: None,
            split_put_records: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub writes: usize,
    pub acked: usize,
    pub unknown: usize,
    pub duplicates: usize,
    pub records_read: usize,
    pub pages: usize,
    pub faults: usize,
    pub fail_stops: usize,
    pub entries_checked: usize,
    /// Acknowledged writes the final reads no longer found: expired (retention).
    pub expired: usize,
    /// Fan-out subscribers, and the records their subscriptions pushed (all of them).
    pub subscribers: usize,
    pub deliveries: usize,
    /// The most shard groups any one node had quiet at a sample.
    pub quiet_groups_max: usize,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub seed: u64,
    pub violations: Vec<Violation>,
    pub history: Vec<String>,
    pub sim_time: Duration,
    pub wall_time: Duration,
    pub stats: Stats,
}

/// The workload stream's shards under `Focus::ManyGroups` (three replicas each).
pub const MANY_GROUPS_SHARDS: u32 = 200;
/// Simulated time a run may take at the most.
const SIM_DURATION_MAX: Duration = Duration::from_secs(300);
/// How often (in steps of 1 ms) the live invariants are sampled.
const SAMPLE_EVERY_STEPS: u64 = 5;
const BASE_LATENCY: Duration = Duration::from_millis(2);
/// An hour of retention under `Focus::Retention`: records live 6 s.
const RETENTION_HOUR_MS_FOCUSED: u64 = 250;
/// How long a subscription lasts before the subscriber renews it (5 minutes in Kinesis):
/// short, so that every run renews its subscriptions many times.
const SUBSCRIPTION_MS: u64 = 3_000;
/// Where simulated wall-clock time starts, in seconds since 1970: 2026-01-01T00:00:00Z.
const SIM_EPOCH_SECS: u64 = 1_767_225_600;

type Registry = Rc<RefCell<BTreeMap<NodeId, Arc<Node>>>>;
/// Nodes that fail-stopped, and why; written from inside the node code (any thread).
type FailStops = Arc<Mutex<BTreeMap<NodeId, String>>>;

/// The state a run's fault injection works on.
struct World<'a> {
    sim: turmoil::Sim<'a>,
    nodes: Vec<NodeId>,
    /// Every host: nodes and clients.
    hosts: Vec<String>,
    disks: Rc<Disks>,
    registry: Registry,
    swarm: Swarm,
    /// Randomness of the harness itself (what a crash keeps, restart delays).
    rng: StdRng,
    /// Nodes picked for `Who::Leader(k)` faults (`None`: there was no leader to pick), so
    /// that a fault's end acts on what its start picked.
    picked: BTreeMap<u32, Option<NodeId>>,
    /// Fail-stopped nodes waiting for their supervisor, and when it restarts them.
    restarts: BTreeMap<NodeId, Duration>,
    /// The node left down after the final heal.
    left_down: Option<NodeId>,
    healed: bool,
    sampler: Sampler,
    /// Directed links the faults cut, (from, to) by host name, and links holding messages
    /// (smaller name first): what a crash must put back after it cut the host off.
    cut: BTreeSet<(String, String)>,
    held: BTreeSet<(String, String)>,
}

pub fn run(cfg: &SimConfig) -> Outcome {
    let started = Instant::now();
    let node_ids: Vec<NodeId> = (1..=cfg.nodes as u64).collect();
    let swarm = Swarm::draw(cfg.seed, &node_ids, cfg.focus);
    let plan = faults::plan(cfg.seed, &node_ids, cfg.safety, &swarm);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(SIM_DURATION_MAX)
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(BASE_LATENCY)
        .rng_seed(cfg.seed)
        // Wall-clock time in the simulation starts at a fixed instant: turmoil's default
        // is the real time, which would make arrival times, token ages and key rotation
        // depend on when a run happens.
        .epoch(std::time::UNIX_EPOCH + Duration::from_secs(SIM_EPOCH_SECS))
        .build();

    let oracle = Rc::new(RefCell::new(Oracle::default()));
    oracle.borrow_mut().log(Duration::ZERO, swarm.describe());
    let registry: Registry = Rc::default();
    let disks = Rc::new(Disks::new(cfg.seed, &node_ids));
    let fail_stops: FailStops = Arc::default();
    let peers: BTreeMap<NodeId, String> = node_ids.iter().map(|id| (*id, peer_url(*id))).collect();
    let ack_policy = match cfg.bug {
        Some(Bug::AckBeforeSync) => AckPolicy::BeforeSync,
        _ => AckPolicy::AfterSync,
    };
    let read_check = match cfg.bug {
        Some(Bug::StaleReads) => ReadCheck::TrustLocalLeader,
        _ => ReadCheck::Linearizable,
    };
    let parent_end = match cfg.bug {
        Some(Bug::NoSeal) => ParentEnd::ReadWithoutSealing,
        _ => ParentEnd::Seal,
    };
    let trim_path = match cfg.bug {
        Some(Bug::LeaderOnlyTrim) => TrimPath::LeaderOnly,
        _ => TrimPath::Replicated,
    };
    let continuation = match cfg.bug {
        Some(Bug::ContinuationOffByOne) => Continuation::AtNext,
        Some(Bug::ContinuationRepeats) => Continuation::AtLast,
        _ => Continuation::BeforeNext,
    };
    let lost_leader = match cfg.bug {
        Some(Bug::QuietFollowers) => LostLeader::StayQuiet,
        _ => LostLeader::Elect,
    };
    // With retention focused on, 24 hours pass in 6 s of simulated time: records written
    // early in the run expire while faults go on.
    let retention_hour_ms = match cfg.focus {
        Some(Focus::Retention) => RETENTION_HOUR_MS_FOCUSED,
        _ => RETENTION_HOUR_MS_DEFAULT,
    };
    oracle.borrow_mut().retention = (cfg.focus == Some(Focus::Retention))
        .then(|| Duration::from_millis(RETENTION_HOUR_MS_FOCUSED * u64::from(RETENTION_HOURS_DEFAULT)));

    for id in &node_ids {
        let (id, engine, registry, peers, stops, seed) =
            (*id, disks.engine(*id), registry.clone(), peers.clone(), fail_stops.clone(), cfg.seed);
        sim.host(host_name(id), move || {
            let (engine, registry, peers, stops) = (engine.clone(), registry.clone(), peers.clone(), stops.clone());
            async move {
                // The supervisor's side of fail-stop: note it; the harness crashes the host
                // at its next step and restarts it later.
                let fail_stop = FailStop::with_action(move |reason| {
                    if let Ok(mut stops) = stops.lock() {
                        stops.insert(id, reason.to_string());
                    }
                });
                let config = NodeConfig {
                    id,
                    listen: format!("0.0.0.0:{CLIENT_PORT}").parse()?,
                    advertise: node_url(id),
                    peer_listen: format!("0.0.0.0:{PEER_PORT}").parse()?,
                    peers,
                    data_dir: "/simulated".into(),
                    replication_factor: 3,
                    raft: RaftTiming { heartbeat_ms: 100, election_min_ms: 500, election_max_ms: 1_000 },
                    limits: NodeLimits::default(),
                    meta_snapshot_logs: META_SNAPSHOT_LOGS_DEFAULT,
                    scalings_per_window_max: SCALINGS_PER_WINDOW_DEFAULT,
                    retention_hour_ms,
                    region: REGION_DEFAULT.into(),
                    account_id: ACCOUNT_ID_DEFAULT.into(),
                    shard_limit: SHARD_LIMIT_DEFAULT,
                    kinesis_limits: false,
                    on_demand_window_ms: ON_DEMAND_WINDOW_MS_DEFAULT,
                    encryption_key: None,
                    subscription_ms: SUBSCRIPTION_MS,
                    metrics_listen: None,
                    aws_listen: None,
                    aws_credentials: None,
                    aws_tls: None,
                    rebuild_empty: false,
                };
                let deps = NodeDeps {
                    engine,
                    connector: Arc::new(SimConnector),
                    clock: Arc::new(SimClock),
                    seed: seed.wrapping_mul(31).wrapping_add(id),
                    ack_policy,
                    read_check,
                    parent_end,
                    trim_path,
                    continuation,
                    lost_leader,
                    secrets: SecretSource::Seeded(seed ^ id.wrapping_mul(0x9e37_79b9)),
                    fail_stop: fail_stop.clone(),
                };
                let node = match Node::start(config, deps).await {
                    Ok(node) => node,
                    Err(e) => {
                        // A node that cannot start from its disk stops, like one that fails later.
                        let _ = fail_stop.trigger(&format!("start failed: {e}"));
                        return futures::future::pending().await;
                    }
                };
                registry.borrow_mut().insert(id, node.clone());
                let clients = runnel_node::api::server::serve(
                    node.clone(),
                    incoming(CLIENT_PORT).await?,
                    futures::future::pending(),
                );
                let peers =
                    runnel_node::transport::server::serve(node, incoming(PEER_PORT).await?, futures::future::pending());
                let (clients, peers) = tokio::join!(clients, peers);
                clients?;
                peers?;
                Ok(())
            }
        });
    }

    let ctx = Ctx {
        oracle: oracle.clone(),
        seed: cfg.seed,
        nodes: node_ids.clone(),
        shards: if cfg.focus == Some(Focus::ManyGroups) { MANY_GROUPS_SHARDS } else { cfg.shards },
        heal_at: plan.heal_at,
        producers: cfg.producers + cfg.client_producers,
        left_down: swarm.leave_down,
        final_reads_skip_down: cfg.focus == Some(Focus::ManyGroups),
        reshards: swarm.reshards,
        split_put_records: cfg.split_put_records,
    };
    let mut clients = vec!["driver".to_string()];
    sim.client("driver", workload::driver(ctx.clone()));
    for p in 0..cfg.producers {
        let seed = cfg.seed.wrapping_add(1_000 + p as u64);
        clients.push(format!("producer{p}"));
        sim.client(format!("producer{p}"), workload::producer(ctx.clone(), p, cfg.ops_per_producer, seed));
    }
    for p in 0..cfg.client_producers {
        let seed = cfg.seed.wrapping_add(2_000 + p as u64);
        clients.push(format!("client{p}"));
        sim.client(format!("client{p}"), workload::client_producer(ctx.clone(), p, cfg.ops_per_producer, seed));
    }
    clients.push("resharder".to_string());
    sim.client("resharder", workload::resharder(ctx.clone(), cfg.seed.wrapping_add(11)));
    if cfg.focus == Some(Focus::Retention) {
        clients.push("prober".to_string());
        sim.client("prober", workload::prober(ctx.clone(), cfg.seed.wrapping_add(13)));
    }
    clients.push("consumer0".to_string());
    sim.client("consumer0", workload::consumer(ctx.clone(), "consumer0".into(), cfg.seed.wrapping_add(7)));
    for s in 0..swarm.subscribers {
        let (name, seed) = (format!("subscriber{s}"), cfg.seed.wrapping_add(3_000 + s as u64));
        clients.push(name.clone());
        sim.client(name.clone(), workload::subscriber(ctx.clone(), name, seed));
    }

    let mut world = World {
        sim,
        hosts: node_ids.iter().map(|n| host_name(*n)).chain(clients).collect(),
        nodes: node_ids,
        disks,
        registry,
        rng: StdRng::seed_from_u64(cfg.seed ^ 0x4a2e_55ed),
        swarm,
        picked: BTreeMap::new(),
        restarts: BTreeMap::new(),
        left_down: None,
        healed: false,
        sampler: Sampler::default(),
        cut: BTreeSet::new(),
        held: BTreeSet::new(),
    };
    let mut pending = plan.events.clone().into_iter().peekable();
    let mut steps: u64 = 0;
    let mut faults_applied = 0;
    let mut fail_stops_seen = 0;
    let mut raft_panics = Vec::new();
    let mut error = None;
    loop {
        let now = world.sim.elapsed();
        while pending.peek().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, fault)) = pending.next() {
                let done = world.apply(&fault);
                oracle.borrow_mut().log(now, format!("fault: {done}"));
                faults_applied += 1;
            }
        }
        let stopped = std::mem::take(&mut *fail_stops.lock().unwrap_or_else(|e| e.into_inner()));
        for (n, reason) in stopped {
            fail_stops_seen += 1;
            if reason.starts_with(RAFT_PANIC_REASON) {
                raft_panics.push(format!("n{n} at {:.3}s: {reason}", now.as_secs_f64()));
            }
            let line = world.fail_stopped(n, &reason);
            oracle.borrow_mut().log(now, line);
        }
        if let Some(line) = world.supervise() {
            oracle.borrow_mut().log(now, line);
        }
        if steps.is_multiple_of(SAMPLE_EVERY_STEPS) {
            let nodes = world.registry.borrow().clone();
            world.sampler.sample(now, &nodes, &world.disks, &mut oracle.borrow_mut());
        }
        steps += 1;
        // A panic outside a Raft task (those fail-stop the node) ends the run and is
        // reported as a violation.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| world.sim.step())) {
            Ok(Ok(true)) => break,
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                error = Some(format!("a host failed or time ran out: {e}"));
                break;
            }
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                error = Some(format!("a node panicked at {:.3}s: {message}", world.sim.elapsed().as_secs_f64()));
                break;
            }
        }
    }
    let sim_time = world.sim.elapsed();
    world.sampler.final_pass(sim_time, &world.disks, &mut oracle.borrow_mut());
    let replicas = replica_contents(&world.registry, &world.disks);
    let entries_checked = world.sampler.entries_checked;
    if error.is_some() {
        // Runtimes that panicked can panic again when dropped, which aborts the process:
        // leak this run's world instead (a failing run is rare and ends the search).
        std::mem::forget(world);
    }

    let oracle = oracle.borrow();
    let (mut violations, duplicates) = invariants::check_all(&oracle, &replicas, error.is_none());
    if let Some(e) = error {
        violations.push(Violation { invariant: "run-completes", detail: e });
    }
    // openraft asserts its own invariants and a broken one panics; the node turns that
    // into a fail-stop (node/src/raft/runtime.rs), which must never be needed.
    for detail in raft_panics {
        violations.push(Violation { invariant: "raft-asserts-hold", detail });
    }
    let stats = Stats {
        writes: oracle.writes.len(),
        acked: oracle.writes.values().filter(|w| !w.acks.is_empty()).count(),
        unknown: oracle.writes.values().filter(|w| w.acks.is_empty()).count(),
        duplicates,
        records_read: oracle.final_reads.values().map(Vec::len).sum(),
        pages: oracle.pages.len(),
        faults: faults_applied,
        fail_stops: fail_stops_seen,
        entries_checked,
        expired: expired(&oracle),
        subscribers: oracle.subscribers.len(),
        deliveries: oracle.subscribers.values().map(|s| s.records().count()).sum(),
        quiet_groups_max: oracle.quiet_groups_max,
    };
    let mut history = oracle.history.clone();
    history.push(format!("{:>9.3}s end: {stats:?}", sim_time.as_secs_f64()));
    Outcome { seed: cfg.seed, violations, history, sim_time, wall_time: started.elapsed(), stats }
}

impl World<'_> {
    fn running(&mut self, n: NodeId) -> bool {
        self.sim.is_host_running(host_name(n))
    }

    /// Power loss: the host stops and its disk loses a suffix of what it had not synced.
    ///
    /// Nothing leaves a host that loses power: its links are cut while its runtime is torn
    /// down, so the connections it drops send no FIN or RST. (They would go out in the order
    /// tokio drops the tasks, which depends on task ids from a process-wide counter: the
    /// same seed would replay differently in the second run of a process.) Then its links
    /// are put back as the faults left them; peers notice it is gone by their timeouts.
    fn crash(&mut self, n: NodeId) -> String {
        if !self.running(n) {
            return format!("n{n} already down");
        }
        let host = host_name(n);
        let others: Vec<String> = self.hosts.iter().filter(|h| **h != host).cloned().collect();
        for other in &others {
            self.sim.partition(host.as_str(), other.as_str());
        }
        self.sim.crash(host.as_str());
        for other in &others {
            self.sim.repair(host.as_str(), other.as_str());
            self.restore(&host, other);
        }
        let (kept, unsynced) = self.disks.crash(n, self.swarm.crash_keep, &mut self.rng);
        self.registry.borrow_mut().remove(&n);
        self.sampler.forget(n);
        self.restarts.remove(&n);
        format!("n{n} down, kept {kept} of {unsynced} unsynced batches")
    }

    fn restart(&mut self, n: NodeId) -> String {
        self.restarts.remove(&n);
        if self.running(n) {
            return format!("n{n} already up");
        }
        self.sim.bounce(host_name(n));
        format!("n{n} up")
    }

    /// A node stopped itself (it can no longer trust its storage): crash it now, as a
    /// process abort would, and have its supervisor restart it a little later.
    fn fail_stopped(&mut self, n: NodeId, reason: &str) -> String {
        let crashed = self.crash(n);
        let left_down = self.healed && self.left_down == Some(n);
        let at =
            self.sim.elapsed() + Duration::from_millis(self.rng.random_range(self.swarm.failstop_restart_ms.clone()));
        if !left_down {
            self.restarts.insert(n, at);
        }
        format!("fail-stop n{n}: {reason}; {crashed}; restart at {:.3}s", at.as_secs_f64())
    }

    /// Restarts fail-stopped nodes whose time has come.
    fn supervise(&mut self) -> Option<String> {
        let now = self.sim.elapsed();
        let due: Vec<NodeId> = self.restarts.iter().filter(|(_, at)| **at <= now).map(|(n, _)| *n).collect();
        let lines: Vec<String> = due.into_iter().map(|n| format!("supervisor: {}", self.restart(n))).collect();
        (!lines.is_empty()).then(|| lines.join("; "))
    }

    /// A node leading a shard of the workload stream now, chosen by `k`.
    fn leader(&mut self, k: u32) -> Option<NodeId> {
        if let Some(n) = self.picked.get(&k) {
            return *n;
        }
        let registry = self.registry.borrow();
        let leaders: Vec<NodeId> = registry
            .values()
            .filter(|node| {
                let meta = node.meta.current();
                let Some(stream) = meta.state.streams.values().find(|s| s.name.as_str() == STREAM) else {
                    return false;
                };
                stream.shards.iter().any(|shard| {
                    node.raft(shard.group).is_some_and(|raft| {
                        let metrics = raft.metrics();
                        let m = metrics.borrow_watched();
                        m.state == ServerState::Leader
                    })
                })
            })
            .map(|node| node.id)
            .collect();
        drop(registry);
        let n = leaders.get(k as usize % leaders.len().max(1)).copied();
        self.picked.insert(k, n);
        n
    }

    fn who(&mut self, who: Who) -> Option<NodeId> {
        match who {
            Who::Node(n) => Some(n),
            Who::Leader(k) => self.leader(k),
        }
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        }
    }

    fn partition(&mut self, a: &str, b: &str) {
        self.sim.partition(a, b);
        self.cut.insert((a.to_string(), b.to_string()));
        self.cut.insert((b.to_string(), a.to_string()));
    }

    fn partition_oneway(&mut self, from: &str, to: &str) {
        self.sim.partition_oneway(from, to);
        self.cut.insert((from.to_string(), to.to_string()));
    }

    /// Both directions repaired and held messages released.
    fn repair(&mut self, a: &str, b: &str) {
        self.sim.repair(a, b);
        self.sim.release(a, b);
        self.cut.remove(&(a.to_string(), b.to_string()));
        self.cut.remove(&(b.to_string(), a.to_string()));
        self.held.remove(&World::pair(a, b));
    }

    fn repair_oneway(&mut self, from: &str, to: &str) {
        self.sim.repair_oneway(from, to);
        self.cut.remove(&(from.to_string(), to.to_string()));
    }

    fn hold(&mut self, a: &str, b: &str) {
        self.sim.hold(a, b);
        self.held.insert(World::pair(a, b));
    }

    /// Releases held messages; turmoil makes the link healthy, so cuts are put back.
    fn release(&mut self, a: &str, b: &str) {
        self.sim.release(a, b);
        self.held.remove(&World::pair(a, b));
        self.restore(a, b);
    }

    /// Puts the link between `a` and `b` (healthy now) back in the state the faults left.
    fn restore(&mut self, a: &str, b: &str) {
        let a_b = self.cut.contains(&(a.to_string(), b.to_string()));
        let b_a = self.cut.contains(&(b.to_string(), a.to_string()));
        match (a_b, b_a) {
            (true, true) => self.sim.partition(a, b),
            (true, false) => self.sim.partition_oneway(a, b),
            (false, true) => self.sim.partition_oneway(b, a),
            (false, false) => {}
        }
        if self.held.contains(&World::pair(a, b)) {
            self.sim.hold(a, b);
        }
    }

    fn cut_off(&mut self, n: NodeId, peers_only: bool) {
        let others: Vec<String> = if peers_only {
            self.nodes.iter().filter(|m| **m != n).map(|m| host_name(*m)).collect()
        } else {
            self.hosts.iter().filter(|h| **h != host_name(n)).cloned().collect()
        };
        for other in others {
            self.partition(&host_name(n), &other);
        }
    }

    fn rejoin(&mut self, n: NodeId) {
        let others: Vec<String> = self.hosts.iter().filter(|h| **h != host_name(n)).cloned().collect();
        for other in others {
            self.repair(&host_name(n), &other);
        }
    }

    fn set_loss(&mut self, rate: f64) {
        for (i, a) in self.nodes.clone().iter().enumerate() {
            for b in &self.nodes.clone()[i + 1..] {
                self.sim.set_link_fail_rate(host_name(*a), host_name(*b), rate);
            }
        }
    }

    /// Applies one fault; returns what it did, for the history.
    fn apply(&mut self, fault: &Fault) -> String {
        let resolved = |w: Who, n: Option<NodeId>| match (w, n) {
            (Who::Leader(_), Some(n)) => format!("{fault}: n{n}"),
            (Who::Leader(_), None) => format!("{fault}: no leader"),
            _ => fault.to_string(),
        };
        match fault {
            Fault::Partition(a, b) => self.partition(&host_name(*a), &host_name(*b)),
            Fault::Repair(a, b) => self.repair(&host_name(*a), &host_name(*b)),
            Fault::PartitionOneWay(a, b) => self.partition_oneway(&host_name(*a), &host_name(*b)),
            Fault::RepairOneWay(a, b) => self.repair_oneway(&host_name(*a), &host_name(*b)),
            Fault::Isolate(w) | Fault::PeerIsolate(w) => {
                let n = self.who(*w);
                if let Some(n) = n {
                    self.cut_off(n, matches!(fault, Fault::PeerIsolate(_)));
                }
                return resolved(*w, n);
            }
            Fault::Rejoin(w) => {
                let n = self.who(*w);
                if let Some(n) = n {
                    self.rejoin(n);
                }
                return resolved(*w, n);
            }
            Fault::Crash(w) => {
                let Some(n) = self.who(*w) else { return resolved(*w, None) };
                return format!("{fault}: {}", self.crash(n));
            }
            Fault::CrashAll => {
                let lines: Vec<String> = self.nodes.clone().into_iter().map(|n| self.crash(n)).collect();
                return format!("{fault}: {}", lines.join("; "));
            }
            Fault::Restart(w) => {
                let Some(n) = self.who(*w) else { return resolved(*w, None) };
                return format!("{fault}: {}", self.restart(n));
            }
            Fault::RestartAll => {
                let lines: Vec<String> = self.nodes.clone().into_iter().map(|n| self.restart(n)).collect();
                return format!("{fault}: {}", lines.join("; "));
            }
            Fault::Hold(a, b) => self.hold(&host_name(*a), &host_name(*b)),
            Fault::Release(a, b) => self.release(&host_name(*a), &host_name(*b)),
            Fault::MessageLoss(rate) => self.set_loss(*rate),
            Fault::Latency(0) => self.sim.set_max_message_latency(BASE_LATENCY),
            Fault::Latency(ms) => self.sim.set_max_message_latency(Duration::from_millis(*ms)),
            Fault::SlowDisk(n, ms) => self.disks.set_sync_delay(*n, Duration::from_millis(*ms)),
            Fault::ReadErrors(n, rate) => self.disks.set_read_fail_rate(*n, *rate),
            Fault::HealAll { leave_down } => return self.heal(*leave_down),
        }
        fault.to_string()
    }

    /// Repairs everything; at the end of the safety phase one node may stay (or be put)
    /// down through the liveness phase.
    fn heal(&mut self, leave_down: Option<NodeId>) -> String {
        let hosts = self.hosts.clone();
        for (i, a) in hosts.iter().enumerate() {
            for b in &hosts[i + 1..] {
                self.repair(a, b);
            }
        }
        self.set_loss(0.0);
        self.sim.set_max_message_latency(BASE_LATENCY);
        let mut lines = vec!["HealAll".to_string()];
        for n in self.nodes.clone() {
            self.disks.set_sync_delay(n, Duration::ZERO);
            self.disks.set_read_fail_rate(n, 0.0);
            if Some(n) == leave_down {
                lines.push(format!("left down: {}", self.crash(n)));
            } else if !self.running(n) {
                lines.push(self.restart(n));
            }
        }
        if leave_down.is_some() {
            // The final heal: from now on the supervisor leaves that node down too.
            self.healed = true;
            self.left_down = leave_down;
            self.restarts.retain(|n, _| Some(*n) != leave_down);
        }
        lines.join("; ")
    }
}

/// Acknowledged writes that no final read returned (with retention on, the expired ones;
/// `no-lost-acks` judges whether each could have expired).
fn expired(oracle: &Oracle) -> usize {
    let present: BTreeSet<&str> = oracle.final_reads.values().flatten().map(|(_, p)| p.as_str()).collect();
    oracle.writes.iter().filter(|(p, w)| !w.acks.is_empty() && !present.contains(p.as_str())).count()
}

/// What every replica of the workload stream's shards stores, straight from its engine
/// (a replica left down included).
fn replica_contents(registry: &Registry, disks: &Disks) -> ReplicaContents {
    let mut out = ReplicaContents::new();
    let registry = registry.borrow();
    let Some(node) = registry.values().next() else { return out };
    let meta = node.meta.current();
    let Some(stream) = meta.state.streams.values().find(|s| s.name.as_str() == STREAM) else { return out };
    for shard in &stream.shards {
        for replica in &shard.replicas {
            let read = disks.quiet(*replica, |engine| {
                let last_counter = ShardApplied::load(engine, shard.group)?.last_counter;
                read_stored(engine, shard.group, shard.id, 0, last_counter, usize::MAX, usize::MAX)?
                    .open(shard.group, None)
            });
            if let Ok(batch) = read {
                let records = batch
                    .records
                    .into_iter()
                    .map(|r| (r.sequence_number.0, String::from_utf8_lossy(&r.data).into_owned()))
                    .collect();
                out.insert((shard.id.to_string(), *replica), records);
            }
        }
    }
    out
}
