//! A producer over raw gRPC: PutRecord and PutRecords to random nodes, retrying what it
//! does not know landed, as a careful application does.

use super::{
    attempting, clients, entries, new_batch, next_pause, pace_ms, record_put, record_put_records, stream_ready, timed,
    Ctx, PUT_ATTEMPTS_MAX, STREAM,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_proto::v1::*;
use std::time::Duration;

/// Puts `ops` batches of unique payloads, retrying what it does not know landed.
pub async fn producer(ctx: Ctx, id: usize, ops: usize, seed: u64) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(seed);
    let nodes = clients(&ctx.nodes);
    if !stream_ready(&ctx).await {
        ctx.oracle.borrow_mut().producers_done += 1;
        return Ok(());
    }
    let pace = pace_ms(&ctx, ops);
    for op in 0..ops {
        let Some(pause) = next_pause(&ctx, pace, &mut rng) else { break };
        tokio::time::sleep(pause).await;
        let mut pending = new_batch("p", id, op, &mut rng);
        let single = pending.len() == 1;
        for attempt in 0..PUT_ATTEMPTS_MAX {
            if pending.is_empty() {
                break;
            }
            let mut k = nodes[rng.random_range(0..nodes.len())].1.clone();
            attempting(&ctx, &pending, false);
            if single && attempt == 0 {
                let (payload, key) = pending[0].clone();
                let req = PutRecordRequest {
                    stream_name: STREAM.into(),
                    data: payload.clone().into_bytes(),
                    partition_key: key,
                    ..Default::default()
                };
                let result = timed(k.put_record(req)).await;
                if record_put(&mut ctx.oracle.borrow_mut(), "put", &payload, result) {
                    pending.clear();
                }
            } else {
                let req = PutRecordsRequest {
                    records: entries(&pending),
                    stream_name: STREAM.into(),
                    stream_arn: String::new(),
                };
                let result = timed(k.put_records(req)).await;
                pending = record_put_records(
                    &mut ctx.oracle.borrow_mut(),
                    &format!("put-records p{id}-{op}"),
                    &pending,
                    result,
                );
            }
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    ctx.oracle.borrow_mut().producers_done += 1;
    Ok(())
}
