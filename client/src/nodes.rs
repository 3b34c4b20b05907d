//! The nodes a client talks to: one lazily connected channel per address, and the choice
//! of which node to send the next request to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tonic::transport::{Channel, Endpoint};

use crate::error::ClientError;
use crate::routing::{KnownNode, NodeAddress};

/// How long a node that failed at the transport level is passed over.
const SUSPECT_FOR: Duration = Duration::from_secs(2);

/// Bound on cached channels; addresses come from the server, so the set is not ours to trust.
const MAX_CHANNELS: usize = 256;

/// Channels and node health as this client has seen them.
#[derive(Debug)]
pub(crate) struct NodePool {
    seeds: Vec<NodeAddress>,
    /// Index for index with `seeds`; kept apart from `channels` so they are never evicted.
    seed_channels: Vec<Channel>,
    connect_timeout: Duration,
    request_timeout: Duration,
    channels: Mutex<HashMap<NodeAddress, Channel>>,
    suspects: Mutex<HashMap<NodeAddress, Instant>>,
    cursor: AtomicUsize,
}

impl NodePool {
    /// Validates the seed endpoints and makes their channels; nothing is dialled yet.
    pub fn new(
        endpoints: &[String],
        connect_timeout: Duration,
        request_timeout: Duration,
    ) -> Result<NodePool, ClientError> {
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
            connect_timeout,
            request_timeout,
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

    /// The channel to `address`, made (lazily connected) on first use.
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
        let channel = Endpoint::from_shared(address.as_str().to_string())
            .map_err(|e| ClientError::InvalidEndpoint { endpoint: address.to_string(), reason: e.to_string() })?
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .tcp_nodelay(true)
            .connect_lazy();
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

    fn pool(endpoints: &[&str]) -> NodePool {
        let endpoints: Vec<String> = endpoints.iter().map(|s| s.to_string()).collect();
        NodePool::new(&endpoints, Duration::from_secs(1), Duration::from_secs(1)).expect("valid endpoints")
    }

    #[tokio::test]
    async fn rejects_empty_and_malformed_endpoints() {
        assert!(matches!(NodePool::new(&[], Duration::ZERO, Duration::ZERO), Err(ClientError::NoEndpoints)));
        let bad = vec!["not a uri".to_string()];
        assert!(matches!(
            NodePool::new(&bad, Duration::ZERO, Duration::ZERO),
            Err(ClientError::InvalidEndpoint { .. })
        ));
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
