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
        let next_token = req.next_token.as_deref().filter(|t| !t.is_empty());
        let (stream, after, page_size, selection) = if let Some(token) = next_token {
            if req.stream.name.as_deref().is_some_and(|n| !n.is_empty())
                || req.stream.arn.as_deref().is_some_and(|a| !a.is_empty())
            {
                return Err(KinesisError::InvalidArgument(
                    "NextToken and StreamName cannot be provided together.".into(),
                ));
            }
            let token = self.check_next_token(token)?;
            let name = token
                .stream
                .ok_or_else(|| KinesisError::InvalidArgument("NextToken is not a ListShards token".into()))?;
            let stream = self.stream(&name)?;
            if stream.incarnation != token.incarnation {
                return Err(KinesisError::ExpiredNextToken("the stream of this NextToken was deleted".into()));
            }
            let after = token.after.parse::<u32>().ok().map(ShardId);
            let size = validate::bounded(req.max_results, 1, 10_000, token.page_size, "MaxResults")?;
            (stream, after, size, token.shards)
        } else {
            let name = self.stream_name(&req.stream)?;
            let stream = self.stream(&name)?;
            let size = validate::bounded(req.max_results, 1, 10_000, LIST_SHARDS_RESULTS_MAX, "MaxResults")?;
            let exclusive = req.exclusive_start_shard_id.as_deref().unwrap_or("");
            let mut after = validate::optional_shard_id(exclusive, "ExclusiveStartShardId")?;
            let mut selection = ShardSelection::default();
            if let Some(filter) = &req.shard_filter {
                let timestamp = || {
                    filter.timestamp_ms.ok_or_else(|| {
                        KinesisError::InvalidArgument(format!("ShardFilter {} needs a Timestamp", filter.kind))
                    })
                };
                selection = match filter.kind.as_str() {
                    "AFTER_SHARD_ID" => {
                        let id = filter.shard_id.as_deref().unwrap_or("").parse::<ShardId>().map_err(|_| {
                            KinesisError::InvalidArgument("ShardFilter AFTER_SHARD_ID needs a valid ShardId".into())
                        })?;
                        after = Some(after.map_or(id, |a| a.max(id)));
                        ShardSelection::FromTrimHorizon
                    }
                    "AT_TRIM_HORIZON" => ShardSelection::AtTrimHorizon,
                    "FROM_TRIM_HORIZON" => ShardSelection::FromTrimHorizon,
                    "AT_LATEST" => ShardSelection::AtLatest,
                    "AT_TIMESTAMP" => ShardSelection::AtTimestamp(timestamp()?),
                    "FROM_TIMESTAMP" => ShardSelection::FromTimestamp(timestamp()?),
                    other => return Err(KinesisError::Validation(format!("ShardFilter type {other:?} is not valid"))),
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
