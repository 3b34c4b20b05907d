//! The horizon prober (retention runs only): like a consumer starting up, again and again,
//! it reads one page of every shard from TRIM_HORIZON at a random node, so that the
//! `expired-stay-gone` check sees where each replica that serves a read starts, right
//! after leadership moves as well as in between.

use super::{clients, list_shards, now, stream_ready, timed, Ctx, STREAM};
use crate::oracle::PageRead;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_proto::v1::*;
use std::time::Duration;

/// Records per probe: the first one is what matters.
const PROBE_LIMIT: i32 = 5;
const PROBE_EVERY: Duration = Duration::from_millis(100);
/// Listings are refreshed every this many probes (children appear, parents expire).
const PROBES_PER_LISTING: u32 = 10;

pub async fn prober(ctx: Ctx, seed: u64) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(seed);
    let nodes = clients(&ctx.nodes);
    if !stream_ready(&ctx).await {
        return Ok(());
    }
    let mut shards: Vec<String> = ctx.oracle.borrow().shards.keys().cloned().collect();
    // Bounded: the driver stops readers well before this many rounds.
    for round in 0..100_000u32 {
        if ctx.oracle.borrow().stop_consumers {
            break;
        }
        if round % PROBES_PER_LISTING == 0 {
            let (_, mut k) = nodes[rng.random_range(0..nodes.len())].clone();
            if let Ok(listed) = list_shards(&mut k).await {
                shards = listed.into_keys().collect();
            }
        }
        for shard in &shards {
            let (node, mut k) = nodes[rng.random_range(0..nodes.len())].clone();
            let req = GetShardIteratorRequest {
                stream_name: STREAM.into(),
                shard_id: shard.clone(),
                shard_iterator_type: "TRIM_HORIZON".into(),
                ..Default::default()
            };
            let Ok(iterator) = timed(k.get_shard_iterator(req)).await else { continue };
            let started = now();
            let req = GetRecordsRequest {
                shard_iterator: iterator.shard_iterator,
                limit: Some(PROBE_LIMIT),
                stream_arn: String::new(),
            };
            if let Ok(page) = timed(k.get_records(req)).await {
                ctx.oracle.borrow_mut().pages.push(PageRead {
                    reader: "prober".into(),
                    shard: shard.clone(),
                    node,
                    started,
                    finished: now(),
                    after: None,
                    returned: page.records.iter().map(|r| r.sequence_number.parse().unwrap_or(0)).collect(),
                    truncated: page.records.len() >= PROBE_LIMIT as usize,
                });
            }
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
    Ok(())
}
