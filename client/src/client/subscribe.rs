//! Enhanced fan-out: one SubscribeToShard call, and `subscribe`, which follows every shard
//! of a stream for a registered consumer.
//!
//! `subscribe` takes shards up in lineage order (every parent to its end before its
//! children), renews each shard's subscription when it ends (every 5 minutes), and after
//! a failure (the serving node died, another subscription held the lease for a moment)
//! subscribes again, on any node, AFTER the continuation number of the last event it
//! delivered: nothing is lost or delivered twice per shard. A subscription silent for
//! `EVENT_SILENCE_MAX` (its node lost power without closing the connection) counts as
//! failed. Each failure gets the whole retry budget once a subscription worked again.

use std::time::Duration;

use runnel_proto::v1::{ChildShard, Record, StartingPosition, SubscribeToShardEvent, SubscribeToShardRequest};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tonic::Streaming;

use super::call::Route;
use super::{kinesis_stub, Client};
use crate::error::{disposition, ClientError, Disposition, ErrorCode};
use crate::lineage::{Lineage, LineageStart};
use crate::model::ShardIteratorType;

/// Deliveries waiting for the caller; shard followers wait when it is slower.
const DELIVERY_QUEUE: usize = 64;
/// A subscription that sends nothing for this long is taken for dead and replaced: the
/// server sends an event at least every 5 s (a heartbeat when idle), plus the time of a
/// read at a shard's leader that it may be waiting on.
const EVENT_SILENCE_MAX: Duration = Duration::from_secs(20);
/// How long ResourceNotFoundException is taken for a lagging node rather than an answer:
/// a subscription resumed on a node that just restarted may reach it before its metadata
/// has caught up (the consumer or a just-made child shard unknown there yet). After that,
/// the consumer, stream or shard is gone (deregistered, deleted, expired).
const NOT_FOUND_GRACE: Duration = Duration::from_secs(10);

/// What `subscribe` hands over, per shard in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Records of one shard, in sequence order, none of them delivered before.
    Records { shard_id: String, records: Vec<Record>, millis_behind_latest: i64 },
    /// The shard was delivered to its end; its children are followed next.
    Ended { shard_id: String, children: Vec<ChildShard> },
}

impl Client {
    /// One SubscribeToShard call (retried like any call until it is accepted); its events
    /// until the subscription ends.
    pub async fn subscribe_to_shard(
        &self,
        request: SubscribeToShardRequest,
    ) -> Result<Streaming<SubscribeToShardEvent>, ClientError> {
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).subscribe_to_shard(request).await }
        })
        .await
    }

    /// Follows every shard of `stream` as the consumer `consumer_arn`, from the open shards'
    /// newest records (`LineageStart::Open`) or from the oldest kept (`Oldest`); children
    /// found at a shard's end start at their beginning. Deliveries come on the returned
    /// channel until an error the cluster will not get over (the consumer deregistered,
    /// the stream deleted), which is the last thing sent; dropping the receiver stops it.
    pub async fn subscribe(
        &self,
        stream: &str,
        consumer_arn: &str,
        start: LineageStart,
    ) -> Result<mpsc::Receiver<Result<Delivery, ClientError>>, ClientError> {
        let listing = self.list_shards(stream).await?;
        let lineage = Lineage::new(&listing, start).map_err(|e| ClientError::MalformedResponse(e.to_string()))?;
        let listed_start = match start {
            LineageStart::Open => ShardIteratorType::Latest,
            LineageStart::Oldest => ShardIteratorType::TrimHorizon,
        };
        let (tx, rx) = mpsc::channel(DELIVERY_QUEUE);
        let driver = Driver { client: self.clone(), consumer_arn: consumer_arn.to_string(), listed_start, tx };
        tokio::spawn(driver.run(lineage));
        Ok(rx)
    }
}

/// Takes shards up in lineage order and forwards their deliveries.
struct Driver {
    client: Client,
    consumer_arn: String,
    listed_start: ShardIteratorType,
    tx: mpsc::Sender<Result<Delivery, ClientError>>,
}

impl Driver {
    async fn run(self, mut lineage: Lineage) {
        let (inner_tx, mut inner_rx) = mpsc::channel::<Delivery>(DELIVERY_QUEUE);
        // Its size is bounded by the lineage's.
        let mut followers = JoinSet::new();
        self.start_ready(&mut lineage, &mut followers, &inner_tx);
        loop {
            if followers.is_empty() && inner_rx.is_empty() {
                return;
            }
            tokio::select! {
                Some(delivery) = inner_rx.recv() => {
                    if let Delivery::Ended { shard_id, children } = &delivery {
                        if let Err(e) = lineage.finished(shard_id, children) {
                            let _ = self.tx.send(Err(ClientError::MalformedResponse(e.to_string()))).await;
                            return;
                        }
                    }
                    if self.tx.send(Ok(delivery)).await.is_err() {
                        return;
                    }
                    self.start_ready(&mut lineage, &mut followers, &inner_tx);
                }
                Some(joined) = followers.join_next(), if !followers.is_empty() => {
                    let failed = match joined {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e),
                        Err(e) => Some(ClientError::MalformedResponse(format!("a shard follower stopped: {e}"))),
                    };
                    if let Some(e) = failed {
                        let _ = self.tx.send(Err(e)).await;
                        return;
                    }
                }
                _ = self.tx.closed() => return,
            }
        }
    }

    fn start_ready(
        &self,
        lineage: &mut Lineage,
        followers: &mut JoinSet<Result<(), ClientError>>,
        tx: &mpsc::Sender<Delivery>,
    ) {
        while let Some(ready) = lineage.next_ready() {
            let start = if ready.listed { self.listed_start } else { ShardIteratorType::TrimHorizon };
            let follower = Follower {
                client: self.client.clone(),
                consumer_arn: self.consumer_arn.clone(),
                shard_id: ready.shard_id,
                position: StartingPosition { r#type: start.as_str().to_string(), ..Default::default() },
                tx: tx.clone(),
            };
            followers.spawn(follower.follow());
        }
    }
}

