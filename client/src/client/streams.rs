//! Stream lifecycle and listing: CreateStream, DeleteStream, DescribeStream(Summary),
//! ListStreams, ListShards, and waiting for a stream to settle.

use std::future::Future;
use std::time::Duration;

use runnel_proto::v1::{
    CreateStreamRequest, DeleteStreamRequest, DescribeStreamRequest, DescribeStreamSummaryRequest, ListStreamsRequest,
    ListStreamsResponse, Shard, StreamDescription, StreamDescriptionSummary,
};
use tokio::time::Instant;

use super::call::{too_many_pages, Route};
use super::{kinesis_stub, Client};
use crate::error::{ClientError, ErrorCode};
use crate::model::StreamStatus;

/// Bound on pages followed by any paginated listing; far above what 500-shard streams
/// or any sane number of streams need, so hitting it means a server bug.
pub(crate) const MAX_PAGES: usize = 10_000;

/// How often waits poll the stream's status.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

impl Client {
    /// CreateStream in provisioned mode. The stream starts CREATING; see `wait_for_active`.
    ///
    /// A create whose answer was lost to a transport error is retried, and can then
    /// report ResourceInUseException although this client created the stream.
    pub async fn create_stream(&self, name: &str, shard_count: u32) -> Result<(), ClientError> {
        let request = CreateStreamRequest {
            stream_name: name.to_string(),
            // Out-of-range counts go to the server as is, so it reports the Kinesis error.
            shard_count: Some(i32::try_from(shard_count).unwrap_or(i32::MAX)),
            stream_mode_details: None,
            ..Default::default()
        };
        self.routing_mut().forget_stream(name);
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).create_stream(request).await }
        })
        .await?;
        Ok(())
    }

    /// DeleteStream. The stream goes DELETING, then disappears; see `wait_for_deleted`. A
    /// stream with registered consumers is refused (ResourceInUseException); see
    /// `delete_stream_with_consumers`.
    pub async fn delete_stream(&self, name: &str) -> Result<(), ClientError> {
        self.delete_stream_enforcing(name, false).await
    }

    /// DeleteStream with EnforceConsumerDeletion: the stream's consumers go with it.
    pub async fn delete_stream_with_consumers(&self, name: &str) -> Result<(), ClientError> {
        self.delete_stream_enforcing(name, true).await
    }

    async fn delete_stream_enforcing(&self, name: &str, enforce_consumer_deletion: bool) -> Result<(), ClientError> {
        let request =
            DeleteStreamRequest { stream_name: name.to_string(), enforce_consumer_deletion, ..Default::default() };
        let result = self
            .call(Route::Any, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).delete_stream(request).await }
            })
            .await;
        self.routing_mut().forget_stream(name);
        result.map(|_| ())
    }

    /// DescribeStream, following `has_more_shards` so the description lists every shard.
    pub async fn describe_stream(&self, name: &str) -> Result<StreamDescription, ClientError> {
        let mut merged: Option<StreamDescription> = None;
        let mut exclusive_start_shard_id = String::new();
        for _ in 0..MAX_PAGES {
            let request = DescribeStreamRequest {
                stream_name: name.to_string(),
                exclusive_start_shard_id: exclusive_start_shard_id.clone(),
                ..Default::default()
            };
            let response = self
                .call(Route::Any, |channel| {
                    let request = request.clone();
                    async move { kinesis_stub(channel).describe_stream(request).await }
                })
                .await
                .inspect_err(|e| self.forget_stream_on_not_found(name, e))?;
            let page = response
                .stream_description
                .ok_or_else(|| ClientError::MalformedResponse("DescribeStream without a stream description".into()))?;
            let has_more = page.has_more_shards;
            let last_shard = page.shards.last().map(|s| s.shard_id.clone());
            let description = match merged.take() {
                None => page,
                Some(mut description) => {
                    description.shards.extend(page.shards);
                    description
                }
            };
            match (has_more, last_shard) {
                (true, Some(last)) => {
                    exclusive_start_shard_id = last;
                    merged = Some(description);
                }
                _ => return Ok(StreamDescription { has_more_shards: false, ..description }),
            }
        }
        Err(too_many_pages("DescribeStream"))
    }

    /// DescribeStreamSummary.
    pub async fn describe_stream_summary(&self, name: &str) -> Result<StreamDescriptionSummary, ClientError> {
        let request = DescribeStreamSummaryRequest { stream_name: name.to_string(), ..Default::default() };
        let response = self
            .call(Route::Any, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).describe_stream_summary(request).await }
            })
            .await
            .inspect_err(|e| self.forget_stream_on_not_found(name, e))?;
        response
            .stream_description_summary
            .ok_or_else(|| ClientError::MalformedResponse("DescribeStreamSummary without a summary".into()))
    }

    /// ListStreams over every page, merged into one response (`has_more_streams` false).
    pub async fn list_streams(&self) -> Result<ListStreamsResponse, ClientError> {
        let mut merged = ListStreamsResponse::default();
        let mut request = ListStreamsRequest::default();
        for _ in 0..MAX_PAGES {
            let page = self
                .call(Route::Any, |channel| {
                    let request = request.clone();
                    async move { kinesis_stub(channel).list_streams(request).await }
                })
                .await?;
            let last_name = page.stream_names.last().cloned();
            let token = page.next_token.filter(|t| !t.is_empty());
            merged.stream_names.extend(page.stream_names);
            merged.stream_summaries.extend(page.stream_summaries);
            request = match (token, page.has_more_streams, last_name) {
                (Some(token), _, _) => ListStreamsRequest { next_token: token, ..Default::default() },
                (None, true, Some(last)) => {
                    ListStreamsRequest { exclusive_start_stream_name: last, ..Default::default() }
                }
                _ => return Ok(merged),
            };
        }
        Err(too_many_pages("ListStreams"))
    }

    /// ListShards over every page. Also refreshes the routing cache for the stream.
    pub async fn list_shards(&self, name: &str) -> Result<Vec<Shard>, ClientError> {
        self.fetch_shards(name, self.inner.config.retry).await
    }

    /// Polls DescribeStreamSummary until the stream is ACTIVE, for at most `timeout`.
    /// ResourceNotFoundException is waited out too: a just-created stream may not yet be
    /// visible on the node that answers.
    pub async fn wait_for_active(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<StreamDescriptionSummary, ClientError> {
        poll_until(format!("stream {name} to become ACTIVE"), timeout, || async {
            match self.describe_stream_summary(name).await {
                Ok(summary) if StreamStatus::from_name(&summary.stream_status) == StreamStatus::Active => {
                    Ok(Poll::Done(summary))
                }
                Ok(summary) => Ok(Poll::Seen(format!("status {}", summary.stream_status))),
                Err(e) if e.code() == Some(&ErrorCode::ResourceNotFoundException) => Ok(Poll::Seen(e.to_string())),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Polls DescribeStreamSummary until the stream is gone, for at most `timeout`.
    pub async fn wait_for_deleted(&self, name: &str, timeout: Duration) -> Result<(), ClientError> {
        poll_until(format!("stream {name} to be deleted"), timeout, || async {
            match self.describe_stream_summary(name).await {
                Err(e) if e.code() == Some(&ErrorCode::ResourceNotFoundException) => Ok(Poll::Done(())),
                Err(e) => Err(e),
                Ok(summary) => Ok(Poll::Seen(format!("status {}", summary.stream_status))),
            }
        })
        .await
    }
}

/// One look of a wait: done, or what was seen instead.
pub(crate) enum Poll<T> {
    Done(T),
    Seen(String),
}

/// Calls `check` every `POLL_INTERVAL` until it is done, fails, or `timeout` has passed
/// (then a `Timeout` saying what was `awaited` and what was last seen).
pub(crate) async fn poll_until<T, F, Fut>(awaited: String, timeout: Duration, mut check: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ClientError>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_seen = String::from("no answer");
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, check()).await {
            Ok(Ok(Poll::Done(value))) => return Ok(value),
            Ok(Ok(Poll::Seen(seen))) => last_seen = seen,
            Ok(Err(e)) => return Err(e),
            Err(_) => {}
        }
        if Instant::now() + POLL_INTERVAL >= deadline {
            return Err(ClientError::Timeout { what: format!("{awaited} (last: {last_seen})"), waited: timeout });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
