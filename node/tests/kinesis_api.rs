//! The Kinesis API against a real 3-node cluster: bad input of every kind gets the Kinesis
//! error and changes nothing; iterators, routing, pagination and deletion behave as in
//! Kinesis; SequenceNumberForOrdering must have been issued; tokens cannot be forged.

#[macro_use]
mod common;

use common::{create_active, error_name, iterator_req, read_shard, shard_ids, Cluster};
use runnel_node::domain::{SequenceNumber, ShardId};
use runnel_proto::hash_key::HashKey;
use runnel_proto::v1::*;
use std::time::Duration;

fn put(stream: &str, pk: &str, data: &[u8]) -> PutRecordRequest {
    PutRecordRequest { stream_name: stream.into(), data: data.to_vec(), partition_key: pk.into(), ..Default::default() }
}

fn entry(pk: &str, data: &[u8]) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry { data: data.to_vec(), explicit_hash_key: None, partition_key: pk.into() }
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
        ..Default::default()
    };
    expect_err!(k.create_stream(create("bad name", Some(1), None)), "ValidationException");
    expect_err!(k.create_stream(create(&"x".repeat(129), Some(1), None)), "ValidationException");
    expect_err!(k.create_stream(create("", Some(1), None)), "ValidationException");
    expect_err!(k.create_stream(create("zero", Some(0), None)), "ValidationException");
    expect_err!(k.create_stream(create("huge", Some(501), None)), "LimitExceededException");
    // A quota is final: no retry-after hint (only an overloaded node gives one).
    let quota = k.create_stream(create("huge", Some(501), None)).await.expect_err("over the shard quota");
    assert_eq!(quota.code(), tonic::Code::ResourceExhausted);
    assert!(quota.metadata().get(runnel_proto::RETRY_AFTER_METADATA_KEY).is_none(), "{quota:?}");
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
    // Above 2^128-1 but well-formed: a semantic error. Not even a decimal: the pattern.
    let req = PutRecordRequest {
        explicit_hash_key: Some("340282366920938463463374607431768211456".into()),
        ..put("good", "k", b"x")
    };
    expect_err!(k.put_record(req), "InvalidArgumentException");
    for bad_key in ["-1", "01", "12a"] {
        let req = PutRecordRequest { explicit_hash_key: Some(bad_key.into()), ..put("good", "k", b"x") };
        expect_err!(k.put_record(req), "ValidationException");
    }
    let req = PutRecordRequest { sequence_number_for_ordering: Some("abc".into()), ..put("good", "k", b"x") };
    expect_err!(k.put_record(req), "ValidationException");

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
    bad_hash.explicit_hash_key = Some("999999999999999999999999999999999999999".into());
    expect_err!(k.put_records(records(vec![entry("k", b"fine"), bad_hash])), "InvalidArgumentException");
    let mut bad_hash = entry("k", b"x");
    bad_hash.explicit_hash_key = Some("99999999999999999999999999999999999999999".into());
    expect_err!(k.put_records(records(vec![entry("k", b"fine"), bad_hash])), "ValidationException");

    // GetShardIterator
    let shards = shard_ids(&mut k, "good").await;
    expect_err!(
        k.get_shard_iterator(iterator_req("good", "shardId-000000000099", "TRIM_HORIZON")),
        "ResourceNotFoundException"
    );
    expect_err!(k.get_shard_iterator(iterator_req("good", "shard-7", "TRIM_HORIZON")), "ResourceNotFoundException");
    expect_err!(k.get_shard_iterator(iterator_req("good", "shard 7", "TRIM_HORIZON")), "ValidationException");
    expect_err!(k.get_shard_iterator(iterator_req("good", &shards[0], "SOMEWHERE")), "ValidationException");
    expect_err!(k.get_shard_iterator(iterator_req("missing", &shards[0], "LATEST")), "ResourceNotFoundException");
    expect_err!(
        k.get_shard_iterator(iterator_req("good", &shards[0], "AT_SEQUENCE_NUMBER")),
        "InvalidArgumentException"
    );
    expect_err!(k.get_shard_iterator(iterator_req("good", &shards[0], "AT_TIMESTAMP")), "InvalidArgumentException");
    let other_shard_seq = SequenceNumber::new(ShardId(1), 5).to_string();
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
    // Expiry (ExpiredIteratorException after 5 minutes) is unit-tested: a test can no
    // longer forge an old iterator (see forged_or_altered_tokens_are_refused).

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

    // SequenceNumberForOrdering: strictly greater, even given a number a busier shard issued.
    let busier = if shard == listed[0].shard_id { u128::MAX.to_string() } else { "0".to_string() };
    let entries: Vec<PutRecordsRequestEntry> = (0..40)
        .map(|i| PutRecordsRequestEntry {
            explicit_hash_key: Some(busier.clone()),
            ..entry("busy", format!("b{i}").as_bytes())
        })
        .collect();
    let busy = k
        .put_records(PutRecordsRequest { records: entries, stream_name: "it".into(), stream_arn: String::new() })
        .await;
    let busy = busy.unwrap().into_inner();
    assert_eq!(busy.failed_record_count, 0);
    let huge = busy.records.last().and_then(|r| r.sequence_number.clone()).expect("a sequence number");
    let huge_seq = SequenceNumber(huge.parse().unwrap());
    let own_last = SequenceNumber(later.sequence_number.parse().unwrap());
    assert_ne!(huge_seq.shard(), own_last.shard());
    assert!(huge_seq.counter() > own_last.counter(), "the other shard is busier: {huge_seq:?} vs {own_last:?}");
    let req =
        PutRecordRequest { sequence_number_for_ordering: Some(huge.clone()), ..put("it", "same-key", b"ordered") };
    let reply = k.put_record(req).await.unwrap().into_inner();
    assert_eq!(reply.shard_id, shard);
    assert!(reply.sequence_number.parse::<u128>().unwrap() > huge.parse::<u128>().unwrap());
    let next = k.put_record(put("it", "same-key", b"next")).await.unwrap().into_inner();
    assert!(next.sequence_number.parse::<u128>().unwrap() > reply.sequence_number.parse::<u128>().unwrap());
}

