//! Swarm options: every fault parameter of a run, drawn from its seed.
//!
//! Rather than a handful of fixed profiles, each seed draws which fault kinds are enabled
//! and how often each is picked, how far apart events are, how long a fault lasts, loss
//! rates, latencies, disk delays, read error rates, what a crash keeps of the unsynced
//! writes, and whether a replica stays down through the liveness phase. Across many seeds
//! this explores far more combinations than any fixed mix: a seed that enables only
//! crashes and one-way partitions finds what a uniform mix dilutes away.
//!
//! Source: swarm testing (Groce et al., "Swarm Testing", ISSTA 2012), as TigerBeetle's
//! VOPR draws its options per seed (`src/vopr.zig`, `options_swarm`).
//!
//! A `Focus` overrides the kinds (and what they need) for tests that must exercise one
//! thing, e.g. the checker's self-tests; every other option is still drawn from the seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_node::domain::NodeId;
use std::ops::Range;

/// The kinds of fault a run may inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Two nodes cannot reach each other, for a while.
    Partition,
    /// Messages from one node to another are dropped; the other way works.
    PartitionOneWay,
    /// A node (sometimes a current shard leader) cut off from everyone, clients included.
    Isolate,
    /// A node (sometimes a current shard leader) cut off from its peers only: clients
    /// still reach it, so a deposed leader can keep answering them.
    PeerIsolate,
    /// Power loss of one node (sometimes a current shard leader), restarted later.
    Crash,
    /// Every node loses power at once.
    CrashAll,
    /// Messages between two nodes held back, then released together.
    Hold,
    /// A share of messages on every link between nodes is lost.
    MessageLoss,
    /// Message latency up to some bound.
    Latency,
    /// Every sync of one node's disk takes a while.
    SlowDisk,
    /// A share of one node's storage reads fail; the node may fail-stop.
    ReadErrors,
    /// Everything repaired early, in the middle of the safety phase.
    HealAll,
}

impl FaultKind {
    pub const ALL: [FaultKind; 12] = [
        FaultKind::Partition,
        FaultKind::PartitionOneWay,
        FaultKind::Isolate,
        FaultKind::PeerIsolate,
        FaultKind::Crash,
        FaultKind::CrashAll,
        FaultKind::Hold,
        FaultKind::MessageLoss,
        FaultKind::Latency,
        FaultKind::SlowDisk,
        FaultKind::ReadErrors,
        FaultKind::HealAll,
    ];
}

/// What a crash keeps of the writes the disk had not synced. Whole write batches survive
/// or not, in order, as in a write-ahead log: a crash always loses a suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashKeep {
    /// Nothing unsynced survives (power loss with a cold disk cache).
    LoseAll,
    /// A random prefix survives.
    Prefix,
    /// All but the last batch survives (the write in flight is torn off).
    LoseLast,
    /// Everything survives (the process died, the OS wrote its cache out).
    KeepAll,
}

impl CrashKeep {
    /// How many of `unsynced` batches a crash keeps.
    pub fn keep(self, unsynced: usize, rng: &mut StdRng) -> usize {
        match self {
            CrashKeep::LoseAll => 0,
            CrashKeep::Prefix => rng.random_range(0..=unsynced),
            CrashKeep::LoseLast => unsynced.saturating_sub(1),
            CrashKeep::KeepAll => unsynced,
        }
    }
}

/// Forces what a run exercises, for tests that need one kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Crashes only: single nodes, current leaders, all at once, each losing unsynced
    /// writes as the seed's `CrashKeep` says.
    Crashes,
    /// Current shard leaders cut off from their peers for seconds while clients still
    /// reach them, one at a time: what lets a deposed leader answer reads.
    StaleReads,
    /// No faults.
    Quiet,
    /// Many splits, merges and scalings while partitions and latency leave some nodes'
    /// metadata behind: writes routed by a stale view race the reshards.
    Reshards,
    /// Records expire during the run (retention of seconds): trims and log purges race
    /// crashes, partitions and leader changes, and closed shards expire.
    Retention,
    /// Enhanced fan-out subscribers follow the stream while the nodes serving them crash
    /// or are cut off, leaders move and shards split and merge: subscriptions fail over,
    /// renew (every 3 s) and take up children.
    FanOut,
    /// A stream of hundreds of shards (`MANY_GROUPS_SHARDS`), most of them idle and so
    /// quiet (no heartbeats), while crashes, isolations and partitions take the nodes that
    /// lead them; one node stays down through the liveness phase, so the groups it led must
    /// elect through node-level liveness alone (cluster/quiesce.rs).
    ManyGroups,
}

