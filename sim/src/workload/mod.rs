//! The client hosts, each its own simulated machine:
//! - `driver`: the stream's lifecycle, a temporary stream created and deleted under
//!   faults, the liveness phase after the heal, the final reads.
//! - `producer`: PutRecord / PutRecords over raw gRPC, retrying what it does not know
//!   landed, as careful applications do.
//! - `client_producer`: the same through the real `runnel-client` (its routing, retries
//!   and backoff), over simulated TCP.
//! - `consumer`: every shard, continuously, through GetShardIterator / GetRecords,
//!   recording each page for the stale-read check; parents before children.
//! - `resharder`: the seed's splits, merges and UpdateShardCount calls during the faults.
//! - `prober` (retention runs): one page of every shard from TRIM_HORIZON, again and again.
//! - `subscriber`: an enhanced fan-out consumer of its own, following the stream with
//!   `runnel-client`'s `subscribe` (SubscribeToShard pushes, renewals, failovers),
//!   recording every record pushed and every shard's end.
//!
//! Every host's randomness comes from the run's seed.

mod client_producer;
mod consumer;
mod driver;
mod prober;
mod producer;
mod resharder;
mod subscriber;

pub use client_producer::client_producer;
pub use consumer::consumer;
pub use driver::{driver, LIVENESS_BOUND};
pub use prober::prober;
pub use producer::producer;
pub use resharder::resharder;
pub use subscriber::subscriber;

use crate::net::{channel, client_connector, node_url, CLIENT_REQUEST_TIMEOUT};
use crate::oracle::{Oracle, ShardInfo};
use rand::rngs::StdRng;
use rand::Rng;
use runnel_client::{Client, ClientConfig, ClientError, RetryPolicy};
use runnel_node::domain::NodeId;
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::{ListShardsRequest, PutRecordResponse, PutRecordsRequestEntry, PutRecordsResponse, Shard};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;
use tonic::transport::Channel;

pub const STREAM: &str = "sim";
const TEMP_STREAM: &str = "sim-temp";
/// Every call gives up after this long; its outcome is then unknown.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per batch of payloads before a producer gives up on it.
const PUT_ATTEMPTS_MAX: u32 = 4;
/// Partition keys the producers spread records over.
const PARTITION_KEYS: u32 = 64;
/// Records a consumer asks for per GetRecords.
const CONSUMER_LIMIT: i32 = 200;

pub type Shared = Rc<RefCell<Oracle>>;

#[derive(Clone)]
pub struct Ctx {
    pub oracle: Shared,
    pub seed: u64,
    pub nodes: Vec<NodeId>,
    pub shards: u32,
    pub heal_at: Duration,
    /// Producers of either kind; the driver waits for all of them.
    pub producers: usize,
    /// A node left down through the liveness phase: convergence is not asked of it.
    pub left_down: Option<NodeId>,
    /// Splits, merges and scalings the resharder makes during the safety phase.
    pub reshards: u32,
    /// The final reads ask only the nodes that are up (many-groups runs: with hundreds of
    /// shards, calls to the node left down would take most of the run's simulated time).
    pub final_reads_skip_down: bool,
    /// Client producers split PutRecords per leader.
    pub split_put_records: bool,
}

fn now() -> Duration {
    turmoil::elapsed()
}

fn clients(nodes: &[NodeId]) -> Vec<(NodeId, KinesisClient<Channel>)> {
    nodes.iter().filter_map(|n| channel(&node_url(*n), None).ok().map(|ch| (*n, KinesisClient::new(ch)))).collect()
}

/// The real `runnel-client` on a simulated host: every node a seed, dialled over simulated
/// TCP with the client's request timeout, `budget` for each call's retries, and its backoff
/// jitter drawn from `seed`.
async fn sim_client(ctx: &Ctx, budget: Duration, seed: u64) -> Result<Client, ClientError> {
    let endpoints: Vec<String> = ctx.nodes.iter().map(|n| node_url(*n)).collect();
    let config = ClientConfig {
        request_timeout: CLIENT_REQUEST_TIMEOUT,
        retry: RetryPolicy { max_elapsed: budget, ..RetryPolicy::default() },
        jitter_seed: Some(seed),
        split_put_records: ctx.split_put_records,
        ..ClientConfig::default()
    };
    Client::with_connector(endpoints, config, client_connector()).await
}

