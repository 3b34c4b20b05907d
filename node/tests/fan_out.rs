//! Enhanced fan-out against real 3-node clusters: consumers subscribed to every shard
//! through the Rust client while a producer writes, the subscriptions renewed every 3 s, a
//! node killed with kill -9 (and restarted), and a split; every consumer gets every
//! acknowledged record exactly once per shard, in sequence order. And SubscribeToShard's
//! own rules: starting positions, heartbeats, ChildShards, the 5 s lease, a deregistered
//! consumer, every refusal with its Kinesis name.

#[macro_use]
mod common;

use common::{create_active, eventually, Cluster};
use runnel_client::proto::{PutRecordsRequest, PutRecordsRequestEntry};
use runnel_client::{Client, Delivery, LineageStart};
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::Channel;

const ACCOUNT: &str = "000000000000";

fn stream_arn(stream: &str) -> String {
    format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}")
}

/// Registers `name` on `stream` and waits until it is ACTIVE; gives its ARN.
async fn register(k: &mut KinesisClient<Channel>, stream: &str, name: &str) -> String {
    let req = RegisterStreamConsumerRequest {
        stream_arn: stream_arn(stream),
        consumer_name: name.into(),
        ..Default::default()
    };
    let consumer = k.register_stream_consumer(req).await.expect("register").into_inner().consumer.expect("consumer");
    let arn = consumer.consumer_arn;
    eventually(&format!("consumer {name} ACTIVE"), Duration::from_secs(20), Duration::from_millis(100), || {
        let (mut k, arn) = (k.clone(), arn.clone());
        async move {
            let req = DescribeStreamConsumerRequest { consumer_arn: arn, ..Default::default() };
            let d = k.describe_stream_consumer(req).await.ok()?.into_inner().consumer_description?;
            (d.consumer_status == "ACTIVE").then_some(())
        }
    })
    .await;
    arn
}

