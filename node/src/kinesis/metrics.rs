//! Kinesis's CloudWatch metrics as Prometheus series: every name in one place.
//!
//! The mapping: `runnel_kinesis_` + the Kinesis name in snake case, its dot an underscore,
//! with Prometheus's unit suffixes: counters end in `_total`, latencies are histograms in
//! `_seconds`. `X.Success` is two counters, `x_success_total` and `x_requests_total`
//! (Kinesis's average of 1s and 0s is their ratio). Ages (`IteratorAgeMilliseconds`,
//! `MillisBehindLatest`) are gauges holding what the latest call on this node saw. Shard
//! metrics (enhanced monitoring) have names of their own, `runnel_kinesis_shard_...`, so
//! summing a stream metric never counts a record twice. `docs/operations.md` has the table.
//!
//! Every series carries `node` (several nodes may share a process and its one recorder)
//! and `stream`; shard series `shard` too, and fan-out series `consumer`. Only streams
//! that exist get series, so a client naming random streams cannot grow them. Metrics are
//! recorded once per call or per shard of a call, never per record.

use crate::control::{ShardMetric, StreamMeta};
use crate::domain::{NodeId, ShardId};
use metrics::{Label, SharedString};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

pub const INCOMING_BYTES: &str = "runnel_kinesis_incoming_bytes_total";
pub const INCOMING_RECORDS: &str = "runnel_kinesis_incoming_records_total";
pub const PUT_RECORD_BYTES: &str = "runnel_kinesis_put_record_bytes_total";
pub const PUT_RECORD_LATENCY: &str = "runnel_kinesis_put_record_latency_seconds";
pub const PUT_RECORD_SUCCESS: &str = "runnel_kinesis_put_record_success_total";
pub const PUT_RECORD_REQUESTS: &str = "runnel_kinesis_put_record_requests_total";
pub const PUT_RECORDS_BYTES: &str = "runnel_kinesis_put_records_bytes_total";
pub const PUT_RECORDS_LATENCY: &str = "runnel_kinesis_put_records_latency_seconds";
pub const PUT_RECORDS_RECORDS: &str = "runnel_kinesis_put_records_records_total";
pub const PUT_RECORDS_SUCCESS: &str = "runnel_kinesis_put_records_success_total";
pub const PUT_RECORDS_REQUESTS: &str = "runnel_kinesis_put_records_requests_total";
pub const PUT_RECORDS_SUCCESSFUL_RECORDS: &str = "runnel_kinesis_put_records_successful_records_total";
pub const PUT_RECORDS_FAILED_RECORDS: &str = "runnel_kinesis_put_records_failed_records_total";
pub const PUT_RECORDS_THROTTLED_RECORDS: &str = "runnel_kinesis_put_records_throttled_records_total";
pub const GET_RECORDS_BYTES: &str = "runnel_kinesis_get_records_bytes_total";
pub const GET_RECORDS_ITERATOR_AGE: &str = "runnel_kinesis_get_records_iterator_age_milliseconds";
pub const GET_RECORDS_LATENCY: &str = "runnel_kinesis_get_records_latency_seconds";
pub const GET_RECORDS_RECORDS: &str = "runnel_kinesis_get_records_records_total";
pub const GET_RECORDS_SUCCESS: &str = "runnel_kinesis_get_records_success_total";
pub const GET_RECORDS_REQUESTS: &str = "runnel_kinesis_get_records_requests_total";
pub const WRITE_THROUGHPUT_EXCEEDED: &str = "runnel_kinesis_write_provisioned_throughput_exceeded_total";
pub const READ_THROUGHPUT_EXCEEDED: &str = "runnel_kinesis_read_provisioned_throughput_exceeded_total";
pub const SUBSCRIBE_RATE_EXCEEDED: &str = "runnel_kinesis_subscribe_to_shard_rate_exceeded_total";
pub const SUBSCRIBE_SUCCESS: &str = "runnel_kinesis_subscribe_to_shard_success_total";
pub const SUBSCRIBE_REQUESTS: &str = "runnel_kinesis_subscribe_to_shard_requests_total";
pub const SUBSCRIBE_EVENT_BYTES: &str = "runnel_kinesis_subscribe_to_shard_event_bytes_total";
pub const SUBSCRIBE_EVENT_RECORDS: &str = "runnel_kinesis_subscribe_to_shard_event_records_total";
pub const SUBSCRIBE_EVENT_MILLIS_BEHIND: &str = "runnel_kinesis_subscribe_to_shard_event_millis_behind_latest";

