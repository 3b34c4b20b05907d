//! Chaos on real containers: one 3-node compose cluster (`deploy/docker-compose.yml`)
//! takes four faults one after another while a steady producer writes to every shard of a
//! 4-shard stream and a consumer polls every shard:
//!
//! 1. kill -9 of the node that leads the most shards, which is started again later;
//! 2. `docker network disconnect` of the node that leads the most shards, for 20 s;
//! 3. `docker pause` (a frozen process) of the node that leads the most shards, for 20 s;
//! 4. a rolling restart: each node stopped with SIGTERM (it hands its leaderships over)
//!    and started again, one at a time, the next only once it serves and is ready.
//!
//! After each fault, once the cluster is whole again, every acknowledged record is read
//! back from TRIM_HORIZON through some node, exactly once, at the sequence number it was
//! acknowledged with, with its data, in per-shard sequence order, and the consumer saw it
//! too. The write outage of each shard (the longest time without an acknowledged write
//! from the fault's start until a few seconds after the cluster is whole) is measured and
//! printed, never asserted. A rolling restart must fail no write beyond retries.
//!
//! Skipped, saying so, when no Docker engine answers. Run it alone with
//! `cargo test -p runnel-node --test chaos -- --nocapture`; set `RUNNEL_CHAOS_LOGS=FILE`
//! to keep the nodes' whole logs in FILE.

mod common;
mod compose;

use common::{create_active, error_name, eventually, iterator_req, kinesis_at};
use compose::{ComposeCluster, Docker, SERVICES};
use runnel_client::proto::{GetRecordsRequest, GetShardIteratorRequest, ListShardsRequest, PutRecordRequest};
use runnel_client::{Client, ClientConfig, ClientError, RetryPolicy};
use runnel_proto::v1::kinesis_client::KinesisClient;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const STREAM: &str = "chaos";
const SHARDS: usize = 4;
/// One write to each shard this often: 25 records/s per shard.
const WRITE_EVERY: Duration = Duration::from_millis(40);
/// Deadline of one call to one node; a call that fails is tried again through another.
const CALL_DEADLINE: Duration = Duration::from_secs(2);
/// A record not acknowledged within this long of its first attempt is given up: a write
/// that failed even after retries.
const RECORD_BUDGET: Duration = Duration::from_secs(30);
/// Pauses between the attempts of one record: doubling from the first to the last.
const RETRY_PAUSE_FIRST: Duration = Duration::from_millis(50);
const RETRY_PAUSE_MAX: Duration = Duration::from_millis(500);
/// The consumer's GetRecords per shard: about 3 a second, under a shard's 5 reads a
/// second, so the read-back after each fault has room.
const POLL_EVERY: Duration = Duration::from_millis(300);
/// How long a node stays killed, cut off or frozen.
const KILLED_FOR: Duration = Duration::from_secs(10);
const FAULT_FOR: Duration = Duration::from_secs(20);
/// Writes acknowledged to every shard after a fault began, while the node is still out:
/// the other two took over its shards (about a second of writes).
const WRITES_WITHOUT_VICTIM: usize = 25;
/// The outage is measured until this long after the cluster is whole again.
const SETTLE: Duration = Duration::from_secs(5);
/// Hang detectors, not performance bounds.
const SERVING_TIMEOUT: Duration = Duration::from_secs(120);
const READ_BACK_TIMEOUT: Duration = Duration::from_secs(120);
const TASK_EXIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Distinct kinds of failure counted per shard; kinds beyond these are left uncounted.
const ERROR_KINDS_MAX: usize = 20;

/// A shard and a hash key inside it, so that one writer writes to exactly this shard.
#[derive(Debug, Clone)]
struct Target {
    index: usize,
    shard_id: String,
    hash_key: String,
}

/// One acknowledged write.
#[derive(Debug, Clone)]
struct Ack {
    /// Unique per attempt (`s{shard}-r{record}-a{attempt}`), so a write stored twice shows.
    data: Vec<u8>,
    shard_id: String,
    sequence: u128,
    at: Instant,
}

