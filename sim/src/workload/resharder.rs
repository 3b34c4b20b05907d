//! The resharder: the seed's splits, merges and UpdateShardCount calls, at seeded times
//! during the safety phase, so that reshards meet writes, reads and faults. Shards are
//! picked from ListShards. A call refused for the stream's state (ResourceInUse while an
//! earlier change is under way, InvalidArgument when the shard closed meanwhile) or not
//! made (ServiceUnavailable) is planned again from a fresh listing; a call whose outcome
//! is unknown (InternalFailure, a timeout) may have been recorded, so it is not repeated.

use super::{clients, list_shards, now, stream_ready, timed, Ctx, STREAM};
use crate::oracle::ShardInfo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::time::Duration;
use tonic::transport::Channel;

/// Attempts per planned change (each with a fresh listing).
const ATTEMPTS_MAX: u32 = 10;
/// The resharder keeps the stream this small: every shard is a Raft group on every node.
const OPEN_SHARDS_MAX: usize = 6;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Split,
    Merge,
    Scale,
}

/// Runs the seed's `ctx.reshards` changes, then tells the driver it is done.
pub async fn resharder(ctx: Ctx, seed: u64) -> turmoil::Result {
    let mut rng = StdRng::seed_from_u64(seed);
    let nodes = clients(&ctx.nodes);
    if stream_ready(&ctx).await {
        // Spread over the safety phase, leaving its first second to the producers alone.
        let from = now() + Duration::from_secs(1);
        let to = ctx.heal_at.saturating_sub(Duration::from_millis(500)).max(from + Duration::from_millis(1));
        let mut times: Vec<Duration> = (0..ctx.reshards)
            .map(|_| Duration::from_millis(rng.random_range(from.as_millis() as u64..to.as_millis() as u64)))
            .collect();
        times.sort();
        for (i, at) in times.into_iter().enumerate() {
            tokio::time::sleep(at.saturating_sub(now())).await;
            // Scaling is rarer: from uneven ranges it takes many steps, each opening groups.
            let kind = [Kind::Split, Kind::Split, Kind::Merge, Kind::Merge, Kind::Scale][rng.random_range(0..5)];
            reshard(&ctx, &nodes, &mut rng, i, kind).await;
        }
    }
    ctx.oracle.borrow_mut().resharder_done = true;
    Ok(())
}

/// One planned change, attempted until it is recorded, refused for good, or unknown.
async fn reshard(ctx: &Ctx, nodes: &[(u64, KinesisClient<Channel>)], rng: &mut StdRng, i: usize, kind: Kind) {
    for attempt in 0..ATTEMPTS_MAX {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(rng.random_range(300..900))).await;
        }
        let (node, mut k) = nodes[rng.random_range(0..nodes.len())].clone();
        let shards = match list_shards(&mut k).await {
            Ok(shards) => shards,
            Err(_) => continue,
        };
        let mut open: Vec<(&String, &ShardInfo)> = shards.iter().filter(|(_, s)| s.ending_seq.is_none()).collect();
        open.sort_by_key(|(_, s)| s.start);
        if open.is_empty() {
            return;
        }
        // A split at the cap becomes a merge; a merge of a single shard becomes a split.
        let kind = match kind {
            Kind::Split if open.len() >= OPEN_SHARDS_MAX => Kind::Merge,
            Kind::Merge if open.len() < 2 => Kind::Split,
            other => other,
        };
        let (call, result) = match kind {
            Kind::Split => {
                let (id, s) = open[rng.random_range(0..open.len())];
                // Strictly inside the range: between an eighth and seven eighths of it.
                let at = s.start + (s.end - s.start) / 8 * rng.random_range(1..8u128);
                let req = SplitShardRequest {
                    stream_name: STREAM.into(),
                    shard_to_split: id.clone(),
                    new_starting_hash_key: at.to_string(),
                    stream_arn: String::new(),
                };
                (format!("split {id} at {at}"), timed(k.split_shard(req)).await.map(|_| String::new()))
            }
            Kind::Merge => {
                let j = rng.random_range(0..open.len() - 1);
                let (mut a, mut b) = (open[j].0, open[j + 1].0);
                if rng.random_bool(0.5) {
                    std::mem::swap(&mut a, &mut b);
                }
                let req = MergeShardsRequest {
                    stream_name: STREAM.into(),
                    shard_to_merge: a.clone(),
                    adjacent_shard_to_merge: b.clone(),
                    stream_arn: String::new(),
                };
                (format!("merge {a} with {b}"), timed(k.merge_shards(req)).await.map(|_| String::new()))
            }
            Kind::Scale => {
                // Within [half, double] of the open shards, under the cap, and a change.
                let n = open.len();
                let targets: Vec<usize> = (n.div_ceil(2)..=(2 * n).min(OPEN_SHARDS_MAX)).filter(|t| *t != n).collect();
                let Some(target) = targets.get(rng.random_range(0..targets.len().max(1))).copied() else { return };
                let req = UpdateShardCountRequest {
                    stream_name: STREAM.into(),
                    target_shard_count: target as i32,
                    scaling_type: "UNIFORM_SCALING".into(),
                    stream_arn: String::new(),
                };
                let result = timed(k.update_shard_count(req)).await;
                (format!("scale {n} -> {target}"), result.map(|r| format!(" (current {})", r.current_shard_count)))
            }
        };
        let mut o = ctx.oracle.borrow_mut();
        match result {
            Ok(extra) => {
                o.log(now(), format!("resharder {i}: {call} via n{node}: recorded{extra}"));
                return;
            }
            Err(e) => {
                o.log(now(), format!("resharder {i}: {call} via n{node}: {e}"));
                let again = ["ResourceInUseException", "InvalidArgumentException", "ServiceUnavailable"]
                    .iter()
                    .any(|name| e.starts_with(name));
                if !again {
                    return;
                }
            }
        }
    }
}
