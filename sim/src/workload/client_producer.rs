//! A producer through the real `runnel-client`: its shard map and leader routing, its
//! retries under a time budget and its seeded backoff jitter, over simulated TCP. What it
//! is told is recorded like any producer's; an error is an unknown outcome. The client
//! may send one call's request more than once, so its writes are marked as such for the
//! duplicates check.

use super::{
    attempting, entries, new_batch, next_pause, pace_ms, record_put, record_put_records, sim_client, stream_ready, Ctx,
    PUT_ATTEMPTS_MAX, STREAM,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use runnel_client::proto::{PutRecordRequest, PutRecordsRequest};
use std::time::Duration;

/// The time budget of one call, retries included: shorter than the default so that a
/// producer stuck behind a long partition moves on (and retries itself) within the run.
const CALL_BUDGET: Duration = Duration::from_secs(8);

/// Puts `ops` batches of unique payloads through the client, retrying itself what the
/// client could not get acknowledged.
pub async fn client_producer(ctx: Ctx, id: usize, ops: usize, seed: u64) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(seed);
    let client = sim_client(&ctx, CALL_BUDGET, seed).await?;
    if !stream_ready(&ctx).await {
        ctx.oracle.borrow_mut().producers_done += 1;
        return Ok(());
    }
    let pace = pace_ms(&ctx, ops);
    for op in 0..ops {
        let Some(pause) = next_pause(&ctx, pace, &mut rng) else { break };
        tokio::time::sleep(pause).await;
        let mut pending = new_batch("c", id, op, &mut rng);
        let single = pending.len() == 1;
        for attempt in 0..PUT_ATTEMPTS_MAX {
            if pending.is_empty() {
                break;
            }
            attempting(&ctx, &pending, true);
            if single {
                let (payload, key) = pending[0].clone();
                let req = PutRecordRequest {
                    stream_name: STREAM.into(),
                    data: payload.clone().into_bytes(),
                    partition_key: key,
                    ..Default::default()
                };
                let result = client.put_record(req).await;
                if record_put(&mut ctx.oracle.borrow_mut(), "client put", &payload, result) {
                    pending.clear();
                }
            } else {
                let req =
                    PutRecordsRequest { records: entries(&pending), stream_name: STREAM.into(), ..Default::default() };
                let result = client.put_records(req).await;
                let label = format!("client put-records c{id}-{op}");
                pending = record_put_records(&mut ctx.oracle.borrow_mut(), &label, &pending, result);
            }
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    }
    ctx.oracle.borrow_mut().producers_done += 1;
    Ok(())
}