/// What happened to one shard: the producer's and the consumer's side.
#[derive(Default)]
struct ShardJournal {
    /// Acknowledged writes, in the order they were acknowledged.
    acks: Vec<Ack>,
    /// When calls failed (each was retried, unless its record was given up).
    failed_calls: Vec<Instant>,
    /// When records were given up after `RECORD_BUDGET`.
    given_up: Vec<Instant>,
    /// Failure messages, cut short, with how often each came.
    errors: BTreeMap<String, usize>,
    /// Records the consumer read, in the order it read them.
    consumed: Vec<(u128, Vec<u8>)>,
    consumer_failures: usize,
}

impl ShardJournal {
    fn note_error(&mut self, error: String) {
        let kind: String = error.chars().take(100).collect();
        if self.errors.len() < ERROR_KINDS_MAX || self.errors.contains_key(&kind) {
            *self.errors.entry(kind).or_default() += 1;
        }
    }
}

#[derive(Clone)]
struct Journal(Arc<Vec<Mutex<ShardJournal>>>);

impl Journal {
    fn new() -> Journal {
        Journal(Arc::new((0..SHARDS).map(|_| Mutex::default()).collect()))
    }

    fn shard(&self, index: usize) -> MutexGuard<'_, ShardJournal> {
        self.0[index].lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn acked(&self, index: usize) -> usize {
        self.shard(index).acks.len()
    }

    fn acked_since(&self, index: usize, since: Instant) -> usize {
        self.shard(index).acks.iter().rev().take_while(|a| a.at >= since).count()
    }
}

fn pause_after(attempt: u32) -> Duration {
    RETRY_PAUSE_FIRST.saturating_mul(1 << attempt.min(8)).min(RETRY_PAUSE_MAX)
}

/// Writes one record to `target`'s shard every `WRITE_EVERY` until `stop`, each through
/// the client (which sends it to the shard's leader when it knows it) with one attempt
/// per call; a failed call is tried again, the client passing over the node that failed,
/// until the record is acknowledged or `RECORD_BUDGET` is spent.
async fn produce(client: Client, target: Target, journal: Journal, stop: Arc<AtomicBool>) {
    let mut tick = tokio::time::interval(WRITE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut record = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        record += 1;
        let first_try = Instant::now();
        let mut attempt = 0u32;
        loop {
            let data = format!("s{}-r{record}-a{attempt}", target.index).into_bytes();
            let request = PutRecordRequest {
                stream_name: STREAM.into(),
                partition_key: format!("k{record}"),
                explicit_hash_key: Some(target.hash_key.clone()),
                data: data.clone(),
                ..Default::default()
            };
            // The client bounds each call by CALL_DEADLINE already; this guards the guard.
            let reply = tokio::time::timeout(CALL_DEADLINE * 2, client.put_record(request)).await;
            let now = Instant::now();
            let error = match reply {
                Ok(Ok(reply)) => match reply.sequence_number.parse() {
                    Ok(sequence) => {
                        let ack = Ack { data, shard_id: reply.shard_id, sequence, at: now };
                        journal.shard(target.index).acks.push(ack);
                        break;
                    }
                    Err(_) => format!("not a sequence number: {:?}", reply.sequence_number),
                },
                // The client made one attempt: its last failure says what went wrong.
                Ok(Err(ClientError::Unavailable { last, .. })) => last,
                Ok(Err(e)) => e.to_string(),
                Err(_) => "no answer within the call's deadline".to_string(),
            };
            let give_up = now.duration_since(first_try) >= RECORD_BUDGET;
            {
                let mut shard = journal.shard(target.index);
                shard.failed_calls.push(now);
                shard.note_error(error);
                if give_up {
                    shard.given_up.push(now);
                }
            }
            if give_up {
                break;
            }
            tokio::time::sleep(pause_after(attempt)).await;
            attempt += 1;
        }
    }
}

