//! The nodes a client talks to: one channel per address, made by the client's
//! `Connector`, and the choice of which node to send the next request to.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

use crate::error::ClientError;
use crate::routing::{KnownNode, NodeAddress};

/// How long a node that failed at the transport level is passed over.
const SUSPECT_FOR: Duration = Duration::from_secs(2);

/// Bound on cached channels; addresses come from the server, so the set is not ours to trust.
const MAX_CHANNELS: usize = 256;

/// Makes the channel to one node, given its address (e.g. `http://127.0.0.1:50051`, no
/// trailing slash); an `Err` says why the address is unusable. The default dials TCP
/// lazily; a simulator or test injects its own transport here.
pub type Connector = Arc<dyn Fn(&str) -> Result<Channel, String> + Send + Sync>;

/// The default `Connector`: TCP, connected on first use, with these timeouts.
pub(crate) fn tcp_connector(connect_timeout: Duration, request_timeout: Duration) -> Connector {
    Arc::new(move |address: &str| {
        let endpoint = Endpoint::from_shared(address.to_string()).map_err(|e| e.to_string())?;
        Ok(endpoint.connect_timeout(connect_timeout).timeout(request_timeout).tcp_nodelay(true).connect_lazy())
    })
}

/// Channels and node health as this client has seen them.
pub(crate) struct NodePool {
    seeds: Vec<NodeAddress>,
    /// Index for index with `seeds`; kept apart from `channels` so they are never evicted.
    seed_channels: Vec<Channel>,
    connector: Connector,
    channels: Mutex<HashMap<NodeAddress, Channel>>,
    suspects: Mutex<HashMap<NodeAddress, Instant>>,
    cursor: AtomicUsize,
}

impl fmt::Debug for NodePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodePool").field("seeds", &self.seeds).finish_non_exhaustive()
    }
}

impl NodePool {
    /// Validates the seed endpoints and has `connector` make their channels.
    pub fn new(endpoints: &[String], connector: Connector) -> Result<NodePool, ClientError> {
        let mut seeds: Vec<NodeAddress> = Vec::new();
        for endpoint in endpoints {
            let address = NodeAddress::new(endpoint);
            if !seeds.contains(&address) {
                seeds.push(address);
            }
        }
        if seeds.is_empty() {
            return Err(ClientError::NoEndpoints);
        }
        let mut pool = NodePool {
            seeds,
            seed_channels: Vec::new(),
            connector,
            channels: Mutex::new(HashMap::new()),
            suspects: Mutex::new(HashMap::new()),
            cursor: AtomicUsize::new(0),
        };
        pool.seed_channels = pool.seeds.iter().map(|seed| pool.channel(seed)).collect::<Result<_, _>>()?;
        Ok(pool)
    }

    pub fn seeds(&self) -> &[NodeAddress] {
        &self.seeds
    }

