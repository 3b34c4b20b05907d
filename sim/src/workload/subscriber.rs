//! An enhanced fan-out subscriber through the real `runnel-client`: registers a consumer of
//! its own (RegisterStreamConsumer, then waits until it is ACTIVE), then follows the
//! whole stream from TRIM_HORIZON with `Client::subscribe`, which takes shards up in
//! lineage order, renews each shard's subscription when it ends (every 3 s in the
//! simulation) and, after a failure (the serving node crashed or was cut off), subscribes
//! again on any node AFTER the last continuation number. Every record pushed and every
//! shard's end (with its children) is recorded in the oracle, in the order it came.
//!
//! When the driver stops the readers it has read everything back; the subscriber goes on
//! until it caught up with those final reads (every record delivered, every closed shard
//! ended), for at most `DRAIN_MAX`.

use super::{now, short, sim_client, stream_ready, Ctx, STREAM};
use crate::oracle::{Delivered, Oracle, SubscriberView};
use runnel_client::{Client, ClientError, ConsumerKey, Delivery, ErrorCode, LineageStart};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// The retry budget of the client's calls, and of a shard's resubscriptions: longer than
/// any run's faults, so that a follower never gives up on a shard while they go on.
const RETRY_BUDGET: Duration = Duration::from_secs(120);
/// How long one wait for the consumer to become ACTIVE may take before it is asked again.
const ACTIVE_WAIT: Duration = Duration::from_secs(10);
/// Pause before registering or subscribing again after a failure.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// How often the subscriber looks whether it should stop while no delivery comes.
const STOP_CHECK: Duration = Duration::from_millis(100);
/// How long after the final reads a subscriber may take to deliver what they found.
const DRAIN_MAX: Duration = Duration::from_secs(30);

pub async fn subscriber(ctx: Ctx, name: String, seed: u64) -> turmoil::Result {
    let client = sim_client(&ctx, RETRY_BUDGET, seed).await?;
    if !stream_ready(&ctx).await {
        return Ok(());
    }
    ctx.oracle.borrow_mut().subscribers.insert(name.clone(), SubscriberView::default());
    let Some(consumer_arn) = register(&ctx, &client, &name).await else { return Ok(()) };
    {
        let mut o = ctx.oracle.borrow_mut();
        o.log(now(), format!("{name}: consumer ACTIVE, subscribing from TRIM_HORIZON"));
        view(&mut o, &name).consumer_arn = Some(consumer_arn.clone());
    }
    let mut deliveries = loop {
        if ctx.oracle.borrow().stop_consumers {
            return Ok(());
        }
        match client.subscribe(STREAM, &consumer_arn, LineageStart::Oldest).await {
            Ok(deliveries) => break deliveries,
            Err(e) => {
                ctx.oracle.borrow_mut().log(now(), format!("{name}: subscribe failed: {}", short(e)));
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    };
    let mut drain_until = None;
    loop {
        {
            let mut o = ctx.oracle.borrow_mut();
            if o.stop_consumers {
                let until = *drain_until.get_or_insert(now() + DRAIN_MAX);
                // No final reads (the stream never became ACTIVE): nothing to catch up with.
                let done = o.final_reads_done.is_some() && caught_up(&o, &o.subscribers[&name]);
                if done || o.final_reads_done.is_none() || now() >= until {
                    let line = if done { "caught up with the final reads" } else { "NOT caught up, stopped" };
                    let (records, digest) = summary(&o.subscribers[&name]);
                    o.log(now(), format!("{name}: {line}; {records} records delivered (digest {digest:016x})"));
                    view(&mut o, &name).drained = done;
                    return Ok(());
                }
            }
        }
        let delivery = match tokio::time::timeout(STOP_CHECK, deliveries.recv()).await {
            Err(_) => continue,
            Ok(Some(Ok(delivery))) => delivery,
            Ok(Some(Err(e))) => {
                fail(&ctx, &name, format!("Client::subscribe gave up: {}", short(e)));
                return Ok(());
            }
            Ok(None) => {
                fail(&ctx, &name, "Client::subscribe stopped without an error".into());
                return Ok(());
            }
        };
        let mut o = ctx.oracle.borrow_mut();
        match delivery {
            Delivery::Records { shard_id, records, .. } => {
                let at = now();
                let delivered = records.into_iter().map(|r| Delivered::Record {
                    shard: shard_id.clone(),
                    seq: r.sequence_number.parse().unwrap_or(0),
                    payload: String::from_utf8_lossy(&r.data).into_owned(),
                    at,
                });
                view(&mut o, &name).deliveries.extend(delivered);
            }
            Delivery::Ended { shard_id, children } => {
                let children: Vec<String> = children.into_iter().map(|c| c.shard_id).collect();
                o.log(now(), format!("{name}: {shard_id} delivered to its end; children {children:?}"));
                view(&mut o, &name).deliveries.push(Delivered::Ended { shard: shard_id, children, at: now() });
            }
        }
    }
}

/// Registers the consumer `name` and waits until it is ACTIVE; its ARN, or `None` when the
/// readers were stopped first.
async fn register(ctx: &Ctx, client: &Client, name: &str) -> Option<String> {
    loop {
        if ctx.oracle.borrow().stop_consumers {
            ctx.oracle.borrow_mut().log(now(), format!("{name}: stopped before its consumer was ACTIVE"));
            return None;
        }
        match activate(client, name).await {
            Ok(arn) => return Some(arn),
            Err(e) => {
                ctx.oracle.borrow_mut().log(now(), format!("{name}: registering: {}", short(e)));
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

async fn activate(client: &Client, name: &str) -> Result<String, ClientError> {
    let stream_arn = client.stream_arn(STREAM).await?;
    match client.register_stream_consumer(&stream_arn, name, HashMap::new()).await {
        Ok(_) => {}
        // Registered already, by an attempt whose answer was lost.
        Err(e) if e.code() == Some(&ErrorCode::ResourceInUseException) => {}
        Err(e) => return Err(e),
    }
    let active = client.wait_for_consumer_active(&ConsumerKey::named(&stream_arn, name), ACTIVE_WAIT).await?;
    Ok(active.consumer_arn)
}

/// Whether the subscriber has everything the final reads found: each shard's newest
/// record, and the end of every closed shard.
fn caught_up(o: &Oracle, view: &SubscriberView) -> bool {
    let mut newest: BTreeMap<&str, u128> = BTreeMap::new();
    for (shard, seq, _) in view.records() {
        let n = newest.entry(shard).or_default();
        *n = (*n).max(seq);
    }
    let ended: BTreeSet<&str> = view.ended().collect();
    let has_all = o
        .final_reads
        .iter()
        .all(|(shard, records)| records.last().is_none_or(|(seq, _)| newest.get(shard.as_str()) >= Some(seq)));
    has_all && o.shards.iter().filter(|(_, s)| s.ending_seq.is_some()).all(|(id, _)| ended.contains(id.as_str()))
}

/// How many records were pushed, and a digest of every delivery and when it came, so that
/// a replay that pushed anything differently has another history.
fn summary(view: &SubscriberView) -> (usize, u64) {
    let mut hasher = DefaultHasher::new();
    view.deliveries.hash(&mut hasher);
    (view.records().count(), hasher.finish())
}

fn view<'a>(o: &'a mut Oracle, name: &str) -> &'a mut SubscriberView {
    o.subscribers.entry(name.to_string()).or_default()
}

fn fail(ctx: &Ctx, name: &str, why: String) {
    let mut o = ctx.oracle.borrow_mut();
    o.log(now(), format!("{name}: {why}"));
    view(&mut o, name).failure = Some(why);
}
