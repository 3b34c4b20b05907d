//! The client hosts: a driver (stream lifecycle, liveness phase, final reads), producers
//! (PutRecord / PutRecords with retries, as real clients do) and a consumer (every shard,
//! continuously, through GetShardIterator / GetRecords).

use crate::net::{channel, node_url};
use crate::oracle::{ConsumerView, Oracle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_node::domain::NodeId;
use runnel_proto::v1::admin_client::AdminClient;
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tonic::transport::Channel;

pub const STREAM: &str = "sim";
const TEMP_STREAM: &str = "sim-temp";
/// Every call gives up after this long; its outcome is then unknown.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per batch of payloads before a producer gives up on it.
const PUT_ATTEMPTS_MAX: u32 = 4;
/// Time the cluster has, after healing, to accept writes and converge.
pub const LIVENESS_BOUND: Duration = Duration::from_secs(40);
/// Partition keys the producers spread records over.
const PARTITION_KEYS: u32 = 64;

pub type Shared = Rc<RefCell<Oracle>>;

#[derive(Clone)]
pub struct Ctx {
    pub oracle: Shared,
    pub nodes: Vec<NodeId>,
    pub shards: u32,
    pub heal_at: Duration,
    pub producers: usize,
}

fn now() -> Duration {
    turmoil::elapsed()
}

fn clients(nodes: &[NodeId]) -> Vec<(NodeId, KinesisClient<Channel>)> {
    nodes.iter().filter_map(|n| channel(&node_url(*n)).ok().map(|ch| (*n, KinesisClient::new(ch)))).collect()
}

async fn timed<T, F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>>(
    call: F,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Err(_) => Err("timed out".into()),
        Ok(Err(status)) => Err(status.message().chars().take(120).collect()),
        Ok(Ok(reply)) => Ok(reply.into_inner()),
    }
}

fn status_of(summary: &Result<DescribeStreamSummaryResponse, String>) -> Option<String> {
    summary.as_ref().ok()?.stream_description_summary.as_ref().map(|s| s.stream_status.clone())
}