/// The shard-level metrics of enhanced monitoring, each published only while the stream's
/// ShardLevelMetrics name it.
pub fn shard_metric_name(metric: ShardMetric) -> &'static str {
    match metric {
        ShardMetric::IncomingBytes => "runnel_kinesis_shard_incoming_bytes_total",
        ShardMetric::IncomingRecords => "runnel_kinesis_shard_incoming_records_total",
        ShardMetric::OutgoingBytes => "runnel_kinesis_shard_outgoing_bytes_total",
        ShardMetric::OutgoingRecords => "runnel_kinesis_shard_outgoing_records_total",
        ShardMetric::WriteProvisionedThroughputExceeded => {
            "runnel_kinesis_shard_write_provisioned_throughput_exceeded_total"
        }
        ShardMetric::ReadProvisionedThroughputExceeded => {
            "runnel_kinesis_shard_read_provisioned_throughput_exceeded_total"
        }
        ShardMetric::IteratorAgeMilliseconds => "runnel_kinesis_shard_iterator_age_milliseconds",
    }
}

/// Every Kinesis series with its help text, for the exporter's `# HELP` lines.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(INCOMING_BYTES, Unit::Bytes, "IncomingBytes: bytes (data and partition keys) written");
    describe_counter!(INCOMING_RECORDS, Unit::Count, "IncomingRecords: records written");
    describe_counter!(PUT_RECORD_BYTES, Unit::Bytes, "PutRecord.Bytes: bytes written by PutRecord");
    describe_histogram!(PUT_RECORD_LATENCY, Unit::Seconds, "PutRecord.Latency");
    describe_counter!(PUT_RECORD_SUCCESS, Unit::Count, "PutRecord.Success: calls that wrote their record");
    describe_counter!(PUT_RECORD_REQUESTS, Unit::Count, "PutRecord calls (the denominator of Success)");
    describe_counter!(PUT_RECORDS_BYTES, Unit::Bytes, "PutRecords.Bytes: bytes written by PutRecords");
    describe_histogram!(PUT_RECORDS_LATENCY, Unit::Seconds, "PutRecords.Latency");
    describe_counter!(PUT_RECORDS_RECORDS, Unit::Count, "PutRecords.Records: records sent in PutRecords calls");
    describe_counter!(PUT_RECORDS_SUCCESS, Unit::Count, "PutRecords.Success: calls that wrote at least one record");
    describe_counter!(PUT_RECORDS_REQUESTS, Unit::Count, "PutRecords calls (the denominator of Success)");
    describe_counter!(PUT_RECORDS_SUCCESSFUL_RECORDS, Unit::Count, "PutRecords.SuccessfulRecords");
    describe_counter!(PUT_RECORDS_FAILED_RECORDS, Unit::Count, "PutRecords.FailedRecords: internal failures");
    describe_counter!(PUT_RECORDS_THROTTLED_RECORDS, Unit::Count, "PutRecords.ThrottledRecords");
    describe_counter!(GET_RECORDS_BYTES, Unit::Bytes, "GetRecords.Bytes: bytes returned");
    describe_gauge!(GET_RECORDS_ITERATOR_AGE, "GetRecords.IteratorAgeMilliseconds, as the latest call here saw it");
    describe_histogram!(GET_RECORDS_LATENCY, Unit::Seconds, "GetRecords.Latency");
    describe_counter!(GET_RECORDS_RECORDS, Unit::Count, "GetRecords.Records: records returned");
    describe_counter!(GET_RECORDS_SUCCESS, Unit::Count, "GetRecords.Success: calls that succeeded");
    describe_counter!(GET_RECORDS_REQUESTS, Unit::Count, "GetRecords calls (the denominator of Success)");
    describe_counter!(WRITE_THROUGHPUT_EXCEEDED, Unit::Count, "WriteProvisionedThroughputExceeded: records refused");
    describe_counter!(READ_THROUGHPUT_EXCEEDED, Unit::Count, "ReadProvisionedThroughputExceeded: calls refused");
    describe_counter!(SUBSCRIBE_RATE_EXCEEDED, Unit::Count, "SubscribeToShard.RateExceeded");
    describe_counter!(SUBSCRIBE_SUCCESS, Unit::Count, "SubscribeToShard.Success: subscriptions started");
    describe_counter!(SUBSCRIBE_REQUESTS, Unit::Count, "SubscribeToShard calls (the denominator of Success)");
    describe_counter!(SUBSCRIBE_EVENT_BYTES, Unit::Bytes, "SubscribeToShardEvent.Bytes");
    describe_counter!(SUBSCRIBE_EVENT_RECORDS, Unit::Count, "SubscribeToShardEvent.Records");
    describe_gauge!(SUBSCRIBE_EVENT_MILLIS_BEHIND, "SubscribeToShardEvent.MillisBehindLatest of the latest event");
    for metric in ShardMetric::ALL {
        let help = format!("{} of one shard (enhanced monitoring)", metric.as_kinesis());
        if metric == ShardMetric::IteratorAgeMilliseconds {
            describe_gauge!(shard_metric_name(metric), help);
        } else {
            describe_counter!(shard_metric_name(metric), help);
        }
    }
}

