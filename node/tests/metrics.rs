//! The operations listener of real nodes: /healthz, /readyz (a node that cannot reach a
//! quorum is not ready, then is once its peers come), `runnel-node probe`'s exit codes,
//! Prometheus series named after Kinesis's metrics with values that match what was
//! written and read, shard series only under enhanced monitoring, Raft and storage
//! series, and JSON logs.

mod common;

use common::*;
use runnel_proto::v1::*;
use std::process::Command;
use std::time::Duration;

/// The exit code of `runnel-node probe WHAT --addr ADDR`.
fn probe(what: &str, addr: &str) -> i32 {
    let out = Command::new(env!("CARGO_BIN_EXE_runnel-node"))
        .args(["probe", what, "--addr", addr])
        .output()
        .expect("run runnel-node probe");
    out.status.code().expect("probe exited")
}

fn scrape(cluster: &Cluster, i: usize) -> String {
    let (status, body) = http_get(&cluster.metrics_addr(i), "/metrics").expect("scrape /metrics");
    assert_eq!(status, 200, "{body}");
    body
}

/// The sum of `name` with `labels` over every node's /metrics (0 where a node has none).
fn cluster_sum(cluster: &Cluster, name: &str, labels: &[(&str, &str)]) -> f64 {
    (0..cluster.size()).filter_map(|i| sum(&scrape(cluster, i), name, labels)).sum()
}