/// Polls `target`'s shard with GetRecords every `POLL_EVERY` until `stop`, through one
/// node at a time; when a call fails it moves to the next node and resumes after the last
/// record it read.
async fn consume(nodes: Vec<KinesisClient<Channel>>, target: Target, journal: Journal, stop: Arc<AtomicBool>) {
    let mut node = target.index % nodes.len();
    let mut iterator: Option<String> = None;
    let mut last: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(POLL_EVERY).await;
        let mut kinesis = nodes[node].clone();
        let current = match iterator.take() {
            Some(iterator) => iterator,
            None => {
                let request = match &last {
                    Some(sequence) => GetShardIteratorRequest {
                        starting_sequence_number: Some(sequence.clone()),
                        ..iterator_req(STREAM, &target.shard_id, "AFTER_SEQUENCE_NUMBER")
                    },
                    None => iterator_req(STREAM, &target.shard_id, "TRIM_HORIZON"),
                };
                match tokio::time::timeout(CALL_DEADLINE, kinesis.get_shard_iterator(request)).await {
                    Ok(Ok(reply)) => reply.into_inner().shard_iterator,
                    _ => {
                        journal.shard(target.index).consumer_failures += 1;
                        node = (node + 1) % nodes.len();
                        continue;
                    }
                }
            }
        };
        let request =
            GetRecordsRequest { shard_iterator: current.clone(), limit: Some(1000), stream_arn: String::new() };
        match tokio::time::timeout(CALL_DEADLINE, kinesis.get_records(request)).await {
            Ok(Ok(page)) => {
                let page = page.into_inner();
                let mut journal = journal.shard(target.index);
                for record in page.records {
                    let Ok(sequence) = record.sequence_number.parse() else {
                        panic!("{}: not a sequence number: {:?}", target.shard_id, record.sequence_number);
                    };
                    journal.consumed.push((sequence, record.data));
                    last = Some(record.sequence_number);
                }
                // An open shard always has a next iterator; without one, start afresh.
                iterator = page.next_shard_iterator;
            }
            // Over the shard's read rate: the same place on the same node, next time.
            Ok(Err(status)) if error_name(&status) == "ProvisionedThroughputExceededException" => {
                iterator = Some(current);
            }
            _ => {
                journal.shard(target.index).consumer_failures += 1;
                node = (node + 1) % nodes.len();
            }
        }
    }
}

/// The stream's shards, in hash key order, each with a hash key inside it.
async fn targets(cluster: &ComposeCluster) -> Vec<Target> {
    let mut kinesis = kinesis_at(&cluster.endpoint(0));
    let request = ListShardsRequest { stream_name: STREAM.into(), ..Default::default() };
    let mut shards = kinesis.list_shards(request).await.expect("list shards").into_inner().shards;
    let start = |s: &runnel_client::proto::Shard| -> u128 {
        s.hash_key_range.as_ref().expect("a hash key range").starting_hash_key.parse().expect("a decimal hash key")
    };
    shards.sort_by_key(start);
    assert_eq!(shards.len(), SHARDS, "{shards:?}");
    shards
        .iter()
        .enumerate()
        .map(|(index, s)| Target { index, shard_id: s.shard_id.clone(), hash_key: start(s).to_string() })
        .collect()
}

/// The node (0-based) that leads the most shards of the stream, and how many it leads.
async fn most_leading(cluster: &ComposeCluster) -> (usize, usize) {
    eventually("a leader for every shard", SERVING_TIMEOUT, Duration::from_millis(250), || async {
        let reply = cluster.describe().await?;
        let mut led = [0usize; 3];
        for group in reply.groups.iter().filter(|g| g.stream_name == STREAM) {
            let leader = usize::try_from(group.leader?).ok()?;
            *led.get_mut(leader.checked_sub(1)?)? += 1;
        }
        if led.iter().sum::<usize>() != SHARDS {
            return None;
        }
        // The first of the nodes that lead the most.
        let most = *led.iter().max()?;
        led.iter().position(|&n| n == most).map(|i| (i, most))
    })
    .await
}

/// Waits until every shard has taken `count` writes since `since`.
async fn wait_writes_since(journal: &Journal, since: Instant, count: usize, what: &str) {
    let what = format!("{count} writes to every shard {what}");
    eventually(&what, SERVING_TIMEOUT, Duration::from_millis(100), || {
        let done = (0..SHARDS).all(|i| journal.acked_since(i, since) >= count);
        std::future::ready(done.then_some(()))
    })
    .await
}

