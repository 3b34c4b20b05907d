//! Serving every service on one listener. The listener is a stream of connections so that
//! a simulation can hand in its own.

use super::admin::AdminService;
use super::kinesis::KinesisService;
use super::peer::PeerService;
use crate::cluster::peers::PEER_MESSAGE_BYTES_MAX;
use crate::cluster::Node;
use crate::limits::{GET_RECORDS_BYTES_MAX, PUT_RECORDS_BYTES_MAX};
use futures::Stream;
use runnel_proto::v1::admin_server::AdminServer;
use runnel_proto::v1::kinesis_server::KinesisServer;
use runnel_proto::v1::peer::peer_server::PeerServer;
use std::future::Future;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::server::Connected;
use tonic::transport::Server;

/// Room for protobuf framing around the largest request and response bodies.
const KINESIS_MESSAGE_BYTES_MAX: usize = GET_RECORDS_BYTES_MAX + PUT_RECORDS_BYTES_MAX;

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
    health_reporter.set_serving::<KinesisServer<KinesisService>>().await;
    health_reporter.set_serving::<AdminServer<AdminService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(runnel_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1();
    let reflection = match reflection {
        Ok(r) => r,
        Err(e) => panic!("the compiled-in descriptors must be valid: {e}"),
    };

    let kinesis = KinesisServer::new(KinesisService::new(node.clone()))
        .max_decoding_message_size(KINESIS_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(KINESIS_MESSAGE_BYTES_MAX);
    let admin = AdminServer::new(AdminService::new(node.clone()));
    let peer = PeerServer::new(PeerService::new(node))
        .max_decoding_message_size(PEER_MESSAGE_BYTES_MAX)
        .max_encoding_message_size(PEER_MESSAGE_BYTES_MAX);

    Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(kinesis)
        .add_service(admin)
        .add_service(peer)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
