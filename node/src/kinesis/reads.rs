//! GetShardIterator and GetRecords: linearizable reads at the shard's leader.

use super::tokens::{age_ms, ShardIterator};
use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::cluster::read::{read, ReadFrom, ShardRead};
use crate::domain::ShardId;
use crate::limits::*;

impl KinesisService {
    pub async fn get_shard_iterator(&self, req: GetShardIteratorInput) -> Result<String, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        let account = self.account().id;
        let shard_id =
            req.shard_id.parse::<ShardId>().map_err(|e| KinesisError::Validation(format!("ShardId: {e}")))?;
        let stream = self.live_stream(&name)?;
        let shard = stream.shard(shard_id).ok_or_else(|| {
            KinesisError::ResourceNotFound(format!(
                "Shard {shard_id} in stream {name} under account {account} does not exist"
            ))
        })?;
        let at_sequence = |what: &str| -> Result<u64, KinesisError> {
            let s = req
                .starting_sequence_number
                .as_deref()
                .ok_or_else(|| KinesisError::InvalidArgument(format!("{what} needs a StartingSequenceNumber")))?;
            let seq = validate::sequence_number(s, "StartingSequenceNumber")?;
            match seq.counter_checked() {
                Some(counter) if seq.shard() == shard_id => Ok(counter),
                _ => Err(KinesisError::InvalidArgument(format!(
                    "StartingSequenceNumber {s} used in GetShardIterator on shard {shard_id} in stream {name} under account {account} is invalid because it did not come from this stream."
                ))),
            }
        };
        // Where the iterator starts: a counter, or a position only the shard can tell.
        let from = match req.shard_iterator_type.as_str() {
            "TRIM_HORIZON" => Some(0),
            "AT_SEQUENCE_NUMBER" => Some(at_sequence("AT_SEQUENCE_NUMBER")?),
            "AFTER_SEQUENCE_NUMBER" => Some(at_sequence("AFTER_SEQUENCE_NUMBER")?.saturating_add(1)),
            "AT_TIMESTAMP" | "LATEST" => None,
            other => {
                return Err(KinesisError::Validation(format!(
                    "ShardIteratorType must be one of AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST; got {other:?}"
                )))
            }
        };
        let next_counter = match from {
            Some(counter) => counter,
            None => {
                let timestamp = match req.shard_iterator_type.as_str() {
                    "AT_TIMESTAMP" => Some(
                        req.timestamp_ms
                            .ok_or_else(|| KinesisError::InvalidArgument("AT_TIMESTAMP needs a Timestamp".into()))?,
                    ),
                    _ => None,
                };
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

    pub async fn get_records(&self, req: GetRecordsInput) -> Result<GetRecordsOutput, KinesisError> {
        let limit = validate::bounded(req.limit, 1, GET_RECORDS_LIMIT_MAX, GET_RECORDS_LIMIT_MAX, "Limit")?;
        let iterator: ShardIterator = self.open(&req.shard_iterator, "ShardIterator")?;
        let now = self.now_ms();
        if age_ms(now, iterator.issued_ms) > SHARD_ITERATOR_TTL_MS {
            return Err(KinesisError::ExpiredIterator(format!(
                "Iterator expired. The iterator was created at time {} while right now it is {}, more than {} ms later.",
                iterator.issued_ms, now, SHARD_ITERATOR_TTL_MS
            )));
        }
        let _admitted = self.admission.admit(GET_RECORDS_BYTES_MAX)?;
        let stream = self.live_stream(&iterator.stream)?;
        if stream.incarnation != iterator.incarnation {
            return Err(self.not_found(&iterator.stream));
        }
        let shard = stream
            .shard(iterator.shard)
            .ok_or_else(|| KinesisError::ResourceNotFound(format!("Shard {} does not exist", iterator.shard)))?;
        let read_req = ShardRead {
            group: shard.group,
            shard: shard.id,
            from: ReadFrom::Counter(iterator.next_counter),
            limit,
            bytes_max: GET_RECORDS_BYTES_MAX as u64,
        };
        let reply = read(&self.node, &shard.replicas, &read_req).await?;
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
            records: reply
                .records
                .into_iter()
                .map(|r| Record {
                    sequence_number: r.sequence_number,
                    arrival_ms: r.arrival_ms,
                    data: r.data,
                    partition_key: r.partition_key,
                })
                .collect(),
            next_shard_iterator,
            millis_behind_latest,
            child_shards,
        })
    }
}
