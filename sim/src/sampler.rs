//! What the harness samples from the running nodes while the run goes, for the invariants
//! checked live (`invariants::{election_safety, applied_monotonic, log_matching,
//! committed_immutable, shard_tiling}`). Cheap by design: every few steps it reads each running node's
//! metrics without copying them, and only the entries each replica applied since the last
//! sample, straight from its disk. A node that goes down is forgotten: its next lifetime
//! is walked again from the start of its log, which is what compares a replica's committed
//! entries across its crashes. At the end, every disk is walked once more, crashed
//! replicas included.

use crate::disks::Disks;
use crate::invariants::{
    applied_monotonic, committed_immutable, election_safety, log_matching, shard_tiling, CommittedEntry, Violation,
    REPORT_MAX,
};
use crate::oracle::Oracle;
use openraft::async_runtime::WatchReceiver as _;
use openraft::ServerState;
use runnel_node::cluster::Node;
use runnel_node::control::MetaApplied;
use runnel_node::domain::{GroupId, NodeId, META_GROUP};
use runnel_node::raft::log_store::read_entry_bytes;
use runnel_node::raft::stored::decode_entry;
use runnel_node::raft::types::EntryPayload;
use runnel_node::shard::ShardApplied;
use runnel_node::storage::memory::MemoryEngine;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
pub struct Sampler {
    /// The next index to check, per (node, group), in the node's current lifetime.
    next: BTreeMap<(NodeId, u64), u64>,
    /// Every group seen on any node.
    groups: BTreeSet<u64>,
    election: election_safety::Witness,
    applied: applied_monotonic::Witness,
    log: log_matching::Witness,
    committed: committed_immutable::Witness,
    /// The applied metadata last checked on each node: checked again only when it changes.
    meta: BTreeMap<NodeId, Arc<MetaApplied>>,
    reported: BTreeMap<&'static str, usize>,
    /// Entries compared, for the stats.
    pub entries_checked: usize,
}

/// A stored entry as the invariants compare it; `None` when the index holds nothing
/// (purged, or not written on this replica).
fn committed_entry(engine: &MemoryEngine, group: u64, index: u64) -> Result<Option<CommittedEntry>, String> {
    let bytes = match read_entry_bytes(engine, GroupId(group), index) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    let entry = decode_entry(&bytes).map_err(|e| format!("undecodable: {e}"))?;
    let mut hasher = DefaultHasher::new();
    match &entry.payload {
        EntryPayload::Blank => 0u8.hash(&mut hasher),
        EntryPayload::Normal(command) => (1u8, &command.0).hash(&mut hasher),
        EntryPayload::Membership(m) => (2u8, format!("{m:?}")).hash(&mut hasher),
    }
    Ok(Some(CommittedEntry { group, index, term: entry.log_id.leader_id.term, hash: hasher.finish() }))
}

impl Sampler {
    fn report(&mut self, now: Duration, v: Option<Violation>, oracle: &mut Oracle) {
        let Some(v) = v else { return };
        let count = self.reported.entry(v.invariant).or_default();
        *count += 1;
        if *count <= REPORT_MAX {
            oracle.violation(now, v);
        }
    }

    /// `node` went down: what it held is compared again when it comes back.
    pub fn forget(&mut self, node: NodeId) {
        self.next.retain(|(n, _), _| *n != node);
        self.applied.forget(node);
    }

    /// One sample of every running node.
    pub fn sample(&mut self, now: Duration, nodes: &BTreeMap<NodeId, Arc<Node>>, disks: &Disks, oracle: &mut Oracle) {
        for (id, node) in nodes {
            oracle.quiet_groups_max = oracle.quiet_groups_max.max(node.quiet_groups());
            let meta = node.meta.current();
            if !self.meta.get(id).is_some_and(|seen| Arc::ptr_eq(seen, &meta)) {
                for stream in meta.state.streams.values() {
                    let expire = oracle.retention.is_some();
                    for problem in shard_tiling::problems(&shard_tiling::listing(stream), expire) {
                        let detail = format!("n{id} applied metadata, stream {}: {problem}", stream.name);
                        self.report(now, Some(Violation { invariant: shard_tiling::NAME, detail }), oracle);
                    }
                }
                self.meta.insert(*id, meta);
            }
            let mut groups = vec![META_GROUP];
            groups.extend(node.group_ids());
            for group in groups {
                let Some(raft) = node.raft(group) else { continue };
                let (leading, applied, purged) = {
                    let metrics = raft.metrics();
                    let m = metrics.borrow_watched();
                    (
                        (m.state == ServerState::Leader).then_some(m.current_term),
                        m.last_applied.as_ref().map(|l| l.index),
                        m.purged.as_ref().map(|p| p.index),
                    )
                };
                let g = group.0;
                self.groups.insert(g);
                if let Some(term) = leading {
                    let v = self.election.observe(g, term, *id, now);
                    self.report(now, v, oracle);
                }
                let v = self.applied.observe(*id, g, applied, now);
                self.report(now, v, oracle);
                let Some(applied) = applied else { continue };
                let next = self.next.get(&(*id, g)).copied().unwrap_or(0).max(purged.map_or(0, |p| p + 1));
                if next <= applied {
                    self.check_entries(now, *id, g, next..=applied, disks, oracle);
                }
                self.next.insert((*id, g), next.max(applied + 1));
            }
        }
    }

    /// Every disk once more at the end, up to what each replica durably applied: crashed
    /// replicas (one may be left down) are compared too.
    pub fn final_pass(&mut self, now: Duration, disks: &Disks, oracle: &mut Oracle) {
        let groups: Vec<u64> = self.groups.iter().copied().collect();
        let nodes: Vec<NodeId> = disks.nodes().collect();
        for node in nodes {
            for &g in &groups {
                let applied = disks.quiet(node, |engine| {
                    if GroupId(g) == META_GROUP {
                        MetaApplied::load(engine, GroupId(g)).map(|a| a.last_applied.map(|l| l.index))
                    } else {
                        ShardApplied::load(engine, GroupId(g)).map(|a| a.last_applied.map(|l| l.index))
                    }
                });
                if let Ok(Some(applied)) = applied {
                    self.check_entries(now, node, g, 0..=applied, disks, oracle);
                }
            }
        }
    }

    fn check_entries(
        &mut self,
        now: Duration,
        node: NodeId,
        group: u64,
        indexes: std::ops::RangeInclusive<u64>,
        disks: &Disks,
        oracle: &mut Oracle,
    ) {
        let entries: Vec<(u64, Result<Option<CommittedEntry>, String>)> =
            disks.quiet(node, |engine| indexes.map(|i| (i, committed_entry(engine, group, i))).collect());
        for (index, entry) in entries {
            match entry {
                Ok(Some(entry)) => {
                    self.entries_checked += 1;
                    let v = self.log.observe(node, entry, now);
                    self.report(now, v, oracle);
                    let v = self.committed.observe(node, entry, now);
                    self.report(now, v, oracle);
                }
                Ok(None) => {}
                Err(e) => {
                    let v = Violation {
                        invariant: committed_immutable::NAME,
                        detail: format!("n{node} group {group} index {index}: applied entry {e}"),
                    };
                    self.report(now, Some(v), oracle);
                }
            }
        }
    }
}
