//! The AWS endpoint's listener: `POST /` with `X-Amz-Target: Kinesis_20131202.<Action>`,
//! HTTP/1.1 (keep-alive) and HTTP/2 (prior knowledge) on one port, as the AWS CLI, boto3
//! and the AWS SDKs send it; SubscribeToShard's events go out as an AWS event stream.
//! Any credentials are accepted, as the emulators do, unless access keys are configured:
//! then every request's SigV4 signature is checked (`sigv4`) once its body is read.

use super::actions::{self, AwsError};
use super::codec::Codec;
use super::{event_stream, shapes};
use crate::cluster::Node;
use crate::kinesis::error::oversized_request;
use crate::kinesis::{KinesisService, SubscriptionEvents};
use crate::limits::{PUT_RECORDS_BYTES_MAX, RECORD_DATA_BYTES_MAX};
use futures::StreamExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The target header's prefix: the service and API version of Kinesis.
const TARGET_PREFIX: &str = "Kinesis_20131202.";
/// Client connections served at once; more are closed at once.
const CONNECTIONS_MAX: usize = 1024;
/// How long a client may take to finish the TLS handshake, and an HTTP/1.1 client to send
/// a request's headers.
const HEADER_READ_TIME_MAX: Duration = Duration::from_secs(30);
/// The largest body: one record of the largest size, or a whole PutRecords, as base64
/// (4 bytes for 3) with room for keys and JSON around it.
const REQUEST_BYTES_MAX: usize = largest(RECORD_DATA_BYTES_MAX, PUT_RECORDS_BYTES_MAX) / 3 * 4 + 1024 * 1024;

const fn largest(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Serves the AWS protocol for `node` on `listener` until `shutdown` resolves.
pub async fn serve_aws(
    node: Arc<Node>,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let service = KinesisService::new(node.clone());
    let request_ids = Arc::new(RequestIds::new(node.id));
    let serve = |stream: tokio::net::TcpStream, permit: tokio::sync::OwnedSemaphorePermit| {
        let _ = stream.set_nodelay(true);
        let (service, request_ids, tls) = (service.clone(), request_ids.clone(), tls.clone());
        tokio::spawn(async move {
            let handler = service_fn(move |req: Request<Incoming>| {
                let (service, request_ids) = (service.clone(), request_ids.clone());
                async move { Ok::<_, Infallible>(respond(&service, &request_ids, req).await) }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            // A client that opens a connection and sends nothing gives its place back.
            builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIME_MAX);
            let served = match tls {
                None => builder.serve_connection(TokioIo::new(stream), handler).await,
                Some(tls) => match tokio::time::timeout(HEADER_READ_TIME_MAX, tls.accept(stream)).await {
                    Ok(Ok(stream)) => builder.serve_connection(TokioIo::new(stream), handler).await,
                    Ok(Err(e)) => Err(e.into()),
                    Err(_) => Err("TLS handshake timed out".into()),
                },
            };
            if let Err(e) = served {
                tracing::debug!("AWS connection: {e}");
            }
            drop(permit);
        });
    };
    crate::api::accept::accept_until("AWS", listener, CONNECTIONS_MAX, shutdown, serve).await;
}

/// Request ids for `x-amzn-RequestId`: unique per node and process run.
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    fn new(node: u64) -> RequestIds {
        RequestIds { prefix: format!("{node:08x}-{:08x}", rand::random::<u32>()), next: AtomicU64::new(0) }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{:04x}-{:012x}", self.prefix, (n >> 48) as u16, n & 0xffff_ffff_ffff)
    }
}

/// What a request is answered with.
enum Answer {
    /// A response in the request's codec.
    Encoded(Vec<u8>),
    /// SubscribeToShard's events, to be written as an event stream.
    Events(SubscriptionEvents),
}

async fn respond(service: &KinesisService, ids: &RequestIds, req: Request<Incoming>) -> Response<Body> {
    let request_id = ids.next();
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let codec = Codec::of_content_type(content_type);
    // Errors go back in the request's codec; JSON when it named none served.
    let reply_codec = *codec.as_ref().unwrap_or(&Codec::Json);
    let mut response = match handle(service, codec, req).await {
        Ok(Answer::Encoded(body)) => reply(StatusCode::OK, reply_codec.content_type(), full(body)),
        Ok(Answer::Events(events)) => reply(StatusCode::OK, event_stream::CONTENT_TYPE, event_body(events)),
        Err(e) => error_reply(reply_codec, &e),
    };
    if let Ok(value) = header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

/// `codec` is the request's, or the refusal of its content type (reported after the method
/// and the target, as before).
async fn handle(
    service: &KinesisService,
    codec: Result<Codec, AwsError>,
    req: Request<Incoming>,
) -> Result<Answer, AwsError> {
    if req.method() != Method::POST {
        return Err(AwsError::new(
            "UnknownOperationException",
            format!("{} is not served; Kinesis takes POST /", req.method()),
            400,
        ));
    }
    let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(action) = target.strip_prefix(TARGET_PREFIX).map(str::to_string) else {
        return Err(AwsError::new(
            "UnknownOperationException",
            format!("X-Amz-Target {target:?} names no Kinesis action (Kinesis_20131202.<Action>)"),
            400,
        ));
    };
    let codec = codec?;
    // The signature covers the body too: checked once it is read.
    let signed = service.node().config.aws_credentials.as_ref().map(|keys| (keys, super::sigv4::RequestHead::of(&req)));
    let body = match Limited::new(req.into_body(), REQUEST_BYTES_MAX).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let detail = format!("more than {REQUEST_BYTES_MAX} bytes");
            return Err(AwsError::from(oversized_request(&action, &detail)));
        }
        Err(e) => return Err(AwsError::new("SerializationException", format!("reading the request: {e}"), 400)),
    };
    if let Some((keys, head)) = signed {
        super::sigv4::verify(keys, &head, &body, std::time::SystemTime::now())?;
    }
    if actions::is_event_stream(&action) {
        return Ok(Answer::Events(actions::subscribe(service, codec, &body).await?));
    }
    Ok(Answer::Encoded(actions::call(service, codec, &action, &body).await?))
}

