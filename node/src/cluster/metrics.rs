//! Raft and storage series, sampled: leader changes, leaderships, commit and apply lag per
//! kind of group, the log cache (bytes held, reads served from memory or the engine), and
//! bytes on disk. Also described here, recorded by `coalesce.rs` per entry: a shard
//! leader's append queue and entry times.
//!
//! A sampler task reads every group's Raft metrics once a second (a watch borrow each, no
//! I/O) instead of watching them: a watch wakes on every append, a sample costs the same
//! whatever the write rate. A leadership won and lost within one second goes uncounted.
//! Bytes on disk are sampled every `DISK_SAMPLE_EVERY`. Series carry `node`, and
//! `group_kind` (`meta` or `shard`): per group would be a series per shard and node.

use super::node::Node;
use crate::domain::{GroupId, META_GROUP};
use crate::storage::metrics::DISK_BYTES;
use metrics::SharedString;
use openraft::async_runtime::WatchReceiver as _;
use openraft::ServerState;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const LEADER_CHANGES: &str = "runnel_raft_leader_changes_total";
pub const LEADERS: &str = "runnel_raft_leaders";
pub const GROUPS: &str = "runnel_raft_groups";
pub const COMMIT_LAG: &str = "runnel_raft_commit_lag_entries";
pub const APPLY_LAG: &str = "runnel_raft_apply_lag_entries";
pub const META_COMMITTED: &str = "runnel_raft_meta_committed_index";
pub const META_APPLIED: &str = "runnel_raft_meta_applied_index";
pub const LOG_CACHE_BYTES: &str = "runnel_raft_log_cache_bytes";
pub const LOG_READS: &str = "runnel_raft_log_reads_total";
/// Set by `quiesce.rs`, label `node` only.
pub const QUIET_GROUPS: &str = "runnel_raft_quiet_groups";
/// Recorded by `coalesce.rs` at a shard's leader, label `node` only: how long an append
/// waited for an entry, and how long an entry took from proposal to applied (the write's
/// replication, quorum fsync and apply). With the PutRecords latency they say where a
/// write's time goes.
pub const APPEND_QUEUE_SECONDS: &str = "runnel_shard_append_queue_seconds";
pub const ENTRY_SECONDS: &str = "runnel_shard_entry_seconds";

const SAMPLE_EVERY: Duration = Duration::from_secs(1);
const DISK_SAMPLE_EVERY: u32 = 10;

pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        LEADER_CHANGES,
        Unit::Count,
        "Times this node became the leader of a group (summed over nodes: the cluster's leader changes)"
    );
    describe_counter!(
        LOG_READS,
        Unit::Count,
        "Reads of Raft log entries (replication, applying), by where they were served from: memory or engine"
    );
    describe_gauge!(LOG_CACHE_BYTES, Unit::Bytes, "Bytes of the newest log entries the groups here keep in memory");
    describe_gauge!(
        QUIET_GROUPS,
        Unit::Count,
        "Shard groups here whose Raft ticker is off: idle leaders and followers of a trusted leader (no heartbeats)"
    );
    describe_histogram!(
        APPEND_QUEUE_SECONDS,
        Unit::Seconds,
        "At a shard's leader, how long an append waited behind the entry in flight before its own entry was proposed"
    );
    describe_histogram!(
        ENTRY_SECONDS,
        Unit::Seconds,
        "At a shard's leader, one coalesced entry from proposal to applied (replication, quorum fsync, apply)"
    );
    let gauges = [
        (LEADERS, "Groups this node leads"),
        (GROUPS, "Groups this node holds a replica of"),
        (COMMIT_LAG, "Largest gap over the groups here between the last log index and the committed one"),
        (APPLY_LAG, "Largest gap over the groups here between the committed index and the applied one"),
        (META_COMMITTED, "The metadata group's committed index, as this node knows it"),
        (META_APPLIED, "The metadata group's index applied on this node"),
    ];
    for (name, help) in gauges {
        describe_gauge!(name, Unit::Count, help);
    }
}

/// One sample of one kind of group.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct KindSample {
    groups: u64,
    leaders: u64,
    commit_lag: u64,
    apply_lag: u64,
}

/// One group's Raft metrics, as far as the sampler needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GroupSample {
    leader: bool,
    term: u64,
    last_log: Option<u64>,
    committed: Option<u64>,
    applied: Option<u64>,
}

/// What the sampler remembers between samples: the term of each group's leadership seen
/// here, so that each new one is counted once.
#[derive(Default)]
struct Leaderships {
    led_term: BTreeMap<GroupId, u64>,
}

impl Leaderships {
    /// Folds one sample of every group in; returns the leaderships won since the last one,
    /// for the metadata group and for shard groups. Groups gone are forgotten (bounded).
    fn observe(&mut self, groups: &BTreeMap<GroupId, GroupSample>) -> (u64, u64) {
        self.led_term.retain(|g, _| groups.contains_key(g));
        let (mut meta, mut shard) = (0, 0);
        for (group, s) in groups {
            if s.leader && self.led_term.get(group) != Some(&s.term) {
                self.led_term.insert(*group, s.term);
                if *group == META_GROUP {
                    meta += 1;
                } else {
                    shard += 1;
                }
            }
        }
        (meta, shard)
    }
}