/// The regression: SequenceNumberForOrdering 2^128-1 used to push the shard's counter to
/// its end, and every later put to that shard failed. Now a number the stream did not issue
/// is refused, writes nothing, and the shard carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_number_for_ordering_must_have_been_issued() {
    let cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(1).await;
    create_active(&mut k, "ordering", 2).await;
    let ordered = |pk: &str, data: &str, after: String| PutRecordRequest {
        sequence_number_for_ordering: Some(after),
        ..put("ordering", pk, data.as_bytes())
    };
    let first = k.put_record(put("ordering", "k", b"first")).await.unwrap().into_inner();
    let first_seq = SequenceNumber(first.sequence_number.parse().unwrap());
    let shard: ShardId = first.shard_id.parse().unwrap();
    assert_eq!(first_seq.shard(), shard);
    let other = ShardId(1 - shard.0);
    let mut acked = vec![(first.sequence_number.clone(), "first".to_string())];

    // Numbers this stream did not issue, given the newest number of the shard.
    let refused: [(&str, &dyn Fn(SequenceNumber) -> String); 7] = [
        ("2^128-1: its counter does not even fit in 64 bits", &|_| u128::MAX.to_string()),
        ("far beyond anything the shard issued", &|last| {
            SequenceNumber::new(shard, last.counter() + 1_000_000).to_string()
        }),
        ("the shard's next counter, not issued yet", &|last| {
            SequenceNumber::new(shard, last.counter() + 1).to_string()
        }),
        ("the largest 64-bit counter", &|_| SequenceNumber::new(shard, u64::MAX).to_string()),
        ("a counter just past 64 bits", &|_| ((u128::from(u64::MAX) + 1) << 32 | u128::from(shard.0)).to_string()),
        ("a number of the other shard, which issued none", &|_| SequenceNumber::new(other, 1).to_string()),
        ("a shard the stream does not have", &|_| SequenceNumber::new(ShardId(7), 1).to_string()),
    ];
    for (i, (what, after)) in refused.iter().enumerate() {
        let last = SequenceNumber(acked.last().unwrap().0.parse().unwrap());
        let after = after(last);
        match k.put_record(ordered("k", &format!("refused-{i}"), after.clone())).await {
            Ok(reply) => panic!("SequenceNumberForOrdering {after} ({what}) accepted: {reply:?}"),
            Err(status) => {
                assert_eq!(error_name(&status), "InvalidArgumentException", "{after} ({what}): {status:?}");
                assert_eq!(status.code(), tonic::Code::InvalidArgument);
            }
        }
        // The shard still takes ordinary writes, with increasing numbers.
        let reply = k.put_record(put("ordering", "k", format!("plain-{i}").as_bytes())).await.unwrap().into_inner();
        assert_eq!(reply.shard_id, first.shard_id);
        assert!(reply.sequence_number.parse::<u128>().unwrap() > last.0);
        acked.push((reply.sequence_number, format!("plain-{i}")));
    }
    // PutRecords never takes the member; a batch on the shard still works.
    let entries: Vec<PutRecordsRequestEntry> = (0..5).map(|i| entry("k", format!("batch-{i}").as_bytes())).collect();
    let batch = k
        .put_records(PutRecordsRequest { records: entries, stream_name: "ordering".into(), stream_arn: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.failed_record_count, 0);
    for (i, r) in batch.records.iter().enumerate() {
        acked.push((r.sequence_number.clone().unwrap(), format!("batch-{i}")));
    }

    // A number just returned is valid, as is the other shard's once it issued one.
    let just_returned = acked.last().unwrap().0.clone();
    let reply = k.put_record(ordered("k", "after-own", just_returned.clone())).await.unwrap().into_inner();
    assert!(reply.sequence_number.parse::<u128>().unwrap() > just_returned.parse::<u128>().unwrap());
    acked.push((reply.sequence_number, "after-own".into()));
    let other_key = "0".to_string();
    let other_key = if other.0 == 0 { other_key } else { u128::MAX.to_string() };
    let on_other = PutRecordRequest { explicit_hash_key: Some(other_key), ..put("ordering", "x", b"other") };
    let on_other = k.put_record(on_other).await.unwrap().into_inner();
    assert_eq!(on_other.shard_id, other.to_string());
    let reply = k.put_record(ordered("k", "after-other", on_other.sequence_number.clone())).await.unwrap().into_inner();
    assert!(reply.sequence_number.parse::<u128>().unwrap() > on_other.sequence_number.parse::<u128>().unwrap());
    acked.push((reply.sequence_number, "after-other".into()));
    let reply = k.put_record(put("ordering", "k", b"last")).await.unwrap().into_inner();
    acked.push((reply.sequence_number, "last".into()));

    // The shard holds exactly the acknowledged records, in order: the refused wrote nothing.
    for node in 0..3 {
        let mut k = cluster.kinesis(node).await;
        let read: Vec<(String, String)> = read_shard(&mut k, "ordering", &first.shard_id)
            .await
            .into_iter()
            .map(|r| (r.sequence_number, String::from_utf8(r.data).unwrap()))
            .collect();
        assert_eq!(read, acked, "read through node {}", node + 1);
    }
}