/// Follows one shard through its subscriptions.
struct Follower {
    client: Client,
    consumer_arn: String,
    shard_id: String,
    /// Where the next subscription starts: the requested position, then AFTER the last
    /// continuation number delivered.
    position: StartingPosition,
    tx: mpsc::Sender<Delivery>,
}

impl Follower {
    async fn follow(mut self) -> Result<(), ClientError> {
        let policy = self.client.config().retry;
        let mut attempt = 0u32;
        let mut failing_since: Option<Instant> = None;
        loop {
            let request = SubscribeToShardRequest {
                consumer_arn: self.consumer_arn.clone(),
                shard_id: self.shard_id.clone(),
                starting_position: Some(self.position.clone()),
            };
            let failure = match self.client.subscribe_to_shard(request).await {
                Ok(events) => {
                    let (delivered, heard) = self.deliver(events).await;
                    if heard || matches!(delivered, Delivered::Renew) {
                        // It worked again: a later failure gets the whole budget, not what
                        // is left of one that started before (a failover minutes ago).
                        attempt = 0;
                        failing_since = None;
                    }
                    match delivered {
                        Delivered::Renew => continue,
                        Delivered::Done => return Ok(()),
                        Delivered::Failed(e) => e,
                    }
                }
                Err(e) => e,
            };
            let since = *failing_since.get_or_insert_with(Instant::now);
            if !retryable(&failure, since.elapsed()) {
                return Err(failure);
            }
            if since.elapsed() >= policy.max_elapsed {
                return Err(failure);
            }
            tracing::debug!(shard = %self.shard_id, "subscription failed, resubscribing: {failure}");
            attempt += 1;
            // The client's jitter source: seeded (`ClientConfig::jitter_seed`), it replays.
            tokio::time::sleep(self.client.inner.jitter.delay(&policy, attempt)).await;
        }
    }

    /// Delivers a subscription's events until it ends; also whether any event came.
    async fn deliver(&mut self, mut events: Streaming<SubscribeToShardEvent>) -> (Delivered, bool) {
        let mut heard = false;
        loop {
            let event = match tokio::time::timeout(EVENT_SILENCE_MAX, events.message()).await {
                Ok(Ok(Some(event))) => event,
                // The subscription's time is up: renew it from where it got to.
                Ok(Ok(None)) => return (Delivered::Renew, heard),
                Ok(Err(status)) => return (Delivered::Failed(ClientError::from_status(&status)), heard),
                Err(_) => {
                    let what = format!("an event of the subscription to {}", self.shard_id);
                    return (Delivered::Failed(ClientError::Timeout { what, waited: EVENT_SILENCE_MAX }), heard);
                }
            };
            heard = true;
            if !event.records.is_empty() {
                let delivery = Delivery::Records {
                    shard_id: self.shard_id.clone(),
                    records: event.records,
                    millis_behind_latest: event.millis_behind_latest,
                };
                if self.tx.send(delivery).await.is_err() {
                    return (Delivered::Done, heard);
                }
            }
            self.position = StartingPosition {
                r#type: ShardIteratorType::AfterSequenceNumber.as_str().to_string(),
                sequence_number: Some(event.continuation_sequence_number),
                timestamp: None,
            };
            if !event.child_shards.is_empty() {
                let ended = Delivery::Ended { shard_id: self.shard_id.clone(), children: event.child_shards };
                let _ = self.tx.send(ended).await;
                return (Delivered::Done, heard);
            }
        }
    }
}

enum Delivered {
    /// The subscription ended on time.
    Renew,
    /// The shard ended, or the caller went away.
    Done,
    Failed(ClientError),
}

/// Failures a new subscription gets over: those any call retries, another subscription
/// holding the shard's lease (one that died with its node, until the 5 s takeover grace
/// has passed), a subscription gone silent, and, for `NOT_FOUND_GRACE` after the failures
/// began (`failing_for`), a node that does not know the consumer or shard yet.
fn retryable(e: &ClientError, failing_for: Duration) -> bool {
    match e {
        ClientError::Timeout { .. } => true,
        ClientError::Kinesis { code: ErrorCode::ResourceNotFoundException, .. } => failing_for < NOT_FOUND_GRACE,
        ClientError::Kinesis { code: ErrorCode::ResourceInUseException, .. } => true,
        ClientError::Kinesis { code: ErrorCode::ServiceUnavailable | ErrorCode::InternalFailure, .. } => true,
        ClientError::Unavailable { .. } => true,
        ClientError::Status { code, message } => {
            disposition(&tonic::Status::new(*code, message.clone())) != Disposition::Fatal
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinesis(code: ErrorCode) -> ClientError {
        ClientError::Kinesis { code, message: "x".into() }
    }

    #[test]
    fn a_lagging_node_not_knowing_the_consumer_is_retried_for_a_while_only() {
        let not_found = kinesis(ErrorCode::ResourceNotFoundException);
        assert!(retryable(&not_found, Duration::ZERO));
        assert!(retryable(&not_found, NOT_FOUND_GRACE - Duration::from_millis(1)));
        assert!(!retryable(&not_found, NOT_FOUND_GRACE), "a deregistered consumer ends the follower");
        assert!(retryable(&kinesis(ErrorCode::ResourceInUseException), Duration::from_secs(3600)));
        assert!(!retryable(&kinesis(ErrorCode::InvalidArgumentException), Duration::ZERO));
    }
}