fn subscribe_req(consumer_arn: &str, shard: &str, kind: &str, sequence: Option<String>) -> SubscribeToShardRequest {
    SubscribeToShardRequest {
        consumer_arn: consumer_arn.into(),
        shard_id: shard.into(),
        starting_position: Some(StartingPosition { r#type: kind.into(), sequence_number: sequence, timestamp: None }),
    }
}

/// What one consumer received: per shard, (sequence number, data) in arrival order; and
/// the shards it saw end.
#[derive(Default)]
struct Received {
    by_shard: BTreeMap<String, Vec<(u128, Vec<u8>)>>,
    ended: BTreeSet<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_consumer_gets_every_record_once_across_renewals_a_kill_and_a_split() {
    let mut cluster = Cluster::start_with_config(3, Some("subscription_ms = 3000\n")).await;
    let mut k = cluster.kinesis(1).await;
    create_active(&mut k, "fan", 2).await;
    let mut consumers = Vec::new();
    for c in 0..3 {
        consumers.push(register(&mut k, "fan", &format!("app-{c}")).await);
    }

    // Each consumer's client starts its round of nodes at another node, so the kill below
    // cuts some subscriptions whichever node serves what.
    let mut received = Vec::new();
    for (c, arn) in consumers.iter().enumerate() {
        let mut seeds = cluster.endpoints();
        seeds.rotate_left(c);
        let client = Client::connect(seeds).await.expect("client");
        let mut deliveries = client.subscribe("fan", arn, LineageStart::Oldest).await.expect("subscribe");
        let got = Arc::new(Mutex::new(Received::default()));
        let sink = got.clone();
        tokio::spawn(async move {
            while let Some(delivery) = deliveries.recv().await {
                let mut got = sink.lock().unwrap();
                match delivery.expect("a consumer's subscriptions never fail for good") {
                    Delivery::Records { shard_id, records, .. } => {
                        let shard = got.by_shard.entry(shard_id).or_default();
                        shard.extend(records.into_iter().map(|r| (r.sequence_number.parse().unwrap(), r.data)));
                    }
                    Delivery::Ended { shard_id, children } => {
                        assert!(!children.is_empty(), "an ended shard names its children");
                        got.ended.insert(shard_id);
                    }
                }
            }
        });
        received.push(got);
    }

    // The producer: batches of 20 distinct keys through the client, about 12 s.
    let producer = Client::connect(cluster.endpoints()).await.expect("producer");
    let acked: Arc<Mutex<BTreeMap<String, BTreeSet<u128>>>> = Default::default();
    // The data of every acknowledged record: a call the client retried after a lost reply
    // (a node killed mid-call) may have stored its records twice, and only the second
    // copy's numbers come back (at-least-once, as in Kinesis).
    let acked_data: Arc<Mutex<BTreeSet<Vec<u8>>>> = Default::default();
    let unknown = Arc::new(Mutex::new(0usize));
    let writer = {
        let (acked, acked_data, unknown) = (acked.clone(), acked_data.clone(), unknown.clone());
        tokio::spawn(async move {
            for batch in 0..120u32 {
                let records = (0..20u32)
                    .map(|i| PutRecordsRequestEntry {
                        data: format!("{batch}-{i}").into_bytes(),
                        partition_key: format!("key-{i}"),
                        explicit_hash_key: None,
                    })
                    .collect();
                let req = PutRecordsRequest { records, stream_name: "fan".into(), stream_arn: String::new() };
                match producer.put_records(req).await {
                    Ok(reply) => {
                        for (i, r) in reply.records.into_iter().enumerate() {
                            match (r.shard_id, r.sequence_number) {
                                (Some(shard), Some(seq)) => {
                                    acked.lock().unwrap().entry(shard).or_default().insert(seq.parse().unwrap());
                                    acked_data.lock().unwrap().insert(format!("{batch}-{i}").into_bytes());
                                }
                                _ => *unknown.lock().unwrap() += 1,
                            }
                        }
                    }
                    Err(_) => *unknown.lock().unwrap() += 20,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.kill(0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let split = SplitShardRequest {
        stream_name: "fan".into(),
        shard_to_split: "shardId-000000000000".into(),
        new_starting_hash_key: (u128::MAX / 4).to_string(),
        stream_arn: String::new(),
    };
    k.split_shard(split).await.expect("split with a node down");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.restart(0);
    writer.await.expect("producer");

    let acked = acked.lock().unwrap().clone();
    let total: usize = acked.values().map(|s| s.len()).sum();
    assert!(acked.len() >= 3, "records landed in the parent and its children: {:?}", acked.keys());
    for (c, got) in received.iter().enumerate() {
        eventually(
            &format!("consumer {c} has every acknowledged record"),
            Duration::from_secs(60),
            Duration::from_millis(200),
            || {
                let (got, acked) = (got.clone(), &acked);
                async move {
                    let got = got.lock().unwrap();
                    acked
                        .iter()
                        .all(|(shard, seqs)| {
                            let have: BTreeSet<u128> = got
                                .by_shard
                                .get(shard)
                                .map(|v| v.iter().map(|(s, _)| *s).collect())
                                .unwrap_or_default();
                            seqs.is_subset(&have)
                        })
                        .then_some(())
                }
            },
        )
        .await;
        let got = got.lock().unwrap();
        let acked_data = acked_data.lock().unwrap();
        // Records received under numbers no reply gave: second copies of acknowledged
        // records, or records of calls whose outcome the producer did not learn.
        let (mut copies, mut extra) = (0, 0);
        for (shard, records) in &got.by_shard {
            let seqs: Vec<u128> = records.iter().map(|(s, _)| *s).collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "consumer {c}, {shard}: in order, none twice");
            let acked_here = acked.get(shard).cloned().unwrap_or_default();
            for (_, data) in records.iter().filter(|(s, _)| !acked_here.contains(s)) {
                if acked_data.contains(data) {
                    copies += 1;
                } else {
                    extra += 1;
                }
            }
        }
        assert!(extra <= *unknown.lock().unwrap(), "consumer {c}: {extra} records nobody wrote");
        assert!(got.ended.contains("shardId-000000000000"), "consumer {c} saw the parent end");
        eprintln!(
            "fan-out: consumer {c} got all {total} acknowledged records in {} shards ({extra} of unknown outcome, \
             {copies} second copies of acknowledged records)",
            got.by_shard.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribe_to_shard_positions_heartbeats_leases_and_refusals() {
    let cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "sub", 1).await;
    let shard = "shardId-000000000000";
    let arn = register(&mut k, "sub", "reader").await;
    let put = |data: &str| PutRecordRequest {
        stream_name: "sub".into(),
        partition_key: "k".into(),
        data: data.as_bytes().to_vec(),
        ..Default::default()
    };
    let first = k.put_record(put("one")).await.unwrap().into_inner().sequence_number;

    // TRIM_HORIZON: the first event holds the record written before; LATEST-style pushes
    // follow as they are written.
    let mut events =
        k.subscribe_to_shard(subscribe_req(&arn, shard, "TRIM_HORIZON", None)).await.expect("subscribe").into_inner();
    let event = events.message().await.unwrap().expect("an event");
    assert_eq!(event.records.iter().map(|r| r.data.as_slice()).collect::<Vec<_>>(), vec![b"one".as_slice()]);
    assert_eq!(event.continuation_sequence_number, first);
    let second = k.put_record(put("two")).await.unwrap().into_inner().sequence_number;
    let event = events.message().await.unwrap().expect("a pushed event");
    assert_eq!(event.records.len(), 1);
    assert_eq!(event.records[0].sequence_number, second);
    assert_eq!(event.millis_behind_latest, 0);

    // One subscription per consumer and shard: a second within 5 s is refused.
    let again = expect_err!(k.subscribe_to_shard(subscribe_req(&arn, shard, "LATEST", None)), "ResourceInUseException");
    assert!(again.message().contains("reader"), "{again:?}");
    // Idle: a heartbeat event with the continuation number and no records, about every 5 s.
    let idle = tokio::time::timeout(Duration::from_secs(8), events.message()).await.expect("a heartbeat");
    let idle = idle.unwrap().expect("an event");
    assert!(idle.records.is_empty());
    assert_eq!(idle.continuation_sequence_number, second);
    // After 5 s another subscription takes over; the first ends with ResourceInUse.
    let mut taken = k
        .subscribe_to_shard(subscribe_req(&arn, shard, "AFTER_SEQUENCE_NUMBER", Some(first.clone())))
        .await
        .expect("take over")
        .into_inner();
    let event = taken.message().await.unwrap().expect("an event");
    assert_eq!(event.records.iter().map(|r| r.sequence_number.clone()).collect::<Vec<_>>(), vec![second.clone()]);
    let ended = loop {
        match events.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the old subscription ended without an error"),
            Err(status) => break status,
        }
    };
    assert_eq!(common::error_name(&ended), "ResourceInUseException", "{ended:?}");

    // Refusals.
    let bad_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/sub/consumer/nobody:1";
    expect_err!(k.subscribe_to_shard(subscribe_req(bad_arn, shard, "LATEST", None)), "ResourceNotFoundException");
    expect_err!(k.subscribe_to_shard(subscribe_req("not-an-arn", shard, "LATEST", None)), "ValidationException");
    expect_err!(
        k.subscribe_to_shard(subscribe_req(&arn, "shardId-000000000009", "LATEST", None)),
        "ResourceNotFoundException"
    );
    expect_err!(k.subscribe_to_shard(subscribe_req(&arn, shard, "SOMEWHERE", None)), "ValidationException");
    expect_err!(
        k.subscribe_to_shard(subscribe_req(&arn, shard, "AT_SEQUENCE_NUMBER", None)),
        "InvalidArgumentException"
    );
    let no_position = SubscribeToShardRequest { starting_position: None, ..subscribe_req(&arn, shard, "LATEST", None) };
    expect_err!(k.subscribe_to_shard(no_position), "ValidationException");

    // A deregistered consumer's subscription ends.
    let dereg = DeregisterStreamConsumerRequest { consumer_arn: arn.clone(), ..Default::default() };
    k.deregister_stream_consumer(dereg).await.expect("deregister");
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), taken.message()).await.expect("the subscription ends") {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("ended without an error"),
            Err(status) => break status,
        }
    };
    assert_eq!(common::error_name(&ended), "ResourceNotFoundException", "{ended:?}");

    // Twenty consumers registered at once (several in the same millisecond) all become
    // ACTIVE at once, not one every few seconds.
    create_active(&mut k, "many", 1).await;
    let started = std::time::Instant::now();
    let registrations = (0..20).map(|i| {
        let mut k = k.clone();
        async move { register(&mut k, "many", &format!("c{i}")).await }
    });
    futures::future::join_all(registrations).await;
    assert!(started.elapsed() < Duration::from_secs(10), "20 consumers took {:?} to become ACTIVE", started.elapsed());

    // A closed shard's last event names its children.
    let arn = register(&mut k, "sub", "reader-2").await;
    let split = SplitShardRequest {
        stream_name: "sub".into(),
        shard_to_split: shard.into(),
        new_starting_hash_key: (u128::MAX / 2).to_string(),
        stream_arn: String::new(),
    };
    k.split_shard(split).await.expect("split");
    common::wait_active(&mut k, "sub").await;
    let mut events =
        k.subscribe_to_shard(subscribe_req(&arn, shard, "TRIM_HORIZON", None)).await.expect("subscribe").into_inner();
    let mut records = 0;
    let children = loop {
        let event = events.message().await.unwrap().expect("events until the end");
        records += event.records.len();
        if !event.child_shards.is_empty() {
            break event.child_shards;
        }
    };
    assert_eq!(records, 2);
    assert_eq!(children.len(), 2);
    assert!(children.iter().all(|c| c.parent_shards == vec![shard.to_string()]));
    assert!(events.message().await.unwrap().is_none(), "the subscription ends after the children");

    // A shard closed before it took a record ends too (it has no record at its end).
    create_active(&mut k, "bare", 1).await;
    let arn = register(&mut k, "bare", "empty-reader").await;
    let split = SplitShardRequest {
        stream_name: "bare".into(),
        shard_to_split: shard.into(),
        new_starting_hash_key: (u128::MAX / 2).to_string(),
        stream_arn: String::new(),
    };
    k.split_shard(split).await.expect("split an empty shard");
    common::wait_active(&mut k, "bare").await;
    let mut events =
        k.subscribe_to_shard(subscribe_req(&arn, shard, "TRIM_HORIZON", None)).await.expect("subscribe").into_inner();
    let event = tokio::time::timeout(Duration::from_secs(5), events.message()).await.expect("at once");
    let event = event.unwrap().expect("the last event");
    assert!(event.records.is_empty());
    assert_eq!(event.child_shards.len(), 2, "{event:?}");
    assert!(events.message().await.unwrap().is_none());
}
