//! What a shard's leader knows about the shard's traffic: Kinesis's per-shard quotas as a
//! policy (token buckets, on in the `kinesis_limits` mode only), and the write rate it
//! measures for on-demand scaling (always).
//!
//! Every leader term starts with empty buckets. A new leader therefore never admits more
//! than one continuous bucket would have since its term began, whatever its predecessor
//! admitted just before: leader changes never grant double capacity. (Two leaders of
//! different terms may both believe they lead for a moment, but only the newer one's
//! entries commit.)

use crate::domain::GroupId;
use crate::failstop;
use crate::limits::*;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket holding at most one second of its rate.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// May go below zero: a cost larger than the capacity is admitted from a full bucket
    /// and leaves a debt (a 10 MiB record on a 1 MiB/s shard), as Kinesis's burst does.
    tokens: f64,
    per_second: f64,
    refilled: Instant,
}

impl TokenBucket {
    pub fn empty(per_second: u64, now: Instant) -> TokenBucket {
        TokenBucket { tokens: 0.0, per_second: per_second as f64, refilled: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second);
        self.refilled = now;
    }

    /// Whether `cost` could be taken now (a full bucket admits any cost).
    fn holds(&mut self, cost: u64, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= (cost as f64).min(self.per_second)
    }

    fn take(&mut self, cost: u64) {
        self.tokens -= cost as f64;
    }

    /// Whether the bucket is out of tokens (in debt, or empty).
    fn exhausted(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens <= 0.0
    }
}

/// One shard's buckets for the term they were made in.
#[derive(Debug)]
struct Quota {
    term: u64,
    write_bytes: TokenBucket,
    write_records: TokenBucket,
    read_calls: TokenBucket,
    read_bytes: TokenBucket,
}

impl Quota {
    fn new(term: u64, now: Instant) -> Quota {
        Quota {
            term,
            write_bytes: TokenBucket::empty(SHARD_WRITE_BYTES_PER_S, now),
            write_records: TokenBucket::empty(SHARD_WRITE_RECORDS_PER_S, now),
            read_calls: TokenBucket::empty(SHARD_READ_CALLS_PER_S, now),
            read_bytes: TokenBucket::empty(SHARD_READ_BYTES_PER_S, now),
        }
    }
}

/// Writes admitted by this leader since `since`.
#[derive(Debug)]
struct Meter {
    term: u64,
    since: Instant,
    records: u64,
    bytes: u64,
}

/// A write rate measured over a whole window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteRate {
    pub records_per_s: f64,
    pub bytes_per_s: f64,
}

impl WriteRate {
    /// Whether the rate used more than half of one shard's write capacity (Kinesis's
    /// on-demand streams grow past that).
    pub fn above_half_capacity(&self) -> bool {
        self.records_per_s > SHARD_WRITE_RECORDS_PER_S as f64 / 2.0
            || self.bytes_per_s > SHARD_WRITE_BYTES_PER_S as f64 / 2.0
    }
}

/// The traffic state of one shard group on this node; only its leader uses it.
#[derive(Debug)]
pub struct ShardTraffic {
    group: GroupId,
    enforce: bool,
    quota: Mutex<Option<Quota>>,
    meter: Mutex<Option<Meter>>,
}

impl ShardTraffic {
    pub fn new(group: GroupId, enforce: bool) -> ShardTraffic {
        ShardTraffic { group, enforce, quota: Mutex::new(None), meter: Mutex::new(None) }
    }

    /// Notes that this node leads in `term` (the reconcile pass, right after an election):
    /// the term's buckets start filling from now, empty.
    pub fn lead(&self, term: u64) {
        if self.enforce {
            fresh(&mut failstop::lock(&self.quota, "shard quota"), term, Instant::now());
        }
    }

    /// Forgets the writes measured so far (the stream is not on-demand: when it becomes so,
    /// its first window starts then).
    pub fn reset_meter(&self) {
        *failstop::lock(&self.meter, "shard meter") = None;
    }