fn kind_sample<'a>(groups: impl Iterator<Item = &'a GroupSample>) -> KindSample {
    let mut k = KindSample::default();
    for s in groups {
        k.groups += 1;
        k.leaders += u64::from(s.leader);
        let gap = |hi: Option<u64>, lo: Option<u64>| hi.unwrap_or(0).saturating_sub(lo.unwrap_or(0));
        k.commit_lag = k.commit_lag.max(gap(s.last_log, s.committed));
        k.apply_lag = k.apply_lag.max(gap(s.committed, s.applied));
    }
    k
}

fn sample(node: &Node) -> BTreeMap<GroupId, GroupSample> {
    let mut ids = vec![META_GROUP];
    ids.extend(node.group_ids());
    ids.into_iter()
        .filter_map(|g| {
            let raft = node.raft(g)?;
            let watched = raft.metrics();
            let m = watched.borrow_watched();
            Some((
                g,
                GroupSample {
                    leader: m.state == ServerState::Leader,
                    term: m.current_term,
                    last_log: m.last_log_index,
                    committed: m.local_committed.map(|c| c.index),
                    applied: m.last_applied.map(|a| a.index),
                },
            ))
        })
        .collect()
}

/// Samples until the node shuts down. Started by `Node::start` when metrics are served.
pub async fn run(node: Arc<Node>) {
    let label = SharedString::from_shared(Arc::<str>::from(node.id.to_string()));
    let mut leaderships = Leaderships::default();
    let mut shutdown = node.shutting_down();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for round in 0u32.. {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|down| *down) => return,
        }
        let groups = sample(&node);
        let (meta_won, shard_won) = leaderships.observe(&groups);
        let meta = kind_sample(groups.iter().filter(|(g, _)| **g == META_GROUP).map(|(_, s)| s));
        let shard = kind_sample(groups.iter().filter(|(g, _)| **g != META_GROUP).map(|(_, s)| s));
        for (kind, k, won) in [("meta", meta, meta_won), ("shard", shard, shard_won)] {
            let labels = [("node", label.clone()), ("group_kind", SharedString::const_str(kind))];
            metrics::counter!(LEADER_CHANGES, &labels).increment(won);
            metrics::gauge!(LEADERS, &labels).set(k.leaders as f64);
            metrics::gauge!(GROUPS, &labels).set(k.groups as f64);
            metrics::gauge!(COMMIT_LAG, &labels).set(k.commit_lag as f64);
            metrics::gauge!(APPLY_LAG, &labels).set(k.apply_lag as f64);
        }
        if let Some(m) = groups.get(&META_GROUP) {
            metrics::gauge!(META_COMMITTED, "node" => label.clone()).set(m.committed.unwrap_or(0) as f64);
            metrics::gauge!(META_APPLIED, "node" => label.clone()).set(m.applied.unwrap_or(0) as f64);
        }
        let (served, missed) = node.log_cache().reads();
        metrics::counter!(LOG_READS, "node" => label.clone(), "from" => "memory").absolute(served);
        metrics::counter!(LOG_READS, "node" => label.clone(), "from" => "engine").absolute(missed);
        metrics::gauge!(LOG_CACHE_BYTES, "node" => label.clone()).set(node.log_cache().used() as f64);
        if round % DISK_SAMPLE_EVERY == 0 {
            match node.engine.disk_bytes() {
                Ok(Some(bytes)) => metrics::gauge!(DISK_BYTES, "node" => label.clone()).set(bytes as f64),
                Ok(None) => {}
                Err(e) => tracing::debug!("bytes on disk not sampled: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(leader: bool, term: u64) -> GroupSample {
        GroupSample { leader, term, last_log: Some(10), committed: Some(8), applied: Some(5) }
    }

    #[test]
    fn each_leadership_is_counted_once_and_gone_groups_are_forgotten() {
        let mut l = Leaderships::default();
        let mut groups = BTreeMap::from([(META_GROUP, group(true, 1)), (GroupId(7), group(false, 1))]);
        assert_eq!(l.observe(&groups), (1, 0));
        assert_eq!(l.observe(&groups), (0, 0), "the same leadership, seen again");
        groups.insert(GroupId(7), group(true, 2));
        groups.insert(META_GROUP, group(false, 2));
        assert_eq!(l.observe(&groups), (0, 1));
        groups.insert(META_GROUP, group(true, 3));
        assert_eq!(l.observe(&groups), (1, 0), "led again in a later term");
        groups.remove(&GroupId(7));
        l.observe(&groups);
        assert_eq!(l.led_term.len(), 1);
    }

    #[test]
    fn lags_are_the_largest_gap_over_the_groups() {
        let mut far = group(true, 1);
        far.committed = Some(2);
        let k = kind_sample([group(true, 1), far, group(false, 1)].iter());
        assert_eq!(k, KindSample { groups: 3, leaders: 2, commit_lag: 8, apply_lag: 3 });
        assert_eq!(kind_sample([].iter()), KindSample::default());
    }
}
