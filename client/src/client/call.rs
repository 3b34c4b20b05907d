//! The retry loop every call goes through, and upkeep of the routing cache around it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use runnel_proto::v1::{DescribeClusterRequest, ListShardsRequest};
use tokio::time::Instant;
use tonic::transport::Channel;
use tonic::Status;

use super::{admin_stub, kinesis_stub, Client};
use crate::backoff::RetryPolicy;
use crate::error::{disposition, ClientError, Disposition, ErrorCode};
use crate::routing::{NodeAddress, ShardId, ShardMap};

/// How long a cluster view is trusted before a background refresh: leaders move without
/// any request failing, since the old leader forwards.
const CLUSTER_VIEW_TTL: Duration = Duration::from_secs(10);

/// Upper bound on one DescribeCluster made to refresh the cache.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a call should go first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Any node; they all forward.
    Any,
    /// The leader of this shard, when known.
    Leader { stream: String, shard: ShardId },
}

impl Route {
    /// The leader of `parts` (from `leader_parts`) when there is one part, else any node.
    pub(crate) fn of_parts(stream: &str, parts: &[(ShardId, Vec<usize>)]) -> Route {
        match parts {
            [(shard, _)] => Route::Leader { stream: stream.to_string(), shard: shard.clone() },
            _ => Route::Any,
        }
    }
}

