//! A stream's capacity against real 3-node clusters: Kinesis's per-shard throughput quotas
//! in the `kinesis_limits` mode (per record in PutRecords, with Kinesis's error code and
//! message, and on GetRecords calls); UpdateStreamMode and on-demand streams splitting a
//! busy shard by themselves; UpdateMaxRecordSize with 10 MiB records written and read
//! back; UpdateStreamWarmThroughput. Every refusal with its Kinesis name.

#[macro_use]
mod common;

use common::{create_active, error_name, eventually, iterator_req, wait_active, Cluster};
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const ACCOUNT: &str = "000000000000";
const MIB: usize = 1024 * 1024;

fn arn(stream: &str) -> String {
    format!("arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{stream}")
}

/// `count` records of `bytes` each, all to the shard holding hash key `hash`.
fn batch(stream: &str, hash: &str, count: usize, bytes: usize) -> PutRecordsRequest {
    PutRecordsRequest {
        records: (0..count)
            .map(|i| PutRecordsRequestEntry {
                data: vec![(i % 251) as u8; bytes],
                explicit_hash_key: Some(hash.into()),
                partition_key: "k".into(),
            })
            .collect(),
        stream_name: stream.into(),
        stream_arn: String::new(),
    }
}

/// Checks a PutRecords reply of one shard's records: the written ones come first, every
/// other one is refused with Kinesis's code and message. Returns how many were written.
fn written_prefix(reply: &PutRecordsResponse, stream: &str, shard: &str) -> usize {
    let written = reply.records.iter().take_while(|r| r.error_code.is_none()).count();
    assert_eq!(reply.failed_record_count as usize, reply.records.len() - written, "failures counted");
    let message = format!("Rate exceeded for shard {shard} in stream {stream} under account {ACCOUNT}.");
    for r in &reply.records[written..] {
        assert_eq!(r.error_code.as_deref(), Some("ProvisionedThroughputExceededException"), "{r:?}");
        assert_eq!(r.error_message.as_deref(), Some(message.as_str()));
        assert!(r.sequence_number.is_none() && r.shard_id.is_none(), "{r:?}");
    }
    for r in &reply.records[..written] {
        assert_eq!(r.shard_id.as_deref(), Some(shard), "{r:?}");
    }
    written
}

