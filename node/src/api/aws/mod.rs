//! The AWS wire protocol of Kinesis (`POST /`, `X-Amz-Target: Kinesis_20131202.<Action>`):
//! a thin adapter over `kinesis::KinesisService`, beside the gRPC one, with no logic of its
//! own.
//!
//! - `shapes`: the request and response shapes, named as AWS names their members, and their
//!   conversions to and from the service's plain types; blobs and timestamps encode by the
//!   format (JSON now, CBOR later with the same shapes).
//! - `actions`: each action decoded, called and encoded (`call`), and `AwsError`, the one
//!   mapping of `KinesisError` to the error Kinesis sends.
//! - `event_stream`: the AWS event stream framing of SubscribeToShard's response.
//! - `server`: the listener (HTTP/1.1 and HTTP/2 on one port), the target header, body
//!   limits, request ids, and errors as JSON.

pub mod actions;
pub mod event_stream;
pub mod server;
pub mod shapes;
