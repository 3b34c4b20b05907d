//! GetShardIterator and GetRecords: linearizable reads at the shard's leader.

use super::metrics::{ShardRead as MeteredRead, StreamLabels};
use super::tokens::{age_ms, ShardIterator};
use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::cluster::read::{read, ReadError, ReadFrom, ShardRead};
use crate::control::ShardMeta;
use crate::domain::{ShardId, StreamName};
use crate::limits::*;
use std::time::Instant;

impl KinesisService {
    pub async fn get_shard_iterator(&self, req: GetShardIteratorInput) -> Result<String, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::get_shard_iterator(&req)?;
        let name = self.stream_name(&req.stream)?;
        let account = self.account().id;
        // Kinesis reads the number after the last `-`; a member it cannot read a number
        // from names no shard.
        let shard_id = ShardId::resolve(&req.shard_id).ok_or_else(|| {
            KinesisError::ResourceNotFound(format!(
                "Could not find shard {} in stream {name} under account {account}.",
                req.shard_id
            ))
        })?;
        let shard_missing = || {
            KinesisError::ResourceNotFound(format!(
                "Shard {shard_id} in stream {name} under account {account} does not exist"
            ))
        };
        self.stream(&name).map_err(|_| shard_missing())?;
        let stream = self.stream_with_shard(&name, shard_id).await?;
        let shard = stream.shard(shard_id).ok_or_else(shard_missing)?;
        let next_counter = self
            .start_position(
                &name,
                shard,
                req.shard_iterator_type.as_str(),
                req.starting_sequence_number.as_deref(),
                req.timestamp_ms,
            )
            .await?;
        let iterator = ShardIterator {
            stream: name,
            incarnation: stream.incarnation,
            shard: shard.id,
            group: shard.group,
            next_counter,
            issued_ms: self.now_ms(),
        };
        self.seal(&iterator)
    }

    /// Where a reader of `shard` starts (GetShardIterator, SubscribeToShard): a counter from
    /// the position type and its sequence number or time.
    pub(super) async fn start_position(
        &self,
        name: &StreamName,
        shard: &ShardMeta,
        kind: &str,
        starting: Option<&str>,
        timestamp_ms: Option<i64>,
    ) -> Result<u64, KinesisError> {
        let account = self.account().id;
        let shard_id = shard.id;
        let mixed_up = |what: &str| {
            KinesisError::InvalidArgument(format!(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and {what} StartingSequenceNumber."
            ))
        };
        let at_sequence = || -> Result<u64, KinesisError> {
            let s = starting.ok_or_else(|| mixed_up("no"))?;
            let seq = validate::issued_sequence_number(s).ok_or_else(|| {
                KinesisError::InvalidArgument(format!(
                    "StartingSequenceNumber {s} used in GetShardIterator on shard {shard_id} in stream {name} under account {account} is invalid."
                ))
            })?;
            if seq.shard() != shard_id {
                return Err(KinesisError::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {shard_id}",
                    seq.shard()
                )));
            }
            Ok(seq.counter())
        };
        // Where the iterator starts: a counter, or a position only the shard can tell.
        let from = match kind {
            "TRIM_HORIZON" | "LATEST" if starting.is_some() => return Err(mixed_up("also a")),
            "TRIM_HORIZON" => Some(0),
            "AT_SEQUENCE_NUMBER" => Some(at_sequence()?),
            "AFTER_SEQUENCE_NUMBER" => Some(at_sequence()?.saturating_add(1)),
            "AT_TIMESTAMP" => {
                let at = timestamp_ms.ok_or_else(|| {
                    KinesisError::InvalidArgument(
                        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.".into(),
                    )
                })?;
                let now = self.now_ms();
                if at > now {
                    return Err(KinesisError::InvalidArgument(format!(
                        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {at}, currentTimestampInMillis: {now}"
                    )));
                }
                None
            }
            // LATEST (the members were checked: no other type gets here).
            _ => None,
        };
        let next_counter = match from {
            Some(counter) => counter,
            None => {
                let timestamp = if kind == "AT_TIMESTAMP" { timestamp_ms } else { None };
                let probe = ShardRead {
                    group: shard.group,
                    shard: shard.id,
                    from: timestamp.map_or(ReadFrom::Counter(0), ReadFrom::Timestamp),
                    limit: 0,
                    bytes_max: 0,
                };
                let reply = read(&self.node, &shard.replicas, &probe).await?;
                match timestamp {
                    Some(_) => reply.next_counter,
                    // LATEST: just after the newest record at the time of the call.
                    None => reply.last_counter.saturating_add(1),
                }
            }
        };
        Ok(next_counter)
    }

    pub async fn get_records(&self, req: GetRecordsInput) -> Result<GetRecordsOutput, KinesisError> {
        let started = Instant::now();
        let mut metered = None;
        let result = self.get_records_unmetered(req, &mut metered).await;
        if let Some((labels, shard)) = metered {
            let now = self.now_ms();
            let read = result.as_ref().ok().map(|out| MeteredRead {
                records: out.records.len() as u64,
                bytes: out.records.iter().map(|r| (r.data.len() + r.partition_key.len()) as u64).sum(),
                // Kinesis's IteratorAgeMilliseconds: how old the last record returned is.
                age_ms: out.records.last().map_or(0, |r| now.saturating_sub(r.arrival_ms).max(0)),
            });
            let throttled = matches!(result, Err(KinesisError::ProvisionedThroughputExceeded(_)));
            labels.get_records(shard, started.elapsed(), read, throttled);
        }
        result
    }

    /// GetRecords; sets `metered` to the stream and shard once the iterator names a live
    /// one, so that the call is counted against them.
    async fn get_records_unmetered(
        &self,
        req: GetRecordsInput,
        metered: &mut Option<(StreamLabels, ShardId)>,
    ) -> Result<GetRecordsOutput, KinesisError> {
        validate::get_records(&req)?;
        let limit = validate::page_size(req.limit, GET_RECORDS_LIMIT_MAX, GET_RECORDS_LIMIT_MAX);
        let iterator: ShardIterator = self
            .open(&req.shard_iterator)
            .ok_or_else(|| KinesisError::InvalidArgument("Invalid ShardIterator.".into()))?;
        let now = self.now_ms();
        if age_ms(now, iterator.issued_ms) > SHARD_ITERATOR_TTL_MS {
            return Err(KinesisError::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {} milliseconds.",
                iterator.issued_ms, now, SHARD_ITERATOR_TTL_MS
            )));
        }
        if let Some(arn) = &req.stream_arn {
            let named = self.stream_name(&StreamRef { name: None, arn: Some(arn.clone()) })?;
            if named != iterator.stream {
                return Err(KinesisError::InvalidArgument(format!(
                    "StreamARN {arn} does not name the stream of this ShardIterator."
                )));
            }
        }
        let _admitted = self.admission.admit(GET_RECORDS_BYTES_MAX)?;
        let stream = self.live_stream(&iterator.stream)?;
        if stream.incarnation != iterator.incarnation {
            return Err(self.not_found(&iterator.stream));
        }
        let shard = stream
            .shard(iterator.shard)
            .ok_or_else(|| KinesisError::ResourceNotFound(format!("Shard {} does not exist", iterator.shard)))?;
        *metered = Some((self.metrics.stream(&stream), shard.id));
        let read_req = ShardRead {
            group: shard.group,
            shard: shard.id,
            from: ReadFrom::Counter(iterator.next_counter),
            limit,
            bytes_max: GET_RECORDS_BYTES_MAX as u64,
        };
        let reply = read(&self.node, &shard.replicas, &read_req).await.map_err(|e| match e {
            ReadError::Throttled(_) => {
                KinesisError::ProvisionedThroughputExceeded(self.rate_exceeded(&iterator.stream, shard.id))
            }
            e => e.into(),
        })?;
        let millis_behind_latest = reply.next_arrival_ms.map_or(0, |t| now.saturating_sub(t).max(0));
        // A closed shard was sealed before the metadata said so, and this read was served
        // at the leader after everything committed was applied: no record follows.
        let ended = !shard.is_open() && reply.next_arrival_ms.is_none();
        let next_shard_iterator = if ended {
            None
        } else {
            Some(self.seal(&ShardIterator { next_counter: reply.next_counter, issued_ms: now, ..iterator })?)
        };
        let child_shards = if ended {
            stream
                .children_of(shard.id)
                .map(|c| ChildShard { shard_id: c.id, parent_shards: c.parents.clone(), hash_key_range: c.range() })
                .collect()
        } else {
            Vec::new()
        };
        Ok(GetRecordsOutput {
            records: reply.records.into_iter().map(Record::from).collect(),
            next_shard_iterator,
            millis_behind_latest,
            child_shards,
        })
    }
}
