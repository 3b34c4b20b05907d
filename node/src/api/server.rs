//! Serving the client-facing services on the client listener: Kinesis, Admin, health and
//! reflection. The listener is a stream of connections so that a simulation can hand in
//! its own. The peer service runs on its own listener (`transport::server`).

use super::admin::AdminService;
use super::kinesis::KinesisGrpc;
use super::status::oversized_request;
use crate::cluster::Node;
use crate::kinesis::KinesisService;
use crate::limits::{GET_RECORDS_BYTES_MAX, PUT_RECORDS_BYTES_MAX};
use futures::future::BoxFuture;
use futures::Stream;
use runnel_proto::v1::admin_server::AdminServer;
use runnel_proto::v1::kinesis_server::KinesisServer;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::body::Body;
use tonic::codegen::{http, Service};
use tonic::server::NamedService;
use tonic::transport::server::Connected;
use tonic::transport::Server;
use tonic::Status;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::HealthService;
use tonic_reflection::server::v1::{ReflectionService, ServerReflectionServer};

/// Room for protobuf framing around the largest request and response bodies.
const KINESIS_MESSAGE_BYTES_MAX: usize = GET_RECORDS_BYTES_MAX + PUT_RECORDS_BYTES_MAX;
/// Requests one client connection may have in flight; the node-wide bounds are in
/// `kinesis::admission`.
const REQUESTS_PER_CONNECTION_MAX: usize = 1024;
/// Streams a client may reset before the server accepted them, per connection (h2's
/// default is 20). Calls that timed out while a node was frozen or cut off reach it as a
/// burst of resets when it comes back, and past the limit h2 closes the connection with
/// every call on it. Still bounded: a "rapid reset" flood is cut off.
const PENDING_RESET_STREAMS_MAX: usize = 256;
/// The header in which a gRPC status travels when the response has no body.
const GRPC_STATUS: &str = "grpc-status";

pub async fn serve<I, IO, IE>(
    node: Arc<Node>,
    incoming: I,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error>
where
    I: Stream<Item = Result<IO, IE>> + Send,
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<KinesisServer<KinesisGrpc>>().await;
    health_reporter.set_serving::<AdminServer<AdminService>>().await;
    // The descriptor set holds the Peer service too; advertise only what this port serves.
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(runnel_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(<KinesisServer<KinesisGrpc> as NamedService>::NAME)
        .with_service_name(<AdminServer<AdminService> as NamedService>::NAME)
        .with_service_name(<HealthServer<HealthService> as NamedService>::NAME)
        .with_service_name(<ServerReflectionServer<ReflectionService> as NamedService>::NAME)
        .build_v1();
    let reflection = match reflection {
        Ok(r) => r,
        Err(e) => panic!("the compiled-in descriptors must be valid: {e}"),
    };

    let kinesis = KinesisServer::new(KinesisGrpc::new(KinesisService::new(node.clone())))
        .max_decoding_message_size(KINESIS_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(KINESIS_MESSAGE_BYTES_MAX);
    let kinesis = OversizedNamed { inner: kinesis };
    let admin = AdminServer::new(AdminService::new(node));

    Server::builder()
        .concurrency_limit_per_connection(REQUESTS_PER_CONNECTION_MAX)
        .http2_max_pending_accept_reset_streams(Some(PENDING_RESET_STREAMS_MAX))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(kinesis)
        .add_service(admin)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// The Kinesis service with tonic's refusal of a request over `KINESIS_MESSAGE_BYTES_MAX`
/// (OUT_OF_RANGE, made before any handler runs) replaced by the Kinesis error that request
/// deserves (`status::oversized_request`), so clients see a Kinesis name for it too.
#[derive(Clone)]
struct OversizedNamed<S> {
    inner: S,
}

impl<S: NamedService> NamedService for OversizedNamed<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for OversizedNamed<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // `/runnel.v1.Kinesis/PutRecords` -> `PutRecords`.
        let action = req.uri().path().rsplit('/').next().unwrap_or_default().to_string();
        let response = self.inner.call(req);
        Box::pin(async move {
            let response = response.await?;
            // Only tonic answers OUT_OF_RANGE here (`to_status` never does), and only in
            // the headers when it refused the request before the handler ran.
            let out_of_range = response.headers().get(GRPC_STATUS).is_some_and(|v| v.as_bytes() == b"11");
            if !out_of_range {
                return Ok(response);
            }
            let detail = response.extensions().get::<Status>().map(|s| s.message().to_string()).unwrap_or_default();
            Ok(oversized_request(&action, &detail).into_http())
        })
    }
}
