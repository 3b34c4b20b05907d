//! The Kinesis service, independent of any wire: plain requests in (`types`), plain
//! responses or a `KinesisError` out. It validates each request, consults the metadata,
//! and turns it into proposals and linearizable reads on the right groups. The gRPC
//! service (api/kinesis.rs) is a thin adapter over it; an HTTP adapter will sit beside.
//!
//! - `streams`: CreateStream, DeleteStream, DescribeStream(Summary), ListStreams.
//! - `shards`: ListShards.
//! - `records`: PutRecord, PutRecords.
//! - `reads`: GetShardIterator, GetRecords.
//! - `tokens`: authenticated shard iterators and NextTokens.
//! - `validate`: member checks shared by the actions.
//! - `admission`: bounded work per node.
//! - `error`: `KinesisError`.

pub mod admission;
pub mod error;
mod reads;
mod records;
mod shards;
mod streams;
pub mod tokens;
pub mod types;
pub mod validate;

pub use error::KinesisError;

use crate::cluster::propose::propose;
use crate::cluster::Node;
use crate::control::{MetaCommand, MetaResult, ShardMeta, StreamMeta, StreamStatus, TokenKey};
use crate::domain::{SequenceNumber, StreamName, META_GROUP};
use crate::replica::{GroupCommand, GroupReply};
use crate::shard::append::AppendRefused;
use crate::shard::batch::{AppendBatch, NewRecord};
use admission::Admission;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokens::{TokenError, TokenKind};
use types::{ShardDescription, StreamRef};

/// The account and region in ARNs; Runnel has one of each.
pub const ACCOUNT_ID: &str = "000000000000";
pub const REGION: &str = "local";
/// How long a metadata write waits to be visible on the node that answers.
const META_VISIBLE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct KinesisService {
    node: Arc<Node>,
    admission: Admission,
}

pub fn stream_arn(name: &StreamName) -> String {
    format!("arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{name}")
}

fn not_found(name: &StreamName) -> KinesisError {
    KinesisError::ResourceNotFound(format!("Stream {name} under account {ACCOUNT_ID} not found."))
}

fn describe_shard(shard: &ShardMeta) -> ShardDescription {
    ShardDescription {
        shard_id: shard.id,
        parent_shard_id: None,
        adjacent_parent_shard_id: None,
        hash_key_range: shard.range(),
        starting_sequence_number: SequenceNumber::new(shard.id, shard.starting_counter),
        ending_sequence_number: None,
    }
}

impl KinesisService {
    pub fn new(node: Arc<Node>) -> KinesisService {
        let admission = Admission::new(node.config.limits);
        KinesisService { node, admission }
    }

    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    fn now_ms(&self) -> i64 {
        self.node.clock.now_ms()
    }

    fn stream_name(stream: &StreamRef) -> Result<StreamName, KinesisError> {
        validate::stream_name(stream.name.as_deref().unwrap_or(""), stream.arn.as_deref().unwrap_or(""))
    }

    fn stream(&self, name: &StreamName) -> Result<StreamMeta, KinesisError> {
        self.node.meta.current().state.streams.get(name).cloned().ok_or_else(|| not_found(name))
    }

    /// A stream that accepts reads and writes.
    fn live_stream(&self, name: &StreamName) -> Result<StreamMeta, KinesisError> {
        let stream = self.stream(name)?;
        match stream.status {
            StreamStatus::Active => Ok(stream),
            status => Err(KinesisError::ResourceNotFound(format!(
                "Stream {name} under account {ACCOUNT_ID} is {}, not ACTIVE.",
                status.as_kinesis()
            ))),
        }
    }

    fn token_keys(&self) -> Vec<TokenKey> {
        self.node.meta.current().state.token_keys.clone()
    }

    fn seal<T: Serialize + TokenKind>(&self, value: &T) -> Result<String, KinesisError> {
        tokens::seal(&self.token_keys(), value).map_err(|e| match e {
            TokenError::NoKey => {
                KinesisError::ServiceUnavailable("the cluster is still starting (no token key)".into())
            }
            TokenError::Invalid => KinesisError::InternalFailure("a token could not be sealed".into()),
        })
    }

    fn open<T: DeserializeOwned + TokenKind>(&self, token: &str, what: &str) -> Result<T, KinesisError> {
        tokens::open(&self.token_keys(), token)
            .map_err(|_| KinesisError::InvalidArgument(format!("{what} is not valid")))
    }

    /// Proposes a metadata change and waits until this node has applied it, so that the
    /// caller's next request here sees it.
    async fn meta_write(&self, command: MetaCommand) -> Result<MetaResult, KinesisError> {
        let replicas: Vec<_> = self.node.config.peers.keys().copied().collect();
        let proposed = propose(&self.node, META_GROUP, &replicas, &GroupCommand::Meta(command)).await?;
        let waited = self
            .node
            .meta_raft
            .wait(Some(META_VISIBLE_TIMEOUT))
            .applied_index_at_least(Some(proposed.log_index), "metadata write visible")
            .await;
        if let Err(e) = waited {
            tracing::debug!("metadata write applied elsewhere, not yet here: {e}");
        }
        match proposed.reply {
            GroupReply::Meta(MetaResult::Refused(why)) => Err(KinesisError::InvalidArgument(why)),
            GroupReply::Meta(result) => Ok(result),
            other => Err(KinesisError::InternalFailure(format!("unexpected metadata reply {other:?}"))),
        }
    }

    /// Appends records to one shard; returns their sequence numbers.
    async fn append(&self, shard: &ShardMeta, records: Vec<NewRecord>) -> Result<Vec<SequenceNumber>, KinesisError> {
        let count = records.len();
        let batch = AppendBatch { arrival_ms: self.now_ms(), records };
        let proposed =
            crate::cluster::propose::propose(&self.node, shard.group, &shard.replicas, &GroupCommand::Append(batch))
                .await?;
        match proposed.reply {
            GroupReply::Appended(seqs) if seqs.len() == count => Ok(seqs),
            GroupReply::AppendRefused(AppendRefused::NotIssued(seq)) => Err(KinesisError::InvalidArgument(format!(
                "SequenceNumberForOrdering {seq} was not issued by shard {} of this stream",
                shard.id
            ))),
            GroupReply::AppendRefused(refused) => Err(KinesisError::InvalidArgument(refused.to_string())),
            other => Err(KinesisError::InternalFailure(format!("unexpected append reply {other:?}"))),
        }
    }
}
