//! Channels to other nodes: one lazily connected gRPC channel per address, shared by every
//! group and every forwarded request. The connector is injected so a simulation can carry
//! the same traffic over its own network.

use runnel_proto::v1::peer::peer_client::PeerClient;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// Largest message between nodes: a full PutRecords batch plus framing, or a snapshot.
pub const PEER_MESSAGE_BYTES_MAX: usize = 256 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

pub trait Connector: Send + Sync + 'static {
    fn connect(&self, addr: &str) -> Result<Channel, String>;
}

/// Plain TCP (production and real-process tests).
pub struct TcpConnector;

impl Connector for TcpConnector {
    fn connect(&self, addr: &str) -> Result<Channel, String> {
        let endpoint = Endpoint::from_shared(addr.to_string()).map_err(|e| format!("bad peer address {addr}: {e}"))?;
        Ok(endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true)
            .connect_lazy())
    }
}

#[derive(Clone)]
pub struct Peers {
    connector: Arc<dyn Connector>,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Peers {
    pub fn new(connector: Arc<dyn Connector>) -> Peers {
        Peers { connector, channels: Arc::default() }
    }

    pub fn channel(&self, addr: &str) -> Result<Channel, String> {
        let mut channels = self.channels.lock().map_err(|_| "peer channel map poisoned".to_string())?;
        if let Some(ch) = channels.get(addr) {
            return Ok(ch.clone());
        }
        let ch = self.connector.connect(addr)?;
        channels.insert(addr.to_string(), ch.clone());
        Ok(ch)
    }

    pub fn client(&self, addr: &str) -> Result<PeerClient<Channel>, String> {
        Ok(PeerClient::new(self.channel(addr)?)
            .max_decoding_message_size(PEER_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(PEER_MESSAGE_BYTES_MAX))
    }
}
