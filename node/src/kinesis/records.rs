//! PutRecord and PutRecords.

use super::types::*;
use super::{validate, KinesisError, KinesisService, ACCOUNT_ID};
use crate::cluster::read::{read, ReadFrom, ShardRead};
use crate::control::StreamMeta;
use crate::domain::{SequenceNumber, ShardId};
use crate::limits::*;
use crate::shard::batch::NewRecord;
use std::collections::BTreeMap;

impl KinesisService {
    pub async fn put_record(&self, req: PutRecordInput) -> Result<PutRecordOutput, KinesisError> {
        let _admitted = self.admission.admit(req.data.len() + req.partition_key.len())?;
        let name = Self::stream_name(&req.stream)?;
        validate::partition_key(&req.partition_key)?;
        validate::data(&req.data)?;
        let key = validate::hash_key(&req.partition_key, req.explicit_hash_key.as_deref())?;
        let after = match req.sequence_number_for_ordering.as_deref() {
            Some(s) => Some(validate::sequence_number(s, "SequenceNumberForOrdering")?),
            None => None,
        };
        let stream = self.live_stream(&name)?;
        let shard = stream
            .shard_for(key)
            .ok_or_else(|| KinesisError::InternalFailure(format!("no shard of {name} covers hash key {key}")))?;
        if let Some(after) = after {
            self.check_issued(&stream, shard.id, after).await?;
        }
        let record = NewRecord { partition_key: req.partition_key, data: req.data, after };
        let seqs = self.append(shard, vec![record]).await?;
        let sequence_number =
            seqs.first().copied().ok_or_else(|| KinesisError::InternalFailure("no sequence number".into()))?;
        Ok(PutRecordOutput { shard_id: shard.id, sequence_number })
    }

    /// SequenceNumberForOrdering must be a number this stream issued. One of the target
    /// shard is checked when the entry is applied; one of another shard is checked here,
    /// against that shard's newest number, so no client can push a counter past what the
    /// stream ever issued.
    async fn check_issued(
        &self,
        stream: &StreamMeta,
        target: ShardId,
        after: SequenceNumber,
    ) -> Result<(), KinesisError> {
        let not_issued = || {
            KinesisError::InvalidArgument(format!(
                "SequenceNumberForOrdering {after} was not issued by stream {} under account {ACCOUNT_ID}.",
                stream.name
            ))
        };
        if after.shard() == target {
            return Ok(());
        }
        let issuer = stream.shard(after.shard()).ok_or_else(not_issued)?;
        let probe =
            ShardRead { group: issuer.group, shard: issuer.id, from: ReadFrom::Counter(0), limit: 0, bytes_max: 0 };
        let position = read(&self.node, &issuer.replicas, &probe).await?;
        match after.counter_checked() {
            Some(counter) if counter <= position.last_counter => Ok(()),
            _ => Err(not_issued()),
        }
    }

    pub async fn put_records(&self, req: PutRecordsInput) -> Result<PutRecordsOutput, KinesisError> {
        let name = Self::stream_name(&req.stream)?;
        if req.records.is_empty() || req.records.len() > PUT_RECORDS_COUNT_MAX {
            return Err(KinesisError::Validation(format!(
                "Records must hold 1 to {PUT_RECORDS_COUNT_MAX} entries, got {}",
                req.records.len()
            )));
        }
        let mut total = 0usize;
        let mut keys = Vec::with_capacity(req.records.len());
        for entry in &req.records {
            validate::partition_key(&entry.partition_key)?;
            validate::data(&entry.data)?;
            keys.push(validate::hash_key(&entry.partition_key, entry.explicit_hash_key.as_deref())?);
            total += entry.data.len() + entry.partition_key.len();
        }
        if total > PUT_RECORDS_BYTES_MAX {
            return Err(KinesisError::InvalidArgument(format!(
                "Records size exceeds {PUT_RECORDS_BYTES_MAX} bytes (got {total})"
            )));
        }
        let _admitted = self.admission.admit(total)?;
        let stream = self.live_stream(&name)?;
        // Group entries by shard, keeping request order within each shard.
        let mut by_shard: BTreeMap<ShardId, Vec<usize>> = BTreeMap::new();
        for (i, key) in keys.iter().enumerate() {
            let shard = stream
                .shard_for(*key)
                .ok_or_else(|| KinesisError::InternalFailure(format!("no shard of {name} covers hash key {key}")))?;
            by_shard.entry(shard.id).or_default().push(i);
        }
        let mut entries: Vec<Option<PutRecordsEntry>> = req.records.into_iter().map(Some).collect();
        let appends = by_shard.iter().map(|(shard_id, indexes)| {
            let records: Vec<NewRecord> = indexes
                .iter()
                .filter_map(|i| entries[*i].take())
                .map(|e| NewRecord { partition_key: e.partition_key, data: e.data, after: None })
                .collect();
            let shard = stream.shard(*shard_id).cloned();
            async move {
                match shard {
                    Some(shard) => self.append(&shard, records).await,
                    None => Err(KinesisError::InternalFailure("shard vanished".into())),
                }
            }
        });
        let outcomes = futures::future::join_all(appends).await;
        let mut results = vec![None; keys.len()];
        let mut failed = 0;
        for ((shard_id, indexes), outcome) in by_shard.iter().zip(outcomes) {
            match outcome {
                Ok(seqs) => {
                    for (i, seq) in indexes.iter().zip(seqs) {
                        results[*i] = Some(PutRecordsResult::Ok { shard_id: *shard_id, sequence_number: seq });
                    }
                }
                Err(e) => {
                    // Kinesis names per-record failures InternalFailure or throttling only;
                    // the message says whether the record was certainly not written.
                    let message = match &e {
                        KinesisError::ServiceUnavailable(m) => format!("Not written, safe to retry: {m}"),
                        other => format!("Outcome unknown: {other}"),
                    };
                    for i in indexes {
                        failed += 1;
                        results[*i] = Some(PutRecordsResult::Failed {
                            error_code: "InternalFailure",
                            error_message: message.clone(),
                        });
                    }
                }
            }
        }
        let records = results
            .into_iter()
            .map(|r| {
                r.unwrap_or(PutRecordsResult::Failed {
                    error_code: "InternalFailure",
                    error_message: "no outcome".into(),
                })
            })
            .collect();
        Ok(PutRecordsOutput { failed_record_count: failed, records })
    }
}
