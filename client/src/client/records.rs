//! The data plane: PutRecord(s) routed to the shard leader, and reads.

use std::sync::Arc;

use runnel_proto::limits::{
    MAX_RECORD_SIZE_KIB_MIN, PARTITION_KEY_CHARS_MAX, PARTITION_KEY_CHARS_MIN, PUT_RECORDS_BYTES_MAX,
    PUT_RECORDS_COUNT_MAX, PUT_RECORDS_COUNT_MIN,
};
use runnel_proto::v1::{
    GetRecordsRequest, GetRecordsResponse, GetShardIteratorRequest, GetShardIteratorResponse, PutRecordRequest,
    PutRecordResponse, PutRecordsRequest, PutRecordsResponse, PutRecordsResultEntry,
};

use super::call::Route;
use super::{kinesis_stub, Client};
use crate::error::ClientError;
use crate::routing::{ShardId, ShardMap};

impl Client {
    /// PutRecord, sent to the leader of the record's shard when the cache knows it.
    ///
    /// Retried on transport failures and InternalFailure (outcome unknown), as the AWS SDKs
    /// do, so a record whose acknowledgement was lost can be stored twice: Kinesis writes
    /// are at-least-once.
    pub async fn put_record(&self, request: PutRecordRequest) -> Result<PutRecordResponse, ClientError> {
        let stream = request.stream_name.as_str();
        let key = (request.partition_key.as_str(), request.explicit_hash_key.as_deref());
        let map = self.shard_map(stream).await;
        let route = self.write_route(stream, map.as_deref(), [key]).await;
        let response = self
            .call(route, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).put_record(request).await }
            })
            .await
            .inspect_err(|e| self.forget_stream_on_not_found(stream, e))?;
        self.check_shard_map(stream, map.as_ref(), [(key.0, key.1, response.shard_id.as_str())]);
        Ok(response)
    }

    /// PutRecords, sent to the shared leader when every entry's shard has the same one,
    /// else to any node. Per-entry failures are in the response, for the caller to retry.
    ///
    /// With `ClientConfig::split_put_records`, a request whose shards have different
    /// leaders goes as one call per leader, all at once, and the answers are put back in
    /// request order. Only a request Kinesis would take as a whole is split (`splittable`):
    /// one it refuses whole (too many records or bytes, a bad key) goes whole, so the node
    /// refuses it whole and stores none of it. A part that still fails (its leader
    /// unreachable for the whole retry budget, a stream deleted meanwhile) fails its own
    /// records, with InternalFailure, as a node fails the records of a shard it could not
    /// write; when every part fails, the first part's error is returned.
    ///
    /// Retried like `put_record`, so a retried batch can be stored twice.
    pub async fn put_records(&self, request: PutRecordsRequest) -> Result<PutRecordsResponse, ClientError> {
        let stream = request.stream_name.as_str();
        let keys = request.records.iter().map(|r| (r.partition_key.as_str(), r.explicit_hash_key.as_deref()));
        let map = self.shard_map(stream).await;
        let parts = self.leader_parts(stream, map.as_deref(), keys).await.unwrap_or_default();
        if parts.len() > 1 && self.config().split_put_records && splittable(&request) {
            return self.put_records_split(&request, parts, map.as_ref()).await;
        }
        let route = Route::of_parts(stream, &parts);
        let response = self
            .call(route, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).put_records(request).await }
            })
            .await
            .inspect_err(|e| self.forget_stream_on_not_found(stream, e))?;
        self.check_stored(&request, &response, map.as_ref());
        Ok(response)
    }

    /// Sends each part (a shard of its leader, and its records' request indexes) to its
    /// leader at once, and merges the answers in request order.
    async fn put_records_split(
        &self,
        request: &PutRecordsRequest,
        parts: Vec<(ShardId, Vec<usize>)>,
        map: Option<&Arc<ShardMap>>,
    ) -> Result<PutRecordsResponse, ClientError> {
        let stream = request.stream_name.as_str();
        let calls = parts.iter().map(|(shard, indexes)| {
            let part = PutRecordsRequest {
                records: indexes.iter().map(|i| request.records[*i].clone()).collect(),
                stream_name: request.stream_name.clone(),
                stream_arn: request.stream_arn.clone(),
            };
            let route = Route::Leader { stream: stream.to_string(), shard: shard.clone() };
            async move {
                self.call(route, |channel| {
                    let part = part.clone();
                    async move { kinesis_stub(channel).put_records(part).await }
                })
                .await
            }
        });
        let answers = futures::future::join_all(calls).await;
        let mut records = vec![PutRecordsResultEntry::default(); request.records.len()];
        let mut encryption_type = None;
        let mut first_error = None;
        let mut answered = 0;
        for ((_, indexes), answer) in parts.iter().zip(answers) {
            match answer {
                Ok(response) if response.records.len() == indexes.len() => {
                    answered += 1;
                    encryption_type.get_or_insert(response.encryption_type);
                    for (i, entry) in indexes.iter().zip(response.records) {
                        records[*i] = entry;
                    }
                }
                // A node that answers for other records than it was sent is not to be
                // trusted with these: their outcome is unknown.
                Ok(response) => {
                    let e = ClientError::Unavailable {
                        attempts: 1,
                        elapsed: Default::default(),
                        last: format!("{} results for {} records", response.records.len(), indexes.len()),
                    };
                    fail(&mut records, indexes, &e);
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    self.forget_stream_on_not_found(stream, &e);
                    fail(&mut records, indexes, &e);
                    first_error.get_or_insert(e);
                }
            }
        }
        if answered == 0 {
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        let failed = records.iter().filter(|r| r.error_code.is_some()).count();
        let response = PutRecordsResponse {
            // At most PUT_RECORDS_COUNT_MAX records: `splittable` checked.
            failed_record_count: i32::try_from(failed).unwrap_or(i32::MAX),
            records,
            encryption_type: encryption_type.unwrap_or_default(),
        };
        self.check_stored(request, &response, map);
        Ok(response)
    }

    /// Drops the shard map if the server stored a record elsewhere than it predicted.
    fn check_stored(&self, request: &PutRecordsRequest, response: &PutRecordsResponse, map: Option<&Arc<ShardMap>>) {
        // Entries match the request index for index; failed ones name no shard.
        let stored = request.records.iter().zip(&response.records).filter_map(|(sent, result)| {
            let shard = result.shard_id.as_deref()?;
            Some((sent.partition_key.as_str(), sent.explicit_hash_key.as_deref(), shard))
        });
        self.check_shard_map(&request.stream_name, map, stored);
    }

    /// GetShardIterator, on any node.
    pub async fn get_shard_iterator(
        &self,
        request: GetShardIteratorRequest,
    ) -> Result<GetShardIteratorResponse, ClientError> {
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).get_shard_iterator(request).await }
        })
        .await
    }

    /// GetRecords, on any node.
    pub async fn get_records(&self, request: GetRecordsRequest) -> Result<GetRecordsResponse, ClientError> {
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).get_records(request).await }
        })
        .await
    }
}