/// Waits until the cluster is whole: every node serving, ready, every replica caught up.
async fn wait_whole(cluster: &ComposeCluster, via: usize) {
    cluster.wait_ready(SERVING_TIMEOUT).await;
    cluster.wait_caught_up(via, SERVING_TIMEOUT).await;
}

/// What one fault cost the writers.
struct Outcome {
    fault: String,
    /// Per shard, the longest time without an acknowledged write in the fault's window.
    outages: Vec<Duration>,
    failed_calls: usize,
    given_up: usize,
    /// Attempts stored although their call failed (Kinesis writes are at-least-once),
    /// found by this fault's check and not by an earlier one.
    stored_unacked: usize,
    acked_total: usize,
    took: Duration,
}

impl Outcome {
    fn median(&self) -> Duration {
        let mut outages = self.outages.clone();
        outages.sort();
        outages.get((outages.len().max(1) - 1) / 2).copied().unwrap_or_default()
    }

    fn max(&self) -> Duration {
        self.outages.iter().max().copied().unwrap_or_default()
    }
}

fn print_table(outcomes: &[Outcome]) {
    eprintln!(
        "\n{:<44} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "fault", "outage p50", "outage max", "retried", "gave up", "unacked", "acked", "took"
    );
    for o in outcomes {
        eprintln!(
            "{:<44} {:>9.2}s {:>9.2}s {:>8} {:>8} {:>8} {:>8} {:>6.0}s",
            o.fault,
            o.median().as_secs_f64(),
            o.max().as_secs_f64(),
            o.failed_calls,
            o.given_up,
            o.stored_unacked,
            o.acked_total,
            o.took.as_secs_f64()
        );
    }
    eprintln!(
        "(outage: per shard, the longest time without an acknowledged write from the fault's start until {}s after \
         the cluster was whole; p50 and max over the {SHARDS} shards. retried: calls that failed and were tried \
         again; gave up: records not acknowledged within {}s; unacked: attempts stored although their call failed; \
         acked: records acknowledged since the start)\n",
        SETTLE.as_secs(),
        RECORD_BUDGET.as_secs()
    );
}

/// The writers' side of the window `from..to`: per shard the longest time without an
/// acknowledged write (counting from the last acknowledgement before `from`, and up to
/// `to`), failed calls and given-up records.
fn measure(journal: &Journal, from: Instant, to: Instant) -> (Vec<Duration>, usize, usize) {
    let mut outages = Vec::new();
    let (mut failed_calls, mut given_up) = (0, 0);
    let inside = |at: &Instant| *at >= from && *at <= to;
    for i in 0..SHARDS {
        let shard = journal.shard(i);
        let before = shard.acks.iter().rev().map(|a| a.at).find(|at| *at < from).unwrap_or(from);
        let mut previous = before;
        let mut longest = Duration::ZERO;
        for at in shard.acks.iter().map(|a| a.at).filter(inside).chain([to]) {
            longest = longest.max(at.duration_since(previous));
            previous = at;
        }
        outages.push(longest);
        failed_calls += shard.failed_calls.iter().filter(|at| inside(at)).count();
        given_up += shard.given_up.iter().filter(|at| inside(at)).count();
    }
    (outages, failed_calls, given_up)
}

