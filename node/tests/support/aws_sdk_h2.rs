//! The AWS SDK for Rust over HTTP/2 without TLS (prior knowledge): its bundled client speaks
//! HTTP/2 only over TLS. Shared by `tests/aws_sdk.rs` and `examples/aws_sdk_subscribe.rs`.

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// Every SDK call on one HTTP/2 connection.
#[derive(Debug, Clone)]
struct Http2 {
    sender: hyper::client::conn::http2::SendRequest<SdkBody>,
}

impl HttpConnector for Http2 {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut sender = self.sender.clone();
        HttpConnectorFuture::new(async move {
            let request = request.try_into_http1x().map_err(|e| ConnectorError::other(e.into(), None))?;
            let response = sender.send_request(request).await.map_err(|e| ConnectorError::io(e.into()))?;
            let response = response.map(SdkBody::from_body_1_x);
            Response::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// A client of the AWS endpoint at `addr` (host:port), any credentials, on one HTTP/2
/// connection.
pub async fn sdk_client(addr: &str) -> aws_sdk_kinesis::Client {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect to the AWS endpoint");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("h2 handshake");
    tokio::spawn(connection);
    let connector = SharedHttpConnector::new(Http2 { sender });
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("x", "x", None, None, "test"))
        .endpoint_url(format!("http://{addr}"))
        .http_client(http_client_fn(move |_, _| connector.clone()))
        .build();
    aws_sdk_kinesis::Client::from_conf(config)
}
