//! One simulated run: build the turmoil world, start the real node code on simulated hosts,
//! drive the workload, inject the seed's faults, heal, and judge what was observed.

use crate::faults::{self, Fault, Profile};
use crate::invariants::{self, ReplicaContents, Violation};
use crate::net::{host_name, incoming, node_url, SimClock, SimConnector};
use crate::oracle::Oracle;
use crate::workload::{self, Ctx, STREAM};
use openraft::async_runtime::WatchReceiver as _;
use openraft::ServerState;
use runnel_node::cluster::{Node, NodeDeps};
use runnel_node::config::{NodeConfig, RaftTiming};
use runnel_node::domain::NodeId;
use runnel_node::shard::read::read_records;
use runnel_node::storage::memory::MemoryEngine;
use runnel_node::storage::AckPolicy;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A deliberately broken behaviour, to show the checker catches what it should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// Appends count as durable before they are synced.
    AckBeforeSync,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub nodes: usize,
    pub shards: u32,
    pub producers: usize,
    pub ops_per_producer: usize,
    /// How long faults are injected.
    pub safety: Duration,
    pub profile: Profile,
    pub bug: Option<Bug>,
}

impl SimConfig {
    pub fn new(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            nodes: 3,
            shards: 3,
            producers: 2,
            ops_per_producer: 40,
            safety: Duration::from_secs(15),
            profile: Profile::for_seed(seed),
            bug: None,
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
    pub faults: usize,
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

/// Simulated time a run may take at the most.
const SIM_DURATION_MAX: Duration = Duration::from_secs(300);
/// How often (in steps) leadership claims are sampled.
const SAMPLE_EVERY_STEPS: u64 = 5;
const BASE_LATENCY: Duration = Duration::from_millis(2);

type Registry = Rc<RefCell<BTreeMap<NodeId, Arc<Node>>>>;

pub fn run(cfg: &SimConfig) -> Outcome {
    let started = Instant::now();
    let node_ids: Vec<NodeId> = (1..=cfg.nodes as u64).collect();
    let plan = faults::plan(cfg.seed, &node_ids, cfg.safety, cfg.profile);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(SIM_DURATION_MAX)
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(BASE_LATENCY)
        .rng_seed(cfg.seed)
        .build();

    let oracle = Rc::new(RefCell::new(Oracle::default()));
    let registry: Registry = Rc::default();
    let engines: BTreeMap<NodeId, Arc<MemoryEngine>> =
        node_ids.iter().map(|id| (*id, Arc::new(MemoryEngine::default()))).collect();
    let peers: BTreeMap<NodeId, String> = node_ids.iter().map(|id| (*id, node_url(*id))).collect();
    let ack_policy = match cfg.bug {
        Some(Bug::AckBeforeSync) => AckPolicy::BeforeSync,
        None => AckPolicy::AfterSync,
    };

    for id in &node_ids {
        let (id, engine, registry, peers, seed) = (*id, engines[id].clone(), registry.clone(), peers.clone(), cfg.seed);
        sim.host(host_name(id), move || {
            let (engine, registry, peers) = (engine.clone(), registry.clone(), peers.clone());
            async move {
                let config = NodeConfig {
                    id,
                    listen: "0.0.0.0:50051".parse()?,
                    advertise: node_url(id),
                    peers,
                    data_dir: "/simulated".into(),
                    replication_factor: 3,
                    raft: RaftTiming { heartbeat_ms: 100, election_min_ms: 500, election_max_ms: 1_000 },
                };
                let deps = NodeDeps {
                    engine,
                    connector: Arc::new(SimConnector),
                    clock: Arc::new(SimClock),
                    seed: seed.wrapping_mul(31).wrapping_add(id),
                    ack_policy,
                };
                let node = Node::start(config, deps).await?;
                registry.borrow_mut().insert(id, node.clone());
                runnel_node::api::server::serve(node, incoming().await?, futures::future::pending()).await?;
                Ok(())
            }
        });
    }

    let ctx = Ctx {
        oracle: oracle.clone(),
        nodes: node_ids.clone(),
        shards: cfg.shards,
        heal_at: plan.heal_at,
        producers: cfg.producers,
    };
    sim.client("driver", workload::driver(ctx.clone()));
    for p in 0..cfg.producers {
        let seed = cfg.seed.wrapping_add(1_000 + p as u64);
        sim.client(format!("producer{p}"), workload::producer(ctx.clone(), p, cfg.ops_per_producer, seed));
    }
    sim.client("consumer0", workload::consumer(ctx.clone(), "consumer0".into(), cfg.seed.wrapping_add(7)));

    let clients: Vec<String> = std::iter::once("driver".to_string())
        .chain((0..cfg.producers).map(|p| format!("producer{p}")))
        .chain(["consumer0".to_string()])
        .collect();
    let mut pending = plan.events.clone().into_iter().peekable();
    let mut steps: u64 = 0;
    let mut faults_applied = 0;
    let mut error = None;
    loop {
        while pending.peek().is_some_and(|(t, _)| *t <= sim.elapsed()) {
            if let Some((_, fault)) = pending.next() {
                let done = apply(&mut sim, &fault, &node_ids, &clients, &engines, &registry);
                oracle.borrow_mut().log(sim.elapsed(), format!("fault: {done}"));
                faults_applied += 1;
            }
        }
        if steps.is_multiple_of(SAMPLE_EVERY_STEPS) {
            sample_leaders(&registry, &oracle);
        }
        steps += 1;
        // openraft asserts its own invariants; a broken node trips them and panics inside
        // the simulated runtime. That ends the run and is reported as a violation.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.step())) {
            Ok(Ok(true)) => break,
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                error = Some(format!("a host failed or time ran out: {e}"));
                break;
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                error = Some(format!("a node panicked at {:.3}s: {message}", sim.elapsed().as_secs_f64()));
                break;
            }
        }
    }
    let sim_time = sim.elapsed();
    let replicas = replica_contents(&registry, &engines);
    if error.is_some() {
        // Runtimes that panicked can panic again when dropped, which aborts the process:
        // leak this run's world instead (a failing run is rare and ends the search).
        std::mem::forget(sim);
        std::mem::forget(registry);
    }