/// Creates the stream, runs the liveness phase after the heal, then reads everything back.
pub async fn driver(ctx: Ctx) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(1);
    let nodes = clients(&ctx.nodes);
    let any = |rng: &mut StdRng| nodes[rng.random_range(0..nodes.len())].1.clone();

    // The stream the producers write to.
    for _ in 0..200 {
        let req = CreateStreamRequest {
            stream_name: STREAM.into(),
            shard_count: Some(ctx.shards as i32),
            stream_mode_details: None,
        };
        match timed(any(&mut rng).create_stream(req)).await {
            Ok(_) => break,
            Err(e) if e.starts_with("ResourceInUseException") => break,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    for _ in 0..400 {
        let req = DescribeStreamSummaryRequest { stream_name: STREAM.into(), stream_arn: String::new() };
        if status_of(&timed(any(&mut rng).describe_stream_summary(req)).await).as_deref() == Some("ACTIVE") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shards =
        timed(any(&mut rng).list_shards(ListShardsRequest { stream_name: STREAM.into(), ..Default::default() })).await;
    match shards {
        Ok(list) => {
            let mut o = ctx.oracle.borrow_mut();
            for s in list.shards {
                let r = s.hash_key_range.unwrap_or_default();
                let range = (r.starting_hash_key.parse().unwrap_or(0), r.ending_hash_key.parse().unwrap_or(0));
                o.shard_ranges.insert(s.shard_id, range);
            }
            o.stream_active = true;
            let shard_count = o.shard_ranges.len();
            o.log(now(), format!("stream {STREAM} ACTIVE with {shard_count} shards"));
        }
        Err(e) => {
            let mut o = ctx.oracle.borrow_mut();
            o.liveness.failure = Some(format!("stream {STREAM} never became ACTIVE: {e}"));
            o.stop_consumers = true;
            return Ok(());
        }
    }

    // Stream creation and deletion under faults: a temporary stream comes and goes.
    let create =
        CreateStreamRequest { stream_name: TEMP_STREAM.into(), shard_count: Some(1), stream_mode_details: None };
    let created = timed(any(&mut rng).create_stream(create)).await;
    ctx.oracle.borrow_mut().log(now(), format!("create {TEMP_STREAM}: {created:?}"));

    // Liveness phase: after the heal, writes must be accepted again within the bound.
    let heal_at = ctx.heal_at;
    tokio::time::sleep(heal_at.saturating_sub(now()) + Duration::from_millis(10)).await;
    let deadline = heal_at + LIVENESS_BOUND;
    let mut accepted = false;
    let mut attempt = 0u32;
    while now() < deadline {
        attempt += 1;
        let payload = format!("liveness-{attempt}");
        ctx.oracle.borrow_mut().attempt(&payload, "liveness");
        let req = PutRecordRequest {
            stream_name: STREAM.into(),
            data: payload.clone().into_bytes(),
            partition_key: "liveness".into(),
            ..Default::default()
        };
        match timed(any(&mut rng).put_record(req)).await {
            Ok(r) => {
                let mut o = ctx.oracle.borrow_mut();
                o.ack(&payload, &r.shard_id, r.sequence_number.parse().unwrap_or(0));
                o.liveness.first_write_after_heal = Some(now() - heal_at);
                accepted = true;
                break;
            }
            Err(_) => {
                ctx.oracle.borrow_mut().unknown(&payload);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    if !accepted {
        ctx.oracle.borrow_mut().liveness.failure =
            Some(format!("no write accepted within {LIVENESS_BOUND:?} of healing"));
    }
    // Delete the temporary stream; it must be gone within the bound.
    let mut deleted = false;
    while now() < deadline && !deleted {
        let req = DeleteStreamRequest { stream_name: TEMP_STREAM.into(), ..Default::default() };
        match timed(any(&mut rng).delete_stream(req)).await {
            Ok(_) => deleted = true,
            Err(e) if e.starts_with("ResourceNotFoundException") => deleted = true,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }

    // Wait for the producers, then for every replica to apply what its group committed.
    while now() < deadline && ctx.oracle.borrow().producers_done < ctx.producers {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut converged = false;
    let mut lagging = String::new();
    while now() < deadline {
        let (id, _) = nodes[rng.random_range(0..nodes.len())];
        let Ok(ch) = channel(&node_url(id)) else { continue };
        if let Ok(state) = timed(AdminClient::new(ch).describe_cluster(DescribeClusterRequest {})).await {
            let settled = state.nodes.iter().all(|n| n.healthy)
                && state.groups.iter().all(|g| {
                    g.leader.is_some()
                        && g.replica_states.len() == g.replicas.len()
                        && g.replica_states
                            .iter()
                            .all(|r| r.applied_index.is_some() && r.applied_index >= g.commit_index)
                })
                && !state.groups.iter().any(|g| g.stream_name == TEMP_STREAM);
            if settled {
                converged = true;
                break;
            }
            lagging = state
                .groups
                .iter()
                .map(|g| {
                    let replicas: Vec<String> = g
                        .replica_states
                        .iter()
                        .map(|r| format!("n{}:{}/{:?}", r.node_id, r.role, r.applied_index))
                        .collect();
                    format!(
                        "g{} leader {:?} commit {:?} [{}]",
                        g.group_id,
                        g.leader,
                        g.commit_index,
                        replicas.join(" ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            lagging.push_str(&format!(
                " unhealthy: {:?}",
                state.nodes.iter().filter(|n| !n.healthy).map(|n| n.node_id).collect::<Vec<_>>()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    {
        let mut o = ctx.oracle.borrow_mut();
        if converged {
            o.liveness.converged_after_heal = Some(now() - heal_at);
        } else if o.liveness.failure.is_none() {
            o.liveness.failure =
                Some(format!("replicas did not converge within {LIVENESS_BOUND:?} of healing: {lagging}"));
        }
    }

    // Final read of every shard, to its tip.
    let shard_ids: Vec<String> = ctx.oracle.borrow().shard_ranges.keys().cloned().collect();
    for shard in shard_ids {
        let mut records = Vec::new();
        let mut iterator: Option<String> = None;
        let mut at_tip = false;
        for _ in 0..2_000 {
            let mut k = any(&mut rng);
            if iterator.is_none() {
                let req = GetShardIteratorRequest {
                    stream_name: STREAM.into(),
                    shard_id: shard.clone(),
                    shard_iterator_type: "TRIM_HORIZON".into(),
                    ..Default::default()
                };
                iterator = timed(k.get_shard_iterator(req)).await.ok().map(|r| r.shard_iterator);
                if iterator.is_none() {
                    continue;
                }
            }
            let req = GetRecordsRequest {
                shard_iterator: iterator.clone().unwrap_or_default(),
                limit: Some(500),
                stream_arn: String::new(),
            };
            match timed(k.get_records(req)).await {
                Ok(page) => {
                    let empty = page.records.is_empty();
                    records.extend(page.records.into_iter().map(|r| {
                        (r.sequence_number.parse().unwrap_or(0), String::from_utf8_lossy(&r.data).into_owned())
                    }));
                    iterator = page.next_shard_iterator;
                    if empty && page.millis_behind_latest == 0 {
                        at_tip = true;
                        break;
                    }
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let mut o = ctx.oracle.borrow_mut();
        if !at_tip && o.liveness.failure.is_none() {
            o.liveness.failure = Some(format!("final read of {shard} never reached the tip"));
        }
        o.log(now(), format!("final read {shard}: {} records", records.len()));
        o.final_reads.insert(shard, records);
    }
    ctx.oracle.borrow_mut().stop_consumers = true;
    Ok(())
}

/// Puts `ops` batches of unique payloads, retrying what it does not know landed.
pub async fn producer(ctx: Ctx, id: usize, ops: usize, seed: u64) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(seed);
    let nodes = clients(&ctx.nodes);
    while !ctx.oracle.borrow().stream_active {
        if ctx.oracle.borrow().stop_consumers {
            ctx.oracle.borrow_mut().producers_done += 1;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for op in 0..ops {
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..250))).await;
        let count = if rng.random_bool(0.4) { 1 } else { rng.random_range(2..=8) };
        let mut pending: Vec<(String, String)> = (0..count)
            .map(|i| (format!("p{id}-{op}-{i}"), format!("k{}", rng.random_range(0..PARTITION_KEYS))))
            .collect();
        for attempt in 0..PUT_ATTEMPTS_MAX {
            if pending.is_empty() {
                break;
            }
            let mut k = nodes[rng.random_range(0..nodes.len())].1.clone();
            {
                let mut o = ctx.oracle.borrow_mut();
                for (p, key) in &pending {
                    o.attempt(p, key);
                }
            }
            if pending.len() == 1 && attempt == 0 && count == 1 {
                let (payload, key) = pending[0].clone();
                let req = PutRecordRequest {
                    stream_name: STREAM.into(),
                    data: payload.clone().into_bytes(),
                    partition_key: key,
                    ..Default::default()
                };
                let result = timed(k.put_record(req)).await;
                let mut o = ctx.oracle.borrow_mut();
                match result {
                    Ok(r) => {
                        let seq = r.sequence_number.parse().unwrap_or(0);
                        o.ack(&payload, &r.shard_id, seq);
                        o.log(now(), format!("put {payload} -> {} {seq}", r.shard_id));
                        pending.clear();
                    }
                    Err(e) => {
                        o.unknown(&payload);
                        o.log(now(), format!("put {payload} unknown: {e}"));
                    }
                }
            } else {
                let records = pending
                    .iter()
                    .map(|(p, key)| PutRecordsRequestEntry {
                        data: p.clone().into_bytes(),
                        explicit_hash_key: None,
                        partition_key: key.clone(),
                    })
                    .collect();
                let result = timed(k.put_records(PutRecordsRequest {
                    records,
                    stream_name: STREAM.into(),
                    stream_arn: String::new(),
                }))
                .await;
                let mut o = ctx.oracle.borrow_mut();
                match result {
                    Ok(reply) => {
                        let mut still = Vec::new();
                        for ((payload, key), entry) in pending.iter().zip(reply.records) {
                            match (entry.sequence_number, entry.shard_id) {
                                (Some(seq), Some(shard)) => {
                                    let seq = seq.parse().unwrap_or(0);
                                    o.ack(payload, &shard, seq);
                                }
                                _ => {
                                    o.unknown(payload);
                                    still.push((payload.clone(), key.clone()));
                                }
                            }
                        }
                        o.log(now(), format!("put-records p{id}-{op} x{}: {} failed", pending.len(), still.len()));
                        pending = still;
                    }
                    Err(e) => {
                        for (p, _) in &pending {
                            o.unknown(p);
                        }
                        o.log(now(), format!("put-records p{id}-{op} x{} unknown: {e}", pending.len()));
                    }
                }
            }
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    ctx.oracle.borrow_mut().producers_done += 1;
    Ok(())
}

/// Follows every shard from TRIM_HORIZON until the driver says stop, resuming after the
/// last record it saw whenever an iterator is lost.
pub async fn consumer(ctx: Ctx, name: String, seed: u64) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(seed);
    let nodes = clients(&ctx.nodes);
    while !ctx.oracle.borrow().stream_active && !ctx.oracle.borrow().stop_consumers {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shards: Vec<String> = ctx.oracle.borrow().shard_ranges.keys().cloned().collect();
    let mut iterators: Vec<Option<String>> = vec![None; shards.len()];
    let mut last: Vec<Option<u128>> = vec![None; shards.len()];
    // Bounded: the driver stops consumers well before this many rounds.
    for _ in 0..100_000 {
        if ctx.oracle.borrow().stop_consumers {
            break;
        }
        for (i, shard) in shards.iter().enumerate() {
            let mut k = nodes[rng.random_range(0..nodes.len())].1.clone();
            if iterators[i].is_none() {
                let req = match last[i] {
                    None => GetShardIteratorRequest {
                        stream_name: STREAM.into(),
                        shard_id: shard.clone(),
                        shard_iterator_type: "TRIM_HORIZON".into(),
                        ..Default::default()
                    },
                    Some(seq) => GetShardIteratorRequest {
                        stream_name: STREAM.into(),
                        shard_id: shard.clone(),
                        shard_iterator_type: "AFTER_SEQUENCE_NUMBER".into(),
                        starting_sequence_number: Some(seq.to_string()),
                        ..Default::default()
                    },
                };
                iterators[i] = timed(k.get_shard_iterator(req)).await.ok().map(|r| r.shard_iterator);
            }
            let Some(it) = iterators[i].clone() else { continue };
            match timed(k.get_records(GetRecordsRequest {
                shard_iterator: it,
                limit: Some(200),
                stream_arn: String::new(),
            }))
            .await
            {
                Ok(page) => {
                    let mut o = ctx.oracle.borrow_mut();
                    let view = o.consumer_views.entry((name.clone(), shard.clone())).or_insert_with(|| ConsumerView {
                        consumer: name.clone(),
                        shard: shard.clone(),
                        records: Vec::new(),
                    });
                    for r in page.records {
                        let seq = r.sequence_number.parse().unwrap_or(0);
                        view.records.push((seq, String::from_utf8_lossy(&r.data).into_owned()));
                        last[i] = Some(seq);
                    }
                    iterators[i] = page.next_shard_iterator;
                }
                Err(_) => iterators[i] = None,
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    Ok(())
}