async fn timed<T, F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>>(
    call: F,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Err(_) => Err("timed out".into()),
        Ok(Err(status)) => Err(status.message().chars().take(120).collect()),
        Ok(Ok(reply)) => Ok(reply.into_inner()),
    }
}

/// The mean pause between a producer's operations that spreads `ops` of them over the
/// rest of the safety phase, so that writes meet the faults.
fn pace_ms(ctx: &Ctx, ops: usize) -> u64 {
    let left = ctx.heal_at.saturating_sub(now()).as_millis() as u64;
    (left / ops.max(1) as u64).max(40)
}

/// The pause before a producer's next operation: paced through the safety phase, short
/// after the heal (what is left is written during the liveness phase). `None`: stop.
fn next_pause(ctx: &Ctx, pace: u64, rng: &mut StdRng) -> Option<Duration> {
    if ctx.oracle.borrow().stop_producers {
        return None;
    }
    let ms = if now() < ctx.heal_at { rng.random_range(pace / 4..=pace * 7 / 4) } else { rng.random_range(10..100) };
    Some(Duration::from_millis(ms))
}

/// Waits until the driver made the stream; false when it gave up instead.
async fn stream_ready(ctx: &Ctx) -> bool {
    loop {
        {
            let o = ctx.oracle.borrow();
            if o.stream_active {
                return true;
            }
            if o.stop_consumers {
                return false;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A payload not acknowledged yet, and its partition key.
type Pending = Vec<(String, String)>;

/// The next batch of a producer: one to eight new payloads named `{prefix}{id}-{op}-{i}`,
/// each with a random partition key.
fn new_batch(prefix: &str, id: usize, op: usize, rng: &mut StdRng) -> Pending {
    let count = if rng.random_bool(0.4) { 1 } else { rng.random_range(2..=8) };
    (0..count)
        .map(|i| (format!("{prefix}{id}-{op}-{i}"), format!("k{}", rng.random_range(0..PARTITION_KEYS))))
        .collect()
}

/// Notes that `pending` is about to be sent (again); `client_retries`: by a caller that may
/// itself send one request more than once.
fn attempting(ctx: &Ctx, pending: &Pending, client_retries: bool) {
    let mut o = ctx.oracle.borrow_mut();
    for (p, key) in pending {
        o.attempt(p, key, now());
        if let Some(w) = o.writes.get_mut(p) {
            w.client_retries |= client_retries;
        }
    }
}

fn entries(pending: &Pending) -> Vec<PutRecordsRequestEntry> {
    pending
        .iter()
        .map(|(p, key)| PutRecordsRequestEntry {
            data: p.clone().into_bytes(),
            explicit_hash_key: None,
            partition_key: key.clone(),
        })
        .collect()
}

fn short(error: impl ToString) -> String {
    error.to_string().chars().take(120).collect()
}

/// Records what one PutRecord of `payload` was told; true when it was acknowledged.
fn record_put<E: ToString>(o: &mut Oracle, label: &str, payload: &str, result: Result<PutRecordResponse, E>) -> bool {
    match result {
        Ok(r) => {
            let seq = r.sequence_number.parse().unwrap_or(0);
            o.ack(payload, &r.shard_id, seq, now());
            o.log(now(), format!("{label} {payload} -> {} {seq}", r.shard_id));
            true
        }
        Err(e) => {
            o.unknown(payload);
            o.log(now(), format!("{label} {payload} unknown: {}", short(e)));
            false
        }
    }
}

/// Records what one PutRecords of `pending` was told (`label` names the call in the
/// history); returns the payloads still not acknowledged.
fn record_put_records<E: ToString>(
    o: &mut Oracle,
    label: &str,
    pending: &Pending,
    result: Result<PutRecordsResponse, E>,
) -> Pending {
    match result {
        Ok(reply) => {
            let mut still = Vec::new();
            let mut why = String::new();
            for ((payload, key), entry) in pending.iter().zip(reply.records) {
                if why.is_empty() {
                    if let Some(code) = &entry.error_code {
                        why = format!(" ({code}: {})", entry.error_message.as_deref().unwrap_or_default());
                        why = why.chars().take(160).collect();
                    }
                }
                match (entry.sequence_number, entry.shard_id) {
                    (Some(seq), Some(shard)) => o.ack(payload, &shard, seq.parse().unwrap_or(0), now()),
                    _ => {
                        o.unknown(payload);
                        still.push((payload.clone(), key.clone()));
                    }
                }
            }
            o.log(now(), format!("{label} x{}: {} failed{why}", pending.len(), still.len()));
            still
        }
        Err(e) => {
            for (p, _) in pending {
                o.unknown(p);
            }
            o.log(now(), format!("{label} x{} unknown: {}", pending.len(), short(e)));
            pending.clone()
        }
    }
}

/// Pages of ListShards one listing may take (the sim's streams have a few dozen shards).
const LIST_PAGES_MAX: usize = 20;

fn shard_info(s: &Shard) -> (String, ShardInfo) {
    let range = s.hash_key_range.clone().unwrap_or_default();
    let seqs = s.sequence_number_range.clone().unwrap_or_default();
    let info = ShardInfo {
        start: range.starting_hash_key.parse().unwrap_or(0),
        end: range.ending_hash_key.parse().unwrap_or(0),
        parents: s.parent_shard_id.iter().chain(&s.adjacent_parent_shard_id).cloned().collect(),
        starting_seq: seqs.starting_sequence_number.parse().unwrap_or(0),
        ending_seq: seqs.ending_sequence_number.and_then(|e| e.parse().ok()),
    };
    (s.shard_id.clone(), info)
}

/// Every shard of the stream, open and closed, following NextTokens.
async fn list_shards(k: &mut KinesisClient<Channel>) -> Result<BTreeMap<String, ShardInfo>, String> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    for _ in 0..LIST_PAGES_MAX {
        let req = match token.take() {
            Some(t) => ListShardsRequest { next_token: t, ..Default::default() },
            None => ListShardsRequest { stream_name: STREAM.into(), ..Default::default() },
        };
        let page = timed(k.list_shards(req)).await?;
        out.extend(page.shards.iter().map(shard_info));
        match page.next_token.filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
    Err(format!("more than {LIST_PAGES_MAX} pages of shards"))
}

/// Which shards a reader may read now. Kinesis readers finish a parent (GetRecords returns
/// no NextShardIterator) before they start its children, so that records of one
/// partition key are read in order across a split or merge.
#[derive(Debug, Default)]
struct Lineage {
    /// Every shard the reader knows of, and its parents.
    parents: BTreeMap<String, Vec<String>>,
    /// Shards read to their end.
    finished: BTreeSet<String>,
}

impl Lineage {
    /// Shards from a complete listing: a parent that is not listed is not waited for.
    fn from_listing(shards: &BTreeMap<String, ShardInfo>) -> Lineage {
        let mut lineage = Lineage::default();
        for (id, info) in shards {
            let parents = info.parents.iter().filter(|p| shards.contains_key(*p)).cloned().collect();
            lineage.parents.insert(id.clone(), parents);
        }
        lineage
    }

    /// A child named by a parent's last page; it waits for all its parents.
    fn learn(&mut self, shard: &str, parents: &[String]) {
        self.parents.entry(shard.to_string()).or_insert_with(|| parents.to_vec());
    }

    fn finish(&mut self, shard: &str) {
        self.finished.insert(shard.to_string());
    }

    /// Known shards not finished whose parents all are, in id order.
    fn ready(&self) -> Vec<String> {
        self.parents
            .iter()
            .filter(|(id, parents)| !self.finished.contains(*id) && parents.iter().all(|p| self.finished.contains(p)))
            .map(|(id, _)| id.clone())
            .collect()
    }
}
