//! The data plane: PutRecord(s) routed to the shard leader, and reads.

use runnel_proto::v1::{
    GetRecordsRequest, GetRecordsResponse, GetShardIteratorRequest, GetShardIteratorResponse, PutRecordRequest,
    PutRecordResponse, PutRecordsRequest, PutRecordsResponse,
};

use super::call::Route;
use super::{kinesis_stub, Client};
use crate::error::ClientError;

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
    /// Retried like `put_record`, so a retried batch can be stored twice.
    pub async fn put_records(&self, request: PutRecordsRequest) -> Result<PutRecordsResponse, ClientError> {
        let stream = request.stream_name.as_str();
        let keys = request.records.iter().map(|r| (r.partition_key.as_str(), r.explicit_hash_key.as_deref()));
        let map = self.shard_map(stream).await;
        let route = self.write_route(stream, map.as_deref(), keys).await;
        let response = self
            .call(route, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).put_records(request).await }
            })
            .await
            .inspect_err(|e| self.forget_stream_on_not_found(stream, e))?;
        // Entries match the request index for index; failed ones name no shard.
        let stored = request.records.iter().zip(&response.records).filter_map(|(sent, result)| {
            let shard = result.shard_id.as_deref()?;
            Some((sent.partition_key.as_str(), sent.explicit_hash_key.as_deref(), shard))
        });
        self.check_shard_map(stream, map.as_ref(), stored);
        Ok(response)
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
