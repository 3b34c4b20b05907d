//! ListShards, with every ShardFilter.

use super::tokens::{NextToken, ShardSelection};
use super::types::*;
use super::{describe_shard, validate, KinesisError, KinesisService};
use crate::control::{ShardMeta, StreamMeta};
use crate::domain::ShardId;
use crate::limits::LIST_SHARDS_RESULTS_MAX;

impl KinesisService {
    pub async fn list_shards(&self, req: ListShardsInput) -> Result<ListShardsOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::list_shards(&req)?;
        let names_stream = req.stream.name.is_some() || req.stream.arn.is_some();
        let (stream, after, page_size, selection) = if let Some(token) = req.next_token.as_deref() {
            // The token names the stream and the position; Kinesis refuses naming either again.
            if names_stream {
                return Err(KinesisError::InvalidArgument(
                    "NextToken and StreamName cannot be provided together.".into(),
                ));
            }
            if req.exclusive_start_shard_id.is_some() {
                return Err(KinesisError::InvalidArgument(
                    "NextToken and ExclusiveStartShardId cannot be provided together.".into(),
                ));
            }
            if req.stream_creation_timestamp_ms.is_some() {
                return Err(KinesisError::InvalidArgument(
                    "NextToken and StreamCreationTimestamp cannot be provided together.".into(),
                ));
            }
            let token: NextToken = self.check_next_token(token)?;
            let name = token
                .stream
                .ok_or_else(|| KinesisError::InvalidArgument("NextToken is not a ListShards token".into()))?;
            let stream = self.stream(&name)?;
            if stream.incarnation != token.incarnation {
                return Err(KinesisError::ExpiredNextToken("the stream of this NextToken was deleted".into()));
            }
            let after = token.after.parse::<u32>().ok().map(ShardId);
            let size = validate::page_size(req.max_results, token.page_size, LIST_SHARDS_RESULTS_MAX);
            (stream, after, size, token.shards)
        } else {
            if !names_stream {
                return Err(KinesisError::InvalidArgument("Either NextToken or StreamName should be provided.".into()));
            }
            let name = self.stream_name(&req.stream)?;
            let stream = self.stream(&name)?;
            let size = validate::page_size(req.max_results, LIST_SHARDS_RESULTS_MAX, LIST_SHARDS_RESULTS_MAX);
            let mut after = self.exclusive_start_shard(&name, req.exclusive_start_shard_id.as_deref())?;
            let mut selection = ShardSelection::default();
            if let Some(filter) = &req.shard_filter {
                let timestamp = || {
                    filter.timestamp_ms.ok_or_else(|| {
                        KinesisError::InvalidArgument(format!("ShardFilter {} needs a Timestamp", filter.kind))
                    })
                };
                selection = match filter.kind.as_str() {
                    "AFTER_SHARD_ID" => {
                        let member = filter.shard_id.as_deref().ok_or_else(|| {
                            KinesisError::InvalidArgument("ShardFilter AFTER_SHARD_ID needs a ShardId".into())
                        })?;
                        let id = self.exclusive_start_shard(&name, Some(member))?.unwrap_or(ShardId(0));
                        after = Some(after.map_or(id, |a| a.max(id)));
                        ShardSelection::FromTrimHorizon
                    }
                    "AT_TRIM_HORIZON" => ShardSelection::AtTrimHorizon,
                    "FROM_TRIM_HORIZON" => ShardSelection::FromTrimHorizon,
                    "AT_LATEST" => ShardSelection::AtLatest,
                    "AT_TIMESTAMP" => ShardSelection::AtTimestamp(timestamp()?),
                    // FROM_TIMESTAMP (the members were checked: no other type gets here).
                    _ => ShardSelection::FromTimestamp(timestamp()?),
                };
            }
            (stream, after, size, selection)
        };
        let now = self.now_ms();
        let remaining: Vec<&ShardMeta> = stream
            .shards
            .iter()
            .filter(|s| after.is_none_or(|a| s.id > a) && selected(&stream, s, selection, now))
            .collect();
        let page: Vec<&ShardMeta> = remaining.iter().take(page_size as usize).copied().collect();
        let next_token = match page.last() {
            Some(last) if remaining.len() > page.len() => Some(self.seal(&NextToken {
                stream: Some(stream.name.clone()),
                incarnation: stream.incarnation,
                after: last.id.0.to_string(),
                page_size,
                issued_ms: now,
                shards: selection,
            })?),
            _ => None,
        };
        Ok(ListShardsOutput { shards: page.into_iter().map(describe_shard).collect(), next_token })
    }
}

/// Whether `shard` was open at `at_ms`: opened by then and not closed by then. Times before
/// the stream existed mean its first shards.
fn open_at(stream: &StreamMeta, shard: &ShardMeta, at_ms: i64) -> bool {
    let at_ms = at_ms.max(stream.created_ms);
    shard.opened_ms <= at_ms && shard.closed.is_none_or(|c| c.closed_ms > at_ms)
}

/// Whether `shard` belongs in a listing of `selection` at `now_ms`.
fn selected(stream: &StreamMeta, shard: &ShardMeta, selection: ShardSelection, now_ms: i64) -> bool {
    let horizon_ms = now_ms.saturating_sub(i64::from(stream.retention_hours) * 3_600_000);
    // Closed before the trim horizon: every record expired, and the shard with them.
    let expired = shard.closed.is_some_and(|c| c.closed_ms <= horizon_ms);
    match selection {
        ShardSelection::FromTrimHorizon => !expired,
        ShardSelection::AtTrimHorizon => open_at(stream, shard, horizon_ms),
        ShardSelection::AtLatest => shard.is_open(),
        ShardSelection::AtTimestamp(t) => open_at(stream, shard, t),
        ShardSelection::FromTimestamp(t) => !expired && shard.closed.is_none_or(|c| c.closed_ms > t),
    }
}
