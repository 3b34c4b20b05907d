//! The AWS wire protocol of Kinesis (`POST /`, `X-Amz-Target: Kinesis_20131202.<Action>`):
//! a thin adapter over `kinesis::KinesisService`, beside the gRPC one, with no logic of its
//! own.
//!
//! - `shapes`: the request and response shapes, named as AWS names their members, and their
//!   conversions to and from the service's plain types; blobs and timestamps encode by the
//!   format (one set of shapes for JSON and CBOR).
//! - `codec`: JSON (`application/x-amz-json-1.1`) and CBOR (`application/x-amz-cbor-1.1`,
//!   the AWS SDK for Java v1, the KCL 1.x, the KPL), chosen by the request's content type;
//!   requests, replies and errors in that codec.
//! - `actions`: each action decoded, called and encoded (`call`), and `AwsError`, the one
//!   mapping of `KinesisError` to the error Kinesis sends.
//! - `event_stream`: the AWS event stream framing of SubscribeToShard's response.
//! - `sigv4`: the AWS Signature Version 4 check, when access keys are configured
//!   (`aws_credentials_file`); without them any credentials are accepted.
//! - `tls`: the certificate and key loaded into a rustls configuration (ALPN h2, http/1.1).
//! - `server`: the listener (HTTP/1.1 and HTTP/2 on one port), the target header, body
//!   limits, request ids, and errors in the request's codec.

pub mod actions;
pub mod codec;
pub mod event_stream;
pub mod server;
pub mod shapes;
pub mod sigv4;
pub mod tls;