/// The options of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Swarm {
    /// Enabled kinds and their weights; a kind not listed is never drawn.
    pub weights: Vec<(FaultKind, u32)>,
    /// Time between two fault events, in milliseconds.
    pub spacing_ms: Range<u64>,
    /// How long a partition, isolation, loss, latency, slow-disk or read-error spell lasts.
    pub spell_ms: Range<u64>,
    /// How long messages are held before they are released.
    pub hold_ms: Range<u64>,
    /// How long a crashed node stays down before it restarts (unless a heal comes first).
    pub down_ms: Range<u64>,
    /// Share of crashes aimed at a node leading a shard at that moment.
    pub leader_share: f64,
    /// Chance that a crash which would leave no majority running is skipped.
    pub majority_guard: f64,
    pub loss_rate_max: f64,
    pub latency_ms_max: u64,
    pub slow_disk_ms_max: u64,
    /// Read error rates are drawn between a tenth of this and this.
    pub read_fail_rate_max: f64,
    pub crash_keep: CrashKeep,
    /// How long a fail-stopped node stays down before its supervisor restarts it.
    pub failstop_restart_ms: Range<u64>,
    /// A node left crashed when the cluster heals: the liveness phase runs without it.
    pub leave_down: Option<NodeId>,
    /// Splits, merges and UpdateShardCount calls during the safety phase.
    pub reshards: u32,
    /// Enhanced fan-out subscribers following the stream (`workload::subscriber`).
    pub subscribers: usize,
}

/// Share of seeds that run with no faults at all (a baseline the others are compared to).
const QUIET_SHARE: f64 = 0.04;
/// Share of fault kinds each seed enables.
const KIND_ENABLED_SHARE: f64 = 0.5;
/// Share of seeds that leave one replica down through the liveness phase.
const LEAVE_DOWN_SHARE: f64 = 0.3;
/// Reshards per run: a few, as each one adds Raft groups (and time) to the run.
const RESHARDS: std::ops::RangeInclusive<u32> = 1..=3;
const RESHARDS_FOCUSED: u32 = 6;
/// Share of seeds without a focus that run a fan-out subscriber.
const SUBSCRIBER_SHARE: f64 = 0.5;
const SUBSCRIBERS_FOCUSED: usize = 2;

fn range(rng: &mut StdRng, min: Range<u64>, extra: Range<u64>) -> Range<u64> {
    let start = rng.random_range(min);
    start..start + rng.random_range(extra)
}

