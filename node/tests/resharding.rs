//! SplitShard, MergeShards and UpdateShardCount with real node processes: the Kinesis
//! errors and lineage, and resharding under a live producer and consumer with a node
//! killed in the middle, after which every acknowledged record is read exactly once and in
//! per-key order across parents and children.

mod common;

use common::{create_active, error_name, iterator_req, wait_active, Cluster};
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

fn seq(s: &str) -> u128 {
    s.parse().expect("a decimal sequence number")
}

fn hash(s: &str) -> u128 {
    s.parse().expect("a decimal hash key")
}

async fn list(k: &mut KinesisClient<Channel>, req: ListShardsRequest) -> Result<ListShardsResponse, tonic::Status> {
    k.list_shards(req).await.map(|r| r.into_inner())
}

fn list_req(stream: &str, filter: Option<ShardFilter>) -> ListShardsRequest {
    ListShardsRequest { stream_name: stream.into(), shard_filter: filter, ..Default::default() }
}

fn filter(kind: &str, timestamp: Option<i64>) -> Option<ShardFilter> {
    Some(ShardFilter { r#type: kind.into(), shard_id: String::new(), timestamp })
}

fn ids(shards: &[Shard]) -> Vec<String> {
    shards.iter().map(|s| s.shard_id.clone()).collect()
}

fn id(n: u32) -> String {
    format!("shardId-{n:012}")
}

fn ending(shard: &Shard) -> Option<u128> {
    shard.sequence_number_range.as_ref().and_then(|r| r.ending_sequence_number.as_deref()).map(seq)
}

fn starting(shard: &Shard) -> u128 {
    seq(&shard.sequence_number_range.as_ref().expect("a sequence number range").starting_sequence_number)
}

fn range(shard: &Shard) -> (u128, u128) {
    let r = shard.hash_key_range.as_ref().expect("a hash key range");
    (hash(&r.starting_hash_key), hash(&r.ending_hash_key))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn split(k: &mut KinesisClient<Channel>, stream: &str, shard: &str, at: u128) -> Result<(), tonic::Status> {
    let req = SplitShardRequest {
        stream_name: stream.into(),
        shard_to_split: shard.into(),
        new_starting_hash_key: at.to_string(),
        stream_arn: String::new(),
    };
    k.split_shard(req).await.map(|_| ())
}

async fn merge(k: &mut KinesisClient<Channel>, stream: &str, a: &str, b: &str) -> Result<(), tonic::Status> {
    let req = MergeShardsRequest {
        stream_name: stream.into(),
        shard_to_merge: a.into(),
        adjacent_shard_to_merge: b.into(),
        stream_arn: String::new(),
    };
    k.merge_shards(req).await.map(|_| ())
}

async fn scale(
    k: &mut KinesisClient<Channel>,
    stream: &str,
    target: i32,
    kind: &str,
) -> Result<UpdateShardCountResponse, tonic::Status> {
    let req = UpdateShardCountRequest {
        stream_name: stream.into(),
        target_shard_count: target,
        scaling_type: kind.into(),
        stream_arn: String::new(),
    };
    k.update_shard_count(req).await.map(|r| r.into_inner())
}

fn err<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> String {
    error_name(&result.expect_err("the call must fail"))
}

async fn put(k: &mut KinesisClient<Channel>, stream: &str, key: &str, data: &str) -> PutRecordResponse {
    let req = PutRecordRequest {
        stream_name: stream.into(),
        data: data.as_bytes().to_vec(),
        partition_key: key.into(),
        ..Default::default()
    };
    k.put_record(req).await.expect("put").into_inner()
}

/// A consumer that reads parents before children: it starts at the shards without a
/// listed parent and starts a child once every parent has been read to its end.
struct Follower {
    stream: String,
    /// Shards being read, and where.
    reading: BTreeMap<String, String>,
    finished: BTreeSet<String>,
    /// Children seen at a parent's end, with their parents.
    waiting: BTreeMap<String, Vec<String>>,
    records: Vec<Record>,
}

impl Follower {
    async fn start(k: &mut KinesisClient<Channel>, stream: &str) -> Follower {
        let shards = list(k, list_req(stream, None)).await.expect("list").shards;
        let listed: BTreeSet<String> = ids(&shards).into_iter().collect();
        let mut f = Follower {
            stream: stream.into(),
            reading: BTreeMap::new(),
            finished: BTreeSet::new(),
            waiting: BTreeMap::new(),
            records: Vec::new(),
        };
        for s in &shards {
            let parents: Vec<String> = s.parent_shard_id.iter().chain(&s.adjacent_parent_shard_id).cloned().collect();
            if parents.iter().all(|p| !listed.contains(p)) {
                f.waiting.insert(s.shard_id.clone(), Vec::new());
            }
        }
        f
    }

    /// One round over the shards being read; returns whether the follower is at the tip
    /// of every open shard with nothing waiting.
    async fn poll(&mut self, k: &mut KinesisClient<Channel>) -> bool {
        let ready: Vec<String> = self
            .waiting
            .iter()
            .filter(|(_, parents)| parents.iter().all(|p| self.finished.contains(p)))
            .map(|(c, _)| c.clone())
            .collect();
        for child in ready {
            if let Ok(it) = k.get_shard_iterator(iterator_req(&self.stream, &child, "TRIM_HORIZON")).await {
                self.waiting.remove(&child);
                self.reading.insert(child, it.into_inner().shard_iterator);
            }
        }
        let mut at_tip = self.waiting.is_empty();
        let shards: Vec<(String, String)> = self.reading.iter().map(|(s, i)| (s.clone(), i.clone())).collect();
        for (shard, iterator) in shards {
            let req = GetRecordsRequest { shard_iterator: iterator, limit: Some(1000), stream_arn: String::new() };
            let page = match k.get_records(req).await {
                Ok(p) => p.into_inner(),
                Err(e) => {
                    let name = error_name(&e);
                    assert!(name == "ServiceUnavailable" || name == "InternalFailure", "read {shard}: {e:?}");
                    at_tip = false;
                    continue;
                }
            };
            if !page.records.is_empty() || page.millis_behind_latest > 0 {
                at_tip = false;
            }
            self.records.extend(page.records);
            match page.next_shard_iterator {
                Some(next) => {
                    self.reading.insert(shard, next);
                }
                None => {
                    self.reading.remove(&shard);
                    self.finished.insert(shard.clone());
                    at_tip = false;
                    for child in page.child_shards {
                        assert!(child.parent_shards.contains(&shard), "{child:?} names its parent {shard}");
                        if !self.finished.contains(&child.shard_id) && !self.reading.contains_key(&child.shard_id) {
                            self.waiting.insert(child.shard_id, child.parent_shards);
                        }
                    }
                }
            }
        }
        at_tip
    }

    /// Reads until at the tip of everything (a hang detector bounds it).
    async fn drain(&mut self, k: &mut KinesisClient<Channel>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.poll(k).await {
            assert!(Instant::now() < deadline, "the follower never caught up: {:?}", self.reading.keys());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_merge_and_scale_follow_kinesis() {
    let cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    let stream = "reshard";
    let created = now_ms();
    create_active(&mut k, stream, 2).await;
    let mut before: BTreeMap<String, u128> = BTreeMap::new();
    for i in 0..40 {
        let key = format!("k{i}");
        let r = put(&mut k, stream, &key, &format!("before-{i}")).await;
        if r.shard_id == id(0) {
            before.insert(key, seq(&r.sequence_number));
        }
    }
    let shards = list(&mut k, list_req(stream, None)).await.unwrap().shards;
    let (start, end) = range(&shards[0]);

    // Refusals, each with the Kinesis error name.
    assert_eq!(err(split(&mut k, stream, &id(0), start).await), "InvalidArgumentException");
    assert_eq!(err(split(&mut k, stream, &id(0), end + 1).await), "InvalidArgumentException");
    assert_eq!(err(split(&mut k, stream, &id(99), start + 1).await), "ResourceNotFoundException");
    assert_eq!(err(split(&mut k, "nope", &id(0), start + 1).await), "ResourceNotFoundException");
    let bad_key = SplitShardRequest {
        stream_name: stream.into(),
        shard_to_split: id(0),
        new_starting_hash_key: "0x10".into(),
        stream_arn: String::new(),
    };
    assert_eq!(err(k.split_shard(bad_key).await), "ValidationException");
    let too_big = SplitShardRequest { new_starting_hash_key: format!("{}0", u128::MAX), ..Default::default() };
    assert_eq!(
        err(k.split_shard(SplitShardRequest { stream_name: stream.into(), shard_to_split: id(0), ..too_big }).await),
        "ValidationException"
    );
    assert_eq!(err(merge(&mut k, stream, &id(0), &id(0)).await), "InvalidArgumentException");
    assert_eq!(err(scale(&mut k, stream, 5, "UNIFORM_SCALING").await), "InvalidArgumentException");
    assert_eq!(err(scale(&mut k, stream, 3, "SOMETHING").await), "ValidationException");
    assert_eq!(err(scale(&mut k, stream, 501, "UNIFORM_SCALING").await), "LimitExceededException");

    // Split shard 0 at its middle.
    let at = start + (end - start) / 2 + 1;
    split(&mut k, stream, &id(0), at).await.expect("split");
    // A second change right away: the stream is UPDATING, or already done and shard 0 closed.
    let again = err(split(&mut k, stream, &id(0), at).await);
    assert!(again == "ResourceInUseException" || again == "InvalidArgumentException", "{again}");
    wait_active(&mut k, stream).await;
    assert_eq!(err(split(&mut k, stream, &id(0), at).await), "InvalidArgumentException", "a closed shard");
    let shards = list(&mut k, list_req(stream, None)).await.unwrap().shards;
    assert_eq!(ids(&shards), vec![id(0), id(1), id(2), id(3)]);
    let parent_end = ending(&shards[0]).expect("the parent is closed");
    assert!(before.values().all(|s| *s <= parent_end), "the parent ends at or after its last record");
    assert_eq!(ending(&shards[1]), None);
    for (child, r) in [(&shards[2], (start, at - 1)), (&shards[3], (at, end))] {
        assert_eq!(child.parent_shard_id.as_deref(), Some(id(0).as_str()));
        assert_eq!(child.adjacent_parent_shard_id, None);
        assert_eq!(range(child), r);
        assert!(starting(child) > parent_end, "children start above the parent's end");
        assert_eq!(ending(child), None);
    }
    // DescribeStream says the same.
    let described = k
        .describe_stream(DescribeStreamRequest { stream_name: stream.into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .stream_description
        .unwrap();
    assert_eq!(described.shards, shards);
    let summary = k
        .describe_stream_summary(DescribeStreamSummaryRequest { stream_name: stream.into(), stream_arn: String::new() })
        .await
        .unwrap()
        .into_inner()
        .stream_description_summary
        .unwrap();
    assert_eq!(summary.open_shard_count, 3);

    // The parent reads to its end, then names its children.
    let it = k.get_shard_iterator(iterator_req(stream, &id(0), "TRIM_HORIZON")).await.unwrap().into_inner();
    let page = k
        .get_records(GetRecordsRequest { shard_iterator: it.shard_iterator, limit: None, stream_arn: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.records.len(), before.len());
    assert_eq!(page.next_shard_iterator, None, "a closed shard read to its end has no next iterator");
    let children: Vec<(String, Vec<String>)> =
        page.child_shards.iter().map(|c| (c.shard_id.clone(), c.parent_shards.clone())).collect();
    assert_eq!(children, vec![(id(2), vec![id(0)]), (id(3), vec![id(0)])]);
    // LATEST on the closed shard is at its end already.
    let it = k.get_shard_iterator(iterator_req(stream, &id(0), "LATEST")).await.unwrap().into_inner();
    let page = k
        .get_records(GetRecordsRequest { shard_iterator: it.shard_iterator, limit: None, stream_arn: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert!(page.records.is_empty() && page.next_shard_iterator.is_none() && page.child_shards.len() == 2);
    // Keys of the split range now land in the children, above the parent's end.
    for key in before.keys() {
        let r = put(&mut k, stream, key, "after").await;
        assert!(r.shard_id == id(2) || r.shard_id == id(3), "{key} went to {}", r.shard_id);
        assert!(seq(&r.sequence_number) > parent_end);
    }

    // ListShards filters.
    let split_done = now_ms();
    let cases: Vec<(Option<ShardFilter>, Vec<String>)> = vec![
        (filter("AT_LATEST", None), vec![id(1), id(2), id(3)]),
        (filter("AT_TRIM_HORIZON", None), vec![id(0), id(1)]),
        (filter("FROM_TRIM_HORIZON", None), vec![id(0), id(1), id(2), id(3)]),
        (filter("AT_TIMESTAMP", Some(created)), vec![id(0), id(1)]),
        (filter("AT_TIMESTAMP", Some(split_done)), vec![id(1), id(2), id(3)]),
        (filter("FROM_TIMESTAMP", Some(created)), vec![id(0), id(1), id(2), id(3)]),
        (filter("FROM_TIMESTAMP", Some(split_done)), vec![id(1), id(2), id(3)]),
        (Some(ShardFilter { r#type: "AFTER_SHARD_ID".into(), shard_id: id(1), timestamp: None }), vec![id(2), id(3)]),
    ];
    for (f, want) in cases {
        let got = list(&mut k, list_req(stream, f.clone())).await.unwrap().shards;
        assert_eq!(ids(&got), want, "{f:?}");
    }
    assert_eq!(err(list(&mut k, list_req(stream, filter("AT_TIMESTAMP", None))).await), "InvalidArgumentException");
    assert_eq!(err(list(&mut k, list_req(stream, filter("SOMETIME", None))).await), "ValidationException");
    // Pages keep the filter.
    let mut req = ListShardsRequest { max_results: Some(1), ..list_req(stream, filter("AT_LATEST", None)) };
    let mut paged = Vec::new();
    loop {
        let page = list(&mut k, req.clone()).await.unwrap();
        paged.extend(ids(&page.shards));
        match page.next_token {
            Some(token) => req = ListShardsRequest { next_token: token, max_results: Some(1), ..Default::default() },
            None => break,
        }
    }
    assert_eq!(paged, vec![id(1), id(2), id(3)]);

    // Merge the two children back: one child with both as parents, the parent's range.
    assert_eq!(err(merge(&mut k, stream, &id(2), &id(1)).await), "InvalidArgumentException", "not adjacent");
    merge(&mut k, stream, &id(3), &id(2)).await.expect("merge");
    wait_active(&mut k, stream).await;
    let shards = list(&mut k, list_req(stream, None)).await.unwrap().shards;
    let merged = shards.iter().find(|s| s.shard_id == id(4)).expect("the merged child");
    assert_eq!(merged.parent_shard_id.as_deref(), Some(id(3).as_str()));
    assert_eq!(merged.adjacent_parent_shard_id.as_deref(), Some(id(2).as_str()));
    assert_eq!(range(merged), (start, end));
    let parents_end = shards[2..4].iter().map(|s| ending(s).expect("closed")).max().unwrap();
    assert!(starting(merged) > parents_end);
    assert_eq!(err(merge(&mut k, stream, &id(2), &id(3)).await), "InvalidArgumentException", "closed shards");

    // UpdateShardCount: 2 open shards -> 4, evenly spread.
    let scaled = scale(&mut k, stream, 4, "UNIFORM_SCALING").await.expect("scale");
    assert_eq!((scaled.current_shard_count, scaled.target_shard_count), (2, 4));
    wait_active(&mut k, stream).await;
    let open = list(&mut k, list_req(stream, filter("AT_LATEST", None))).await.unwrap().shards;
    let mut ranges: Vec<(u128, u128)> = open.iter().map(range).collect();
    ranges.sort();
    // Evenly spread: each boundary within 1% of a quarter of the key space, the whole
    // space covered without gap or overlap.
    let width = u128::MAX / 4;
    assert_eq!(ranges.len(), 4);
    assert_eq!((ranges[0].0, ranges[3].1), (0, u128::MAX));
    for (i, pair) in ranges.windows(2).enumerate() {
        assert_eq!(pair[0].1 + 1, pair[1].0);
        assert!(pair[1].0.abs_diff((i as u128 + 1) * width) <= width / 100, "{ranges:?}");
    }
    // Everything written is still there, read parents first.
    let mut follower = Follower::start(&mut k, stream).await;
    follower.drain(&mut k).await;
    assert_eq!(follower.records.len(), 40 + before.len());
}

/// What the producer was told.
#[derive(Default)]
struct Produced {
    /// Record number -> (partition key, shard, sequence number).
    acked: BTreeMap<u64, (String, String, String)>,
    /// Puts that failed with an unknown outcome (they may be there once, or not at all).
    unknown: BTreeSet<u64>,
    /// (started, latency) of every acknowledged put.
    latencies: Vec<(Instant, Duration)>,
}

const KEYS: u64 = 24;

/// A put's outcome for one record: (shard, sequence number), or the error name first.
type Outcome = Result<(String, String), String>;

/// Records per PutRecords call, each of another partition key.
const BATCH: u64 = 8;

/// One producer, one call at a time: PutRecord, and every fourth call a PutRecords of
/// `BATCH` keys (which may span the shards being resharded).
async fn produce(mut k: KinesisClient<Channel>, stream: String, stop: Arc<AtomicBool>, out: Arc<Mutex<Produced>>) {
    let mut i = 0u64;
    let mut call = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let count = if call % 4 == 3 { BATCH } else { 1 };
        let numbers: Vec<u64> = (i..i + count).collect();
        let key = |n: u64| format!("key-{}", n % KEYS);
        let started = Instant::now();
        let outcomes: Vec<(u64, Outcome)> = if count == 1 {
            let req = PutRecordRequest {
                stream_name: stream.clone(),
                data: i.to_string().into_bytes(),
                partition_key: key(i),
                ..Default::default()
            };
            match k.put_record(req).await {
                Ok(r) => {
                    let r = r.into_inner();
                    vec![(i, Ok((r.shard_id, r.sequence_number)))]
                }
                Err(e) => vec![(i, Err(format!("{}: {e:?}", error_name(&e))))],
            }
        } else {
            let records = numbers
                .iter()
                .map(|n| PutRecordsRequestEntry {
                    data: n.to_string().into_bytes(),
                    explicit_hash_key: None,
                    partition_key: key(*n),
                })
                .collect();
            match k
                .put_records(PutRecordsRequest { records, stream_name: stream.clone(), stream_arn: String::new() })
                .await
            {
                Ok(r) => {
                    let r = r.into_inner();
                    assert_eq!(r.records.len(), numbers.len(), "one result per record");
                    numbers
                        .iter()
                        .zip(r.records)
                        .map(|(n, e)| match (e.shard_id, e.sequence_number, e.error_code) {
                            (Some(shard), Some(sequence), None) => (*n, Ok((shard, sequence))),
                            (_, _, code) => {
                                let message = e.error_message.unwrap_or_default();
                                // A certainly-unwritten entry says so in its message.
                                let name = if message.starts_with("Not written") {
                                    "ServiceUnavailable"
                                } else {
                                    "InternalFailure"
                                };
                                (*n, Err(format!("{name}: {code:?} {message}")))
                            }
                        })
                        .collect()
                }
                Err(e) => numbers.iter().map(|n| (*n, Err(format!("{}: {e:?}", error_name(&e))))).collect(),
            }
        };
        let mut out = out.lock().unwrap();
        for (n, outcome) in outcomes {
            match outcome {
                Ok((shard, sequence)) => {
                    out.acked.insert(n, (key(n), shard, sequence));
                }
                Err(why) => {
                    let unavailable = why.starts_with("ServiceUnavailable");
                    assert!(unavailable || why.starts_with("InternalFailure"), "put {n}: {why}");
                    if !unavailable {
                        out.unknown.insert(n);
                    }
                }
            }
        }
        out.latencies.push((started, started.elapsed()));
        i += count;
        call += 1;
    }
}

/// Polls as a live consumer until `until`.
async fn follow(mut f: Follower, mut k: KinesisClient<Channel>, until: Instant) -> Follower {
    while Instant::now() < until {
        f.poll(&mut k).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_and_merge_under_live_traffic_with_a_node_killed() {
    let mut cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    let stream = "live";
    create_active(&mut k, stream, 2).await;
    let stop = Arc::new(AtomicBool::new(false));
    let produced = Arc::new(Mutex::new(Produced::default()));
    let producer = tokio::spawn(produce(k.clone(), stream.into(), stop.clone(), produced.clone()));
    let mut follower = Follower::start(&mut k, stream).await;
    let mut consumer_k = k.clone();
    follower = follow(follower, consumer_k.clone(), Instant::now() + Duration::from_secs(1)).await;

    // Split shard 0 under load, and time it.
    let shards = list(&mut k, list_req(stream, None)).await.unwrap().shards;
    let (start, end) = range(&shards[0]);
    let split_started = Instant::now();
    split(&mut k, stream, &id(0), start + (end - start) / 2 + 1).await.expect("split");
    let consuming = tokio::spawn(follow(follower, consumer_k.clone(), Instant::now() + Duration::from_secs(2)));
    wait_active(&mut k, stream).await;
    let split_took = split_started.elapsed();
    follower = consuming.await.unwrap();

    // A node dies; the merge of the two children goes on without it.
    cluster.kill(2);
    let merge_started = Instant::now();
    let merged = loop {
        match merge(&mut k, stream, &id(2), &id(3)).await {
            Ok(()) => break merge_started.elapsed(),
            Err(e) => {
                let name = error_name(&e);
                assert!(name == "ServiceUnavailable" || name == "InternalFailure", "merge: {e:?}");
                assert!(merge_started.elapsed() < Duration::from_secs(60), "the merge was never recorded");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let consuming = tokio::spawn(follow(follower, consumer_k.clone(), Instant::now() + Duration::from_secs(3)));
    wait_active(&mut k, stream).await;
    let merge_took = merge_started.elapsed();
    follower = consuming.await.unwrap();
    cluster.start_node(2);
    follower = follow(follower, consumer_k.clone(), Instant::now() + Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    producer.await.unwrap();
    follower.drain(&mut consumer_k).await;

    let produced = std::mem::take(&mut *produced.lock().unwrap());
    let shards = list(&mut k, list_req(stream, None)).await.unwrap().shards;
    assert_eq!(ids(&shards), (0..5).map(id).collect::<Vec<_>>(), "two roots, two split children, one merged");
    let end_of: BTreeMap<String, Option<u128>> = shards.iter().map(|s| (s.shard_id.clone(), ending(s))).collect();
    // Every acknowledged record exactly once, with its sequence number; unknown ones at most once.
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    let mut order: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in &follower.records {
        let i: u64 = String::from_utf8_lossy(&r.data).parse().expect("a record number");
        *seen.entry(i).or_default() += 1;
        order.entry(r.partition_key.clone()).or_default().push(i);
        if let Some((key, _, sequence)) = produced.acked.get(&i) {
            assert_eq!((key, sequence), (&r.partition_key, &r.sequence_number), "record {i}");
        } else {
            assert!(produced.unknown.contains(&i), "record {i} was never written");
        }
    }
    for i in produced.acked.keys() {
        assert_eq!(seen.get(i), Some(&1), "acknowledged record {i} read {:?} times", seen.get(i));
    }
    assert!(seen.values().all(|n| *n == 1), "a record was read twice");
    // Per key, the order the producer wrote (one producer, one put at a time).
    for (key, numbers) in &order {
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{key} out of order: {numbers:?}");
    }
    // Sequence numbers of records in a closed shard stay within its range.
    for (i, (_, shard, sequence)) in &produced.acked {
        if let Some(Some(end)) = end_of.get(shard) {
            assert!(seq(sequence) <= *end, "record {i} of {shard} above its end");
        }
    }
    // A fresh reader after the restart reads exactly the same thing.
    let mut fresh = Follower::start(&mut k, stream).await;
    fresh.drain(&mut k).await;
    let key_of = |r: &Record| (r.partition_key.clone(), r.sequence_number.clone());
    let mut a: Vec<_> = follower.records.iter().map(key_of).collect();
    let mut b: Vec<_> = fresh.records.iter().map(key_of).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // The figures: a split end to end, and the longest put wait while it ran.
    let during = |from: Instant, to: Duration| {
        produced
            .latencies
            .iter()
            .filter(|(t, l)| *t + *l >= from && *t <= from + to)
            .map(|(_, l)| *l)
            .max()
            .unwrap_or_default()
    };
    let mut all: Vec<Duration> = produced.latencies.iter().map(|(_, l)| *l).collect();
    all.sort();
    eprintln!(
        "resharding figures: {} puts acknowledged, {} unknown; split took {:?} (longest put during it {:?}); \
         merge with a node down recorded after {:?}, took {:?} (longest put during it {:?}); put p50 {:?}",
        produced.acked.len(),
        produced.unknown.len(),
        split_took,
        during(split_started, split_took),
        merged,
        merge_took,
        during(merge_started, merge_took),
        all.get(all.len() / 2).copied().unwrap_or_default(),
    );
    assert!(produced.acked.len() > 100, "the producer made progress");
}
