//! Input validation as Kinesis does it, against a real node: a member that breaks its
//! length, range, pattern or enum in the API model is a ValidationException worded as
//! Kinesis words it; a well-formed member that is semantically wrong is an
//! InvalidArgumentException (or ResourceNotFoundException); GetShardIterator's position
//! rules, short shard ids, ListShards' stream-or-token rule, and a request too large to
//! decode, which still gets a Kinesis error name.

mod common;

use common::{create_active, error_name, iterator_req, shard_ids, Cluster};
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::time::{SystemTime, UNIX_EPOCH};
use tonic::transport::Channel;

/// One node is enough: validation happens before anything is replicated.
const ONE_NODE: &str = "replication_factor = 1\n";

const ACCOUNT: &str = "000000000000";

async fn one_node() -> (Cluster, KinesisClient<Channel>) {
    let cluster = Cluster::start_with_config(1, Some(ONE_NODE)).await;
    let k = cluster.kinesis(0).await;
    (cluster, k)
}

/// The Kinesis error name and message (without the name prefix) of a refused call.
async fn refused<T: std::fmt::Debug>(
    call: impl std::future::Future<Output = Result<T, tonic::Status>>,
) -> (String, String) {
    match call.await {
        Ok(reply) => panic!("expected a refusal, got {reply:?}"),
        Err(status) => {
            let name = error_name(&status);
            let message = status.message().strip_prefix(&format!("{name}: ")).unwrap_or(status.message()).to_string();
            (name, message)
        }
    }
}

fn put(stream: &str, key: &str) -> PutRecordRequest {
    PutRecordRequest {
        stream_name: stream.into(),
        partition_key: key.into(),
        data: b"x".to_vec(),
        ..Default::default()
    }
}