/// How a call ended, for `Success` and its denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

/// What one shard took of a write: records and bytes written, records refused by its quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardWrite {
    pub records: u64,
    pub bytes: u64,
    pub throttled: u64,
}

/// What a PutRecords call did, all shards together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutRecordsTally {
    pub successful: u64,
    pub failed: u64,
    pub throttled: u64,
    pub bytes: u64,
}

/// What one read (a GetRecords page or a SubscribeToShard event) returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardRead {
    pub records: u64,
    pub bytes: u64,
    /// IteratorAgeMilliseconds (GetRecords) or MillisBehindLatest (events).
    pub age_ms: i64,
}

/// The recorder side of one node's Kinesis metrics.
#[derive(Clone)]
pub struct KinesisMetrics {
    node: SharedString,
}

/// The labels of one stream's series on this node, made once per call and shared by the
/// series the call records (cloning one is a reference count).
pub struct StreamLabels {
    node: SharedString,
    stream: SharedString,
    monitored: BTreeSet<ShardMetric>,
}

impl KinesisMetrics {
    pub fn new(node: NodeId) -> KinesisMetrics {
        KinesisMetrics { node: SharedString::from_shared(Arc::<str>::from(node.to_string())) }
    }

    pub fn stream(&self, stream: &StreamMeta) -> StreamLabels {
        StreamLabels {
            node: self.node.clone(),
            stream: SharedString::from_shared(Arc::<str>::from(stream.name.as_str())),
            monitored: stream.shard_level_metrics.clone(),
        }
    }
}

impl StreamLabels {
    fn labels(&self) -> Vec<Label> {
        vec![Label::new("node", self.node.clone()), Label::new("stream", self.stream.clone())]
    }

    fn shard_labels(&self, shard: ShardId) -> Vec<Label> {
        let mut labels = self.labels();
        labels.push(Label::new("shard", shard.to_string()));
        labels
    }

    fn counter(&self, name: &'static str, value: u64) {
        if value > 0 {
            metrics::counter!(name, self.labels()).increment(value);
        }
    }

    fn calls(&self, success: &'static str, requests: &'static str, outcome: Outcome) {
        metrics::counter!(requests, self.labels()).increment(1);
        // Touched on failures too, so that the ratio exists from the first call.
        metrics::counter!(success, self.labels()).increment(u64::from(outcome == Outcome::Success));
    }

    /// Per-shard series, for the shard metrics enhanced monitoring has on.
    fn shard(&self, shard: ShardId, values: &[(ShardMetric, u64)]) {
        let mut labels = None;
        for (metric, value) in values {
            if *value == 0 || !self.monitored.contains(metric) {
                continue;
            }
            let labels = labels.get_or_insert_with(|| self.shard_labels(shard)).clone();
            metrics::counter!(shard_metric_name(*metric), labels).increment(*value);
        }
    }

    /// A shard's part of a PutRecord or PutRecords: IncomingRecords, IncomingBytes and
    /// WriteProvisionedThroughputExceeded, for the stream and the shard.
    pub fn shard_write(&self, shard: ShardId, write: ShardWrite) {
        self.counter(INCOMING_RECORDS, write.records);
        self.counter(INCOMING_BYTES, write.bytes);
        self.counter(WRITE_THROUGHPUT_EXCEEDED, write.throttled);
        self.shard(
            shard,
            &[
                (ShardMetric::IncomingRecords, write.records),
                (ShardMetric::IncomingBytes, write.bytes),
                (ShardMetric::WriteProvisionedThroughputExceeded, write.throttled),
            ],
        );
    }

