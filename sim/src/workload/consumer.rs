//! A consumer: follows every shard from TRIM_HORIZON until the driver says stop, and
//! records every page it gets (when it asked, from which node, where it continued from).
//! It reads as Kinesis consumers must across resharding: a child only once every parent
//! was read to its end (GetRecords returned no NextShardIterator, and named the children).

use super::{clients, list_shards, now, stream_ready, timed, Ctx, Lineage, CONSUMER_LIMIT, STREAM};
use crate::oracle::{ConsumerView, PageRead, ShardInfo};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_proto::v1::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where the consumer is in one shard.
#[derive(Default)]
struct Position {
    iterator: Option<String>,
    /// The last sequence number read: where a lost iterator resumes.
    last: Option<u128>,
}

/// Follows every shard from TRIM_HORIZON until the driver says stop, resuming after the
/// last record it saw whenever an iterator is lost.
pub async fn consumer(ctx: Ctx, name: String, seed: u64) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(seed);
    let nodes = clients(&ctx.nodes);
    if !stream_ready(&ctx).await {
        return Ok(());
    }
    // The shards as the stream was created; children are learnt from their parents' ends.
    let mut lineage = Lineage::from_listing(&ctx.oracle.borrow().shards);
    let mut positions: BTreeMap<String, Position> = BTreeMap::new();
    // Bounded: the driver stops consumers well before this many rounds.
    for _ in 0..100_000 {
        if ctx.oracle.borrow().stop_consumers {
            break;
        }
        for shard in lineage.ready() {
            let (node, mut k) = nodes[rng.random_range(0..nodes.len())].clone();
            let pos = positions.entry(shard.clone()).or_default();
            if pos.iterator.is_none() {
                let req = match pos.last {
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
                match timed(k.get_shard_iterator(req)).await {
                    Ok(r) => pos.iterator = Some(r.shard_iterator),
                    // A closed shard retention expired (its records all gone): no longer listed,
                    // but its children are, and they go on without it. (A lagging node may not
                    // list a shard just made, but then not its children either.)
                    Err(e) if e.starts_with("ResourceNotFoundException") => {
                        let expired = |l: &BTreeMap<String, ShardInfo>| {
                            !l.contains_key(&shard) && l.values().any(|s| s.parents.contains(&shard))
                        };
                        if let Some(listed) = list_shards(&mut k).await.ok().filter(expired) {
                            for (id, info) in listed.iter().filter(|(_, s)| s.parents.contains(&shard)) {
                                lineage.learn(id, &info.parents);
                            }
                            ctx.oracle.borrow_mut().log(now(), format!("{name}: {shard} expired before it was read"));
                            lineage.finish(&shard);
                        }
                        continue;
                    }
                    Err(_) => {}
                }
            }
            let Some(it) = pos.iterator.clone() else { continue };
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
                        finished: now(),
                        after: pos.last,
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
                        pos.last = Some(seq);
                    }
                    pos.iterator = page.next_shard_iterator;
                    if pos.iterator.is_none() {
                        // The shard is closed and read to its end: its children may start.
                        let children: Vec<&str> = page.child_shards.iter().map(|c| c.shard_id.as_str()).collect();
                        o.log(now(), format!("{name} read {shard} to its end; children {children:?}"));
                        for child in &page.child_shards {
                            lineage.learn(&child.shard_id, &child.parent_shards);
                        }
                        lineage.finish(&shard);
                    }
                }
                Err(_) => pos.iterator = None,
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    Ok(())
}