    let oracle = oracle.borrow();
    let (mut violations, duplicates) = invariants::check_all(&oracle, &replicas, error.is_none());
    if let Some(e) = error {
        violations.push(Violation { invariant: "run-completes", detail: e });
    }
    let stats = Stats {
        writes: oracle.writes.len(),
        acked: oracle.writes.values().filter(|w| !w.acks.is_empty()).count(),
        unknown: oracle.writes.values().filter(|w| w.acks.is_empty()).count(),
        duplicates,
        records_read: oracle.final_reads.values().map(Vec::len).sum(),
        faults: faults_applied,
    };
    let mut history = oracle.history.clone();
    history.push(format!("{:>9.3}s end: {stats:?}", sim_time.as_secs_f64()));
    Outcome { seed: cfg.seed, violations, history, sim_time, wall_time: started.elapsed(), stats }
}

fn apply(
    sim: &mut turmoil::Sim<'_>,
    fault: &Fault,
    nodes: &[NodeId],
    clients: &[String],
    engines: &BTreeMap<NodeId, Arc<MemoryEngine>>,
    registry: &Registry,
) -> String {
    let crash = |sim: &mut turmoil::Sim<'_>, n: NodeId| {
        if sim.is_host_running(host_name(n)) {
            sim.crash(host_name(n));
            // The runtime is gone; so is every write the disk had not synced.
            engines[&n].crash();
            registry.borrow_mut().remove(&n);
        }
    };
    let all_hosts: Vec<String> = nodes.iter().map(|n| host_name(*n)).chain(clients.iter().cloned()).collect();
    match fault {
        Fault::Partition(a, b) => sim.partition(host_name(*a), host_name(*b)),
        Fault::PartitionOneWay(a, b) => sim.partition_oneway(host_name(*a), host_name(*b)),
        Fault::Isolate(n) => isolate(sim, *n, &all_hosts),
        Fault::IsolateLeader => {
            let leader = registry.borrow().values().find_map(|node| {
                let group = node.group_ids().into_iter().next()?;
                let raft = node.raft(group)?;
                let m = raft.metrics().borrow_watched().clone();
                (m.state == ServerState::Leader).then_some(node.id)
            });
            return match leader {
                Some(n) => {
                    isolate(sim, n, &all_hosts);
                    format!("{fault}: n{n}")
                }
                None => format!("{fault}: no leader to isolate"),
            };
        }
        Fault::Crash(n) => crash(sim, *n),
        Fault::CrashAll => {
            for n in nodes {
                crash(sim, *n);
            }
        }
        Fault::Restart(n) => {
            if !sim.is_host_running(host_name(*n)) {
                sim.bounce(host_name(*n));
            }
        }
        Fault::Hold(a, b) => sim.hold(host_name(*a), host_name(*b)),
        Fault::Release(a, b) => sim.release(host_name(*a), host_name(*b)),
        Fault::MessageLoss(rate) => {
            for a in nodes {
                for b in nodes.iter().filter(|b| *b > a) {
                    sim.set_link_fail_rate(host_name(*a), host_name(*b), *rate);
                }
            }
        }
        Fault::Latency(ms) => sim.set_max_message_latency(Duration::from_millis(*ms)),
        Fault::SlowDisk(n, ms) => engines[n].set_sync_delay(Duration::from_millis(*ms)),
        Fault::HealAll => {
            for (i, a) in all_hosts.iter().enumerate() {
                for b in &all_hosts[i + 1..] {
                    sim.repair(a.as_str(), b.as_str());
                    sim.release(a.as_str(), b.as_str());
                }
            }
            for a in nodes {
                for b in nodes.iter().filter(|b| *b > a) {
                    sim.set_link_fail_rate(host_name(*a), host_name(*b), 0.0);
                }
            }
            sim.set_max_message_latency(BASE_LATENCY);
            for n in nodes {
                engines[n].set_sync_delay(Duration::ZERO);
                if !sim.is_host_running(host_name(*n)) {
                    sim.bounce(host_name(*n));
                }
            }
        }
    }
    fault.to_string()
}