    /// How many of `costs` (the bytes of each record, in order) the write quota admits now
    /// as leader of `term`: the longest prefix within both buckets, which are charged for
    /// it. Everything when the quotas are off. Also counts the admitted records for the
    /// write rate.
    pub fn admit_writes(&self, term: u64, costs: &[u64]) -> usize {
        let now = Instant::now();
        let admitted = if self.enforce {
            let mut quota = failstop::lock(&self.quota, "shard quota");
            let quota = fresh(&mut quota, term, now);
            let mut n = 0;
            for cost in costs {
                if !(quota.write_records.holds(1, now) && quota.write_bytes.holds(*cost, now)) {
                    break;
                }
                quota.write_records.take(1);
                quota.write_bytes.take(*cost);
                n += 1;
            }
            n
        } else {
            costs.len()
        };
        let mut meter = failstop::lock(&self.meter, "shard meter");
        let meter = metering(&mut meter, term, now);
        meter.records += admitted as u64;
        meter.bytes += costs[..admitted].iter().sum::<u64>();
        admitted
    }

    /// Whether a GetRecords call may be served now as leader of `term`: a call token is
    /// taken, and the read bytes must not be in debt from earlier large replies.
    pub fn admit_read(&self, term: u64) -> bool {
        if !self.enforce {
            return true;
        }
        let now = Instant::now();
        let mut quota = failstop::lock(&self.quota, "shard quota");
        let quota = fresh(&mut quota, term, now);
        if quota.read_bytes.exhausted(now) || !quota.read_calls.holds(1, now) {
            return false;
        }
        quota.read_calls.take(1);
        true
    }

    /// Charges the bytes a served GetRecords returned (Kinesis charges a reply after the
    /// fact: a 10 MiB reply throttles the shard's reads for about 5 s).
    pub fn charge_read(&self, term: u64, bytes: u64) {
        if !self.enforce {
            return;
        }
        let now = Instant::now();
        let mut quota = failstop::lock(&self.quota, "shard quota");
        let quota = fresh(&mut quota, term, now);
        quota.read_bytes.refill(now);
        quota.read_bytes.take(bytes);
    }

    /// The write rate over the window that just ended, once at least `window` has passed
    /// since the meter started (as leader of `term`); the next window starts now.
    pub fn take_write_rate(&self, term: u64, window: Duration) -> Option<WriteRate> {
        let now = Instant::now();
        let mut meter = failstop::lock(&self.meter, "shard meter");
        let m = metering(&mut meter, term, now);
        let elapsed = now.saturating_duration_since(m.since);
        if elapsed < window || elapsed.is_zero() {
            return None;
        }
        let seconds = elapsed.as_secs_f64();
        let rate = WriteRate { records_per_s: m.records as f64 / seconds, bytes_per_s: m.bytes as f64 / seconds };
        *m = Meter { term, since: now, records: 0, bytes: 0 };
        tracing::debug!(group = %self.group, ?rate, "write rate");
        Some(rate)
    }
}

/// The quota of `term`, made empty when the term is new.
fn fresh(quota: &mut Option<Quota>, term: u64, now: Instant) -> &mut Quota {
    if quota.as_ref().is_some_and(|q| q.term != term) {
        *quota = None;
    }
    quota.get_or_insert_with(|| Quota::new(term, now))
}

