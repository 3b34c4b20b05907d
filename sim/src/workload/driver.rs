//! The driver: creates the stream, runs the liveness phase after the heal, then reads
//! every shard back, parents before children: closed shards to their ends, open ones to
//! their tips.

use super::{clients, list_shards, now, timed, Ctx, Lineage, STREAM, TEMP_STREAM};
use crate::net::{channel, node_url};
use crate::oracle::PageRead;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_proto::v1::admin_client::AdminClient;
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::time::Duration;
use tonic::transport::Channel;

/// Time the cluster has, after healing, to accept writes and converge.
pub const LIVENESS_BOUND: Duration = Duration::from_secs(40);
/// Waits of 100 ms for stopped producers to finish the write they are in (one call of
/// `runnel-client` may take its whole retry budget).
const PRODUCER_STOP_WAITS_MAX: u32 = 300;
/// Records the final reader asks for per GetRecords.
const FINAL_READ_LIMIT: i32 = 500;

fn status_of(summary: &Result<DescribeStreamSummaryResponse, String>) -> Option<String> {
    summary.as_ref().ok()?.stream_description_summary.as_ref().map(|s| s.stream_status.clone())
}

/// Whether every live replica of every group has applied what its group committed, and
/// if not, a line saying who lags.
fn settled(state: &DescribeClusterResponse, live: &[u64]) -> Result<(), String> {
    let unhealthy: Vec<u64> =
        state.nodes.iter().filter(|n| live.contains(&n.node_id) && !n.healthy).map(|n| n.node_id).collect();
    let mut lagging = Vec::new();
    for g in &state.groups {
        let caught_up = |node: &u64| {
            g.replica_states
                .iter()
                .any(|r| r.node_id == *node && r.applied_index.is_some() && r.applied_index >= g.commit_index)
        };
        let live_replicas: Vec<&u64> = g.replicas.iter().filter(|n| live.contains(n)).collect();
        if g.leader.is_none() || !live_replicas.iter().all(|n| caught_up(n)) || g.stream_name == TEMP_STREAM {
            let replicas: Vec<String> =
                g.replica_states.iter().map(|r| format!("n{}:{}/{:?}", r.node_id, r.role, r.applied_index)).collect();
            lagging.push(format!(
                "g{} {} leader {:?} commit {:?} [{}]",
                g.group_id,
                g.stream_name,
                g.leader,
                g.commit_index,
                replicas.join(" ")
            ));
        }
    }
    if unhealthy.is_empty() && lagging.is_empty() {
        Ok(())
    } else {
        Err(format!("{}; unhealthy: {unhealthy:?}", lagging.join("; ")))
    }
}

