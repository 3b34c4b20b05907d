//! What the simulation observed: every write a client attempted and how it ended, what
//! consumers and the final reader saw, who claimed leadership in which term, and a
//! readable history. The invariants judge this record after the run.
//!
//! A write that failed or timed out is *unknown*, never absent: it may have been applied.

use runnel_node::domain::NodeId;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub type Payload = String;

#[derive(Debug, Clone, Default)]
pub struct Write {
    pub partition_key: String,
    /// Times a client sent it.
    pub attempts: u32,
    /// (shard id, sequence number) for every acknowledgement.
    pub acks: Vec<(String, u128)>,
    /// Attempts whose outcome the client never learned.
    pub unknown: u32,
}

#[derive(Debug, Clone)]
pub struct ConsumerView {
    pub consumer: String,
    pub shard: String,
    /// What it read, in order, across every iterator it used.
    pub records: Vec<(u128, Payload)>,
}

#[derive(Debug, Clone, Default)]
pub struct Liveness {
    /// Simulated time from healing to the first acknowledged write.
    pub first_write_after_heal: Option<Duration>,
    /// Simulated time from healing until every replica had applied its group's commits.
    pub converged_after_heal: Option<Duration>,
    /// Why the liveness phase failed, if it did.
    pub failure: Option<String>,
}

#[derive(Debug, Default)]
pub struct Oracle {
    pub history: Vec<String>,
    pub writes: BTreeMap<Payload, Write>,
    pub consumer_views: BTreeMap<(String, String), ConsumerView>,
    /// The final read of every shard after healing, in order.
    pub final_reads: BTreeMap<String, Vec<(u128, Payload)>>,
    /// (group, term) -> nodes seen as Leader in it.
    pub leader_claims: BTreeMap<(u64, u64), BTreeSet<NodeId>>,
    /// Shard id -> (start, end) hash range, as the stream was created.
    pub shard_ranges: BTreeMap<String, (u128, u128)>,
    pub stream_active: bool,
    pub producers_done: usize,
    pub stop_consumers: bool,
    pub liveness: Liveness,
}

impl Oracle {
    pub fn log(&mut self, now: Duration, event: impl AsRef<str>) {
        self.history.push(format!("{:>9.3}s {}", now.as_secs_f64(), event.as_ref()));
    }

    pub fn attempt(&mut self, payload: &str, partition_key: &str) {
        let w = self.writes.entry(payload.to_string()).or_default();
        w.partition_key = partition_key.to_string();
        w.attempts += 1;
    }

    pub fn ack(&mut self, payload: &str, shard: &str, seq: u128) {
        if let Some(w) = self.writes.get_mut(payload) {
            w.acks.push((shard.to_string(), seq));
        }
    }

    pub fn unknown(&mut self, payload: &str) {
        if let Some(w) = self.writes.get_mut(payload) {
            w.unknown += 1;
        }
    }
}