/// Every record of a shard from TRIM_HORIZON through `kinesis`, up to the first record at
/// or past `until` (or to the tip), or `None` if a call failed (the caller tries again).
async fn try_read_shard(
    kinesis: &mut KinesisClient<Channel>,
    shard_id: &str,
    until: u128,
) -> Option<Vec<(u128, Vec<u8>)>> {
    let request = iterator_req(STREAM, shard_id, "TRIM_HORIZON");
    let reply = tokio::time::timeout(CALL_DEADLINE, kinesis.get_shard_iterator(request)).await.ok()?.ok()?;
    let mut iterator = reply.into_inner().shard_iterator;
    let mut records = Vec::new();
    // 10,000 records a page: a shard holds less than that here, so one or two pages.
    for _ in 0..100 {
        let request = GetRecordsRequest { shard_iterator: iterator.clone(), limit: None, stream_arn: String::new() };
        let page = tokio::time::timeout(CALL_DEADLINE * 2, kinesis.get_records(request)).await.ok()?.ok()?;
        let page = page.into_inner();
        let at_tip = page.records.is_empty() && page.millis_behind_latest == 0;
        for record in page.records {
            let sequence = record.sequence_number.parse().expect("a decimal sequence number");
            records.push((sequence, record.data));
        }
        if at_tip || records.last().is_some_and(|(sequence, _)| *sequence >= until) {
            return Some(records);
        }
        iterator = page.next_shard_iterator?;
    }
    panic!("{shard_id}: never reached sequence number {until} or the tip");
}

/// Checks what the writers had acknowledged when called, per shard, against a read from
/// TRIM_HORIZON through node `via` and against what the consumer read: each acknowledged
/// record exactly once, at its sequence number, with its data, in sequence order. Gives
/// how many attempts were stored although their call failed, since the start.
async fn verify(cluster: &ComposeCluster, via: usize, targets: &[Target], journal: &Journal, fault: &str) -> usize {
    let kinesis = kinesis_at(&cluster.endpoint(via));
    let mut stored_unacked = 0;
    for target in targets {
        let shard = &target.shard_id;
        let acks = journal.shard(target.index).acks.clone();
        let Some(until) = acks.last().map(|a| a.sequence) else {
            panic!("{fault}: nothing acknowledged to {shard}");
        };
        for pair in acks.windows(2) {
            assert!(
                pair[0].sequence < pair[1].sequence,
                "{fault}: {shard} acknowledged {} after {}",
                pair[1].sequence,
                pair[0].sequence
            );
        }
        for ack in &acks {
            assert_eq!(&ack.shard_id, shard, "{fault}: a write with a hash key of {shard} went elsewhere");
        }

        let what = format!("{fault}: {shard} read back through {}", SERVICES[via]);
        let read = eventually(&what, READ_BACK_TIMEOUT, Duration::from_millis(500), || {
            let mut kinesis = kinesis.clone();
            async move { try_read_shard(&mut kinesis, shard, until).await }
        })
        .await;
        let read_where = format!("read back through {}", SERVICES[via]);
        stored_unacked += check_against(fault, shard, &read_where, &read, &acks, until, target.index);

        // The consumer reads on; once it is past the last of these, it must have them all.
        let what = format!("{fault}: the consumer of {shard} reading up to {until}");
        eventually(&what, READ_BACK_TIMEOUT, Duration::from_millis(250), || {
            let past = journal.shard(target.index).consumed.last().is_some_and(|(sequence, _)| *sequence >= until);
            std::future::ready(past.then_some(()))
        })
        .await;
        let consumed = journal.shard(target.index).consumed.clone();
        check_against(fault, shard, "consumed", &consumed, &acks, until, target.index);
    }
    stored_unacked
}

/// Checks records read from a shard (`read`, in the order read) against its acknowledged
/// writes; gives the number of attempts read up to `until` that were not acknowledged.
fn check_against(
    fault: &str,
    shard: &str,
    how: &str,
    read: &[(u128, Vec<u8>)],
    acks: &[Ack],
    until: u128,
    index: usize,
) -> usize {
    for pair in read.windows(2) {
        assert!(pair[0].0 < pair[1].0, "{fault}: {shard} {how}: {} came after {}", pair[1].0, pair[0].0);
    }
    let prefix = format!("s{index}-");
    let mut by_data: HashMap<&[u8], u128> = HashMap::with_capacity(read.len());
    for (sequence, data) in read {
        assert!(
            data.starts_with(prefix.as_bytes()),
            "{fault}: {shard} {how}: {:?} at {sequence} was written to another shard",
            String::from_utf8_lossy(data)
        );
        if let Some(first) = by_data.insert(data, *sequence) {
            panic!(
                "{fault}: {shard} {how}: {:?} stored twice, at {first} and {sequence}",
                String::from_utf8_lossy(data)
            );
        }
    }
    for ack in acks {
        match by_data.get(ack.data.as_slice()) {
            Some(sequence) => assert_eq!(
                *sequence,
                ack.sequence,
                "{fault}: {shard} {how}: {:?} acknowledged at another sequence number",
                String::from_utf8_lossy(&ack.data)
            ),
            None => panic!(
                "{fault}: {shard} {how}: acknowledged {:?} at {} is missing (lost)",
                String::from_utf8_lossy(&ack.data),
                ack.sequence
            ),
        }
    }
    read.iter().filter(|(sequence, _)| *sequence <= until).count() - acks.len()
}

