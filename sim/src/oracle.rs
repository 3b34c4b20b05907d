//! What the simulation observed: every write a client attempted and how it ended (and
//! when), every page a reader got, every record a subscription pushed, what the final
//! reader saw, and a readable history. The
//! invariants judge this record; the ones checked while the run goes (`sampler.rs`) add
//! their findings to it as they happen.
//!
//! A write that failed or timed out is *unknown*, never absent: it may have been applied.

use crate::invariants::Violation;
use runnel_node::domain::NodeId;
use std::collections::BTreeMap;
use std::time::Duration;

pub type Payload = String;

/// An acknowledgement a client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub shard: String,
    pub seq: u128,
    /// Simulated time the client had the acknowledgement.
    pub at: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Write {
    pub partition_key: String,
    /// Times a client sent it (as far as the workload knows).
    pub attempts: u32,
    /// Simulated time of the first send: no copy of the write can land before it.
    pub first_attempt_at: Duration,
    /// Every acknowledgement.
    pub acks: Vec<Ack>,
    /// Attempts whose outcome the client never learned.
    pub unknown: u32,
    /// Sent through `runnel-client`, which retries inside a call on its own: the workload
    /// cannot count those sends, so copies of this write are expected retries.
    pub client_retries: bool,
}

#[derive(Debug, Clone)]
pub struct ConsumerView {
    pub consumer: String,
    pub shard: String,
    /// What it read, in order, across every iterator it used.
    pub records: Vec<(u128, Payload)>,
}

/// One thing `Client::subscribe` handed a subscriber, in the order it came.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Delivered {
    Record {
        shard: String,
        seq: u128,
        payload: Payload,
        /// Simulated time the subscriber had it.
        at: Duration,
    },
    /// The shard was delivered to its end; these are its children.
    Ended { shard: String, children: Vec<String>, at: Duration },
}

/// An enhanced fan-out subscriber: its consumer, and everything its subscriptions pushed.
#[derive(Debug, Clone, Default)]
pub struct SubscriberView {
    /// The registered consumer it subscribed as; `None` until it was ACTIVE.
    pub consumer_arn: Option<String>,
    pub deliveries: Vec<Delivered>,
    /// It had caught up with the final reads (every record delivered, every closed shard
    /// ended) when it stopped.
    pub drained: bool,
    /// Why `Client::subscribe` gave up, if it did.
    pub failure: Option<String>,
}

impl SubscriberView {
    /// The records delivered: (shard, sequence number, payload).
    pub fn records(&self) -> impl Iterator<Item = (&str, u128, &str)> {
        self.deliveries.iter().filter_map(|d| match d {
            Delivered::Record { shard, seq, payload, .. } => Some((shard.as_str(), *seq, payload.as_str())),
            Delivered::Ended { .. } => None,
        })
    }

    /// Shards delivered to their end.
    pub fn ended(&self) -> impl Iterator<Item = &str> {
        self.deliveries.iter().filter_map(|d| match d {
            Delivered::Ended { shard, .. } => Some(shard.as_str()),
            Delivered::Record { .. } => None,
        })
    }
}

/// One GetRecords page as a reader got it.
#[derive(Debug, Clone)]
pub struct PageRead {
    pub reader: String,
    pub shard: String,
    /// The node the request was sent to.
    pub node: NodeId,
    /// Simulated time the request was sent.
    pub started: Duration,
    /// Simulated time the reply came.
    pub finished: Duration,
    /// The read continues after this sequence number (the last one the reader had seen on
    /// the shard); `None` reads from the start of the shard.
    pub after: Option<u128>,
    /// Sequence numbers of the records returned, in order.
    pub returned: Vec<u128>,
    /// The page was as long as its Limit: records after it may exist.
    pub truncated: bool,
}

/// A shard as ListShards described it: its hash range, the shards it was made from, and
/// its sequence number range (the end once it is closed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardInfo {
    pub start: u128,
    pub end: u128,
    /// ParentShardId, then AdjacentParentShardId.
    pub parents: Vec<String>,
    pub starting_seq: u128,
    pub ending_seq: Option<u128>,
}

#[derive(Debug, Clone, Default)]
pub struct Liveness {
    /// Simulated time from healing to the first acknowledged write.
    pub first_write_after_heal: Option<Duration>,
    /// Simulated time from healing until every live replica had applied its group's commits.
    pub converged_after_heal: Option<Duration>,
    /// Why the liveness phase failed, if it did.
    pub failure: Option<String>,
}

#[derive(Debug, Default)]
pub struct Oracle {
    pub history: Vec<String>,
    pub writes: BTreeMap<Payload, Write>,
    pub consumer_views: BTreeMap<(String, String), ConsumerView>,
    /// Every GetRecords page consumers got.
    pub pages: Vec<PageRead>,
    /// Every enhanced fan-out subscriber, by name.
    pub subscribers: BTreeMap<String, SubscriberView>,
    /// The final read of every shard after healing, in order.
    pub final_reads: BTreeMap<String, Vec<(u128, Payload)>>,
    /// Every shard of the stream, open and closed: as it was created, then as listed again
    /// after healing (before the final reads).
    pub shards: BTreeMap<String, ShardInfo>,
    /// The order the final reader read the shards in: parents before children.
    pub final_order: Vec<String>,
    pub stream_active: bool,
    pub producers_done: usize,
    /// The resharder made (or gave up) every split, merge and scaling it planned.
    pub resharder_done: bool,
    /// The driver gave up waiting: producers stop after the write they are in.
    pub stop_producers: bool,
    pub stop_consumers: bool,
    pub liveness: Liveness,
    /// Violations found while the run went (log matching, election safety...).
    pub live_violations: Vec<Violation>,
    /// The stream's retention period, when records expire during the run.
    pub retention: Option<Duration>,
    /// Simulated time the final reads ended.
    pub final_reads_done: Option<Duration>,
    /// The most shard groups one node had quiet (no ticks) at any sample.
    pub quiet_groups_max: usize,
}

impl Oracle {
    /// Whether a write first sent at `sent` may have expired by `by`. Its arrival time is
    /// at or after `sent` (every node's clock is the simulation's), and retention drops
    /// only records that arrived more than a period before the trim.
    pub fn may_have_expired(&self, sent: Duration, by: Duration) -> bool {
        self.retention.is_some_and(|period| sent + period < by)
    }

    pub fn log(&mut self, now: Duration, event: impl AsRef<str>) {
        self.history.push(format!("{:>9.3}s {}", now.as_secs_f64(), event.as_ref()));
    }

    pub fn attempt(&mut self, payload: &str, partition_key: &str, at: Duration) {
        let w = self.writes.entry(payload.to_string()).or_default();
        if w.attempts == 0 {
            w.first_attempt_at = at;
        }
        w.partition_key = partition_key.to_string();
        w.attempts += 1;
    }

    pub fn ack(&mut self, payload: &str, shard: &str, seq: u128, at: Duration) {
        if let Some(w) = self.writes.get_mut(payload) {
            w.acks.push(Ack { shard: shard.to_string(), seq, at });
        }
    }

    pub fn unknown(&mut self, payload: &str) {
        if let Some(w) = self.writes.get_mut(payload) {
            w.unknown += 1;
        }
    }

    /// A violation found while the run goes: kept, and written into the history.
    pub fn violation(&mut self, now: Duration, v: Violation) {
        self.log(now, format!("violation {v}"));
        self.live_violations.push(v);
    }
}