/// Creates the stream, runs the liveness phase after the heal, then reads everything back.
pub async fn driver(ctx: Ctx) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(ctx.seed ^ 0xd71e_5eed);
    let nodes = clients(&ctx.nodes);
    let any = |rng: &mut StdRng| nodes[rng.random_range(0..nodes.len())].1.clone();

    // The stream the producers write to.
    for _ in 0..200 {
        let req = CreateStreamRequest {
            stream_name: STREAM.into(),
            shard_count: Some(ctx.shards as i32),
            stream_mode_details: None,
            ..Default::default()
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
    match list_shards(&mut any(&mut rng)).await {
        Ok(shards) => {
            let mut o = ctx.oracle.borrow_mut();
            o.shards = shards;
            o.stream_active = true;
            let shard_count = o.shards.len();
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
    let create = CreateStreamRequest { stream_name: TEMP_STREAM.into(), shard_count: Some(1), ..Default::default() };
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
        ctx.oracle.borrow_mut().attempt(&payload, "liveness", now());
        let req = PutRecordRequest {
            stream_name: STREAM.into(),
            data: payload.clone().into_bytes(),
            partition_key: "liveness".into(),
            ..Default::default()
        };
        match timed(any(&mut rng).put_record(req)).await {
            Ok(r) => {
                let mut o = ctx.oracle.borrow_mut();
                o.ack(&payload, &r.shard_id, r.sequence_number.parse().unwrap_or(0), now());
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

    // Wait for the producers, then for every live replica to apply what its group
    // committed. Producers still writing at the deadline are stopped (and waited for) so
    // that the final reads come after every acknowledgement.
    let busy = |ctx: &Ctx| {
        let o = ctx.oracle.borrow();
        o.producers_done < ctx.producers || !o.resharder_done
    };
    while now() < deadline && busy(&ctx) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if ctx.oracle.borrow().producers_done < ctx.producers {
        let mut o = ctx.oracle.borrow_mut();
        o.stop_producers = true;
        o.liveness.failure.get_or_insert(format!("producers still writing {LIVENESS_BOUND:?} after healing"));
    }
    for _ in 0..PRODUCER_STOP_WAITS_MAX {
        if ctx.oracle.borrow().producers_done >= ctx.producers {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut converged = false;
    let mut lagging = String::new();
    let live: Vec<u64> = ctx.nodes.iter().copied().filter(|n| Some(*n) != ctx.left_down).collect();
    while now() < deadline {
        let id = live[rng.random_range(0..live.len())];
        let Ok(ch) = channel(&node_url(id), None) else { continue };
        if let Ok(state) = timed(AdminClient::new(ch).describe_cluster(DescribeClusterRequest {})).await {
            match settled(&state, &live) {
                Ok(()) => {
                    converged = true;
                    break;
                }
                Err(why) => lagging = why,
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    {
        let mut o = ctx.oracle.borrow_mut();
        if converged {
            o.liveness.converged_after_heal = Some(now() - heal_at);
        } else if o.liveness.failure.is_none() {
            o.liveness.failure =
                Some(format!("live replicas did not converge within {LIVENESS_BOUND:?} of healing: {lagging}"));
        }
    }

    // Every split, merge and scaling finishes once the cluster is healed: the stream is
    // ACTIVE again (not stuck UPDATING) within the bound.
    let mut status = None;
    while now() < deadline {
        let req = DescribeStreamSummaryRequest { stream_name: STREAM.into(), stream_arn: String::new() };
        status = status_of(&timed(any(&mut rng).describe_stream_summary(req)).await);
        if status.as_deref() == Some("ACTIVE") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if status.as_deref() != Some("ACTIVE") {
        ctx.oracle
            .borrow_mut()
            .liveness
            .failure
            .get_or_insert(format!("stream {STREAM} is {status:?}, not ACTIVE, {LIVENESS_BOUND:?} after healing"));
    }

    // Every shard, open and closed, as it is now.
    let mut listed = None;
    for _ in 0..20 {
        match list_shards(&mut any(&mut rng)).await {
            Ok(shards) => {
                listed = Some(shards);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    match listed {
        Some(shards) => {
            let mut o = ctx.oracle.borrow_mut();
            let open = shards.values().filter(|s| s.ending_seq.is_none()).count();
            o.log(now(), format!("listed {} shards, {open} open", shards.len()));
            o.shards = shards;
        }
        None => {
            ctx.oracle.borrow_mut().liveness.failure.get_or_insert("ListShards failed after healing".into());
        }
    }

    // Final read of every shard in lineage order: a closed shard to its end (GetRecords
    // returns no NextShardIterator), an open one to its tip; a child once its parents are
    // read to their ends.
    let shards = ctx.oracle.borrow().shards.clone();
    let mut lineage = Lineage::from_listing(&shards);
    let readers: Vec<_> =
        nodes.iter().filter(|(id, _)| !(ctx.final_reads_skip_down && ctx.left_down == Some(*id))).cloned().collect();
    for _ in 0..=shards.len() {
        let Some(shard) = lineage.ready().into_iter().next() else { break };
        let closed = shards.get(&shard).is_some_and(|s| s.ending_seq.is_some());
        let (records, ended) = final_read(&ctx, &readers, &mut rng, &shard, closed).await;
        let mut o = ctx.oracle.borrow_mut();
        if !ended && o.liveness.failure.is_none() {
            let end = if closed { "its end" } else { "the tip" };
            o.liveness.failure = Some(format!("final read of {shard} never reached {end}"));
        }
        o.log(now(), format!("final read {shard}: {} records", records.len()));
        o.final_reads.insert(shard.clone(), records);
        o.final_order.push(shard.clone());
        lineage.finish(&shard);
    }
    let mut o = ctx.oracle.borrow_mut();
    o.final_reads_done = Some(now());
    o.stop_consumers = true;
    Ok(())
}

/// Reads `shard` from TRIM_HORIZON to its end (`closed`) or its tip; returns what it read
/// and whether it got there.
async fn final_read(
    ctx: &Ctx,
    nodes: &[(u64, KinesisClient<Channel>)],
    rng: &mut StdRng,
    shard: &str,
    closed: bool,
) -> (Vec<(u128, String)>, bool) {
    let mut records: Vec<(u128, String)> = Vec::new();
    let mut iterator: Option<String> = None;
    for _ in 0..2_000 {
        let (node, mut k) = nodes[rng.random_range(0..nodes.len())].clone();
        if iterator.is_none() {
            let req = match records.last() {
                None => GetShardIteratorRequest {
                    stream_name: STREAM.into(),
                    shard_id: shard.to_string(),
                    shard_iterator_type: "TRIM_HORIZON".into(),
                    ..Default::default()
                },
                Some((seq, _)) => GetShardIteratorRequest {
                    stream_name: STREAM.into(),
                    shard_id: shard.to_string(),
                    shard_iterator_type: "AFTER_SEQUENCE_NUMBER".into(),
                    starting_sequence_number: Some(seq.to_string()),
                    ..Default::default()
                },
            };
            iterator = timed(k.get_shard_iterator(req)).await.ok().map(|r| r.shard_iterator);
            if iterator.is_none() {
                continue;
            }
        }
        let req = GetRecordsRequest {
            shard_iterator: iterator.clone().unwrap_or_default(),
            limit: Some(FINAL_READ_LIMIT),
            stream_arn: String::new(),
        };
        let started = now();
        match timed(k.get_records(req)).await {
            Ok(page) => {
                let empty = page.records.is_empty();
                let got: Vec<(u128, String)> = page
                    .records
                    .into_iter()
                    .map(|r| (r.sequence_number.parse().unwrap_or(0), String::from_utf8_lossy(&r.data).into_owned()))
                    .collect();
                ctx.oracle.borrow_mut().pages.push(PageRead {
                    reader: "final reader".into(),
                    shard: shard.to_string(),
                    node,
                    started,
                    finished: now(),
                    after: records.last().map(|(seq, _)| *seq),
                    returned: got.iter().map(|(seq, _)| *seq).collect(),
                    truncated: got.len() >= FINAL_READ_LIMIT as usize,
                });
                records.extend(got);
                iterator = page.next_shard_iterator;
                // A closed shard ends where GetRecords says so; an open one (or one the
                // listing showed open) at an empty page at the tip.
                if iterator.is_none() || !closed && empty && page.millis_behind_latest == 0 {
                    return (records, true);
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    (records, false)
}
