//! Runnel's gRPC over turmoil's simulated TCP: the listener the node serves on and the
//! connector it dials peers with, both injected so the node code is the production code.

use runnel_node::cluster::peers::Connector;
use runnel_node::domain::NodeId;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;
use tonic::transport::{Channel, Endpoint, Uri};

pub const PORT: u16 = 50051;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const KEEPALIVE: Duration = Duration::from_secs(1);

pub fn host_name(node: NodeId) -> String {
    format!("n{node}")
}

pub fn node_url(node: NodeId) -> String {
    format!("http://{}:{PORT}", host_name(node))
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

/// The connections a simulated node accepts.
pub async fn incoming() -> io::Result<impl futures::Stream<Item = io::Result<SimStream>>> {
    let listener = turmoil::net::TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
    Ok(futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| SimStream(stream));
        Some((accepted, listener))
    }))
}

/// A lazily connected channel over simulated TCP.
pub fn channel(url: &str) -> Result<Channel, String> {
    // Simulated TCP does not retransmit: a lost segment stalls a connection for good, so
    // HTTP/2 keepalives must notice and replace it.
    let endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| e.to_string())?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE)
        .keep_alive_timeout(KEEPALIVE)
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_with_connector_lazy(tower::service_fn(|uri: Uri| async move {
        let host = uri.host().ok_or_else(|| io::Error::other("no host in uri"))?.to_string();
        let port = uri.port_u16().unwrap_or(PORT);
        let stream = turmoil::net::TcpStream::connect((host, port)).await?;
        Ok::<_, io::Error>(hyper_util::rt::TokioIo::new(stream))
    })))
}

pub struct SimConnector;

impl Connector for SimConnector {
    fn connect(&self, addr: &str) -> Result<Channel, String> {
        channel(addr)
    }
}

/// Wall-clock time inside the simulation: turmoil's epoch plus simulated time.
pub struct SimClock;

impl runnel_node::cluster::clock::Clock for SimClock {
    fn now_ms(&self) -> i64 {
        turmoil::since_epoch().map_or(0, |d| d.as_millis() as i64)
    }
}