/// Flips one character of `token` at `position` to another base64url character.
fn altered(token: &str, position: usize) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    chars[position] = match chars[position] {
        'A' => 'B',
        '-' => '_',
        _ => 'A',
    };
    chars.into_iter().collect()
}

/// Positions worth altering: the format byte, the key id, the body, the MAC, the last
/// character, and a spread in between.
fn positions(len: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..len).step_by(5).collect();
    p.extend([0, 1, 2, 6, len / 2, len - 22, len - 2, len - 1]);
    p.sort();
    p.dedup();
    p
}

/// Shard iterators and NextTokens are signed with the cluster's keys: a client that alters
/// one gets InvalidArgumentException, and the token it was given keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_altered_tokens_are_refused() {
    let cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(2).await;
    create_active(&mut k, "tokens", 3).await;
    create_active(&mut k, "tokens2", 1).await;
    let mut written = Vec::new();
    for i in 0..5 {
        let reply = k.put_record(put("tokens", "k", format!("r{i}").as_bytes())).await.unwrap().into_inner();
        written.push(reply.sequence_number);
    }
    let shard = k.put_record(put("tokens", "k", b"r5")).await.unwrap().into_inner();
    written.push(shard.sequence_number);
    let shard = shard.shard_id;
    let get = |it: &str| GetRecordsRequest { shard_iterator: it.into(), limit: Some(2), stream_arn: String::new() };
    let seqs = |page: &GetRecordsResponse| page.records.iter().map(|r| r.sequence_number.clone()).collect::<Vec<_>>();

    // A shard iterator from GetShardIterator.
    let it = k.get_shard_iterator(iterator_req("tokens", &shard, "TRIM_HORIZON")).await.unwrap().into_inner();
    let it = it.shard_iterator;
    for p in positions(it.len()) {
        expect_err!(k.get_records(get(&altered(&it, p))), "InvalidArgumentException");
    }
    for bad in [format!("{it}A"), it[..it.len() - 1].to_string(), "A".repeat(512)] {
        expect_err!(k.get_records(get(&bad)), "InvalidArgumentException");
    }
    // Absent or longer than the model allows: a member constraint.
    for bad in [String::new(), "A".repeat(513)] {
        expect_err!(k.get_records(get(&bad)), "ValidationException");
    }
    // The iterator it was given still works, on every node.
    for node in 0..3 {
        let page = cluster.kinesis(node).await.get_records(get(&it)).await.unwrap().into_inner();
        assert_eq!(seqs(&page), written[..2].to_vec());
    }

    // A NextShardIterator from GetRecords.
    let page = k.get_records(get(&it)).await.unwrap().into_inner();
    let next = page.next_shard_iterator.expect("a next iterator");
    for p in positions(next.len()) {
        expect_err!(k.get_records(get(&altered(&next, p))), "InvalidArgumentException");
    }
    let page = k.get_records(get(&next)).await.unwrap().into_inner();
    assert_eq!(seqs(&page), written[2..4].to_vec());

    // A ListShards NextToken.
    let first = k
        .list_shards(ListShardsRequest { stream_name: "tokens".into(), max_results: Some(1), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let token = first.next_token.expect("three shards, one per page");
    for p in positions(token.len()) {
        let req = ListShardsRequest { next_token: altered(&token, p), ..Default::default() };
        expect_err!(k.list_shards(req), "InvalidArgumentException");
    }
    // ...and ListStreams refuses a ListShards token.
    expect_err!(
        k.list_streams(ListStreamsRequest { next_token: token.clone(), ..Default::default() }),
        "InvalidArgumentException"
    );
    let second = k.list_shards(ListShardsRequest { next_token: token, ..Default::default() }).await.unwrap();
    let second = second.into_inner();
    assert_eq!(second.shards.iter().map(|s| s.shard_id.clone()).collect::<Vec<_>>(), vec![ShardId(1).to_string()]);

    // A ListStreams NextToken.
    let first = k.list_streams(ListStreamsRequest { limit: Some(1), ..Default::default() }).await.unwrap();
    let token = first.into_inner().next_token.expect("two streams, one per page");
    for p in positions(token.len()) {
        let req = ListStreamsRequest { next_token: altered(&token, p), ..Default::default() };
        expect_err!(k.list_streams(req), "InvalidArgumentException");
    }
    // Tokens are not interchangeable: a NextToken is no iterator, and ListShards refuses a
    // ListStreams token.
    expect_err!(k.get_records(get(&token)), "InvalidArgumentException");
    expect_err!(
        k.list_shards(ListShardsRequest { next_token: token.clone(), ..Default::default() }),
        "InvalidArgumentException"
    );
    let second = k.list_streams(ListStreamsRequest { next_token: token, ..Default::default() }).await.unwrap();
    assert_eq!(second.into_inner().stream_names, vec!["tokens2".to_string()]);
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
            ..Default::default()
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

    // Delete: iterators and NextTokens of the old stream stop working; the name can be used
    // again.
    create_active(&mut k, "gone", 2).await;
    k.put_record(put("gone", "k", b"old")).await.unwrap();
    let it = k
        .get_shard_iterator(iterator_req("gone", &ShardId(0).to_string(), "TRIM_HORIZON"))
        .await
        .unwrap()
        .into_inner()
        .shard_iterator;
    let old_token = k
        .list_shards(ListShardsRequest { stream_name: "gone".into(), max_results: Some(1), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .next_token
        .expect("two shards, one per page");
    k.delete_stream(DeleteStreamRequest { stream_name: "gone".into(), ..Default::default() }).await.unwrap();
    expect_err!(k.put_record(put("gone", "k", b"late")), "ResourceNotFoundException");
    let mut recreated = false;
    for _ in 0..100 {
        let req = CreateStreamRequest { stream_name: "gone".into(), shard_count: Some(2), ..Default::default() };
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
    expect_err!(
        k.list_shards(ListShardsRequest { next_token: old_token, ..Default::default() }),
        "ExpiredNextTokenException"
    );
    assert!(read_shard(&mut k, "gone", &ShardId(0).to_string()).await.is_empty(), "a new stream starts empty");
}
