//! The `Client` handle: configuration, construction and raw stub access. The Kinesis
//! actions live in the sibling modules, grouped by what they touch.

mod attributes;
mod call;
mod cluster;
mod consumers;
mod records;
mod reshard;
mod streams;
mod subscribe;

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use runnel_proto::v1::admin_client::AdminClient;
use runnel_proto::v1::kinesis_client::KinesisClient;
use tonic::transport::Channel;

use crate::backoff::{Jitter, RetryPolicy};
use crate::error::ClientError;
use crate::nodes::{tcp_connector, Connector, NodePool};
use crate::routing::{NodeAddress, RoutingTable};

pub use consumers::ConsumerKey;
pub use reshard::split_midpoint;
pub use subscribe::Delivery;

/// Room for a full GetRecords page (10 MiB) or PutRecords batch (5 MiB) plus framing;
/// tonic's 4 MiB default would refuse both.
const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// Tunables of a `Client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long dialling a node may take (applied by the default connector).
    pub connect_timeout: Duration,
    /// How long one request to one node may take (applied by the default connector; also
    /// bounds the cluster refreshes of the retry loop).
    pub request_timeout: Duration,
    /// How failed calls are retried, and for how long.
    pub retry: RetryPolicy,
    /// Seed of the backoff jitter: `None` draws it from the OS; `Some` makes the delays a
    /// function of the seed (and the order of failures), for deterministic simulation.
    pub jitter_seed: Option<u64>,
    /// Split a PutRecords whose records belong to shards of different leaders into one call
    /// per leader, sent at once, instead of sending it whole to a node that forwards the
    /// other leaders' parts. Only a request Kinesis would take as a whole is split (see
    /// `put_records`). Off by default.
    pub split_put_records: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            jitter_seed: None,
            split_put_records: false,
        }
    }
}

/// A handle to a Runnel cluster. Cheap to clone; clones share channels and the routing
/// cache, so one client can serve many concurrent tasks.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    pool: NodePool,
    jitter: Jitter,
    routing: RwLock<RoutingTable>,
    /// Serialises cluster refreshes so a burst of failures costs one DescribeCluster.
    refresh_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("seeds", &self.inner.pool.seeds())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the cluster reachable at `endpoints` (e.g. `http://127.0.0.1:50051`).
    /// Channels connect on first use, so this fails only on malformed endpoints.
    pub async fn connect(endpoints: Vec<String>) -> Result<Client, ClientError> {
        Client::with_config(endpoints, ClientConfig::default()).await
    }

    /// Like `connect`, with explicit timeouts and retry policy.
    pub async fn with_config(endpoints: Vec<String>, config: ClientConfig) -> Result<Client, ClientError> {
        let connector = tcp_connector(config.connect_timeout, config.request_timeout);
        Client::with_connector(endpoints, config, connector).await
    }

    /// Like `with_config`, with `connector` making the channel of every node, seeds and
    /// nodes learned from the cluster alike (e.g. over a simulated network). The
    /// connector applies its own connect and request timeouts.
    pub async fn with_connector(
        endpoints: Vec<String>,
        config: ClientConfig,
        connector: Connector,
    ) -> Result<Client, ClientError> {
        let pool = NodePool::new(&endpoints, connector)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                pool,
                jitter: Jitter::new(config.jitter_seed),
                routing: RwLock::new(RoutingTable::default()),
                refresh_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The seed endpoints, normalised (no trailing slash, duplicates removed).
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.pool.seeds().iter().map(|a| a.to_string()).collect()
    }

    /// A raw Kinesis stub on one of the seed endpoints (round robin), without retries or
    /// routing: for tests that send requests the typed methods would not.
    pub fn kinesis(&self) -> KinesisClient<Channel> {
        kinesis_stub(self.seed_channel())
    }

    /// A raw Admin stub on one of the seed endpoints.
    pub fn admin(&self) -> AdminClient<Channel> {
        admin_stub(self.seed_channel())
    }

    /// A raw Kinesis stub on the node at `address`, which need not be a seed.
    pub fn kinesis_at(&self, address: &str) -> Result<KinesisClient<Channel>, ClientError> {
        Ok(kinesis_stub(self.inner.pool.channel(&NodeAddress::new(address))?))
    }

    fn seed_channel(&self) -> Channel {
        self.inner.pool.seed_channel()
    }

    fn routing(&self) -> RwLockReadGuard<'_, RoutingTable> {
        self.inner.routing.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn routing_mut(&self) -> RwLockWriteGuard<'_, RoutingTable> {
        self.inner.routing.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn kinesis_stub(channel: Channel) -> KinesisClient<Channel> {
    KinesisClient::new(channel).max_decoding_message_size(MAX_MESSAGE_SIZE).max_encoding_message_size(MAX_MESSAGE_SIZE)
}

fn admin_stub(channel: Channel) -> AdminClient<Channel> {
    AdminClient::new(channel).max_decoding_message_size(MAX_MESSAGE_SIZE).max_encoding_message_size(MAX_MESSAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn delays(jitter_seed: Option<u64>) -> Vec<Duration> {
        let config = ClientConfig { jitter_seed, ..ClientConfig::default() };
        let client = Client::with_config(vec!["http://127.0.0.1:1".into()], config).await.expect("client");
        let policy = client.config().retry;
        (0..16).map(|attempt| client.inner.jitter.delay(&policy, attempt)).collect()
    }

    #[tokio::test]
    async fn the_configured_seed_drives_the_jitter() {
        let seeded = delays(Some(42)).await;
        assert_eq!(seeded, delays(Some(42)).await);
        assert_ne!(seeded, delays(Some(43)).await);
        assert_ne!(seeded, delays(None).await);
    }
}