    /// The channel to `address`, made by the connector on first use.
    pub fn channel(&self, address: &NodeAddress) -> Result<Channel, ClientError> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(channel) = channels.get(address) {
            return Ok(channel.clone());
        }
        if let Some(i) = self.seeds.iter().position(|s| s == address) {
            if let Some(channel) = self.seed_channels.get(i) {
                return Ok(channel.clone());
            }
        }
        let channel = (self.connector)(address.as_str())
            .map_err(|reason| ClientError::InvalidEndpoint { endpoint: address.to_string(), reason })?;
        if channels.len() < MAX_CHANNELS {
            channels.insert(address.clone(), channel.clone());
        }
        Ok(channel)
    }

    /// The next seed, round robin.
    pub fn seed(&self) -> NodeAddress {
        self.seeds[self.next_index(self.seeds.len())].clone()
    }

    /// The channel of the next seed, round robin.
    pub fn seed_channel(&self) -> Channel {
        self.seed_channels[self.next_index(self.seed_channels.len())].clone()
    }

    /// `len` is never 0: `new` refuses an empty seed list.
    fn next_index(&self, len: usize) -> usize {
        self.cursor.fetch_add(1, Ordering::Relaxed) % len.max(1)
    }

    pub fn mark_suspect(&self, address: &NodeAddress) {
        let mut suspects = self.suspects.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        suspects.retain(|_, since| now.duration_since(*since) < SUSPECT_FOR);
        suspects.insert(address.clone(), now);
    }

    pub fn clear_suspect(&self, address: &NodeAddress) {
        let mut suspects = self.suspects.lock().unwrap_or_else(PoisonError::into_inner);
        suspects.remove(address);
    }

    pub fn is_suspect(&self, address: &NodeAddress) -> bool {
        let suspects = self.suspects.lock().unwrap_or_else(PoisonError::into_inner);
        suspects.get(address).is_some_and(|since| since.elapsed() < SUSPECT_FOR)
    }

    /// Any node to send a request to, round robin over the seeds and the healthy nodes
    /// the cluster reported, preferring ones neither in `avoid` nor recently failing.
    pub fn pick_any(&self, known: &[KnownNode], avoid: &[NodeAddress]) -> NodeAddress {
        let mut candidates: Vec<&NodeAddress> = self.seeds.iter().collect();
        for node in known.iter().filter(|n| n.healthy) {
            if !candidates.contains(&&node.address) {
                candidates.push(&node.address);
            }
        }
        let fresh: Vec<&NodeAddress> =
            candidates.iter().copied().filter(|a| !avoid.contains(a) && !self.is_suspect(a)).collect();
        let untried: Vec<&NodeAddress> = candidates.iter().copied().filter(|a| !avoid.contains(a)).collect();
        // With every node tried, start over: one of them may be back.
        let pool = [fresh, untried, candidates].into_iter().find(|c| !c.is_empty()).unwrap_or_default();
        match pool.len() {
            0 => self.seed(),
            len => pool[self.next_index(len)].clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp() -> Connector {
        tcp_connector(Duration::from_secs(1), Duration::from_secs(1))
    }

    fn pool(endpoints: &[&str]) -> NodePool {
        let endpoints: Vec<String> = endpoints.iter().map(|s| s.to_string()).collect();
        NodePool::new(&endpoints, tcp()).expect("valid endpoints")
    }

    #[tokio::test]
    async fn rejects_empty_and_malformed_endpoints() {
        assert!(matches!(NodePool::new(&[], tcp()), Err(ClientError::NoEndpoints)));
        let bad = vec!["not a uri".to_string()];
        assert!(matches!(NodePool::new(&bad, tcp()), Err(ClientError::InvalidEndpoint { .. })));
    }

    #[tokio::test]
    async fn every_channel_comes_from_the_connector_once() {
        let made: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = made.clone();
        let inner = tcp();
        let connector: Connector = Arc::new(move |address: &str| {
            log.lock().expect("log lock").push(address.to_string());
            inner(address)
        });
        let endpoints = vec!["http://127.0.0.1:1/".to_string(), "http://127.0.0.1:2".to_string()];
        let pool = NodePool::new(&endpoints, connector).expect("valid endpoints");
        let other = NodeAddress::new("http://127.0.0.1:3");
        for _ in 0..3 {
            pool.channel(&other).expect("channel");
            pool.channel(&NodeAddress::new("http://127.0.0.1:1")).expect("seed channel");
        }
        let made = made.lock().expect("log lock").clone();
        assert_eq!(made, ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]);
    }

    #[tokio::test]
    async fn a_connector_refusal_is_an_invalid_endpoint() {
        let connector: Connector = Arc::new(|address: &str| Err(format!("no route to {address}")));
        let endpoints = vec!["http://127.0.0.1:1".to_string()];
        match NodePool::new(&endpoints, connector) {
            Err(ClientError::InvalidEndpoint { endpoint, reason }) => {
                assert_eq!(endpoint, "http://127.0.0.1:1");
                assert_eq!(reason, "no route to http://127.0.0.1:1");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn pick_skips_avoided_and_suspect_nodes() {
        let pool = pool(&["http://127.0.0.1:1", "http://127.0.0.1:2/", "http://127.0.0.1:2"]);
        assert_eq!(pool.seeds().len(), 2, "duplicates collapse");
        let a = NodeAddress::new("http://127.0.0.1:1");
        let b = NodeAddress::new("http://127.0.0.1:2");
        for _ in 0..4 {
            assert_eq!(pool.pick_any(&[], std::slice::from_ref(&a)), b);
        }
        pool.mark_suspect(&b);
        for _ in 0..4 {
            assert_eq!(pool.pick_any(&[], &[]), a);
        }
        // Everything avoided: still returns some node rather than giving up.
        let any = pool.pick_any(&[], &[a.clone(), b.clone()]);
        assert!(any == a || any == b);
        pool.clear_suspect(&b);
        assert!(!pool.is_suspect(&b));
    }

    #[tokio::test]
    async fn pick_includes_healthy_cluster_nodes_only() {
        let pool = pool(&["http://127.0.0.1:1"]);
        let seed = NodeAddress::new("http://127.0.0.1:1");
        let healthy = KnownNode { address: NodeAddress::new("http://127.0.0.1:3"), healthy: true };
        let sick = KnownNode { address: NodeAddress::new("http://127.0.0.1:4"), healthy: false };
        let known = [healthy.clone(), sick.clone()];
        for _ in 0..6 {
            let picked = pool.pick_any(&known, std::slice::from_ref(&seed));
            assert_eq!(picked, healthy.address);
        }
    }
}