/// Whether Kinesis would take `request` as a whole, as far as the request alone tells: 1
/// to 500 records of 5 MiB at most together, each a partition key of 1 to 256 characters
/// and a record no larger than the smallest record limit a stream can have (data and key).
/// A malformed explicit hash key finds no shard, so `leader_parts` sends such a request
/// whole. What only the node knows (the stream, its state) fails every part alike.
fn splittable(request: &PutRecordsRequest) -> bool {
    if !(PUT_RECORDS_COUNT_MIN..=PUT_RECORDS_COUNT_MAX).contains(&request.records.len()) {
        return false;
    }
    let record_bytes_max = MAX_RECORD_SIZE_KIB_MIN as usize * 1024;
    let mut total = 0usize;
    for r in &request.records {
        let chars = r.partition_key.chars().count();
        let bytes = r.partition_key.len() + r.data.len();
        if !(PARTITION_KEY_CHARS_MIN..=PARTITION_KEY_CHARS_MAX).contains(&chars) || bytes > record_bytes_max {
            return false;
        }
        total += bytes;
    }
    total <= PUT_RECORDS_BYTES_MAX
}

/// Fails the records at `indexes` with `error`: not written when a node refused them, else
/// of unknown outcome.
fn fail(records: &mut [PutRecordsResultEntry], indexes: &[usize], error: &ClientError) {
    let message = match error {
        ClientError::Kinesis { .. } => format!("Not written: {error}"),
        other => format!("Outcome unknown: {other}"),
    };
    for i in indexes {
        records[*i] = PutRecordsResultEntry {
            error_code: Some("InternalFailure".into()),
            error_message: Some(message.clone()),
            ..Default::default()
        };
    }
}
