//! PutRecord and PutRecords.
//!
//! Records go to the open shard whose range holds their hash key. A parent sealed by a
//! reshard before the records reached it refuses them (nothing written); they then follow
//! the metadata to the children, so a write racing a split lands exactly once, in the
//! parent or in a child.

use super::metrics::{Outcome, PutRecordsTally};
use super::types::*;
use super::{validate, AppendFailure, KinesisError, KinesisService, RESHARD_HOPS_MAX};
use crate::cluster::read::{read, ReadFrom, ShardRead};
use crate::control::{ShardMeta, StreamMeta};
use crate::domain::{SequenceNumber, ShardId};
use crate::limits::*;
use crate::shard::batch::NewRecord;
use std::collections::BTreeMap;
use std::time::Instant;

impl KinesisService {
    pub async fn put_record(&self, req: PutRecordInput) -> Result<PutRecordOutput, KinesisError> {
        let started = Instant::now();
        let metered = self.metered(&req.stream);
        let bytes = (req.data.len() + req.partition_key.len()) as u64;
        let result = self.put_record_unmetered(req).await;
        if let Some(labels) = metered {
            let outcome = if result.is_ok() { Outcome::Success } else { Outcome::Failure };
            labels.put_record(started.elapsed(), outcome, bytes);
        }
        result
    }

    async fn put_record_unmetered(&self, req: PutRecordInput) -> Result<PutRecordOutput, KinesisError> {
        let _admitted = self.admission.admit(req.data.len() + req.partition_key.len())?;
        validate::put_record(&req)?;
        let name = self.stream_name(&req.stream)?;
        let key = validate::hash_key(&req.partition_key, req.explicit_hash_key.as_deref())?;
        let after = match req.sequence_number_for_ordering.as_deref() {
            Some(s) => {
                Some(validate::issued_sequence_number(s).ok_or_else(|| not_issued(self.account().id, &name, s))?)
            }
            None => None,
        };
        let mut stream = self.live_stream(&name)?;
        self.check_record_size(&stream, &req.partition_key, &req.data)?;
        // Decided once: a record followed to a reshard's children keeps its encryption.
        let seal_with = self.sealing(&stream)?;
        let encrypted = seal_with.is_some();
        let mut records = vec![NewRecord { partition_key: req.partition_key, data: req.data, after }];
        for _ in 0..RESHARD_HOPS_MAX {
            let shard = stream
                .shard_for(key)
                .cloned()
                .ok_or_else(|| KinesisError::InternalFailure(format!("no shard of {name} covers hash key {key}")))?;
            // Checked against the shard that takes the record: a parent's number is
            // another shard's for its child.
            if let Some(after) = after {
                self.check_issued(&stream, shard.id, after).await?;
            }
            match self.append(&stream, &shard, records, seal_with.clone()).await {
                Ok(seqs) => {
                    let sequence_number = seqs
                        .first()
                        .copied()
                        .ok_or_else(|| KinesisError::InternalFailure("no sequence number".into()))?;
                    return Ok(PutRecordOutput { shard_id: shard.id, sequence_number, encrypted });
                }
                Err(AppendFailure::Throttled) => {
                    return Err(KinesisError::ProvisionedThroughputExceeded(self.rate_exceeded(&name, shard.id)))
                }
                Err(AppendFailure::Failed(e)) => return Err(e),
                Err(AppendFailure::Sealed(back)) => {
                    records = back;
                    stream = self.wait_closed(&stream, shard.id).await?;
                }
            }
        }
        Err(resharding_too_often(&name))
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
        let refused = || not_issued(self.account().id, &stream.name, &after.to_string());
        if after.shard() == target {
            return Ok(());
        }
        let issuer = stream.shard(after.shard()).ok_or_else(refused)?;
        let probe =
            ShardRead { group: issuer.group, shard: issuer.id, from: ReadFrom::Counter(0), limit: 0, bytes_max: 0 };
        let position = read(&self.node, &issuer.replicas, &probe).await?;
        match after.counter_checked() {
            Some(counter) if counter <= position.last_counter => Ok(()),
            _ => Err(refused()),
        }
    }

    pub async fn put_records(&self, req: PutRecordsInput) -> Result<PutRecordsOutput, KinesisError> {
        let started = Instant::now();
        let metered = self.metered(&req.stream);
        let sent = req.records.len() as u64;
        let sizes: Vec<usize> = match metered {
            Some(_) => req.records.iter().map(|r| r.data.len() + r.partition_key.len()).collect(),
            None => Vec::new(),
        };
        let result = self.put_records_unmetered(req).await;
        if let Some(labels) = metered {
            let tally = result.as_ref().ok().map(|out| tally(&out.records, &sizes));
            labels.put_records(started.elapsed(), sent, tally);
        }
        result
    }