    pub fn put_record(&self, latency: Duration, outcome: Outcome, bytes: u64) {
        metrics::histogram!(PUT_RECORD_LATENCY, self.labels()).record(latency.as_secs_f64());
        self.calls(PUT_RECORD_SUCCESS, PUT_RECORD_REQUESTS, outcome);
        if outcome == Outcome::Success {
            self.counter(PUT_RECORD_BYTES, bytes);
        }
    }

    /// A PutRecords call; `tally` is `None` when the whole call failed.
    pub fn put_records(&self, latency: Duration, sent: u64, tally: Option<PutRecordsTally>) {
        metrics::histogram!(PUT_RECORDS_LATENCY, self.labels()).record(latency.as_secs_f64());
        self.counter(PUT_RECORDS_RECORDS, sent);
        let tally = tally.unwrap_or_default();
        let outcome = if tally.successful > 0 { Outcome::Success } else { Outcome::Failure };
        self.calls(PUT_RECORDS_SUCCESS, PUT_RECORDS_REQUESTS, outcome);
        self.counter(PUT_RECORDS_SUCCESSFUL_RECORDS, tally.successful);
        self.counter(PUT_RECORDS_FAILED_RECORDS, tally.failed);
        self.counter(PUT_RECORDS_THROTTLED_RECORDS, tally.throttled);
        self.counter(PUT_RECORDS_BYTES, tally.bytes);
    }

    /// A GetRecords call on `shard`: what it returned, or `None` when it failed (and
    /// whether its shard's read quota refused it).
    pub fn get_records(&self, shard: ShardId, latency: Duration, read: Option<ShardRead>, throttled: bool) {
        metrics::histogram!(GET_RECORDS_LATENCY, self.labels()).record(latency.as_secs_f64());
        let outcome = if read.is_some() { Outcome::Success } else { Outcome::Failure };
        self.calls(GET_RECORDS_SUCCESS, GET_RECORDS_REQUESTS, outcome);
        if throttled {
            self.counter(READ_THROUGHPUT_EXCEEDED, 1);
            self.shard(shard, &[(ShardMetric::ReadProvisionedThroughputExceeded, 1)]);
        }
        if let Some(read) = read {
            self.counter(GET_RECORDS_RECORDS, read.records);
            self.counter(GET_RECORDS_BYTES, read.bytes);
            metrics::gauge!(GET_RECORDS_ITERATOR_AGE, self.labels()).set(read.age_ms as f64);
            self.outgoing(shard, read);
        }
    }

    /// OutgoingRecords and OutgoingBytes of a shard (GetRecords and fan-out alike), and its
    /// IteratorAgeMilliseconds.
    fn outgoing(&self, shard: ShardId, read: ShardRead) {
        self.shard(shard, &[(ShardMetric::OutgoingRecords, read.records), (ShardMetric::OutgoingBytes, read.bytes)]);
        if self.monitored.contains(&ShardMetric::IteratorAgeMilliseconds) {
            let name = shard_metric_name(ShardMetric::IteratorAgeMilliseconds);
            metrics::gauge!(name, self.shard_labels(shard)).set(read.age_ms as f64);
        }
    }

    fn consumer_labels(&self, consumer: &str) -> Vec<Label> {
        let mut labels = self.labels();
        labels.push(Label::new("consumer", consumer.to_string()));
        labels
    }

    /// A SubscribeToShard call: started, refused for the consumer's lease (RateExceeded),
    /// or failed otherwise.
    pub fn subscribe(&self, consumer: &str, outcome: Outcome, rate_exceeded: bool) {
        let labels = self.consumer_labels(consumer);
        metrics::counter!(SUBSCRIBE_REQUESTS, labels.clone()).increment(1);
        metrics::counter!(SUBSCRIBE_SUCCESS, labels.clone()).increment(u64::from(outcome == Outcome::Success));
        if rate_exceeded {
            metrics::counter!(SUBSCRIBE_RATE_EXCEEDED, labels).increment(1);
        }
    }

    /// An event pushed to a subscriber.
    pub fn subscribe_event(&self, consumer: &str, shard: ShardId, read: ShardRead) {
        let labels = self.consumer_labels(consumer);
        if read.records > 0 {
            metrics::counter!(SUBSCRIBE_EVENT_RECORDS, labels.clone()).increment(read.records);
            metrics::counter!(SUBSCRIBE_EVENT_BYTES, labels.clone()).increment(read.bytes);
        }
        metrics::gauge!(SUBSCRIBE_EVENT_MILLIS_BEHIND, labels).set(read.age_ms as f64);
        self.outgoing(shard, read);
    }
}