async fn summary(k: &mut KinesisClient<Channel>, stream: &str) -> StreamDescriptionSummary {
    let req = DescribeStreamSummaryRequest { stream_name: stream.into(), stream_arn: String::new() };
    k.describe_stream_summary(req).await.expect("summary").into_inner().stream_description_summary.expect("summary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kinesis_limits_throttle_writes_per_record_and_reads_per_call() {
    let cluster = Cluster::start_with_config(3, Some("kinesis_limits = true\n")).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "quota", 2).await;
    let shard0 = "shardId-000000000000";
    // A leader's buckets start empty and hold at most one second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Bytes: 480 records of 10 KiB (4.7 MiB) at 1 MiB/s. The buckets were full, so the
    // shard admits 1 MiB now plus what refills while the call runs, and not a byte more.
    let started = Instant::now();
    let reply = k.put_records(batch("quota", "0", 480, 10 * 1024)).await.expect("put records").into_inner();
    let elapsed = started.elapsed().as_secs_f64();
    let written = written_prefix(&reply, "quota", shard0);
    let bound = ((1.0 + elapsed) * MIB as f64 / (10.0 * 1024.0 + 1.0)) as usize;
    assert!(written >= 1 && written <= bound, "{written} records of 10 KiB written in {elapsed:.2}s (at most {bound})");
    assert!(written < 480, "1 MiB/s cannot take 4.7 MiB in {elapsed:.2}s");
    eprintln!("quota: {written} of 480 records of 10 KiB written in one call of {elapsed:.3}s");

    // One record: refused whole, with the same message.
    let mut refused = None;
    for _ in 0..50 {
        let req = PutRecordRequest {
            stream_name: "quota".into(),
            partition_key: "k".into(),
            data: vec![1; 100 * 1024],
            explicit_hash_key: Some("0".into()),
            ..Default::default()
        };
        if let Err(status) = k.put_record(req).await {
            refused = Some(status);
            break;
        }
    }
    let status = refused.expect("100 KiB records, back to back, exceed 1 MiB/s");
    assert_eq!(error_name(&status), "ProvisionedThroughputExceededException", "{status:?}");
    assert!(status
        .message()
        .ends_with(&format!("Rate exceeded for shard {shard0} in stream quota under account {ACCOUNT}.")));

    // Records: tiny records on the other shard, 500 per call, until one is refused; never
    // more than 1,000 a second (plus the full bucket).
    let hash1 = "340282366920938463463374607431768211455";
    let started = Instant::now();
    let (mut total, mut throttled) = (0, false);
    for _ in 0..20 {
        let reply = k.put_records(batch("quota", hash1, 500, 10)).await.expect("put records").into_inner();
        total += written_prefix(&reply, "quota", "shardId-000000000001");
        if reply.failed_record_count > 0 {
            throttled = true;
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert!(throttled, "500-record calls back to back exceed 1,000 records/s");
    assert!(total as f64 <= 1000.0 * (1.0 + elapsed), "{total} records in {elapsed:.2}s");
    eprintln!("quota: {total} tiny records written in {elapsed:.3}s before one was refused");

    // Reads: 5 GetRecords calls a second per shard.
    let req = iterator_req("quota", shard0, "TRIM_HORIZON");
    let mut iterator = k.get_shard_iterator(req).await.expect("iterator").into_inner().shard_iterator;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut served = 0;
    let mut read_refusal = None;
    for _ in 0..30 {
        let req = GetRecordsRequest { shard_iterator: iterator.clone(), limit: Some(1), stream_arn: String::new() };
        match k.get_records(req).await {
            Ok(page) => {
                served += 1;
                iterator = page.into_inner().next_shard_iterator.expect("an open shard");
            }
            Err(status) => {
                read_refusal = Some(status);
                break;
            }
        }
    }
    let status = read_refusal.expect("30 GetRecords calls back to back exceed 5 a second");
    eprintln!("quota: {served} GetRecords calls served before one was refused");
    assert_eq!(error_name(&status), "ProvisionedThroughputExceededException", "{status:?}");
    assert!(served >= 1, "a full bucket serves a call");
    // The refused call changed nothing: the same iterator reads on once the second passed.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let req = GetRecordsRequest { shard_iterator: iterator, limit: Some(1), stream_arn: String::new() };
    let page = k.get_records(req).await.expect("reads again after a second").into_inner();
    assert_eq!(page.records.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_kinesis_limits_a_shard_takes_more_than_its_quota() {
    let cluster = Cluster::start(3).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "free", 1).await;
    let reply = k.put_records(batch("free", "0", 480, 10 * 1024)).await.expect("put records").into_inner();
    assert_eq!(reply.failed_record_count, 0, "no quota: 4.7 MiB at once is taken");
    for _ in 0..20 {
        let req = iterator_req("free", "shardId-000000000000", "LATEST");
        let iterator = k.get_shard_iterator(req).await.expect("iterator").into_inner().shard_iterator;
        let req = GetRecordsRequest { shard_iterator: iterator, limit: Some(1), stream_arn: String::new() };
        k.get_records(req).await.expect("no read quota");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_modes_on_demand_scaling_record_sizes_and_warm_throughput() {
    let cluster = Cluster::start_with_config(3, Some("on_demand_window_ms = 1500\n")).await;
    let mut k = cluster.kinesis(0).await;

    // An on-demand stream starts with 4 shards and refuses UpdateShardCount.
    let req = CreateStreamRequest {
        stream_name: "od".into(),
        stream_mode_details: Some(StreamModeDetails { stream_mode: "ON_DEMAND".into() }),
        ..Default::default()
    };
    k.create_stream(req).await.expect("create on-demand");
    wait_active(&mut k, "od").await;
    let s = summary(&mut k, "od").await;
    assert_eq!((s.open_shard_count, s.stream_mode_details.unwrap().stream_mode.as_str()), (4, "ON_DEMAND"));
    assert_eq!(s.max_record_size_in_ki_b, 1024);
    assert!(s.warm_throughput.is_none(), "no warm throughput asked for");
    let scale = UpdateShardCountRequest {
        stream_name: "od".into(),
        target_shard_count: 8,
        scaling_type: "UNIFORM_SCALING".into(),
        ..Default::default()
    };
    expect_err!(k.update_shard_count(scale), "ValidationException");

    // About 2,000 records/s into shard 0 (half its capacity is 500): it splits; the idle
    // shards do not.
    let writer = {
        let mut k = k.clone();
        tokio::spawn(async move {
            for _ in 0..400 {
                let _ = k.put_records(batch("od", "0", 200, 16)).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    eventually(
        "the busy shard of the on-demand stream split",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            let mut k = k.clone();
            async move { (summary(&mut k, "od").await.open_shard_count >= 5).then_some(()) }
        },
    )
    .await;
    writer.abort();
    wait_active(&mut k, "od").await;
    let shards =
        k.list_shards(ListShardsRequest { stream_name: "od".into(), ..Default::default() }).await.unwrap().into_inner();
    let children: Vec<_> = shards.shards.iter().filter(|s| s.parent_shard_id.is_some()).collect();
    assert!(children.len() >= 2, "{shards:?}");
    assert!(
        children.iter().all(|c| c.parent_shard_id.as_deref() == Some("shardId-000000000000")
            || shards
                .shards
                .iter()
                .any(|p| Some(&p.shard_id) == c.parent_shard_id.as_ref() && p.parent_shard_id.is_some())),
        "only shard 0 (or its children) split: {shards:?}"
    );
    let closed: Vec<_> = shards
        .shards
        .iter()
        .filter(|s| s.sequence_number_range.as_ref().is_some_and(|r| r.ending_sequence_number.is_some()))
        .map(|s| s.shard_id.as_str())
        .collect();
    assert_eq!(closed.first(), Some(&"shardId-000000000000"), "{closed:?}");

    // UpdateStreamMode: by StreamARN only, at most twice a day.
    let mode = |arn: String, mode: &str| UpdateStreamModeRequest {
        stream_arn: arn,
        stream_mode_details: Some(StreamModeDetails { stream_mode: mode.into() }),
        warm_throughput_mi_bps: None,
    };
    expect_err!(k.update_stream_mode(mode(String::new(), "PROVISIONED")), "ValidationException");
    expect_err!(k.update_stream_mode(mode(arn("od"), "TURBO")), "ValidationException");
    let no_details = UpdateStreamModeRequest { stream_arn: arn("od"), ..Default::default() };
    expect_err!(k.update_stream_mode(no_details), "ValidationException");
    expect_err!(k.update_stream_mode(mode(arn("nope"), "PROVISIONED")), "ResourceNotFoundException");
    let warm_provisioned =
        UpdateStreamModeRequest { warm_throughput_mi_bps: Some(8), ..mode(arn("od"), "PROVISIONED") };
    expect_err!(k.update_stream_mode(warm_provisioned), "InvalidArgumentException");
    k.update_stream_mode(mode(arn("od"), "PROVISIONED")).await.expect("to provisioned");
    let s = summary(&mut k, "od").await;
    assert_eq!(s.stream_mode_details.unwrap().stream_mode, "PROVISIONED");
    let open = s.open_shard_count;
    // A provisioned stream keeps its shards however busy (two windows of 2,000 records/s).
    for _ in 0..30 {
        k.put_records(batch("od", "0", 200, 16)).await.expect("put");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(summary(&mut k, "od").await.open_shard_count, open, "provisioned streams do not scale themselves");
    k.update_stream_mode(mode(arn("od"), "ON_DEMAND")).await.expect("back to on-demand");
    expect_err!(k.update_stream_mode(mode(arn("od"), "PROVISIONED")), "LimitExceededException");
    k.update_stream_mode(mode(arn("od"), "ON_DEMAND")).await.expect("the mode it has: no change");

    // UpdateStreamWarmThroughput: on-demand streams of an account with a commitment.
    let warm = |stream: &str, mibps: Option<i32>| UpdateStreamWarmThroughputRequest {
        stream_arn: String::new(),
        stream_name: stream.into(),
        warm_throughput_mi_bps: mibps,
    };
    expect_err!(k.update_stream_warm_throughput(warm("od", None)), "ValidationException");
    expect_err!(k.update_stream_warm_throughput(warm("od", Some(10_241))), "ValidationException");
    expect_err!(k.update_stream_warm_throughput(warm("nope", Some(8))), "ResourceNotFoundException");
    expect_err!(k.update_stream_warm_throughput(warm("od", Some(8))), "InvalidArgumentException");
    let commit = UpdateAccountSettingsRequest {
        minimum_throughput_billing_commitment: Some(MinimumThroughputBillingCommitmentInput {
            status: "ENABLED".into(),
        }),
    };
    k.update_account_settings(commit).await.expect("commit");
    let out = k.update_stream_warm_throughput(warm("od", Some(8))).await.expect("warm").into_inner();
    assert_eq!(out.stream_arn, arn("od"));
    let w = out.warm_throughput.expect("warm throughput");
    assert_eq!((w.target_mi_bps, w.current_mi_bps), (8, open as i32));
    let s = summary(&mut k, "od").await;
    assert_eq!(s.warm_throughput.map(|w| w.target_mi_bps), Some(8));
    create_active(&mut k, "prov", 1).await;
    expect_err!(k.update_stream_warm_throughput(warm("prov", Some(8))), "InvalidArgumentException");
    // CreateStream takes both settings too.
    let create = |name: &str, mode: &str, kib: Option<i32>, warm: Option<i32>| CreateStreamRequest {
        stream_name: name.into(),
        shard_count: (mode == "PROVISIONED").then_some(1),
        stream_mode_details: Some(StreamModeDetails { stream_mode: mode.into() }),
        max_record_size_in_ki_b: kib,
        warm_throughput_mi_bps: warm,
        ..Default::default()
    };
    expect_err!(k.create_stream(create("w", "PROVISIONED", None, Some(4))), "InvalidArgumentException");
    expect_err!(k.create_stream(create("w", "PROVISIONED", Some(512), None)), "ValidationException");
    k.create_stream(create("w", "ON_DEMAND", Some(2048), Some(4))).await.expect("create with both");
    wait_active(&mut k, "w").await;
    let s = summary(&mut k, "w").await;
    assert_eq!((s.max_record_size_in_ki_b, s.warm_throughput.map(|w| w.target_mi_bps)), (2048, Some(4)));

    // UpdateMaxRecordSize: data and key together count; up to 10 MiB records, read back.
    let put = |data: Vec<u8>| PutRecordRequest {
        stream_name: "prov".into(),
        partition_key: "k".into(),
        data,
        ..Default::default()
    };
    expect_err!(k.put_record(put(vec![0; MIB])), "InvalidArgumentException");
    k.put_record(put(vec![1; MIB - 1])).await.expect("1 MiB with its key");
    let size =
        |arn: String, kib: Option<i32>| UpdateMaxRecordSizeRequest { stream_arn: arn, max_record_size_in_ki_b: kib };
    expect_err!(k.update_max_record_size(size(arn("prov"), Some(1023))), "ValidationException");
    expect_err!(k.update_max_record_size(size(arn("prov"), Some(10_241))), "ValidationException");
    expect_err!(k.update_max_record_size(size(arn("prov"), None)), "ValidationException");
    expect_err!(k.update_max_record_size(size(String::new(), Some(2048))), "ValidationException");
    expect_err!(k.update_max_record_size(size(arn("nope"), Some(2048))), "ResourceNotFoundException");
    k.update_max_record_size(size(arn("prov"), Some(10_240))).await.expect("10 MiB records");
    assert_eq!(summary(&mut k, "prov").await.max_record_size_in_ki_b, 10_240);
    let big: Vec<u8> = (0..10 * MIB - 1).map(|i| (i % 253) as u8).collect();
    k.put_record(put(big.clone())).await.expect("the largest record");
    expect_err!(k.put_record(put(vec![0; 10 * MIB])), "InvalidArgumentException");
    // PutRecords takes such a record alone, over its usual 5 MiB.
    let six = PutRecordsRequest {
        records: vec![PutRecordsRequestEntry {
            data: vec![2; 6 * MIB],
            explicit_hash_key: None,
            partition_key: "k".into(),
        }],
        stream_name: "prov".into(),
        stream_arn: String::new(),
    };
    assert_eq!(k.put_records(six).await.expect("6 MiB in one call").into_inner().failed_record_count, 0);
    let req = iterator_req("prov", "shardId-000000000000", "TRIM_HORIZON");
    let mut iterator = k.get_shard_iterator(req).await.expect("iterator").into_inner().shard_iterator;
    let mut sizes = Vec::new();
    let mut found_big = false;
    for _ in 0..10 {
        let req = GetRecordsRequest { shard_iterator: iterator.clone(), limit: None, stream_arn: String::new() };
        let page = k.get_records(req).await.expect("get records").into_inner();
        for r in &page.records {
            sizes.push(r.data.len());
            found_big |= r.data == big;
        }
        if sizes.len() == 3 {
            break;
        }
        iterator = page.next_shard_iterator.expect("open shard");
    }
    assert_eq!(sizes, vec![MIB - 1, 10 * MIB - 1, 6 * MIB], "each record whole, in order");
    assert!(found_big, "the 10 MiB record reads back byte for byte");
}