fn entry(key: &str, data: &[u8]) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry { data: data.to_vec(), partition_key: key.into(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_serve_health_readiness_and_kinesis_metrics() {
    let mut cluster = Cluster::prepare(3, None).with_metrics();
    cluster.env.push(("RUNNEL_LOG_FORMAT".into(), "json".into()));

    // Node 1 alone cannot reach a quorum of the metadata group: live, never ready.
    cluster.start_node(0);
    let node1 = cluster.metrics_addr(0);
    eventually("node 1 live", Duration::from_secs(30), Duration::from_millis(100), || async {
        (http_get(&node1, "/healthz")?.0 == 200).then_some(())
    })
    .await;
    let (status, body) = http_get(&node1, "/readyz").expect("readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready: "), "{body}");
    assert_eq!(probe("live", &node1), 0);
    assert_eq!(probe("ready", &node1), 1);
    assert_eq!(http_get(&node1, "/nothing").map(|r| r.0), Some(404));

    // Its peers come: every node becomes ready.
    cluster.start_node(1);
    cluster.start_node(2);
    cluster.wait_for_meta_leader(Duration::from_secs(60)).await;
    for i in 0..3 {
        let addr = cluster.metrics_addr(i);
        eventually(&format!("node {} ready", i + 1), Duration::from_secs(30), Duration::from_millis(100), || async {
            (http_get(&addr, "/readyz")?.0 == 200).then_some(())
        })
        .await;
    }
    assert_eq!(probe("ready", &node1), 0);
    let nobody = format!("127.0.0.1:{}", free_port());
    assert_eq!(probe("live", &nobody), 1, "nothing listens there");

    // Writes through every node, PutRecord and PutRecords; reads through one.
    let name = "metered";
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, name, 2).await;
    let mut written_bytes = 0;
    for i in 0..6usize {
        let (key, data) = (format!("key-{i}"), vec![b'x'; 10 + i]);
        written_bytes += key.len() + data.len();
        let req = PutRecordRequest { stream_name: name.into(), partition_key: key, data, ..Default::default() };
        cluster.kinesis(i % 3).await.put_record(req).await.expect("put record");
    }
    let entries: Vec<_> = (0..20).map(|i| entry(&format!("batch-{i}"), b"0123456789")).collect();
    written_bytes += entries.iter().map(|e| e.partition_key.len() + e.data.len()).sum::<usize>();
    let req = PutRecordsRequest { stream_name: name.into(), records: entries, ..Default::default() };
    let reply = cluster.kinesis(1).await.put_records(req).await.expect("put records").into_inner();
    assert_eq!(reply.failed_record_count, 0);
    let mut read = 0;
    for shard in shard_ids(&mut k, name).await {
        read += read_shard(&mut k, name, &shard).await.len();
    }
    assert_eq!(read, 26);

    let stream = [("stream", name)];
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_incoming_records_total", &stream), 26.0);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_incoming_bytes_total", &stream), written_bytes as f64);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_put_record_requests_total", &stream), 6.0);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_put_record_success_total", &stream), 6.0);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_put_record_latency_seconds_count", &stream), 6.0);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_put_records_records_total", &stream), 20.0);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_put_records_successful_records_total", &stream), 20.0);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_put_records_success_total", &stream), 1.0);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_get_records_records_total", &stream), 26.0);
    let node1_metrics = scrape(&cluster, 0);
    let gets = sum(&node1_metrics, "runnel_kinesis_get_records_requests_total", &stream).expect("GetRecords counted");
    assert!(gets >= 2.0, "one call per shard at least: {gets}");
    assert_eq!(sum(&node1_metrics, "runnel_kinesis_get_records_success_total", &stream), Some(gets));
    // Each node labels its own series: node 2 served no GetRecords.
    assert_eq!(sum(&scrape(&cluster, 1), "runnel_kinesis_get_records_requests_total", &stream), None);
    let histogram = sum(&node1_metrics, "runnel_kinesis_get_records_latency_seconds_bucket", &[("le", "+Inf")]);
    assert_eq!(histogram, Some(gets), "latencies are histograms");
    assert!(!node1_metrics.contains("runnel_kinesis_shard_"), "no shard series without enhanced monitoring");

    // Raft and storage: one metadata leader among the nodes, fsyncs, bytes on disk.
    // Sampled once a second: wait for a sample taken after the stream's groups started.
    eventually("samples of the stream's groups", Duration::from_secs(30), Duration::from_millis(200), || async {
        let leaders = cluster_sum(&cluster, "runnel_raft_leaders", &[("group_kind", "meta")]);
        let shard_groups = cluster_sum(&cluster, "runnel_raft_groups", &[("group_kind", "shard")]);
        let shard_leaders = cluster_sum(&cluster, "runnel_raft_leaders", &[("group_kind", "shard")]);
        (leaders == 1.0 && shard_groups == 6.0 && shard_leaders == 2.0).then_some(())
    })
    .await;
    assert!(cluster_sum(&cluster, "runnel_raft_leader_changes_total", &[("group_kind", "meta")]) >= 1.0);
    for i in 0..3 {
        let text = scrape(&cluster, i);
        let node = (i + 1).to_string();
        let fsyncs = sum(&text, "runnel_storage_fsync_seconds_count", &[("node", &node)]).expect("fsyncs");
        assert!(fsyncs >= 1.0, "node {node}: {fsyncs}");
        assert!(sum(&text, "runnel_storage_group_commit_batch_size_count", &[("node", &node)]) == Some(fsyncs));
        assert!(sum(&text, "runnel_storage_disk_bytes", &[("node", &node)]).is_some(), "node {node}");
    }
    // At the shards' leaders: every append (the 6 PutRecord calls, and the PutRecords call's
    // part for each shard it touched; one turned away by a deposed leader counts again
    // where it lands) was timed in the queue, and every entry that took them.
    let appends = cluster_sum(&cluster, "runnel_shard_append_queue_seconds_count", &[]);
    assert!(appends >= 7.0, "appends timed: {appends}");
    let entries = cluster_sum(&cluster, "runnel_shard_entry_seconds_count", &[]);
    assert!((1.0..=appends).contains(&entries), "entries timed: {entries} for {appends} appends");

    // Enhanced monitoring of IncomingRecords only: that shard series appears, no other.
    k.enable_enhanced_monitoring(EnableEnhancedMonitoringRequest {
        stream_name: name.into(),
        shard_level_metrics: vec!["IncomingRecords".into()],
        ..Default::default()
    })
    .await
    .expect("enable enhanced monitoring");
    let entries: Vec<_> = (0..7).map(|i| entry(&format!("later-{i}"), b"abc")).collect();
    let req = PutRecordsRequest { stream_name: name.into(), records: entries, ..Default::default() };
    k.put_records(req).await.expect("put records");
    let text = scrape(&cluster, 0);
    assert_eq!(sum(&text, "runnel_kinesis_shard_incoming_records_total", &stream), Some(7.0));
    assert!(text
        .lines()
        .any(|l| l.starts_with("runnel_kinesis_shard_incoming_records_total{")
            && l.contains("shard=\"shardId-00000000000")));
    assert_eq!(sum(&text, "runnel_kinesis_shard_incoming_bytes_total", &stream), None);
    assert_eq!(cluster_sum(&cluster, "runnel_kinesis_incoming_records_total", &stream), 33.0);

    // RUNNEL_LOG_FORMAT=json: every log line is one JSON object.
    let log = cluster.log_of(0);
    assert!(log.lines().count() > 0);
    for line in log.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value.get("level").is_some() && value.get("fields").is_some(), "{line}");
    }
}

#[test]
fn an_unknown_log_format_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_runnel-node"))
        .args(["run", "--id", "1"])
        .env("RUNNEL_LOG_FORMAT", "xml")
        .output()
        .expect("run runnel-node");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RUNNEL_LOG_FORMAT must be text or json"), "{stderr}");
}
