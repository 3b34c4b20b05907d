//! The `Client` handle: configuration, construction and raw stub access. The Kinesis
//! actions live in the sibling modules, grouped by what they touch.

mod call;
mod cluster;
mod records;
mod streams;

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use runnel_proto::v1::admin_client::AdminClient;
use runnel_proto::v1::kinesis_client::KinesisClient;
use tonic::transport::Channel;

use crate::backoff::RetryPolicy;
use crate::error::ClientError;
use crate::nodes::NodePool;
use crate::routing::{NodeAddress, RoutingTable};

/// Room for a full GetRecords page (10 MiB) or PutRecords batch (5 MiB) plus framing;
/// tonic's 4 MiB default would refuse both.
const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// Tunables of a `Client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long dialling a node may take.
    pub connect_timeout: Duration,
    /// How long one request to one node may take.
    pub request_timeout: Duration,
    /// How failed calls are retried.
    pub retry: RetryPolicy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
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
        let pool = NodePool::new(&endpoints, config.connect_timeout, config.request_timeout)?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                pool,
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
