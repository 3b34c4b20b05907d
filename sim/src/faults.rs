//! The faults of one run, chosen by its seed: a schedule of events during the safety
//! phase, then a heal that undoes them all.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_node::domain::NodeId;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Both directions between two nodes cut.
    Partition(NodeId, NodeId),
    /// Messages from the first to the second are dropped; the other way works.
    PartitionOneWay(NodeId, NodeId),
    /// One node cut off from every other node (and from clients).
    Isolate(NodeId),
    /// A node leading a shard group at that moment is cut off from everyone.
    IsolateLeader,
    /// Power loss: the node stops and its unsynced writes are gone.
    Crash(NodeId),
    /// Every node loses power at once.
    CrashAll,
    /// A crashed node starts again from what it had synced.
    Restart(NodeId),
    /// Messages between two nodes are held back, then released.
    Hold(NodeId, NodeId),
    Release(NodeId, NodeId),
    /// A share of messages on every link is lost.
    MessageLoss(f64),
    /// Message latency up to this many milliseconds.
    Latency(u64),
    /// Every sync of a node's disk takes this long.
    SlowDisk(NodeId, u64),
    /// Repairs every link, restarts crashed nodes, restores latency, loss and disks.
    HealAll,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub events: Vec<(Duration, Fault)>,
    pub heal_at: Duration,
}

/// How the seed picks faults. `Mixed` draws every kind; the others focus on one, so a fixed
/// seed set can be sure every kind is exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Mixed,
    Crashes,
    Partitions,
    Network,
    None,
}

impl Profile {
    pub fn for_seed(seed: u64) -> Profile {
        match seed % 5 {
            0 => Profile::Crashes,
            1 => Profile::Partitions,
            2 => Profile::Network,
            _ => Profile::Mixed,
        }
    }
}

/// The safety phase starts once the cluster had time to boot and create the stream.
pub const FAULTS_FROM: Duration = Duration::from_secs(4);
/// Events in one run at the most.
const EVENTS_MAX: usize = 40;

pub fn plan(seed: u64, nodes: &[NodeId], safety: Duration, profile: Profile) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xfa17_5eed);
    let heal_at = FAULTS_FROM + safety;
    let mut events = Vec::new();
    let mut t = FAULTS_FROM;
    let mut crashed: Vec<NodeId> = Vec::new();
    let pick = |rng: &mut StdRng| nodes[rng.random_range(0..nodes.len())];
    while events.len() < EVENTS_MAX && profile != Profile::None {
        t += Duration::from_millis(rng.random_range(300..2_500));
        if t >= heal_at {
            break;
        }
        let kind = match profile {
            Profile::Crashes => rng.random_range(0..3),
            Profile::Partitions => rng.random_range(3..6),
            Profile::Network => rng.random_range(6..9),
            _ => rng.random_range(0..10),
        };
        let fault = match kind {
            0 | 1 if !crashed.is_empty() && rng.random_bool(0.5) => Fault::Restart(crashed.remove(0)),
            0 => {
                let n = pick(&mut rng);
                // Keep a majority alive most of the time; several at once happens too.
                if crashed.contains(&n) || (crashed.len() + 1) * 2 > nodes.len() && rng.random_bool(0.7) {
                    continue;
                }
                crashed.push(n);
                Fault::Crash(n)
            }
            1 => {
                if rng.random_bool(0.3) {
                    crashed = nodes.to_vec();
                    Fault::CrashAll
                } else {
                    let n = pick(&mut rng);
                    Fault::SlowDisk(n, rng.random_range(5..60))
                }
            }
            2 => Fault::HealAll,
            3 => {
                let (a, b) = (pick(&mut rng), pick(&mut rng));
                if a == b {
                    continue;
                }
                Fault::Partition(a, b)
            }
            4 => {
                let (a, b) = (pick(&mut rng), pick(&mut rng));
                if a == b {
                    continue;
                }
                Fault::PartitionOneWay(a, b)
            }
            5 if rng.random_bool(0.5) => Fault::IsolateLeader,
            5 => Fault::Isolate(pick(&mut rng)),
            6 => Fault::MessageLoss(rng.random_range(0.01..0.15)),
            7 => Fault::Latency(rng.random_range(5..200)),
            8 => {
                let (a, b) = (pick(&mut rng), pick(&mut rng));
                if a == b {
                    continue;
                }
                events.push((t, Fault::Hold(a, b)));
                t += Duration::from_millis(rng.random_range(100..1_500));
                Fault::Release(a, b)
            }
            _ => Fault::HealAll,
        };
        if fault == Fault::HealAll {
            crashed.clear();
        }
        events.push((t, fault));
    }
    events.push((heal_at, Fault::HealAll));
    Plan { events, heal_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_a_function_of_the_seed_and_end_healed() {
        let nodes = [1, 2, 3];
        let a = plan(7, &nodes, Duration::from_secs(20), Profile::Mixed);
        let b = plan(7, &nodes, Duration::from_secs(20), Profile::Mixed);
        assert_eq!(format!("{:?}", a.events), format!("{:?}", b.events));
        assert_eq!(a.events.last().map(|e| &e.1), Some(&Fault::HealAll));
        assert!(a.events.windows(2).all(|w| w[0].0 <= w[1].0), "events in time order");
        assert!(a.events.iter().all(|(t, _)| *t <= a.heal_at));
    }

    #[test]
    fn every_profile_draws_its_kind() {
        let nodes = [1, 2, 3];
        let kinds = |profile| {
            (0..20u64)
                .flat_map(|s| plan(s, &nodes, Duration::from_secs(20), profile).events)
                .map(|(_, f)| format!("{f:?}").split('(').next().unwrap_or_default().to_string())
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert!(kinds(Profile::Crashes).contains("Crash"));
        assert!(kinds(Profile::Crashes).contains("Restart"));
        assert!(kinds(Profile::Partitions).contains("Partition"));
        assert!(kinds(Profile::Partitions).contains("Isolate"));
        assert!(kinds(Profile::Partitions).contains("IsolateLeader"));
        assert!(kinds(Profile::Network).contains("MessageLoss"));
        assert!(kinds(Profile::Network).contains("Hold"));
    }
}