/// Ends the fault's window `SETTLE` after the cluster is whole, measures it, checks every
/// acknowledged record, and prints the row.
async fn conclude(
    cluster: &ComposeCluster,
    fault: String,
    started: Instant,
    via: usize,
    targets: &[Target],
    journal: &Journal,
    earlier: &[Outcome],
) -> Outcome {
    let stored_unacked_before: usize = earlier.iter().map(|o| o.stored_unacked).sum();
    tokio::time::sleep(SETTLE).await;
    let ended = Instant::now();
    let (outages, failed_calls, given_up) = measure(journal, started, ended);
    let stored_unacked = verify(cluster, via, targets, journal, &fault).await - stored_unacked_before;
    let acked_total = (0..SHARDS).map(|i| journal.acked(i)).sum();
    let outcome =
        Outcome { fault, outages, failed_calls, given_up, stored_unacked, acked_total, took: ended - started };
    print_table(std::slice::from_ref(&outcome));
    outcome
}

/// A fault that takes one node out for a while: what it is called and how long it lasts.
struct Fault {
    name: &'static str,
    out_for: Duration,
    /// What the writes wait for while the node is out, in words.
    during: &'static str,
    /// Whether the check reads back through the node that was out (else through the next).
    read_via_victim: bool,
}

/// Takes the node leading the most shards out with `inject` for `fault.out_for`, waits for
/// writes to go on without it, brings it back with `heal`, and concludes once the cluster
/// is whole.
async fn transient(
    cluster: &ComposeCluster,
    fault: Fault,
    inject: fn(&ComposeCluster, usize),
    heal: fn(&ComposeCluster, usize),
    targets: &[Target],
    journal: &Journal,
    earlier: &[Outcome],
) -> Outcome {
    let (victim, led) = most_leading(cluster).await;
    let started = Instant::now();
    tokio::task::block_in_place(|| inject(cluster, victim));
    tokio::time::sleep(fault.out_for).await;
    wait_writes_since(journal, started, WRITES_WITHOUT_VICTIM, fault.during).await;
    tokio::task::block_in_place(|| heal(cluster, victim));
    let next = (victim + 1) % 3;
    wait_whole(cluster, next).await;
    let name = format!("{} {} (led {led}/{SHARDS}) {}s", fault.name, SERVICES[victim], fault.out_for.as_secs());
    let via = if fault.read_via_victim { victim } else { next };
    conclude(cluster, name, started, via, targets, journal, earlier).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_on_real_containers_lose_no_acknowledged_record() {
    let docker = match Docker::detect() {
        Ok(docker) => docker,
        Err(why) => {
            eprintln!("SKIPPED chaos suite on containers: {why}");
            return;
        }
    };
    let test_started = Instant::now();
    let cluster = ComposeCluster::start(&docker);
    cluster.wait_ready(SERVING_TIMEOUT).await;
    create_active(&mut kinesis_at(&cluster.endpoint(0)), STREAM, SHARDS as i32).await;
    let targets = targets(&cluster).await;
    cluster.wait_caught_up(0, SERVING_TIMEOUT).await;
    eprintln!("cluster {} serving after {:.0?}", cluster.project, test_started.elapsed());

    let endpoints: Vec<String> = (0..SERVICES.len()).map(|i| cluster.endpoint(i)).collect();
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(1),
        request_timeout: CALL_DEADLINE,
        // One attempt per call: the producer retries, and counts the failures.
        retry: RetryPolicy::no_retry(),
        jitter_seed: None,
        split_put_records: false,
    };
    let client = Client::with_config(endpoints.clone(), config).await.expect("client");
    let journal = Journal::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for target in &targets {
        tasks.push(tokio::spawn(produce(client.clone(), target.clone(), journal.clone(), stop.clone())));
        let nodes = endpoints.iter().map(|e| kinesis_at(e)).collect();
        tasks.push(tokio::spawn(consume(nodes, target.clone(), journal.clone(), stop.clone())));
    }
    wait_writes_since(&journal, test_started, 50, "before any fault").await;

    let mut outcomes = Vec::new();

    // 1. kill -9 of the node leading the most shards; the other two take over its shards.
    let fault =
        Fault { name: "kill -9", out_for: KILLED_FOR, during: "with the killed node down", read_via_victim: true };
    let (inject, heal) = (ComposeCluster::kill, ComposeCluster::start_node);
    outcomes.push(transient(&cluster, fault, inject, heal, &targets, &journal, &outcomes).await);

    // 2. The node leading the most shards cut from the network (clients lose it too).
    let fault = Fault { name: "disconnect", out_for: FAULT_FOR, during: "with a node cut off", read_via_victim: false };
    let (inject, heal) = (ComposeCluster::disconnect, ComposeCluster::connect);
    outcomes.push(transient(&cluster, fault, inject, heal, &targets, &journal, &outcomes).await);

    // 3. The node leading the most shards frozen: alive, connections open, silent.
    let fault = Fault { name: "pause", out_for: FAULT_FOR, during: "with a node frozen", read_via_victim: true };
    let (inject, heal) = (ComposeCluster::pause, ComposeCluster::unpause);
    outcomes.push(transient(&cluster, fault, inject, heal, &targets, &journal, &outcomes).await);

    // 4. Rolling restart: SIGTERM (leaderships handed over), start, serving and ready.
    let started = Instant::now();
    let mut stops = Vec::new();
    for (node, service) in SERVICES.iter().enumerate() {
        let stopping = Instant::now();
        tokio::task::block_in_place(|| cluster.stop(node));
        stops.push(stopping.elapsed());
        let code = tokio::task::block_in_place(|| cluster.exit_code(node));
        assert_eq!(code, Some(0), "{service} did not stop cleanly on SIGTERM");
        tokio::task::block_in_place(|| cluster.start_node(node));
        wait_whole(&cluster, (node + 1) % 3).await;
    }
    eprintln!("rolling restart: the three stops took {stops:.1?}");
    let fault = "rolling restart (SIGTERM, start, ready) x3".to_string();
    outcomes.push(conclude(&cluster, fault, started, 2, &targets, &journal, &outcomes).await);

    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        tokio::time::timeout(TASK_EXIT_TIMEOUT, task).await.expect("a producer or consumer hung").expect("task");
    }

    eprintln!("chaos suite: {:.0?} in all", test_started.elapsed());
    print_table(&outcomes);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for target in &targets {
        let shard = journal.shard(target.index);
        eprintln!(
            "{}: {} acknowledged, {} consumed, {} failed calls, {} consumer failures",
            target.shard_id,
            shard.acks.len(),
            shard.consumed.len(),
            shard.failed_calls.len(),
            shard.consumer_failures,
        );
        for (error, count) in &shard.errors {
            *errors.entry(error.clone()).or_default() += count;
        }
    }
    eprintln!("why writes failed (calls):");
    for (error, count) in &errors {
        eprintln!("  {count:>5}  {error}");
    }
    if let Ok(path) = std::env::var("RUNNEL_CHAOS_LOGS") {
        std::fs::write(&path, cluster.logs(1_000_000)).expect("write the nodes' logs");
        eprintln!("nodes' logs in {path}");
    }

    // A SIGTERM hands leaderships over before the node stops: no write may fail for good.
    let rolling = outcomes.last().expect("the rolling restart's outcome");
    assert_eq!(rolling.given_up, 0, "writes failed even after retries during the rolling restart");
}
