//! The Kinesis API against a real 3-node cluster: bad input of every kind gets the Kinesis
//! error and changes nothing; iterators, routing, pagination and deletion behave as in
//! Kinesis.

mod common;

use common::{create_active, error_name, read_shard, shard_ids, Cluster};
use runnel_node::api::tokens::{self, NextToken, ShardIterator};
use runnel_node::domain::{ShardId, StreamName};
use runnel_proto::hash_key::HashKey;
use runnel_proto::v1::*;
use std::time::Duration;

fn put(stream: &str, pk: &str, data: &[u8]) -> PutRecordRequest {
    PutRecordRequest { stream_name: stream.into(), data: data.to_vec(), partition_key: pk.into(), ..Default::default() }
}

fn entry(pk: &str, data: &[u8]) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry { data: data.to_vec(), explicit_hash_key: None, partition_key: pk.into() }
}

fn iterator_req(stream: &str, shard: &str, kind: &str) -> GetShardIteratorRequest {
    GetShardIteratorRequest {
        stream_name: stream.into(),
        shard_id: shard.into(),
        shard_iterator_type: kind.into(),
        ..Default::default()
    }
}

macro_rules! expect_err {
    ($call:expr, $name:expr) => {{
        match $call.await {
            Ok(reply) => panic!("expected {} but the call succeeded: {:?}", $name, reply),
            Err(status) => assert_eq!(error_name(&status), $name, "{}: {status:?}", stringify!($call)),
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_get_kinesis_errors_and_change_nothing() {
    let cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(2).await;
    create_active(&mut k, "good", 2).await;
    k.put_record(put("good", "k", b"the only record")).await.expect("good put");

    let create = |name: &str, count: Option<i32>, mode: Option<&str>| CreateStreamRequest {
        stream_name: name.into(),
        shard_count: count,
        stream_mode_details: mode.map(|m| StreamModeDetails { stream_mode: m.into() }),
    };
    expect_err!(k.create_stream(create("bad name", Some(1), None)), "ValidationException");
    expect_err!(k.create_stream(create(&"x".repeat(129), Some(1), None)), "ValidationException");
    expect_err!(k.create_stream(create("", Some(1), None)), "ValidationException");
    expect_err!(k.create_stream(create("zero", Some(0), None)), "ValidationException");
    expect_err!(k.create_stream(create("huge", Some(501), None)), "LimitExceededException");
    expect_err!(k.create_stream(create("noshards", None, None)), "InvalidArgumentException");
    expect_err!(k.create_stream(create("mode", Some(1), Some("TURBO"))), "ValidationException");
    expect_err!(k.create_stream(create("good", Some(1), None)), "ResourceInUseException");
    expect_err!(
        k.delete_stream(DeleteStreamRequest { stream_name: "missing".into(), ..Default::default() }),
        "ResourceNotFoundException"
    );
    expect_err!(
        k.describe_stream(DescribeStreamRequest { stream_name: "missing".into(), ..Default::default() }),
        "ResourceNotFoundException"
    );
    expect_err!(
        k.describe_stream(DescribeStreamRequest { stream_name: "good".into(), limit: Some(0), ..Default::default() }),
        "ValidationException"
    );
    expect_err!(
        k.describe_stream_summary(DescribeStreamSummaryRequest {
            stream_name: "missing".into(),
            stream_arn: String::new()
        }),
        "ResourceNotFoundException"
    );
    expect_err!(k.list_streams(ListStreamsRequest { limit: Some(0), ..Default::default() }), "ValidationException");
    expect_err!(
        k.list_streams(ListStreamsRequest { next_token: "garbage".into(), ..Default::default() }),
        "InvalidArgumentException"
    );

    // PutRecord
    expect_err!(k.put_record(put("missing", "k", b"x")), "ResourceNotFoundException");
    expect_err!(k.put_record(put("good", "", b"x")), "ValidationException");
    expect_err!(k.put_record(put("good", &"p".repeat(257), b"x")), "ValidationException");
    expect_err!(k.put_record(put("good", "k", &vec![0u8; 1024 * 1024 + 1])), "ValidationException");
    for bad_key in ["340282366920938463463374607431768211456", "-1", "01", "12a"] {
        let req = PutRecordRequest { explicit_hash_key: Some(bad_key.into()), ..put("good", "k", b"x") };
        expect_err!(k.put_record(req), "InvalidArgumentException");
    }
    let req = PutRecordRequest { sequence_number_for_ordering: Some("abc".into()), ..put("good", "k", b"x") };
    expect_err!(k.put_record(req), "InvalidArgumentException");

    // PutRecords
    let records = |entries: Vec<PutRecordsRequestEntry>| PutRecordsRequest {
        records: entries,
        stream_name: "good".into(),
        stream_arn: String::new(),
    };
    expect_err!(k.put_records(records(vec![])), "ValidationException");
    expect_err!(k.put_records(records((0..501).map(|_| entry("k", b"x")).collect())), "ValidationException");
    expect_err!(
        k.put_records(records((0..6).map(|_| entry("k", &vec![1u8; 1024 * 1024])).collect())),
        "InvalidArgumentException"
    );
    expect_err!(k.put_records(records(vec![entry("k", b"fine"), entry("", b"bad key")])), "ValidationException");
    let mut bad_hash = entry("k", b"x");
    bad_hash.explicit_hash_key = Some("99999999999999999999999999999999999999999".into());
    expect_err!(k.put_records(records(vec![entry("k", b"fine"), bad_hash])), "InvalidArgumentException");

    // GetShardIterator
    let shards = shard_ids(&mut k, "good").await;
    expect_err!(
        k.get_shard_iterator(iterator_req("good", "shardId-000000000099", "TRIM_HORIZON")),
        "ResourceNotFoundException"
    );
    expect_err!(k.get_shard_iterator(iterator_req("good", "shard-7", "TRIM_HORIZON")), "ValidationException");
    expect_err!(k.get_shard_iterator(iterator_req("good", &shards[0], "SOMEWHERE")), "ValidationException");
    expect_err!(k.get_shard_iterator(iterator_req("missing", &shards[0], "LATEST")), "ResourceNotFoundException");
    expect_err!(
        k.get_shard_iterator(iterator_req("good", &shards[0], "AT_SEQUENCE_NUMBER")),
        "InvalidArgumentException"
    );
    expect_err!(k.get_shard_iterator(iterator_req("good", &shards[0], "AT_TIMESTAMP")), "InvalidArgumentException");
    let other_shard_seq = runnel_node::domain::SequenceNumber::new(ShardId(1), 5).to_string();
    let req = GetShardIteratorRequest {
        starting_sequence_number: Some(other_shard_seq),
        ..iterator_req("good", &shards[0], "AT_SEQUENCE_NUMBER")
    };
    expect_err!(k.get_shard_iterator(req), "InvalidArgumentException");

    // GetRecords
    let get = |it: &str, limit: Option<i32>| GetRecordsRequest {
        shard_iterator: it.into(),
        limit,
        stream_arn: String::new(),
    };
    expect_err!(k.get_records(get("not-an-iterator", None)), "InvalidArgumentException");
    let it = k
        .get_shard_iterator(iterator_req("good", &shards[0], "TRIM_HORIZON"))
        .await
        .unwrap()
        .into_inner()
        .shard_iterator;
    expect_err!(k.get_records(get(&it, Some(0))), "ValidationException");
    expect_err!(k.get_records(get(&it, Some(10_001))), "ValidationException");
    let mut stale: ShardIterator = tokens::open(&it).expect("our own iterator opens");
    stale.issued_ms -= 5 * 60 * 1000 + 1000;
    expect_err!(k.get_records(get(&tokens::seal(&stale), None)), "ExpiredIteratorException");

    // ListShards
    let req = ListShardsRequest { stream_name: "good".into(), next_token: "x".into(), ..Default::default() };
    expect_err!(k.list_shards(req), "InvalidArgumentException");
    let filter = ShardFilter { r#type: "SIDEWAYS".into(), ..Default::default() };
    expect_err!(
        k.list_shards(ListShardsRequest {
            stream_name: "good".into(),
            shard_filter: Some(filter),
            ..Default::default()
        }),
        "ValidationException"
    );
    let filter = ShardFilter { r#type: "AT_TIMESTAMP".into(), ..Default::default() };
    expect_err!(
        k.list_shards(ListShardsRequest {
            stream_name: "good".into(),
            shard_filter: Some(filter),
            ..Default::default()
        }),
        "InvalidArgumentException"
    );
    let old = NextToken {
        stream: Some(StreamName::parse("good").unwrap()),
        incarnation: 1,
        after: "0".into(),
        page_size: 1,
        issued_ms: 0,
    };
    expect_err!(
        k.list_shards(ListShardsRequest { next_token: tokens::seal(&old), ..Default::default() }),
        "ExpiredNextTokenException"
    );
    expect_err!(
        k.list_shards(ListShardsRequest { stream_name: "missing".into(), ..Default::default() }),
        "ResourceNotFoundException"
    );

    // Nothing changed: one stream, one record.
    let names = k.list_streams(ListStreamsRequest::default()).await.unwrap().into_inner().stream_names;
    assert_eq!(names, vec!["good".to_string()]);
    let mut total = 0;
    for shard in &shards {
        total += read_shard(&mut k, "good", shard).await.len();
    }
    assert_eq!(total, 1, "rejected puts must not write anything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterators_routing_and_ordering_follow_kinesis() {
    let cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "it", 3).await;
    let listed = k
        .list_shards(ListShardsRequest { stream_name: "it".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .shards;

    // MD5 routing: the put lands on the shard whose range holds md5(partition key).
    for pk in ["alpha", "beta", "gamma", "δέλτα", "0", "a-much-longer-partition-key-with-many-characters"] {
        let reply = k.put_record(put("it", pk, pk.as_bytes())).await.unwrap().into_inner();
        let key = HashKey::of_partition_key(pk).0;
        let expected = listed
            .iter()
            .find(|s| {
                let r = s.hash_key_range.as_ref().unwrap();
                r.starting_hash_key.parse::<u128>().unwrap() <= key && key <= r.ending_hash_key.parse::<u128>().unwrap()
            })
            .unwrap();
        assert_eq!(reply.shard_id, expected.shard_id, "partition key {pk:?}");
    }
    // ExplicitHashKey overrides the MD5.
    for (key, shard) in [("0", 0usize), (&*u128::MAX.to_string(), 2)] {
        let req = PutRecordRequest { explicit_hash_key: Some(key.into()), ..put("it", "ignored", b"explicit") };
        let reply = k.put_record(req).await.unwrap().into_inner();
        assert_eq!(reply.shard_id, listed[shard].shard_id);
    }

    // Ten records on one shard, a little apart in time.
    let mut seqs = Vec::new();
    let mut shard = String::new();
    for i in 0..10 {
        let reply = k.put_record(put("it", "same-key", format!("n{i}").as_bytes())).await.unwrap().into_inner();
        shard = reply.shard_id;
        seqs.push(reply.sequence_number);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let all = read_shard(&mut k, "it", &shard).await;
    let ours: Vec<&Record> = all.iter().filter(|r| r.partition_key == "same-key").collect();
    assert_eq!(ours.iter().map(|r| r.sequence_number.clone()).collect::<Vec<_>>(), seqs);

    let from = |kind: &str, seq: Option<&String>| GetShardIteratorRequest {
        starting_sequence_number: seq.cloned(),
        ..iterator_req("it", &shard, kind)
    };
    let first_of = |k: &mut runnel_proto::v1::kinesis_client::KinesisClient<tonic::transport::Channel>,
                    it: String,
                    limit: Option<i32>| {
        let mut k = k.clone();
        async move {
            k.get_records(GetRecordsRequest { shard_iterator: it, limit, stream_arn: String::new() })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let it =
        k.get_shard_iterator(from("AT_SEQUENCE_NUMBER", Some(&seqs[4]))).await.unwrap().into_inner().shard_iterator;
    let page = first_of(&mut k, it, Some(3)).await;
    assert_eq!(page.records.iter().map(|r| &r.sequence_number).collect::<Vec<_>>(), vec![&seqs[4], &seqs[5], &seqs[6]]);
    assert!(page.millis_behind_latest > 0, "three of six remaining records read: behind the tip");
    let rest = first_of(&mut k, page.next_shard_iterator.unwrap(), None).await;
    assert_eq!(rest.records.iter().map(|r| &r.sequence_number).collect::<Vec<_>>(), vec![&seqs[7], &seqs[8], &seqs[9]]);
    assert_eq!(rest.millis_behind_latest, 0);

    let it =
        k.get_shard_iterator(from("AFTER_SEQUENCE_NUMBER", Some(&seqs[8]))).await.unwrap().into_inner().shard_iterator;
    let page = first_of(&mut k, it, None).await;
    assert_eq!(page.records.iter().map(|r| &r.sequence_number).collect::<Vec<_>>(), vec![&seqs[9]]);

    // AT_TIMESTAMP: the first record that arrived at or after the given time.
    let t = ours[6].approximate_arrival_timestamp;
    let req = GetShardIteratorRequest { timestamp: Some(t), ..iterator_req("it", &shard, "AT_TIMESTAMP") };
    let it = k.get_shard_iterator(req).await.unwrap().into_inner().shard_iterator;
    let page = first_of(&mut k, it, Some(1)).await;
    let first = &page.records[0];
    assert!(first.approximate_arrival_timestamp >= t);
    let seq = |r: &Record| r.sequence_number.parse::<u128>().unwrap();
    assert!(all.iter().filter(|r| seq(r) < seq(first)).all(|r| r.approximate_arrival_timestamp < t));

    // LATEST sees only what comes after it.
    let it = k.get_shard_iterator(iterator_req("it", &shard, "LATEST")).await.unwrap().into_inner().shard_iterator;
    assert!(first_of(&mut k, it.clone(), None).await.records.is_empty());
    let later = k.put_record(put("it", "same-key", b"after latest")).await.unwrap().into_inner();
    let page = first_of(&mut k, it, None).await;
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].sequence_number, later.sequence_number);

    // SequenceNumberForOrdering: strictly greater, even given a number from a busier shard.
    let huge = runnel_node::domain::SequenceNumber::new(ShardId(2), 1_000_000).to_string();
    let req =
        PutRecordRequest { sequence_number_for_ordering: Some(huge.clone()), ..put("it", "same-key", b"ordered") };
    let reply = k.put_record(req).await.unwrap().into_inner();
    assert!(reply.sequence_number.parse::<u128>().unwrap() > huge.parse::<u128>().unwrap());
    let next = k.put_record(put("it", "same-key", b"next")).await.unwrap().into_inner();
    assert!(next.sequence_number.parse::<u128>().unwrap() > reply.sequence_number.parse::<u128>().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_and_deletion() {
    let cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(1).await;
    for name in ["s1", "s2", "s3", "s4", "s5"] {
        k.create_stream(CreateStreamRequest {
            stream_name: name.into(),
            shard_count: Some(1),
            stream_mode_details: None,
        })
        .await
        .unwrap();
    }
    // ListStreams, two at a time.
    let mut names = Vec::new();
    let mut token = String::new();
    for _ in 0..10 {
        let page = k
            .list_streams(ListStreamsRequest { limit: Some(2), next_token: token.clone(), ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        assert!(page.stream_names.len() <= 2);
        names.extend(page.stream_names);
        match (page.has_more_streams, page.next_token) {
            (true, Some(t)) => token = t,
            (false, None) => break,
            other => panic!("HasMoreStreams and NextToken disagree: {other:?}"),
        }
    }
    assert_eq!(names, vec!["s1", "s2", "s3", "s4", "s5"]);
    let page = k
        .list_streams(ListStreamsRequest { exclusive_start_stream_name: "s3".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.stream_names, vec!["s4", "s5"]);

    // ListShards and DescribeStream pages over 7 shards.
    create_active(&mut k, "wide", 7).await;
    let mut ids = Vec::new();
    let mut page = k
        .list_shards(ListShardsRequest { stream_name: "wide".into(), max_results: Some(3), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    for _ in 0..10 {
        assert!(page.shards.len() <= 3);
        ids.extend(page.shards.iter().map(|s| s.shard_id.clone()));
        let Some(t) = page.next_token.clone() else { break };
        page = k.list_shards(ListShardsRequest { next_token: t, ..Default::default() }).await.unwrap().into_inner();
    }
    let expected: Vec<String> = (0..7).map(|i| ShardId(i).to_string()).collect();
    assert_eq!(ids, expected);
    let after = k
        .list_shards(ListShardsRequest {
            stream_name: "wide".into(),
            exclusive_start_shard_id: ShardId(4).to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.shards.len(), 2);
    let d = k
        .describe_stream(DescribeStreamRequest { stream_name: "wide".into(), limit: Some(5), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .stream_description
        .unwrap();
    assert_eq!((d.shards.len(), d.has_more_shards, d.stream_status.as_str()), (5, true, "ACTIVE"));
    let d = k
        .describe_stream(DescribeStreamRequest {
            stream_name: "wide".into(),
            exclusive_start_shard_id: ShardId(4).to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .stream_description
        .unwrap();
    assert_eq!((d.shards.len(), d.has_more_shards), (2, false));
    // Hash ranges: contiguous, covering the whole space.
    let mut next = 0u128;
    let all = k
        .list_shards(ListShardsRequest { stream_name: "wide".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .shards;
    for s in &all {
        let r = s.hash_key_range.as_ref().unwrap();
        assert_eq!(r.starting_hash_key.parse::<u128>().unwrap(), next);
        let end = r.ending_hash_key.parse::<u128>().unwrap();
        next = end.wrapping_add(1);
    }
    assert_eq!(next, 0, "the last shard must end at 2^128-1");

    // Delete: iterators of the old stream stop working; the name can be used again.
    create_active(&mut k, "gone", 1).await;
    k.put_record(put("gone", "k", b"old")).await.unwrap();
    let it = k
        .get_shard_iterator(iterator_req("gone", &ShardId(0).to_string(), "TRIM_HORIZON"))
        .await
        .unwrap()
        .into_inner()
        .shard_iterator;
    k.delete_stream(DeleteStreamRequest { stream_name: "gone".into(), ..Default::default() }).await.unwrap();
    expect_err!(k.put_record(put("gone", "k", b"late")), "ResourceNotFoundException");
    let mut recreated = false;
    for _ in 0..100 {
        let req = CreateStreamRequest { stream_name: "gone".into(), shard_count: Some(1), stream_mode_details: None };
        match k.create_stream(req).await {
            Ok(_) => {
                recreated = true;
                break;
            }
            Err(status) => assert_eq!(error_name(&status), "ResourceInUseException"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recreated, "a deleted stream's name becomes free");
    common::wait_active(&mut k, "gone").await;
    expect_err!(
        k.get_records(GetRecordsRequest { shard_iterator: it, limit: None, stream_arn: String::new() }),
        "ResourceNotFoundException"
    );
    assert!(read_shard(&mut k, "gone", &ShardId(0).to_string()).await.is_empty(), "a new stream starts empty");
}
