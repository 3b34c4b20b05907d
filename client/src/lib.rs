//! Runnel's Rust client: the Kinesis Data Streams actions over gRPC, with leader-aware
//! routing and retries under a time budget (`RetryPolicy::max_elapsed`).
//!
//! Under a deterministic simulator, give it the simulated transport
//! (`Client::with_connector`) and a `ClientConfig::jitter_seed`: its clocks are tokio's.
//!
//! ```no_run
//! # async fn demo() -> Result<(), runnel_client::ClientError> {
//! use runnel_client::{proto::PutRecordRequest, Client};
//! use std::time::Duration;
//!
//! let client = Client::connect(vec!["http://127.0.0.1:50051".into()]).await?;
//! client.create_stream("events", 2).await?;
//! client.wait_for_active("events", Duration::from_secs(30)).await?;
//! let put = client
//!     .put_record(PutRecordRequest {
//!         stream_name: "events".into(),
//!         partition_key: "user-1".into(),
//!         data: b"hello".to_vec(),
//!         ..Default::default()
//!     })
//!     .await?;
//! println!("{} {}", put.shard_id, put.sequence_number);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `client/`: the `Client` handle and `ClientConfig`. `mod.rs` builds it and hands out
//!   raw stubs; `call.rs` is the retry loop, routing-cache upkeep and the choice of
//!   leaders for a write; `streams.rs`, `reshard.rs`, `records.rs` (PutRecords split per
//!   leader when `ClientConfig::split_put_records` says so), `attributes.rs`,
//!   `consumers.rs` (enhanced fan-out consumers) and `cluster.rs` are the actions, grouped
//!   by what they touch;
//!   `subscribe.rs` is SubscribeToShard and `subscribe`, which follows a whole stream for a
//!   fan-out consumer.
//! - `error`: `ClientError` and `ErrorCode`, decoded from gRPC statuses, and which
//!   failures are worth retrying.
//! - `backoff`: `RetryPolicy`, the exponential backoff and time budget of every retry
//!   loop, and the (optionally seeded) jitter source.
//! - `routing`: the shard map of each stream and the leader of each shard.
//! - `lineage`: the order in which a reader takes up shards after splits and merges
//!   (parents read to their end before their children), for `get` and `tail`.
//! - `nodes`: one channel per node address, made by a `Connector`, and the choice of
//!   node for a request.
//! - `model`: enums for values the wire carries as strings (stream status, iterator type).
//! - `main.rs` and `cli/` (binary only): the `runnel` command-line tool.

mod backoff;
mod client;
mod error;
mod lineage;
mod model;
mod nodes;
mod routing;

pub use backoff::RetryPolicy;
pub use client::{split_midpoint, Client, ClientConfig, ConsumerKey, Delivery};
pub use error::{ClientError, ErrorCode};
pub use lineage::{expired_parent, Lineage, LineageError, LineageStart, ReadyShard, MAX_TRACKED_SHARDS};
pub use model::{ParseShardIteratorTypeError, ShardIteratorType, StreamStatus};
pub use nodes::Connector;
pub use routing::{is_closed, shard_hash_range, NodeAddress, ShardId, ShardMap, ShardRoute};

pub use runnel_proto::hash_key;
/// The wire types, re-exported so users need not depend on `runnel-proto` directly.
pub use runnel_proto::v1 as proto;
