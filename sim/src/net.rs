//! Runnel's gRPC over turmoil's simulated TCP: the listeners a node serves on (clients and
//! peers on separate ports, as in production), the connector it dials peers with, the one
//! the real `runnel-client` dials nodes with, and the clock. All injected, so the node and
//! client code are the production code.

use runnel_node::domain::NodeId;
use runnel_node::transport::Connector;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;
use tonic::transport::{Channel, Endpoint, Uri};

/// Where a simulated node serves clients (Kinesis, Admin).
pub const CLIENT_PORT: u16 = 50051;
/// Where a simulated node serves its peers (Raft, forwarded proposals and reads).
pub const PEER_PORT: u16 = 50151;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const KEEPALIVE: Duration = Duration::from_secs(1);
/// How long one request of the real client may take (its connector applies it).
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

pub fn host_name(node: NodeId) -> String {
    format!("n{node}")
}

/// How clients reach a node (its advertised address).
pub fn node_url(node: NodeId) -> String {
    format!("http://{}:{CLIENT_PORT}", host_name(node))
}

/// How peers reach a node.
pub fn peer_url(node: NodeId) -> String {
    format!("http://{}:{PEER_PORT}", host_name(node))
}

/// A simulated TCP connection a tonic server can take.
pub struct SimStream(pub turmoil::net::TcpStream);

impl Connected for SimStream {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for SimStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The connections a simulated node accepts on `port`.
pub async fn incoming(port: u16) -> io::Result<impl futures::Stream<Item = io::Result<SimStream>>> {
    let listener = turmoil::net::TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)).await?;
    Ok(futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| SimStream(stream));
        Some((accepted, listener))
    }))
}

/// A lazily connected channel over simulated TCP; with `request_timeout`, every request on
/// it gives up after that long.
pub fn channel(url: &str, request_timeout: Option<Duration>) -> Result<Channel, String> {
    // Simulated TCP does not retransmit: a lost segment stalls a connection for good, so
    // HTTP/2 keepalives must notice and replace it.
    //
    // The connect timeout is applied inside the connector, not with
    // `Endpoint::connect_timeout`: tonic then reports it as a `ConnectError`, as it does a
    // timed-out TCP connect in production (where the HTTP connector applies the timeout),
    // and the node counts the call as never sent.
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| e.to_string())?
        .http2_keep_alive_interval(KEEPALIVE)
        .keep_alive_timeout(KEEPALIVE)
        .keep_alive_while_idle(true);
    if let Some(timeout) = request_timeout {
        endpoint = endpoint.timeout(timeout);
    }
    Ok(endpoint.connect_with_connector_lazy(tower::service_fn(|uri: Uri| async move {
        let host = uri.host().ok_or_else(|| io::Error::other("no host in uri"))?.to_string();
        let port = uri.port_u16().unwrap_or(CLIENT_PORT);
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, turmoil::net::TcpStream::connect((host, port)))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        Ok::<_, io::Error>(hyper_util::rt::TokioIo::new(stream))
    })))
}

/// How a node dials its peers in the simulation.
pub struct SimConnector;

impl Connector for SimConnector {
    fn connect(&self, addr: &str) -> Result<Channel, String> {
        channel(addr, None)
    }
}

/// How the real `runnel-client` dials nodes in the simulation, with its request timeout.
pub fn client_connector() -> runnel_client::Connector {
    Arc::new(|address: &str| channel(address, Some(CLIENT_REQUEST_TIMEOUT)))
}

/// Wall-clock time inside the simulation: turmoil's epoch plus simulated time.
pub struct SimClock;

impl runnel_node::cluster::clock::Clock for SimClock {
    fn now_ms(&self) -> i64 {
        turmoil::since_epoch().map_or(0, |d| d.as_millis() as i64)
    }
}