    async fn put_records_unmetered(&self, req: PutRecordsInput) -> Result<PutRecordsOutput, KinesisError> {
        validate::put_records(&req)?;
        let name = self.stream_name(&req.stream)?;
        let mut total = 0usize;
        let mut keys = Vec::with_capacity(req.records.len());
        for entry in &req.records {
            keys.push(validate::hash_key(&entry.partition_key, entry.explicit_hash_key.as_deref())?);
            total += entry.data.len() + entry.partition_key.len();
        }
        let mut stream = self.live_stream(&name)?;
        // A stream that takes records over 5 MiB takes one alone in a call.
        let total_max = PUT_RECORDS_BYTES_MAX.max(stream.max_record_bytes());
        if total > total_max {
            return Err(KinesisError::InvalidArgument(format!("Records size exceeds {total_max} bytes (got {total})")));
        }
        for entry in &req.records {
            self.check_record_size(&stream, &entry.partition_key, &entry.data)?;
        }
        let _admitted = self.admission.admit(total)?;
        let seal_with = self.sealing(&stream)?;
        let mut results = vec![None; keys.len()];
        let fail = |results: &mut Vec<Option<PutRecordsResult>>, i: usize, e: &KinesisError| {
            // Kinesis names per-record failures InternalFailure or throttling only; the
            // message says whether the record was certainly not written.
            let message = match e {
                KinesisError::ServiceUnavailable(m) => format!("Not written, safe to retry: {m}"),
                other => format!("Outcome unknown: {other}"),
            };
            results[i] = Some(PutRecordsResult::Failed { error_code: "InternalFailure", error_message: message });
        };
        // Records not yet placed, with their request index.
        let mut pending: Vec<(usize, NewRecord)> = req
            .records
            .into_iter()
            .enumerate()
            .map(|(i, e)| (i, NewRecord { partition_key: e.partition_key, data: e.data, after: None }))
            .collect();
        for hop in 0..RESHARD_HOPS_MAX {
            // Group entries by shard, keeping request order within each shard.
            let mut by_shard: BTreeMap<ShardId, (ShardMeta, Vec<usize>, Vec<NewRecord>)> = BTreeMap::new();
            for (i, record) in pending.drain(..) {
                // Per record, never for the whole call: earlier hops may have written some.
                let Some(shard) = stream.shard_for(keys[i]) else {
                    let e = KinesisError::InternalFailure(format!("no shard of {name} covers hash key {}", keys[i]));
                    fail(&mut results, i, &e);
                    continue;
                };
                let slot = by_shard.entry(shard.id).or_insert_with(|| (shard.clone(), Vec::new(), Vec::new()));
                slot.1.push(i);
                slot.2.push(record);
            }
            let seal_with = &seal_with;
            let current = &stream;
            let appends = by_shard.into_values().map(|(shard, indexes, records)| async move {
                let outcome = self.append(current, &shard, records, seal_with.clone()).await;
                (shard, indexes, outcome)
            });
            let outcomes = futures::future::join_all(appends).await;
            let mut sealed = Vec::new();
            for (shard, indexes, outcome) in outcomes {
                // Kinesis refuses a shard's records past its quota one by one, in order.
                let throttle = |results: &mut Vec<Option<PutRecordsResult>>, i: usize| {
                    results[i] = Some(PutRecordsResult::Failed {
                        error_code: "ProvisionedThroughputExceededException",
                        error_message: self.rate_exceeded(&name, shard.id),
                    });
                };
                match outcome {
                    Ok(seqs) => {
                        let written = seqs.len();
                        for (i, seq) in indexes.iter().zip(seqs) {
                            results[*i] = Some(PutRecordsResult::Ok { shard_id: shard.id, sequence_number: seq });
                        }
                        indexes[written..].iter().for_each(|i| throttle(&mut results, *i));
                    }
                    Err(AppendFailure::Throttled) => indexes.iter().for_each(|i| throttle(&mut results, *i)),
                    Err(AppendFailure::Failed(e)) => indexes.iter().for_each(|i| fail(&mut results, *i, &e)),
                    Err(AppendFailure::Sealed(back)) => {
                        pending.extend(indexes.into_iter().zip(back));
                        sealed.push(shard.id);
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
            // Wait for the metadata to name the sealed shards' children, then route again.
            let mut give_up = None;
            for shard in sealed {
                match self.wait_closed(&stream, shard).await {
                    Ok(s) => stream = s,
                    Err(e) => {
                        give_up = Some(e);
                        break;
                    }
                }
            }
            if give_up.is_none() && hop + 1 == RESHARD_HOPS_MAX {
                give_up = Some(resharding_too_often(&name));
            }
            if let Some(e) = give_up {
                for (i, _) in pending.drain(..) {
                    fail(&mut results, i, &e);
                }
            }
        }
        let records: Vec<_> = results
            .into_iter()
            .map(|r| {
                r.unwrap_or(PutRecordsResult::Failed {
                    error_code: "InternalFailure",
                    error_message: "no outcome".into(),
                })
            })
            .collect();
        let failed = records.iter().filter(|r| matches!(r, PutRecordsResult::Failed { .. })).count();
        Ok(PutRecordsOutput { failed_record_count: failed as _, records, encrypted: seal_with.is_some() })
    }
}

/// What a PutRecords call did, from its per-record results (`sizes` in request order).
fn tally(results: &[PutRecordsResult], sizes: &[usize]) -> PutRecordsTally {
    let mut tally = PutRecordsTally::default();
    for (i, result) in results.iter().enumerate() {
        match result {
            PutRecordsResult::Ok { .. } => {
                tally.successful += 1;
                tally.bytes += sizes.get(i).copied().unwrap_or(0) as u64;
            }
            PutRecordsResult::Failed { error_code: "ProvisionedThroughputExceededException", .. } => {
                tally.throttled += 1
            }
            PutRecordsResult::Failed { .. } => tally.failed += 1,
        }
    }
    tally
}

/// A SequenceNumberForOrdering the stream never issued (Kinesis calls the member
/// ExclusiveMinimumSequenceNumber in this message).
fn not_issued(account: &str, stream: &crate::domain::StreamName, s: &str) -> KinesisError {
    KinesisError::InvalidArgument(format!(
        "ExclusiveMinimumSequenceNumber {s} used in PutRecord on stream {stream} under account {account} is invalid."
    ))
}

fn resharding_too_often(name: &crate::domain::StreamName) -> KinesisError {
    KinesisError::ServiceUnavailable(format!(
        "the shards of stream {name} were resharded {RESHARD_HOPS_MAX} times while the write followed them; nothing was written"
    ))
}
