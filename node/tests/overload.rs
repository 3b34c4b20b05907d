//! Bounded work: nodes with tiny limits (`[limits]` in the config file) under a burst of
//! concurrent requests refuse some with LimitExceededException and a retry-after hint,
//! at once and having done nothing; none hangs, no node dies, and once the burst is over
//! every request succeeds again.

mod common;

use common::{create_active, error_name, iterator_req, read_shard, Cluster};
use runnel_proto::v1::*;
use runnel_proto::RETRY_AFTER_METADATA_KEY;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const STREAM: &str = "busy";
/// Two requests at once per node. The byte budget must hold one full GetRecords reply
/// (10 MiB is reserved per GetRecords); with 24 MiB, at most two at once.
const LIMITS: &str = "[limits]\nrequests_in_flight_max = 2\nbytes_in_flight_max = 25165824\n";
const TASKS: usize = 48;
const RECORD_BYTES: usize = 100 * 1024;
/// A hang detector for one call: the node answers an overload at once, a put within
/// seconds.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Outcomes {
    ok: usize,
    refused: usize,
    /// Data of acknowledged puts -> sequence number.
    acked: BTreeMap<String, String>,
    /// Data of puts refused as overloaded: they must not be in the shard.
    refused_data: Vec<String>,
}

/// A refusal for overload: LimitExceededException, RESOURCE_EXHAUSTED, with a positive
/// retry-after hint.
fn is_overload(status: &tonic::Status) -> bool {
    if error_name(status) != "LimitExceededException" {
        return false;
    }
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let hint = status.metadata().get(RETRY_AFTER_METADATA_KEY).unwrap_or_else(|| panic!("no retry-after: {status:?}"));
    let ms: u64 = hint.to_str().unwrap().parse().expect("retry-after is a number of milliseconds");
    assert!(ms > 0, "{status:?}");
    true
}

/// One burst: `TASKS` concurrent requests at every node, half puts, half reads.
async fn burst(cluster: &Cluster, round: usize, iterator: &str, outcomes: &Arc<Mutex<Outcomes>>) {
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let mut k = cluster.kinesis(t % cluster.size()).await;
        let outcomes = outcomes.clone();
        let iterator = iterator.to_string();
        tasks.push(tokio::spawn(async move {
            if t % 2 == 0 {
                let data = format!("round-{round}-task-{t}-").into_bytes();
                let mut padded = data.clone();
                padded.resize(RECORD_BYTES, b'x');
                let req = PutRecordRequest {
                    stream_name: STREAM.into(),
                    partition_key: "k".into(),
                    data: padded,
                    ..Default::default()
                };
                let reply = tokio::time::timeout(CALL_TIMEOUT, k.put_record(req)).await.expect("a put hung");
                let mut o = outcomes.lock().unwrap();
                match reply {
                    Ok(r) => {
                        o.ok += 1;
                        o.acked.insert(String::from_utf8(data).unwrap(), r.into_inner().sequence_number);
                    }
                    Err(status) if is_overload(&status) => {
                        o.refused += 1;
                        o.refused_data.push(String::from_utf8(data).unwrap());
                    }
                    Err(status) => panic!("a put failed otherwise: {status:?}"),
                }
            } else {
                let req = GetRecordsRequest { shard_iterator: iterator, limit: None, stream_arn: String::new() };
                let reply = tokio::time::timeout(CALL_TIMEOUT, k.get_records(req)).await.expect("a read hung");
                let mut o = outcomes.lock().unwrap();
                match reply {
                    Ok(_) => o.ok += 1,
                    Err(status) if is_overload(&status) => o.refused += 1,
                    Err(status) => panic!("a read failed otherwise: {status:?}"),
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("a burst task panicked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overloaded_nodes_refuse_at_once_and_recover() {
    let mut cluster = Cluster::start_with_config(3, Some(LIMITS)).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, STREAM, 1).await;
    let shard = runnel_node::domain::ShardId(0).to_string();
    let iterator =
        k.get_shard_iterator(iterator_req(STREAM, &shard, "TRIM_HORIZON")).await.unwrap().into_inner().shard_iterator;

    // Bursts until the nodes have refused some requests (the first burst nearly always
    // does: 48 requests at once against a limit of 2 per node).
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    for round in 0..20 {
        burst(&cluster, round, &iterator, &outcomes).await;
        if outcomes.lock().unwrap().refused > 0 {
            break;
        }
    }
    let (ok, refused) = {
        let o = outcomes.lock().unwrap();
        (o.ok, o.refused)
    };
    eprintln!("burst: {ok} requests served, {refused} refused for overload");
    assert!(refused > 0, "{ok} requests served, none refused: the limits were not applied");
    assert!(ok > 0, "every request was refused");

    // No node died under the burst.
    for i in 0..cluster.size() {
        assert!(cluster.exited(i).is_none(), "node {} exited under load: {:?}", i + 1, cluster.exited(i));
    }

    // After the burst, one request at a time: every one succeeds, on every node.
    let mut acked = outcomes.lock().unwrap().acked.clone();
    for i in 0..30 {
        let mut k = cluster.kinesis(i % cluster.size()).await;
        let data = format!("after-{i}");
        let req = PutRecordRequest {
            stream_name: STREAM.into(),
            partition_key: "k".into(),
            data: data.clone().into_bytes(),
            ..Default::default()
        };
        let reply = k.put_record(req).await.expect("an unloaded node serves every put");
        acked.insert(data, reply.into_inner().sequence_number);
        let req = GetRecordsRequest { shard_iterator: iterator.clone(), limit: Some(10), stream_arn: String::new() };
        k.get_records(req).await.expect("an unloaded node serves every read");
    }

    // A refused put did nothing; every acknowledged one is there, once, under its number.
    let records = read_shard(&mut k, STREAM, &shard).await;
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &records {
        let data = String::from_utf8_lossy(&r.data);
        let prefix = data.trim_end_matches('x').to_string();
        found.entry(prefix).or_default().push(r.sequence_number.clone());
    }
    for data in &outcomes.lock().unwrap().refused_data {
        assert!(!found.contains_key(data), "{data} was refused for overload but written");
    }
    for (data, seq) in &acked {
        assert_eq!(found.get(data), Some(&vec![seq.clone()]), "{data} acknowledged as {seq}");
    }
    assert_eq!(records.len(), acked.len(), "nothing but the acknowledged records");
}