fn ids(shards: &[Shard]) -> Vec<String> {
    shards.iter().map(|s| s.shard_id.clone()).collect()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

fn one_error(value: &str, member: &str, constraint: &str) -> String {
    format!("1 validation error detected: Value {value} at '{member}' failed to satisfy constraint: {constraint}")
}

const POSITIONS: &str = "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_iterator_positions_follow_kinesis() {
    let (_cluster, mut k) = one_node().await;
    create_active(&mut k, "pos", 1).await;
    let written = k.put_record(put("pos", "k")).await.unwrap().into_inner();
    let shard = written.shard_id.clone();
    let with_seq = |kind: &str| GetShardIteratorRequest {
        starting_sequence_number: Some(written.sequence_number.clone()),
        ..iterator_req("pos", &shard, kind)
    };

    for kind in ["TRIM_HORIZON", "LATEST"] {
        let (name, message) = refused(k.get_shard_iterator(with_seq(kind))).await;
        assert_eq!(name, "InvalidArgumentException");
        assert_eq!(message, format!("{POSITIONS} Request specified {kind} and also a StartingSequenceNumber."));
    }
    for kind in ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"] {
        let (name, message) = refused(k.get_shard_iterator(iterator_req("pos", &shard, kind))).await;
        assert_eq!(name, "InvalidArgumentException");
        assert_eq!(message, format!("{POSITIONS} Request specified {kind} and no StartingSequenceNumber."));
        // With one it works.
        k.get_shard_iterator(with_seq(kind)).await.expect("a position with its sequence number");
    }

    let (name, message) = refused(k.get_shard_iterator(iterator_req("pos", &shard, "AT_TIMESTAMP"))).await;
    assert_eq!(name, "InvalidArgumentException");
    assert_eq!(
        message,
        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter."
    );

    let future = now_ms() + 3_600_000;
    let req = GetShardIteratorRequest { timestamp: Some(future), ..iterator_req("pos", &shard, "AT_TIMESTAMP") };
    let (name, message) = refused(k.get_shard_iterator(req)).await;
    assert_eq!(name, "InvalidArgumentException");
    let prefix = format!(
        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {future}, currentTimestampInMillis: "
    );
    let current: i64 = message.strip_prefix(&prefix).unwrap_or_else(|| panic!("{message}")).parse().expect("a number");
    assert!(current < future && current > future - 7_200_000, "{current}");

    // A past timestamp is fine and reads the record written before it.
    let req =
        GetShardIteratorRequest { timestamp: Some(now_ms() - 60_000), ..iterator_req("pos", &shard, "AT_TIMESTAMP") };
    let it = k.get_shard_iterator(req).await.expect("a past timestamp").into_inner().shard_iterator;
    let page = k.get_records(GetRecordsRequest { shard_iterator: it.clone(), ..Default::default() }).await.unwrap();
    assert_eq!(page.into_inner().records.len(), 1);
    // GetRecords' optional StreamARN must name the iterator's stream.
    let get = |arn: &str| GetRecordsRequest {
        shard_iterator: it.clone(),
        limit: None,
        stream_arn: format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{arn}"),
    };
    assert_eq!(k.get_records(get("pos")).await.expect("its own stream").into_inner().records.len(), 1);
    let (name, _) = refused(k.get_records(get("other"))).await;
    assert_eq!(name, "InvalidArgumentException");

    // A well-formed sequence number of another shard, or one Runnel cannot have issued.
    let other_shard = (u128::from(7u32) | (1u128 << 32)).to_string();
    let req = GetShardIteratorRequest {
        starting_sequence_number: Some(other_shard),
        ..iterator_req("pos", &shard, "AT_SEQUENCE_NUMBER")
    };
    let (name, message) = refused(k.get_shard_iterator(req)).await;
    assert_eq!(name, "InvalidArgumentException");
    assert_eq!(
        message,
        "Invalid StartingSequenceNumber. It encodes shardId-000000000007, while it was used in a call to a shard with shardId-000000000000"
    );
    let huge = "9".repeat(100);
    let req = GetShardIteratorRequest {
        starting_sequence_number: Some(huge.clone()),
        ..iterator_req("pos", &shard, "AT_SEQUENCE_NUMBER")
    };
    let (name, message) = refused(k.get_shard_iterator(req)).await;
    assert_eq!(name, "InvalidArgumentException");
    assert_eq!(
        message,
        format!("StartingSequenceNumber {huge} used in GetShardIterator on shard {shard} in stream pos under account {ACCOUNT} is invalid.")
    );
    // Not a decimal at all: the member's pattern.
    let req = GetShardIteratorRequest {
        starting_sequence_number: Some("0x10".into()),
        ..iterator_req("pos", &shard, "AT_SEQUENCE_NUMBER")
    };
    let (name, message) = refused(k.get_shard_iterator(req)).await;
    assert_eq!(name, "ValidationException");
    assert_eq!(
        message,
        one_error(
            "'0x10'",
            "startingSequenceNumber",
            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_shard_ids_name_shards_as_in_kinesis() {
    let (_cluster, mut k) = one_node().await;
    create_active(&mut k, "short", 2).await;
    let shards = shard_ids(&mut k, "short").await;
    assert_eq!(shards, vec!["shardId-000000000000", "shardId-000000000001"]);
    // A record in shard 1, read through every way of naming shard 1.
    let mut written = None;
    for i in 0..200 {
        let reply = k.put_record(put("short", &format!("key-{i}"))).await.unwrap().into_inner();
        if reply.shard_id == shards[1] {
            written = Some(reply.sequence_number);
            break;
        }
    }
    let written = written.expect("some key routes to shard 1");
    for member in ["shardId-000000000001", "shardId-1", "1", "shard-1", "a-b-0001", "-1"] {
        let it = k
            .get_shard_iterator(iterator_req("short", member, "TRIM_HORIZON"))
            .await
            .unwrap_or_else(|e| panic!("{member}: {e:?}"))
            .into_inner()
            .shard_iterator;
        let page = k.get_records(GetRecordsRequest { shard_iterator: it, ..Default::default() }).await.unwrap();
        let seqs: Vec<String> = page.into_inner().records.into_iter().map(|r| r.sequence_number).collect();
        assert_eq!(seqs, vec![written.clone()], "{member}");
    }

    // A number the stream has no shard for.
    for member in ["shardId-7", "7", "x-0000007"] {
        let (name, message) = refused(k.get_shard_iterator(iterator_req("short", member, "LATEST"))).await;
        assert_eq!(name, "ResourceNotFoundException", "{member}");
        assert_eq!(
            message,
            format!("Shard shardId-000000000007 in stream short under account {ACCOUNT} does not exist")
        );
    }
    // No number Kinesis can read.
    for member in ["ABKLFD8", "2147483648", "shardId-002147483648", "shardId-"] {
        let (name, message) = refused(k.get_shard_iterator(iterator_req("short", member, "LATEST"))).await;
        assert_eq!(name, "ResourceNotFoundException", "{member}");
        assert_eq!(message, format!("Could not find shard {member} in stream short under account {ACCOUNT}."));
    }
    // A shard of a stream that does not exist.
    let (name, message) = refused(k.get_shard_iterator(iterator_req("gone", "0", "LATEST"))).await;
    assert_eq!(name, "ResourceNotFoundException");
    assert_eq!(message, format!("Shard shardId-000000000000 in stream gone under account {ACCOUNT} does not exist"));
    // Broken pattern or length: a member constraint.
    let (name, message) = refused(k.get_shard_iterator(iterator_req("short", "shard 1", "LATEST"))).await;
    assert_eq!(name, "ValidationException");
    assert_eq!(
        message,
        one_error("'shard 1'", "shardId", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    );
    let long = "1".repeat(129);
    let (name, message) = refused(k.get_shard_iterator(iterator_req("short", &long, "LATEST"))).await;
    assert_eq!(name, "ValidationException");
    assert_eq!(
        message,
        one_error(&format!("'{long}'"), "shardId", "Member must have length less than or equal to 128")
    );

    // The other ShardId members read short ids too.
    let listed = k
        .list_shards(ListShardsRequest {
            stream_name: "short".into(),
            exclusive_start_shard_id: "0".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&listed.shards), vec![shards[1].clone()]);
    let described = k
        .describe_stream(DescribeStreamRequest {
            stream_name: "short".into(),
            exclusive_start_shard_id: "shardId-0".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let described = described.stream_description.expect("a description").shards;
    assert_eq!(ids(&described), vec![shards[1].clone()]);
    let (name, _) = refused(k.merge_shards(MergeShardsRequest {
        stream_name: "short".into(),
        shard_to_merge: "0".into(),
        adjacent_shard_to_merge: "shardId-9".into(),
        ..Default::default()
    }))
    .await;
    assert_eq!(name, "ResourceNotFoundException");
    let (name, message) = refused(k.split_shard(SplitShardRequest {
        stream_name: "short".into(),
        shard_to_split: "shard-one".into(),
        new_starting_hash_key: "5".into(),
        ..Default::default()
    }))
    .await;
    assert_eq!(name, "ResourceNotFoundException");
    assert_eq!(message, format!("Could not find shard shard-one in stream short under account {ACCOUNT}."));
    // Merging by short ids works.
    k.merge_shards(MergeShardsRequest {
        stream_name: "short".into(),
        shard_to_merge: "0".into(),
        adjacent_shard_to_merge: "shardId-1".into(),
        ..Default::default()
    })
    .await
    .expect("merge by short ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_constraints_are_validation_exceptions_in_kinesis_words() {
    let (_cluster, mut k) = one_node().await;
    create_active(&mut k, "v", 1).await;
    let pattern = |p: &str| format!("Member must satisfy regular expression pattern: {p}");
    let at_most = |n: usize| format!("Member must have length less than or equal to {n}");
    let value_at_least = |n: i64| format!("Member must have value greater than or equal to {n}");
    let value_at_most = |n: i64| format!("Member must have value less than or equal to {n}");

    // PutRecord: ExplicitHashKey and SequenceNumberForOrdering patterns, then their values.
    let req = PutRecordRequest { explicit_hash_key: Some("01".into()), ..put("v", "k") };
    assert_eq!(
        refused(k.put_record(req)).await,
        ("ValidationException".into(), one_error("'01'", "explicitHashKey", &pattern("0|([1-9]\\d{0,38})")))
    );
    let over = "340282366920938463463374607431768211456";
    let req = PutRecordRequest { explicit_hash_key: Some(over.into()), ..put("v", "k") };
    assert_eq!(
        refused(k.put_record(req)).await,
        (
            "InvalidArgumentException".into(),
            format!("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {over}")
        )
    );
    let req = PutRecordRequest { sequence_number_for_ordering: Some("-5".into()), ..put("v", "k") };
    assert_eq!(
        refused(k.put_record(req)).await,
        ("ValidationException".into(), one_error("'-5'", "sequenceNumberForOrdering", &pattern("0|([1-9]\\d{0,128})")))
    );
    let never = "9".repeat(129);
    let req = PutRecordRequest { sequence_number_for_ordering: Some(never.clone()), ..put("v", "k") };
    assert_eq!(
        refused(k.put_record(req)).await,
        (
            "InvalidArgumentException".into(),
            format!("ExclusiveMinimumSequenceNumber {never} used in PutRecord on stream v under account {ACCOUNT} is invalid.")
        )
    );
    let req = put("v", &"p".repeat(257));
    let (name, message) = refused(k.put_record(req)).await;
    assert_eq!(
        (
            name.as_str(),
            message.ends_with(&format!("at 'partitionKey' failed to satisfy constraint: {}", at_most(256)))
        ),
        ("ValidationException", true),
        "{message}"
    );
    // The Data member holds up to the largest record any stream takes (10 MiB); a stream's
    // own limit comes after (kinesis_api.rs).
    let req = PutRecordRequest { data: vec![0; 10 * 1024 * 1024 + 1], ..put("v", "k") };
    assert_eq!(
        refused(k.put_record(req)).await,
        (
            "ValidationException".into(),
            one_error("'java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]'", "data", &at_most(10_485_760))
        )
    );

    // Stream names and ARNs.
    let long = "s".repeat(129);
    assert_eq!(
        refused(k.put_record(put(&long, "k"))).await,
        ("ValidationException".into(), one_error(&format!("'{long}'"), "streamName", &at_most(128)))
    );
    let summary =
        |name: &str, arn: &str| DescribeStreamSummaryRequest { stream_name: name.into(), stream_arn: arn.into() };
    assert_eq!(
        refused(k.describe_stream_summary(summary("", "arn:aws:sqs:local:000000000000:queue/v"))).await,
        (
            "ValidationException".into(),
            one_error(
                "'arn:aws:sqs:local:000000000000:queue/v'",
                "streamARN",
                &pattern("arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+")
            )
        )
    );
    let long_arn = format!("arn:aws:kinesis:us-east-1:000000000000:stream/{}", "a".repeat(2_048));
    let (name, message) = refused(k.describe_stream_summary(summary("", &long_arn))).await;
    assert_eq!(name, "ValidationException");
    assert!(
        message.ends_with(&format!("at 'streamARN' failed to satisfy constraint: {}", at_most(2_048))),
        "{message}"
    );
    let arn = format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/v");
    let by_arn = k.describe_stream_summary(summary("", &arn)).await.expect("by ARN").into_inner();
    assert_eq!(by_arn.stream_description_summary.expect("a summary").stream_name, "v");
    let (name, _) = refused(k.describe_stream_summary(summary("w", &arn))).await;
    assert_eq!(name, "InvalidArgumentException", "a name and an ARN of different streams");
    assert_eq!(
        refused(k.describe_stream_summary(summary("", ""))).await,
        ("ValidationException".into(), one_error("null", "streamName", "Member must not be null"))
    );

    // GetRecords: ShardIterator length, Limit range; a well-formed unknown iterator.
    let get = |it: &str, limit: Option<i32>| GetRecordsRequest {
        shard_iterator: it.into(),
        limit,
        stream_arn: String::new(),
    };
    let (name, message) = refused(k.get_records(get(&"A".repeat(513), None))).await;
    assert_eq!(name, "ValidationException");
    assert!(
        message.ends_with(&format!("at 'shardIterator' failed to satisfy constraint: {}", at_most(512))),
        "{message}"
    );
    assert_eq!(
        refused(k.get_records(get("AAAA", None))).await,
        ("InvalidArgumentException".into(), "Invalid ShardIterator.".into())
    );
    assert_eq!(
        refused(k.get_records(get("AAAA", Some(0)))).await,
        ("ValidationException".into(), one_error("'0'", "limit", &value_at_least(1)))
    );
    assert_eq!(
        refused(k.get_records(get("AAAA", Some(10_001)))).await,
        ("ValidationException".into(), one_error("'10001'", "limit", &value_at_most(10_000)))
    );

    // Listing members.
    let list = |name: &str| ListStreamsRequest { exclusive_start_stream_name: name.into(), ..Default::default() };
    assert_eq!(
        refused(k.list_streams(list("not ok"))).await,
        ("ValidationException".into(), one_error("'not ok'", "exclusiveStartStreamName", &pattern("[a-zA-Z0-9_.-]+")))
    );
    let (name, message) = refused(k.list_streams(list(&"n".repeat(129)))).await;
    assert_eq!((name.as_str(), message.ends_with(&at_most(128))), ("ValidationException", true), "{message}");
    let after_u = k.list_streams(list("u")).await.unwrap().into_inner().stream_names;
    assert_eq!(after_u, vec!["v".to_string()]);
    assert!(k.list_streams(list("v")).await.unwrap().into_inner().stream_names.is_empty());
    let (name, message) =
        refused(k.list_streams(ListStreamsRequest { next_token: "t".repeat(1_048_577), ..Default::default() })).await;
    assert_eq!(name, "ValidationException");
    assert!(
        message.ends_with(&format!("at 'nextToken' failed to satisfy constraint: {}", at_most(1_048_576))),
        "{message}"
    );
    let shards = |max: i32| ListShardsRequest { stream_name: "v".into(), max_results: Some(max), ..Default::default() };
    assert_eq!(
        refused(k.list_shards(shards(0))).await,
        ("ValidationException".into(), one_error("'0'", "maxResults", &value_at_least(1)))
    );
    assert_eq!(k.list_shards(shards(10_000)).await.expect("10,000 is in range").into_inner().shards.len(), 1);
    let describe = DescribeStreamRequest { stream_name: "v".into(), limit: Some(10_001), ..Default::default() };
    assert_eq!(
        refused(k.describe_stream(describe)).await,
        ("ValidationException".into(), one_error("'10001'", "limit", &value_at_most(10_000)))
    );

    // Creation and resharding members.
    let create = CreateStreamRequest {
        stream_name: "w".into(),
        shard_count: Some(100_001),
        stream_mode_details: None,
        ..Default::default()
    };
    assert_eq!(
        refused(k.create_stream(create)).await,
        ("ValidationException".into(), one_error("'100001'", "shardCount", &value_at_most(100_000)))
    );
    let scale = |target: i32, scaling: &str| UpdateShardCountRequest {
        stream_name: "v".into(),
        target_shard_count: target,
        scaling_type: scaling.into(),
        stream_arn: String::new(),
    };
    assert_eq!(
        refused(k.update_shard_count(scale(2, "SIDEWAYS"))).await,
        (
            "ValidationException".into(),
            one_error("'SIDEWAYS'", "scalingType", "Member must satisfy enum value set: [UNIFORM_SCALING]")
        )
    );
    assert_eq!(
        refused(k.update_shard_count(scale(100_001, "UNIFORM_SCALING"))).await,
        ("ValidationException".into(), one_error("'100001'", "targetShardCount", &value_at_most(100_000)))
    );
    let split = |key: &str| SplitShardRequest {
        stream_name: "v".into(),
        shard_to_split: "0".into(),
        new_starting_hash_key: key.into(),
        stream_arn: String::new(),
    };
    assert_eq!(
        refused(k.split_shard(split("1e5"))).await,
        ("ValidationException".into(), one_error("'1e5'", "newStartingHashKey", &pattern("0|([1-9]\\d{0,38})")))
    );
    let (name, message) = refused(k.split_shard(split(over))).await;
    assert_eq!(name, "InvalidArgumentException");
    assert!(message.starts_with("Invalid NewStartingHashKey."), "{message}");

    // Several violations at once, each named.
    let req = PutRecordsRequest {
        stream_name: "v v".into(),
        records: vec![PutRecordsRequestEntry {
            data: vec![],
            explicit_hash_key: Some("x".into()),
            partition_key: String::new(),
        }],
        stream_arn: String::new(),
    };
    assert_eq!(
        refused(k.put_records(req)).await,
        (
            "ValidationException".into(),
            format!(
                "3 validation errors detected: \
                 Value 'x' at 'records.1.member.explicitHashKey' failed to satisfy constraint: {}; \
                 Value null at 'records.1.member.partitionKey' failed to satisfy constraint: Member must not be null; \
                 Value 'v v' at 'streamName' failed to satisfy constraint: {}",
                pattern("0|([1-9]\\d{0,38})"),
                pattern("[a-zA-Z0-9_.-]+")
            )
        )
    );
    // Nothing above wrote anything.
    let it = k.get_shard_iterator(iterator_req("v", "0", "TRIM_HORIZON")).await.unwrap().into_inner().shard_iterator;
    assert!(k.get_records(get(&it, None)).await.unwrap().into_inner().records.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shards_takes_a_stream_or_a_token_never_both() {
    let (_cluster, mut k) = one_node().await;
    create_active(&mut k, "ls", 2).await;
    assert_eq!(
        refused(k.list_shards(ListShardsRequest::default())).await,
        ("InvalidArgumentException".into(), "Either NextToken or StreamName should be provided.".into())
    );
    let first = k
        .list_shards(ListShardsRequest { stream_name: "ls".into(), max_results: Some(1), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let token = first.next_token.expect("two shards, one per page");
    let both = ListShardsRequest { stream_name: "ls".into(), next_token: token.clone(), ..Default::default() };
    assert_eq!(
        refused(k.list_shards(both)).await,
        ("InvalidArgumentException".into(), "NextToken and StreamName cannot be provided together.".into())
    );
    let arn = format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/ls");
    let (name, _) = refused(k.list_shards(ListShardsRequest {
        stream_arn: arn.clone(),
        next_token: token.clone(),
        ..Default::default()
    }))
    .await;
    assert_eq!(name, "InvalidArgumentException");
    let (name, _) = refused(k.list_shards(ListShardsRequest {
        next_token: token.clone(),
        exclusive_start_shard_id: "0".into(),
        ..Default::default()
    }))
    .await;
    assert_eq!(name, "InvalidArgumentException");
    let (name, _) = refused(k.list_shards(ListShardsRequest {
        next_token: token.clone(),
        stream_creation_timestamp: Some(1),
        ..Default::default()
    }))
    .await;
    assert_eq!(name, "InvalidArgumentException");
    // Each alone works; the ARN names the stream as well as the name does.
    let second =
        k.list_shards(ListShardsRequest { next_token: token, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(second.shards.len(), 1);
    let by_arn = k.list_shards(ListShardsRequest { stream_arn: arn, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(by_arn.shards.len(), 2);
    // A ShardFilter needs its type, from the model's enum.
    let filter = |kind: &str| ListShardsRequest {
        stream_name: "ls".into(),
        shard_filter: Some(ShardFilter { r#type: kind.into(), ..Default::default() }),
        ..Default::default()
    };
    assert_eq!(
        refused(k.list_shards(filter(""))).await,
        ("ValidationException".into(), one_error("null", "shardFilter.type", "Member must not be null"))
    );
    let (name, message) = refused(k.list_shards(filter("SIDEWAYS"))).await;
    assert_eq!(name, "ValidationException");
    assert!(
        message.contains(
            "at 'shardFilter.type' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SHARD_ID, "
        ),
        "{message}"
    );
}

/// The fault: a request over the node's decoding cap got tonic's OUT_OF_RANGE with no
/// Kinesis error name, which no Kinesis client maps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_gets_a_kinesis_error_name() {
    let (_cluster, mut k) = one_node().await;
    create_active(&mut k, "big", 1).await;
    const CAP_BYTES: usize = 15 * 1024 * 1024;

    let req = PutRecordRequest { data: vec![7; CAP_BYTES + 1], ..put("big", "k") };
    let status = k.put_record(req).await.expect_err("over the cap");
    assert_eq!(error_name(&status), "ValidationException", "{status:?}");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().starts_with("ValidationException: "), "{status:?}");

    let records = (0..16)
        .map(|i| PutRecordsRequestEntry {
            data: vec![1; 1024 * 1024],
            explicit_hash_key: None,
            partition_key: format!("k{i}"),
        })
        .collect();
    let status = k
        .put_records(PutRecordsRequest { records, stream_name: "big".into(), stream_arn: String::new() })
        .await
        .expect_err("over the cap");
    assert_eq!(error_name(&status), "InvalidArgumentException", "{status:?}");

    let status = k
        .get_records(GetRecordsRequest { shard_iterator: "A".repeat(CAP_BYTES + 1), ..Default::default() })
        .await
        .expect_err("over the cap");
    assert_eq!(error_name(&status), "ValidationException", "{status:?}");

    // The node still serves, and nothing was written.
    k.put_record(put("big", "k")).await.expect("a normal write after the refusals");
    let it = k.get_shard_iterator(iterator_req("big", "0", "TRIM_HORIZON")).await.unwrap().into_inner().shard_iterator;
    let page = k.get_records(GetRecordsRequest { shard_iterator: it, ..Default::default() }).await.unwrap();
    assert_eq!(page.into_inner().records.len(), 1);
}