type Body = UnsyncBoxBody<Bytes, Infallible>;

fn full(bytes: Vec<u8>) -> Body {
    Full::new(Bytes::from(bytes)).boxed_unsync()
}

/// A subscription's events as an event stream: the initial response, an event for each
/// of the service's, and an exception if it fails. Dropped with the connection, which
/// ends the subscription.
fn event_body(events: SubscriptionEvents) -> Body {
    let initial = futures::stream::once(std::future::ready(event_stream::event("initial-response", b"{}")));
    let rest = futures::stream::unfold(Some(events), |events| async move {
        let mut events = events?;
        let message = match events.recv().await? {
            Ok(event) => match serde_json::to_vec(&shapes::SubscribeToShardEvent::from(event)) {
                Ok(json) => return Some((event_stream::event("SubscribeToShardEvent", &json), Some(events))),
                Err(e) => event_stream::exception("InternalFailureException", &format!("encoding an event: {e}")),
            },
            Err(e) => event_stream::exception(actions::stream_exception(&e), &e.to_string()),
        };
        // An exception is the stream's last message.
        Some((message, None))
    });
    let frames = initial.chain(rest).map(|bytes| Ok(Frame::data(Bytes::from(bytes))));
    StreamBody::new(frames).boxed_unsync()
}

fn reply(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response
}

/// An error as Kinesis sends it: `{"__type": name, "message": text}` in the request's codec
/// with its HTTP status, and the name in `x-amzn-ErrorType` too.
fn error_reply(codec: Codec, e: &AwsError) -> Response<Body> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = reply(status, codec.content_type(), full(codec.error_body(e)));
    response.headers_mut().insert("x-amzn-ErrorType", header::HeaderValue::from_static(e.type_name));
    response
}
