//! The AWS SDK for Rust (`aws-sdk-kinesis`), unchanged, against real nodes' AWS endpoint
//! over HTTP/2: PutRecords, GetRecords and SubscribeToShard, and the same records seen
//! through Runnel's own gRPC API. The SDK gets an HTTP/2 client of our own (prior
//! knowledge, no TLS: `support/aws_sdk_h2.rs`), since its bundled one speaks HTTP/2 only
//! over TLS.

#[path = "support/aws_sdk_h2.rs"]
mod aws_sdk_h2;
mod common;

use aws_sdk_h2::sdk_client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    PutRecordsRequestEntry, ShardIteratorType, StartingPosition, SubscribeToShardEventStream,
};
use common::*;
use runnel_proto::v1 as pb;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_sdk_writes_reads_and_subscribes_over_http2() {
    let (cluster, aws) = cluster_with_aws_endpoints().await;
    let sdk = sdk_client(&aws[2]).await;

    sdk.create_stream().stream_name("sdk").shard_count(2).send().await.expect("CreateStream");
    let arn = eventually("the stream is ACTIVE", Duration::from_secs(60), Duration::from_millis(200), || {
        let sdk = sdk.clone();
        async move {
            let summary = sdk.describe_stream_summary().stream_name("sdk").send().await.ok()?;
            let summary = summary.stream_description_summary()?;
            (summary.stream_status().as_str() == "ACTIVE").then(|| summary.stream_arn().to_string())
        }
    })
    .await;

    // Door one: the SDK writes.
    let records: Vec<(String, Vec<u8>)> =
        (0..100u32).map(|i| (format!("key-{i}"), (0..=(i % 256) as u8).rev().collect())).collect();
    let entries = records.iter().map(|(key, data)| {
        PutRecordsRequestEntry::builder().partition_key(key).data(Blob::new(data.clone())).build().expect("an entry")
    });
    let put = sdk.put_records().stream_arn(&arn).set_records(Some(entries.collect())).send().await.expect("PutRecords");
    assert_eq!(put.failed_record_count(), Some(0));
    let mut written: BTreeMap<(String, String), Vec<u8>> = BTreeMap::new();
    for (entry, (_, data)) in put.records().iter().zip(&records) {
        let shard = entry.shard_id().expect("a shard").to_string();
        written.insert((shard, entry.sequence_number().expect("a sequence number").to_string()), data.clone());
    }
    assert_eq!(written.len(), 100);

    // Door two: Runnel's gRPC API reads the same records; door three: the SDK reads them.
    let mut grpc = kinesis_at(&cluster.endpoint(0));
    let mut via_grpc = BTreeMap::new();
    let mut via_sdk = BTreeMap::new();
    for shard in ["shardId-000000000000", "shardId-000000000001"] {
        let iterator = grpc
            .get_shard_iterator(pb::GetShardIteratorRequest {
                stream_name: "sdk".into(),
                shard_id: shard.into(),
                shard_iterator_type: "TRIM_HORIZON".into(),
                ..Default::default()
            })
            .await
            .expect("GetShardIterator over gRPC")
            .into_inner()
            .shard_iterator;
        let got = grpc
            .get_records(pb::GetRecordsRequest { shard_iterator: iterator, ..Default::default() })
            .await
            .expect("GetRecords over gRPC")
            .into_inner();
        for r in got.records {
            via_grpc.insert((shard.to_string(), r.sequence_number), r.data.to_vec());
        }
        let iterator = sdk
            .get_shard_iterator()
            .stream_name("sdk")
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator");
        let got = sdk.get_records().shard_iterator(iterator.shard_iterator().expect("an iterator")).send().await;
        for r in got.expect("GetRecords").records() {
            via_sdk.insert((shard.to_string(), r.sequence_number().to_string()), r.data().as_ref().to_vec());
        }
    }
    assert_eq!(via_grpc, written, "gRPC reads what the SDK wrote");
    assert_eq!(via_sdk, written, "the SDK reads what it wrote");

    // SubscribeToShard through the SDK's event stream receiver.
    let consumer = sdk.register_stream_consumer().stream_arn(&arn).consumer_name("sdk").send().await;
    let consumer_arn =
        consumer.expect("RegisterStreamConsumer").consumer().expect("a consumer").consumer_arn().to_string();
    eventually("the consumer is ACTIVE", Duration::from_secs(60), Duration::from_millis(200), || {
        let (sdk, consumer_arn) = (sdk.clone(), consumer_arn.clone());
        async move {
            let d = sdk.describe_stream_consumer().consumer_arn(consumer_arn).send().await.ok()?;
            (d.consumer_description()?.consumer_status().as_str() == "ACTIVE").then_some(())
        }
    })
    .await;
    let shard = "shardId-000000000001";
    let mut expected: Vec<(String, Vec<u8>)> =
        written.iter().filter(|((s, _), _)| s == shard).map(|((_, seq), data)| (seq.clone(), data.clone())).collect();
    expected.sort_by_key(|(seq, _)| seq.parse::<u128>().expect("a numeric sequence number"));
    let position = StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon).build().expect("a position");
    let mut subscription = sdk
        .subscribe_to_shard()
        .consumer_arn(&consumer_arn)
        .shard_id(shard)
        .starting_position(position)
        .send()
        .await
        .expect("SubscribeToShard");
    let mut pushed = Vec::new();
    let mut continuation = String::new();
    while pushed.len() < expected.len() {
        let event = tokio::time::timeout(Duration::from_secs(30), subscription.event_stream.recv())
            .await
            .expect("an event within 30 s")
            .expect("a well-formed event")
            .expect("the stream goes on");
        let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event else {
            panic!("an event other than SubscribeToShardEvent: {event:?}");
        };
        pushed.extend(event.records().iter().map(|r| (r.sequence_number().to_string(), r.data().as_ref().to_vec())));
        continuation = event.continuation_sequence_number().to_string();
    }
    let sequences = |records: &[(String, Vec<u8>)]| records.iter().map(|(seq, _)| seq.clone()).collect::<Vec<_>>();
    assert_eq!(sequences(&pushed), sequences(&expected), "every record of the shard pushed once, in order");
    assert!(pushed == expected, "a pushed record came back changed");
    assert_eq!(continuation, expected.last().expect("records in the shard").0);
}