impl Client {
    /// Runs `op` against a node chosen by `route`, retrying per the client's policy.
    pub(crate) async fn call<T, F, Fut>(&self, route: Route, op: F) -> Result<T, ClientError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        self.call_with(route, self.inner.config.retry, op).await
    }

    /// The retry loop: on a retryable failure, move to another node, refresh the cluster
    /// view, back off and try again, until the policy's time budget is spent.
    pub(crate) async fn call_with<T, F, Fut>(&self, route: Route, policy: RetryPolicy, op: F) -> Result<T, ClientError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let started = Instant::now();
        // Distinct nodes only, so its length is bounded by the cluster's size.
        let mut tried: Vec<NodeAddress> = Vec::new();
        let mut attempt: u32 = 0;
        loop {
            let address = self.pick(&route, &tried);
            attempt += 1;
            let failure = match self.inner.pool.channel(&address) {
                Ok(channel) => match op(channel).await {
                    Ok(response) => {
                        self.inner.pool.clear_suspect(&address);
                        return Ok(response.into_inner());
                    }
                    Err(status) => status,
                },
                Err(e) => Status::unavailable(e.to_string()),
            };
            let retry_after = match disposition(&failure) {
                Disposition::Fatal => return Err(ClientError::from_status(&failure)),
                Disposition::Retry => None,
                Disposition::Overloaded { retry_after } => Some(retry_after),
            };
            tracing::debug!(%address, attempt, code = ?failure.code(), message = failure.message(), "retryable failure");
            let seen_epoch = self.routing().epoch();
            self.inner.pool.mark_suspect(&address);
            if retry_after.is_none() {
                // The node or the shard's leader may be gone. An overloaded node answered
                // and says nothing about the cluster: a refresh would only add load.
                self.forget_leader(&route);
            }
            if !tried.contains(&address) {
                tried.push(address.clone());
            }

            let jittered = self.inner.jitter.delay(&policy, attempt - 1);
            let elapsed = started.elapsed();
            let Some(pause) = policy.pause(attempt, elapsed, jittered, retry_after) else {
                return Err(exhausted(attempt, elapsed, &failure));
            };
            // The refresh counts as part of the pause; one that ran past the deadline ends the call.
            let resume_at = Instant::now() + pause;
            if retry_after.is_none() {
                self.refresh_cluster(seen_epoch, Some(&address)).await;
            }
            tokio::time::sleep_until(resume_at).await;
            if started.elapsed() >= policy.max_elapsed {
                return Err(exhausted(attempt, started.elapsed(), &failure));
            }
        }
    }

    /// The node to try next for `route`, passing over nodes this call already tried.
    fn pick(&self, route: &Route, tried: &[NodeAddress]) -> NodeAddress {
        let routing = self.routing();
        if let Route::Leader { stream, shard } = route {
            if let Some(leader) = routing.leader(stream, shard) {
                if !tried.contains(leader) && !self.inner.pool.is_suspect(leader) {
                    return leader.clone();
                }
            }
        }
        self.inner.pool.pick_any(routing.nodes(), tried)
    }

    /// Drops the cached leader of the shard `route` aims at, if any, until the next refresh.
    fn forget_leader(&self, route: &Route) {
        if let Route::Leader { stream, shard } = route {
            self.routing_mut().forget_leader(stream, shard);
        }
    }

    /// Fetches DescribeCluster once (no retry) and applies it, unless another task
    /// refreshed since this one looked at `seen_epoch`. Failures only leave the cache stale.
    pub(crate) async fn refresh_cluster(&self, seen_epoch: u64, avoid: Option<&NodeAddress>) {
        let _guard = self.inner.refresh_lock.lock().await;
        let target = {
            let mut routing = self.routing_mut();
            if routing.epoch() != seen_epoch {
                return;
            }
            routing.bump_epoch();
            // Marks the attempt, so a cluster without DescribeCluster is not asked on every call.
            routing.mark_refresh_attempt(Instant::now());
            self.inner.pool.pick_any(routing.nodes(), avoid.map(std::slice::from_ref).unwrap_or_default())
        };
        let channel = match self.inner.pool.channel(&target) {
            Ok(channel) => channel,
            Err(e) => {
                tracing::debug!(%target, error = %e, "cannot refresh the cluster view");
                return;
            }
        };
        let timeout = REFRESH_TIMEOUT.min(self.inner.config.request_timeout);
        let mut admin = admin_stub(channel);
        match tokio::time::timeout(timeout, admin.describe_cluster(DescribeClusterRequest {})).await {
            Ok(Ok(response)) => self.routing_mut().apply_cluster(response.get_ref(), Instant::now()),
            Ok(Err(status)) => tracing::debug!(%target, %status, "cluster refresh failed"),
            Err(_) => tracing::debug!(%target, "cluster refresh timed out"),
        }
    }

    /// Makes sure a cluster view exists (waiting for the first one) and is not too old
    /// (refreshing in the background).
    pub(crate) async fn ensure_cluster_view(&self) {
        let (epoch, attempted) = {
            let routing = self.routing();
            (routing.epoch(), routing.refreshed_at())
        };
        match attempted {
            None => self.refresh_cluster(epoch, None).await,
            Some(at) if at.elapsed() > CLUSTER_VIEW_TTL => {
                let client = self.clone();
                tokio::spawn(async move { client.refresh_cluster(epoch, None).await });
            }
            Some(_) => {}
        }
    }

    /// The cached shard map of `stream`, fetched with a single ListShards attempt when
    /// missing. `None` when it cannot be had: the caller then routes to any node.
    pub(crate) async fn shard_map(&self, stream: &str) -> Option<Arc<ShardMap>> {
        if stream.is_empty() {
            return None;
        }
        if let Some(map) = self.routing().shard_map(stream) {
            return Some(map);
        }
        match self.fetch_shards(stream, RetryPolicy::no_retry()).await {
            Ok(_) => self.routing().shard_map(stream),
            Err(e) => {
                tracing::debug!(stream, error = %e, "no shard map; routing to any node");
                None
            }
        }
    }

    /// Every shard of `stream`, following `next_token`; refreshes the cached shard map.
    pub(crate) async fn fetch_shards(
        &self,
        stream: &str,
        policy: RetryPolicy,
    ) -> Result<Vec<runnel_proto::v1::Shard>, ClientError> {
        let mut shards = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..super::streams::MAX_PAGES {
            // Kinesis refuses StreamName together with NextToken.
            let request = match next_token.take() {
                Some(token) => ListShardsRequest { next_token: token, ..Default::default() },
                None => ListShardsRequest { stream_name: stream.to_string(), ..Default::default() },
            };
            let page = self
                .call_with(Route::Any, policy, |channel| {
                    let request = request.clone();
                    async move { kinesis_stub(channel).list_shards(request).await }
                })
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    self.forget_stream_on_not_found(stream, &e);
                    return Err(e);
                }
            };
            shards.extend(page.shards);
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next_token = Some(token),
                None => {
                    if let Ok(map) = ShardMap::from_shards(&shards) {
                        self.routing_mut().set_shard_map(stream, map, Instant::now());
                    }
                    return Ok(shards);
                }
            }
        }
        Err(too_many_pages("ListShards"))
    }

    /// Where a write of records with these keys should go, by `map` (from `shard_map`):
    /// the shared leader of their shards when there is one, else any node (which forwards).
    pub(crate) async fn write_route<'a>(
        &self,
        stream: &str,
        map: Option<&ShardMap>,
        keys: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Route {
        let parts = self.leader_parts(stream, map, keys).await.unwrap_or_default();
        Route::of_parts(stream, &parts)
    }

    /// The records of a write grouped by the leader of their shard, by `map`: one part
    /// per leader, each with a shard of that leader to route it by and the indexes of its
    /// records, in request order. `None` when a record's shard or leader is unknown.
    pub(crate) async fn leader_parts<'a>(
        &self,
        stream: &str,
        map: Option<&ShardMap>,
        keys: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Option<Vec<(ShardId, Vec<usize>)>> {
        let map = map?;
        self.ensure_cluster_view().await;
        let routing = self.routing();
        // As many parts as leaders: a handful, so a linear search is the cheapest.
        let mut parts: Vec<(&NodeAddress, &ShardId, Vec<usize>)> = Vec::new();
        for (i, (partition_key, explicit_hash_key)) in keys.into_iter().enumerate() {
            let shard = map.shard_for_record(partition_key, explicit_hash_key)?;
            let leader = routing.leader(stream, shard)?;
            match parts.iter_mut().find(|(l, _, _)| *l == leader) {
                Some((_, _, indexes)) => indexes.push(i),
                None => parts.push((leader, shard, vec![i])),
            }
        }
        Some(parts.into_iter().map(|(_, shard, indexes)| (shard.clone(), indexes)).collect())
    }

    /// Drops the shard map a write was routed by when the server stored a record in
    /// another shard than the map predicted (a reshard closed it), so the next write
    /// fetches the children. `stored` is (partition key, explicit hash key, shard stored in).
    pub(crate) fn check_shard_map<'a>(
        &self,
        stream: &str,
        map: Option<&Arc<ShardMap>>,
        stored: impl IntoIterator<Item = (&'a str, Option<&'a str>, &'a str)>,
    ) {
        let Some(map) = map else {
            return;
        };
        let mut stored = stored.into_iter();
        let Some((partition_key, _, shard)) = stored.find(|(key, explicit, shard)| map.misses(key, *explicit, shard))
        else {
            return;
        };
        if self.routing_mut().forget_missed_shard_map(stream, map, Instant::now()) {
            tracing::debug!(
                stream,
                partition_key,
                shard,
                "a write landed in a shard the map did not predict; refetching"
            );
        }
    }

    /// A stream that is not found may come back with other shards: drop its cache.
    pub(crate) fn forget_stream_on_not_found(&self, stream: &str, error: &ClientError) {
        if error.code() == Some(&ErrorCode::ResourceNotFoundException) {
            self.routing_mut().forget_stream(stream);
        }
    }
}

fn exhausted(attempts: u32, elapsed: Duration, last: &Status) -> ClientError {
    let last = match ClientError::from_status(last) {
        ClientError::Status { code, message } => format!("{code:?}: {message}"),
        other => other.to_string(),
    };
    ClientError::Unavailable { attempts, elapsed, last }
}

pub(crate) fn too_many_pages(action: &str) -> ClientError {
    ClientError::MalformedResponse(format!("{action} kept returning more pages than any stream can have"))
}
