//! The faults of one run: a schedule of events during the safety phase, drawn from the
//! seed under its swarm options (`swarm.rs`), then a heal that undoes them all (leaving at
//! most one replica down, when the options say so).
//!
//! Most faults come with their own end (a partition is repaired, a crashed node restarts,
//! a read-error spell stops); the heal ends whatever is still on.

use crate::swarm::{FaultKind, Swarm};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_node::domain::NodeId;
use std::fmt;
use std::time::Duration;

/// Which node a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Node(NodeId),
    /// A node leading a shard of the workload stream when the fault starts; the number
    /// tells picks apart, so the fault's end finds the node its start picked.
    Leader(u32),
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::Node(n) => write!(f, "n{n}"),
            Who::Leader(k) => write!(f, "leader#{k}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Both directions between two nodes cut.
    Partition(NodeId, NodeId),
    Repair(NodeId, NodeId),
    /// Messages from the first to the second are dropped; the other way works.
    PartitionOneWay(NodeId, NodeId),
    RepairOneWay(NodeId, NodeId),
    /// One node cut off from every other host, clients included.
    Isolate(Who),
    /// One node cut off from the other nodes only; clients still reach it.
    PeerIsolate(Who),
    /// Every link of an isolated node repaired.
    Rejoin(Who),
    /// Power loss: the node stops and loses a suffix of its unsynced writes.
    Crash(Who),
    /// Every node loses power at once.
    CrashAll,
    /// A crashed node starts again from what it kept.
    Restart(Who),
    /// Every crashed node starts again.
    RestartAll,
    /// Messages between two nodes are held back, then released.
    Hold(NodeId, NodeId),
    Release(NodeId, NodeId),
    /// A share of messages on every link between nodes is lost.
    MessageLoss(f64),
    /// Message latency up to this many milliseconds.
    Latency(u64),
    /// Every sync of a node's disk takes this many milliseconds.
    SlowDisk(NodeId, u64),
    /// This share of a node's storage reads fail.
    ReadErrors(NodeId, f64),
    /// Repairs every link, restarts crashed nodes, restores latency, loss, disks and reads.
    /// At the end of the safety phase one node may be left (or put) down.
    HealAll {
        leave_down: Option<NodeId>,
    },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Isolate(w) => write!(f, "Isolate({w})"),
            Fault::PeerIsolate(w) => write!(f, "PeerIsolate({w})"),
            Fault::Rejoin(w) => write!(f, "Rejoin({w})"),
            Fault::Crash(w) => write!(f, "Crash({w})"),
            Fault::Restart(w) => write!(f, "Restart({w})"),
            Fault::MessageLoss(rate) => write!(f, "MessageLoss({rate:.3})"),
            Fault::ReadErrors(n, rate) => write!(f, "ReadErrors(n{n}, {rate:.5})"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub events: Vec<(Duration, Fault)>,
    pub heal_at: Duration,
}

/// The safety phase starts once the cluster had time to boot and create the stream.
pub const FAULTS_FROM: Duration = Duration::from_secs(4);
/// Fault events (starts and ends) in one run at the most.
const EVENTS_MAX: usize = 60;

/// What the planner knows of which nodes are down, to keep a majority up most of the time.
#[derive(Default)]
struct Down {
    nodes: Vec<NodeId>,
    /// Crashes of picked leaders not restarted yet (who they hit is known only then).
    leaders: usize,
}

impl Down {
    fn count(&self) -> usize {
        self.nodes.len() + self.leaders
    }

    fn restart(&mut self, who: Who) {
        match who {
            Who::Node(n) => self.nodes.retain(|x| *x != n),
            Who::Leader(_) => self.leaders = self.leaders.saturating_sub(1),
        }
    }
}

pub fn plan(seed: u64, nodes: &[NodeId], safety: Duration, swarm: &Swarm) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17_5eed);
    let heal_at = FAULTS_FROM + safety;
    let ms = |rng: &mut StdRng, r: &std::ops::Range<u64>| Duration::from_millis(rng.random_range(r.clone()));
    let pick = |rng: &mut StdRng| nodes[rng.random_range(0..nodes.len())];
    let pair = |rng: &mut StdRng| {
        let a = pick(rng);
        let others: Vec<NodeId> = nodes.iter().copied().filter(|n| *n != a).collect();
        (a, others[rng.random_range(0..others.len())])
    };
    let mut events: Vec<(Duration, Fault)> = Vec::new();
    // Ends of faults already started, in time order of insertion; drained as time passes.
    let mut ends: Vec<(Duration, Fault)> = Vec::new();
    let mut down = Down::default();
    let mut picks: u32 = 0;
    let mut t = FAULTS_FROM;
    while events.len() + ends.len() < EVENTS_MAX {
        t += ms(&mut rng, &swarm.spacing_ms);
        if t >= heal_at {
            break;
        }
        // Ends that came due first.
        ends.sort_by_key(|(at, _)| *at);
        while ends.first().is_some_and(|(at, _)| *at <= t) {
            let (at, fault) = ends.remove(0);
            match &fault {
                Fault::Restart(who) => down.restart(*who),
                Fault::RestartAll => down = Down::default(),
                _ => {}
            }
            events.push((at, fault));
        }
        let Some(kind) = swarm.pick(&mut rng) else { break };
        let mut leader_or = |rng: &mut StdRng, n: NodeId| {
            if rng.random_bool(swarm.leader_share) {
                picks += 1;
                Who::Leader(picks)
            } else {
                Who::Node(n)
            }
        };
        let spell = ms(&mut rng, &swarm.spell_ms);
        let (fault, end) = match kind {
            FaultKind::Partition => {
                let (a, b) = pair(&mut rng);
                (Fault::Partition(a, b), Some((spell, Fault::Repair(a, b))))
            }
            FaultKind::PartitionOneWay => {
                let (a, b) = pair(&mut rng);
                (Fault::PartitionOneWay(a, b), Some((spell, Fault::RepairOneWay(a, b))))
            }
            FaultKind::Isolate => {
                let n = pick(&mut rng);
                let who = leader_or(&mut rng, n);
                (Fault::Isolate(who), Some((spell, Fault::Rejoin(who))))
            }
            FaultKind::PeerIsolate => {
                let n = pick(&mut rng);
                let who = leader_or(&mut rng, n);
                (Fault::PeerIsolate(who), Some((spell, Fault::Rejoin(who))))
            }
            FaultKind::Crash => {
                let n = pick(&mut rng);
                let who = leader_or(&mut rng, n);
                let no_majority = (down.count() + 1) * 2 > nodes.len();
                if matches!(who, Who::Node(n) if down.nodes.contains(&n))
                    || no_majority && rng.random_bool(swarm.majority_guard)
                {
                    continue;
                }
                match who {
                    Who::Node(n) => down.nodes.push(n),
                    Who::Leader(_) => down.leaders += 1,
                }
                (Fault::Crash(who), Some((ms(&mut rng, &swarm.down_ms), Fault::Restart(who))))
            }
            FaultKind::CrashAll => {
                down.nodes = nodes.to_vec();
                down.leaders = 0;
                (Fault::CrashAll, Some((ms(&mut rng, &swarm.down_ms), Fault::RestartAll)))
            }
            FaultKind::Hold => {
                let (a, b) = pair(&mut rng);
                (Fault::Hold(a, b), Some((ms(&mut rng, &swarm.hold_ms), Fault::Release(a, b))))
            }
            FaultKind::MessageLoss => {
                let rate = rng.random_range(0.0..swarm.loss_rate_max);
                (Fault::MessageLoss(rate), Some((spell, Fault::MessageLoss(0.0))))
            }
            FaultKind::Latency => {
                let latency = rng.random_range(1..=swarm.latency_ms_max);
                (Fault::Latency(latency), Some((spell, Fault::Latency(0))))
            }
            FaultKind::SlowDisk => {
                let n = pick(&mut rng);
                let delay = rng.random_range(1..=swarm.slow_disk_ms_max);
                (Fault::SlowDisk(n, delay), Some((spell, Fault::SlowDisk(n, 0))))
            }
            FaultKind::ReadErrors => {
                let n = pick(&mut rng);
                let rate = rng.random_range(swarm.read_fail_rate_max / 10.0..=swarm.read_fail_rate_max);
                (Fault::ReadErrors(n, rate), Some((spell, Fault::ReadErrors(n, 0.0))))
            }
            FaultKind::HealAll => {
                down = Down::default();
                ends.clear();
                (Fault::HealAll { leave_down: None }, None)
            }
        };
        events.push((t, fault));
        if let Some((after, end)) = end {
            if t + after < heal_at {
                ends.push((t + after, end));
            }
        }
    }
    ends.sort_by_key(|(at, _)| *at);
    events.extend(ends.into_iter().filter(|(at, _)| *at < heal_at));
    events.sort_by_key(|(at, _)| *at);
    events.push((heal_at, Fault::HealAll { leave_down: swarm.leave_down }));
    Plan { events, heal_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(f: &Fault) -> String {
        format!("{f:?}").split(['(', ' ']).next().unwrap_or_default().to_string()
    }

    #[test]
    fn plans_are_a_function_of_the_seed_and_end_healed() {
        let nodes = [1, 2, 3];
        for seed in 0..50 {
            let swarm = Swarm::draw(seed, &nodes, None);
            let a = plan(seed, &nodes, Duration::from_secs(20), &swarm);
            let b = plan(seed, &nodes, Duration::from_secs(20), &swarm);
            assert_eq!(format!("{:?}", a.events), format!("{:?}", b.events));
            assert_eq!(a.events.last().map(|e| &e.1), Some(&Fault::HealAll { leave_down: swarm.leave_down }));
            assert!(a.events.windows(2).all(|w| w[0].0 <= w[1].0), "events in time order");
            assert!(a.events.iter().all(|(t, _)| *t <= a.heal_at));
            assert!(a.events.len() <= EVENTS_MAX + 1);
        }
    }

    #[test]
    fn across_seeds_every_fault_and_its_end_is_planned() {
        let nodes = [1, 2, 3];
        let kinds: std::collections::BTreeSet<String> = (0..100u64)
            .flat_map(|s| plan(s, &nodes, Duration::from_secs(15), &Swarm::draw(s, &nodes, None)).events)
            .map(|(_, f)| kind(&f))
            .collect();
        for k in [
            "Partition",
            "Repair",
            "PartitionOneWay",
            "RepairOneWay",
            "Isolate",
            "PeerIsolate",
            "Rejoin",
            "Crash",
            "CrashAll",
            "Restart",
            "RestartAll",
            "Hold",
            "Release",
            "MessageLoss",
            "Latency",
            "SlowDisk",
            "ReadErrors",
            "HealAll",
        ] {
            assert!(kinds.contains(k), "{k} never planned: {kinds:?}");
        }
    }

    #[test]
    fn the_stale_reads_focus_isolates_leaders_from_their_peers_one_at_a_time() {
        let nodes = [1, 2, 3];
        for seed in 0..10 {
            let swarm = Swarm::draw(seed, &nodes, Some(crate::swarm::Focus::StaleReads));
            let p = plan(seed, &nodes, Duration::from_secs(15), &swarm);
            let mut cut = 0;
            for (_, f) in &p.events {
                match f {
                    Fault::PeerIsolate(Who::Leader(_)) => cut += 1,
                    Fault::Rejoin(_) => cut -= 1,
                    Fault::HealAll { .. } => cut = 0,
                    other => panic!("unexpected {other}"),
                }
                assert!(cut <= 1, "seed {seed}: two leaders cut off at once");
            }
        }
    }
}
