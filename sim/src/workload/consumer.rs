//! A consumer: follows every shard from TRIM_HORIZON until the driver says stop, and
//! records every page it gets (when it asked, from which node, where it continued from).

use super::{clients, now, stream_ready, timed, Ctx, CONSUMER_LIMIT, STREAM};
use crate::oracle::{ConsumerView, PageRead};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_proto::v1::*;
use std::time::Duration;

/// Follows every shard from TRIM_HORIZON until the driver says stop, resuming after the
/// last record it saw whenever an iterator is lost.
pub async fn consumer(ctx: Ctx, name: String, seed: u64) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(seed);
    let nodes = clients(&ctx.nodes);
    if !stream_ready(&ctx).await {
        return Ok(());
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
            let (node, mut k) = nodes[rng.random_range(0..nodes.len())].clone();
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
            let started = now();
            match timed(k.get_records(GetRecordsRequest {
                shard_iterator: it,
                limit: Some(CONSUMER_LIMIT),
                stream_arn: String::new(),
            }))
            .await
            {
                Ok(page) => {
                    let mut o = ctx.oracle.borrow_mut();
                    o.pages.push(PageRead {
                        reader: name.clone(),
                        shard: shard.clone(),
                        node,
                        started,
                        after: last[i],
                        returned: page.records.iter().map(|r| r.sequence_number.parse().unwrap_or(0)).collect(),
                        truncated: page.records.len() >= CONSUMER_LIMIT as usize,
                    });
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