fn isolate(sim: &mut turmoil::Sim<'_>, node: NodeId, all_hosts: &[String]) {
    for other in all_hosts.iter().filter(|h| **h != host_name(node)) {
        sim.partition(host_name(node), other.as_str());
    }
}

fn sample_leaders(registry: &Registry, oracle: &Rc<RefCell<Oracle>>) {
    let registry = registry.borrow();
    let mut oracle = oracle.borrow_mut();
    for (id, node) in registry.iter() {
        let mut groups = vec![runnel_node::domain::META_GROUP];
        groups.extend(node.group_ids());
        for g in groups {
            let Some(raft) = node.raft(g) else { continue };
            let m = raft.metrics().borrow_watched().clone();
            if m.state == ServerState::Leader {
                oracle.leader_claims.entry((g.0, m.current_term)).or_default().insert(*id);
            }
        }
    }
}

/// What every replica of the workload stream's shards stores, straight from its engine.
fn replica_contents(registry: &Registry, engines: &BTreeMap<NodeId, Arc<MemoryEngine>>) -> ReplicaContents {
    let mut out = ReplicaContents::new();
    let registry = registry.borrow();
    let Some(node) = registry.values().next() else { return out };
    let meta = node.meta.current();
    let Some(stream) = meta.state.streams.values().find(|s| s.name.as_str() == STREAM) else { return out };
    for shard in &stream.shards {
        for replica in &shard.replicas {
            let Some(engine) = engines.get(replica) else { continue };
            if let Ok(batch) = read_records(engine.as_ref(), shard.group, shard.id, 0, usize::MAX, usize::MAX) {
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