impl Swarm {
    /// The options of `seed` on `nodes`, with `focus` overriding what it must.
    pub fn draw(seed: u64, nodes: &[NodeId], focus: Option<Focus>) -> Swarm {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5a4a_7e55_0b71_0a5e);
        let mut weights: Vec<(FaultKind, u32)> = if rng.random_bool(QUIET_SHARE) {
            Vec::new()
        } else {
            let drawn: Vec<(FaultKind, u32)> = FaultKind::ALL
                .iter()
                .filter_map(|k| {
                    let enabled = rng.random_bool(KIND_ENABLED_SHARE);
                    let weight = rng.random_range(1..=10);
                    enabled.then_some((*k, weight))
                })
                .collect();
            if drawn.is_empty() {
                let k = FaultKind::ALL[rng.random_range(0..FaultKind::ALL.len())];
                vec![(k, 1)]
            } else {
                drawn
            }
        };
        let mut spacing_ms = range(&mut rng, 100..800, 200..3_000);
        let mut spell_ms = range(&mut rng, 200..2_000, 500..6_000);
        let hold_ms = range(&mut rng, 50..500, 100..1_500);
        let down_ms = range(&mut rng, 300..2_000, 500..8_000);
        let leader_share = rng.random_range(0.0..0.6);
        let majority_guard = rng.random_range(0.5..1.0);
        let loss_rate_max = rng.random_range(0.01..0.2);
        let latency_ms_max = rng.random_range(5..300);
        let slow_disk_ms_max = rng.random_range(5..80);
        // Log-uniform from 1 in 10,000 to 1 in 20: from rare client-visible errors to a
        // node that fail-stops within moments.
        let read_fail_rate_max = 10f64.powf(rng.random_range(-4.0..-1.3));
        let crash_keep =
            [CrashKeep::LoseAll, CrashKeep::Prefix, CrashKeep::LoseLast, CrashKeep::KeepAll][rng.random_range(0..4)];
        let failstop_restart_ms = range(&mut rng, 100..1_500, 100..3_000);
        let leave_down = rng.random_bool(LEAVE_DOWN_SHARE).then(|| nodes[rng.random_range(0..nodes.len())]);
        // Drawn last, so that adding it left every earlier option of a seed as it was.
        let mut reshards = rng.random_range(RESHARDS);
        // After that, for the same reason. Only runs without a focus draw subscribers, so
        // the focused runs (the checker's self-tests) replay as they did.
        let mut subscribers = match focus {
            None => usize::from(rng.random_bool(SUBSCRIBER_SHARE)),
            Some(_) => 0,
        };
        match focus {
            None => {}
            Some(Focus::Quiet) => weights.clear(),
            Some(Focus::Crashes) => weights = vec![(FaultKind::Crash, 4), (FaultKind::CrashAll, 1)],
            Some(Focus::StaleReads) => {
                weights = vec![(FaultKind::PeerIsolate, 1)];
                // One leader cut off at a time, long enough for a new leader to be elected
                // and to acknowledge writes while the old one still answers.
                spacing_ms = 5_000..7_000;
                spell_ms = 3_500..4_500;
            }
            Some(Focus::Reshards) => {
                weights = vec![(FaultKind::Partition, 2), (FaultKind::PartitionOneWay, 2), (FaultKind::Latency, 1)];
                reshards = RESHARDS_FOCUSED;
            }
            Some(Focus::Retention) => {
                // Leadership moves often, and a replica is often away while others trim.
                weights = vec![(FaultKind::Crash, 3), (FaultKind::PeerIsolate, 2), (FaultKind::Partition, 1)];
            }
            Some(Focus::FanOut) => {
                // Serving nodes die or vanish mid-subscription (clients included in the
                // cut), leaders move under them, and parents end while children open.
                weights = vec![
                    (FaultKind::Crash, 3),
                    (FaultKind::Isolate, 2),
                    (FaultKind::PeerIsolate, 2),
                    (FaultKind::Partition, 1),
                    (FaultKind::Hold, 1),
                ];
                reshards = *RESHARDS.end();
                subscribers = SUBSCRIBERS_FOCUSED;
            }
            Some(Focus::ManyGroups) => {
                weights = vec![
                    (FaultKind::Crash, 3),
                    (FaultKind::Isolate, 1),
                    (FaultKind::PeerIsolate, 1),
                    (FaultKind::Partition, 1),
                ];
                reshards = *RESHARDS.start();
            }
        }
        let leave_down = match focus {
            Some(Focus::ManyGroups) => leave_down.or(Some(nodes[(seed % nodes.len() as u64) as usize])),
            _ => leave_down,
        };
        Swarm {
            weights,
            spacing_ms,
            spell_ms,
            hold_ms,
            down_ms,
            leader_share: if focus == Some(Focus::StaleReads) { 1.0 } else { leader_share },
            majority_guard,
            loss_rate_max,
            latency_ms_max,
            slow_disk_ms_max,
            read_fail_rate_max,
            crash_keep,
            failstop_restart_ms,
            leave_down,
            reshards,
            subscribers,
        }
    }

    pub fn enabled(&self, kind: FaultKind) -> bool {
        self.weights.iter().any(|(k, w)| *k == kind && *w > 0)
    }

    /// A kind, by weight; `None` when no kind is enabled.
    pub fn pick(&self, rng: &mut StdRng) -> Option<FaultKind> {
        let total: u32 = self.weights.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = rng.random_range(0..total);
        for (kind, weight) in &self.weights {
            if ticket < *weight {
                return Some(*kind);
            }
            ticket -= weight;
        }
        None
    }

    /// One line for the history.
    pub fn describe(&self) -> String {
        let kinds: Vec<String> = self.weights.iter().map(|(k, w)| format!("{k:?}x{w}")).collect();
        format!(
            "swarm: kinds [{}] spacing {:?} ms, spells {:?} ms, holds {:?} ms, down {:?} ms, leader share {:.2}, \
             majority guard {:.2}, loss <= {:.3}, latency <= {} ms, slow disk <= {} ms, read errors <= {:.5}, \
             crash keeps {:?}, fail-stop restart {:?} ms, left down at heal: {}, reshards: {}, subscribers: {}",
            kinds.join(" "),
            self.spacing_ms,
            self.spell_ms,
            self.hold_ms,
            self.down_ms,
            self.leader_share,
            self.majority_guard,
            self.loss_rate_max,
            self.latency_ms_max,
            self.slow_disk_ms_max,
            self.read_fail_rate_max,
            self.crash_keep,
            self.failstop_restart_ms,
            self.leave_down.map_or("none".to_string(), |n| format!("n{n}")),
            self.reshards,
            self.subscribers,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_a_function_of_the_seed() {
        let nodes = [1, 2, 3];
        assert_eq!(Swarm::draw(5, &nodes, None), Swarm::draw(5, &nodes, None));
        let distinct: std::collections::BTreeSet<String> =
            (0..20).map(|s| Swarm::draw(s, &nodes, None).describe()).collect();
        assert!(distinct.len() > 15, "seeds draw different options");
    }

    #[test]
    fn across_a_hundred_seeds_every_kind_and_crash_rule_is_drawn() {
        let nodes = [1, 2, 3];
        let swarms: Vec<Swarm> = (0..100).map(|s| Swarm::draw(s, &nodes, None)).collect();
        for kind in FaultKind::ALL {
            let seeds = swarms.iter().filter(|s| s.enabled(kind)).count();
            assert!(seeds >= 20, "{kind:?} enabled in only {seeds} seeds");
        }
        for keep in [CrashKeep::LoseAll, CrashKeep::Prefix, CrashKeep::LoseLast, CrashKeep::KeepAll] {
            assert!(swarms.iter().any(|s| s.crash_keep == keep), "{keep:?}");
        }
        assert!(swarms.iter().any(|s| s.leave_down.is_some()));
        assert!(swarms.iter().any(|s| s.leave_down.is_none()));
        assert!(swarms.iter().any(|s| s.weights.is_empty()), "some seeds run without faults");
        let subscribed = swarms.iter().filter(|s| s.subscribers > 0).count();
        assert!((20..=80).contains(&subscribed), "{subscribed} of 100 seeds run a subscriber");
    }

    #[test]
    fn a_focus_overrides_the_kinds() {
        let nodes = [1, 2, 3];
        for seed in 0..10 {
            let crashes = Swarm::draw(seed, &nodes, Some(Focus::Crashes));
            assert!(crashes.enabled(FaultKind::Crash) && !crashes.enabled(FaultKind::Partition));
            let stale = Swarm::draw(seed, &nodes, Some(Focus::StaleReads));
            assert_eq!(stale.weights, vec![(FaultKind::PeerIsolate, 1)]);
            assert!(Swarm::draw(seed, &nodes, Some(Focus::Quiet)).weights.is_empty());
            let reshards = Swarm::draw(seed, &nodes, Some(Focus::Reshards));
            assert!(reshards.enabled(FaultKind::Partition) && !reshards.enabled(FaultKind::Crash));
            assert_eq!(reshards.reshards, RESHARDS_FOCUSED);
            assert!(RESHARDS.contains(&Swarm::draw(seed, &nodes, None).reshards));
            let fan_out = Swarm::draw(seed, &nodes, Some(Focus::FanOut));
            assert!(fan_out.enabled(FaultKind::Crash) && fan_out.enabled(FaultKind::Isolate));
            assert_eq!(fan_out.subscribers, SUBSCRIBERS_FOCUSED);
            assert_eq!(Swarm::draw(seed, &nodes, Some(Focus::Crashes)).subscribers, 0);
        }
    }
}