/// The meter of `term`, started now when the term is new.
fn metering(meter: &mut Option<Meter>, term: u64, now: Instant) -> &mut Meter {
    if meter.as_ref().is_some_and(|m| m.term != term) {
        *meter = None;
    }
    meter.get_or_insert_with(|| Meter { term, since: now, records: 0, bytes: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;

    #[tokio::test(start_paused = true)]
    async fn a_full_second_admits_one_mib_then_the_rest_is_throttled() {
        let traffic = ShardTraffic::new(GroupId(7), true);
        assert_eq!(traffic.admit_writes(1, &[KIB]), 0, "a new term starts empty");
        tokio::time::advance(Duration::from_secs(2)).await;
        // 300 records of 4 KiB: 256 fit in one second's 1 MiB.
        let admitted = traffic.admit_writes(1, &[4 * KIB; 300]);
        assert_eq!(admitted, 256);
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(traffic.admit_writes(1, &[4 * KIB; 300]), 128, "half a second refills half");
    }

    #[tokio::test(start_paused = true)]
    async fn records_per_second_bind_small_records() {
        let traffic = ShardTraffic::new(GroupId(7), true);
        traffic.lead(1);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(traffic.admit_writes(1, &[10; 1500]), SHARD_WRITE_RECORDS_PER_S as usize);
        assert_eq!(traffic.admit_writes(1, &[10; 10]), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_term_never_inherits_capacity() {
        let traffic = ShardTraffic::new(GroupId(7), true);
        traffic.lead(1);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(traffic.admit_writes(1, &[1; 10]), 10, "term 1 had a full bucket");
        // Leadership moved away and back: the old bucket's tokens are gone.
        assert_eq!(traffic.admit_writes(2, &[1; 10]), 0);
        tokio::time::advance(Duration::from_millis(5)).await;
        assert_eq!(traffic.admit_writes(2, &[1; 10]), 5, "5 ms refill 5 records");
    }

    #[tokio::test(start_paused = true)]
    async fn buckets_fill_from_when_the_term_was_seen() {
        let traffic = ShardTraffic::new(GroupId(7), true);
        traffic.lead(3);
        tokio::time::advance(Duration::from_millis(300)).await;
        traffic.lead(3);
        assert_eq!(traffic.admit_writes(3, &[1; 1000]), 300, "300 ms of filling since the term was first seen");
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_over_one_second_of_capacity_goes_alone_and_leaves_a_debt() {
        let traffic = ShardTraffic::new(GroupId(7), true);
        traffic.lead(1);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(traffic.admit_writes(1, &[10 * 1024 * KIB, 1]), 1, "a full bucket admits a 10 MiB record");
        tokio::time::advance(Duration::from_secs(8)).await;
        assert_eq!(traffic.admit_writes(1, &[1]), 0, "9 of the 10 seconds are still owed");
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(traffic.admit_writes(1, &[1]), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_take_five_calls_a_second_and_pay_for_large_replies() {
        let traffic = ShardTraffic::new(GroupId(7), true);
        traffic.lead(1);
        tokio::time::advance(Duration::from_secs(1)).await;
        let served = (0..10).filter(|_| traffic.admit_read(1)).count();
        assert_eq!(served, SHARD_READ_CALLS_PER_S as usize);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(traffic.admit_read(1));
        traffic.charge_read(1, 10 * 1024 * KIB);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(!traffic.admit_read(1), "10 MiB at 2 MiB/s is owed for 5 s");
        tokio::time::advance(Duration::from_secs(3)).await;
        assert!(traffic.admit_read(1));
    }

    #[tokio::test(start_paused = true)]
    async fn quotas_off_admit_everything_and_still_measure_the_rate() {
        let traffic = ShardTraffic::new(GroupId(7), false);
        assert!(traffic.take_write_rate(1, Duration::from_secs(1)).is_none(), "the window starts");
        assert_eq!(traffic.admit_writes(1, &[KIB; 5000]), 5000);
        assert!((0..100).all(|_| traffic.admit_read(1)));
        tokio::time::advance(Duration::from_secs(2)).await;
        let rate = traffic.take_write_rate(1, Duration::from_secs(1)).unwrap();
        assert!((rate.records_per_s - 2500.0).abs() < 1.0, "{rate:?}");
        assert!(rate.above_half_capacity());
        assert!(traffic.take_write_rate(1, Duration::from_secs(1)).is_none(), "a new window began");
        tokio::time::advance(Duration::from_secs(1)).await;
        let idle = traffic.take_write_rate(1, Duration::from_secs(1)).unwrap();
        assert!(!idle.above_half_capacity(), "{idle:?}");
    }
}
