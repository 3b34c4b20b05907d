//! The records of one `Append` command, in Runnel's own format (the command and the log
//! entry around it carry the version byte and the CRC).
//!
//! `[arrival_ms i64][count u32]`, then per record
//! `[flags u8][after u128 if flags & 1][key length u16][key, UTF-8][data length u32][data]`,
//! all numbers big-endian.
//!
//! Decoding checks structure only; `append.rs` decides what is acceptable.

use crate::domain::SequenceNumber;
use std::fmt;

const FLAG_AFTER: u8 = 1;
const HEADER_BYTES: usize = 8 + 4;

/// Records proposed together; they get consecutive sequence numbers when applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendBatch {
    /// The leader's clock when it proposed the batch. Replicas take the arrival time from
    /// here, never from their own clocks, so they all agree.
    pub arrival_ms: i64,
    pub records: Vec<NewRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub partition_key: String,
    pub data: Vec<u8>,
    /// SequenceNumberForOrdering: the record's number must exceed this one.
    pub after: Option<SequenceNumber>,
}

/// A decoded batch borrowing from the command bytes: applying and reading need no copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchView<'a> {
    pub arrival_ms: i64,
    pub records: Vec<RecordView<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub partition_key: &'a str,
    pub data: &'a [u8],
    pub after: Option<SequenceNumber>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed record batch: {0}")]
pub struct BatchError(pub String);

impl AppendBatch {
    /// The encoded size, at most (a record without `after` takes 16 bytes less).
    pub fn encoded_bytes_max(&self) -> usize {
        HEADER_BYTES + self.records.iter().map(|r| 1 + 16 + 2 + r.partition_key.len() + 4 + r.data.len()).sum::<usize>()
    }

    /// Appends the encoded batch to `out`. Fails only on a key or data too long for its
    /// length field, which validation at the edge already rules out.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), BatchError> {
        out.reserve(self.encoded_bytes_max());
        out.extend_from_slice(&self.arrival_ms.to_be_bytes());
        let count = u32::try_from(self.records.len()).map_err(|_| BatchError("too many records".into()))?;
        out.extend_from_slice(&count.to_be_bytes());
        for r in &self.records {
            match r.after {
                Some(after) => {
                    out.push(FLAG_AFTER);
                    out.extend_from_slice(&after.0.to_be_bytes());
                }
                None => out.push(0),
            }
            let key_len =
                u16::try_from(r.partition_key.len()).map_err(|_| BatchError("partition key too long".into()))?;
            out.extend_from_slice(&key_len.to_be_bytes());
            out.extend_from_slice(r.partition_key.as_bytes());
            let data_len = u32::try_from(r.data.len()).map_err(|_| BatchError("data too long".into()))?;
            out.extend_from_slice(&data_len.to_be_bytes());
            out.extend_from_slice(&r.data);
        }
        Ok(())
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], BatchError> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let Some(end) = end else {
            return Err(BatchError(format!("{what} runs past the end at byte {}", self.at)));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], BatchError> {
        self.take(N, what)?.try_into().map_err(|_| BatchError(format!("{what}: short")))
    }
}

impl<'a> BatchView<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<BatchView<'a>, BatchError> {
        let (view, end) = BatchView::decode_first(bytes, usize::MAX)?;
        if end != bytes.len() {
            return Err(BatchError(format!("{} bytes after the last record", bytes.len() - end)));
        }
        Ok(view)
    }

    /// The encoding of a batch holding only the first `count` records of the encoded batch
    /// `bytes` (a shard leader proposes the part its write quota admits).
    pub fn prefix(bytes: &[u8], count: usize) -> Result<Vec<u8>, BatchError> {
        let (view, end) = BatchView::decode_first(bytes, count)?;
        let count = u32::try_from(view.records.len()).map_err(|_| BatchError("too many records".into()))?;
        let mut out = Vec::with_capacity(end);
        out.extend_from_slice(&view.arrival_ms.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&bytes[HEADER_BYTES..end]);
        Ok(out)
    }

    /// Decodes the header and at most `limit` records; also returns where they end.
    fn decode_first(bytes: &'a [u8], limit: usize) -> Result<(BatchView<'a>, usize), BatchError> {
        let mut r = Reader { bytes, at: 0 };
        let arrival_ms = i64::from_be_bytes(r.array("arrival time")?);
        let count = u32::from_be_bytes(r.array("record count")?) as usize;
        // Each record takes at least 7 bytes: a count beyond that is a lie, not an allocation.
        if count > bytes.len() / 7 {
            return Err(BatchError(format!("{count} records cannot fit in {} bytes", bytes.len())));
        }
        let mut records = Vec::with_capacity(count.min(limit));
        for _ in 0..count.min(limit) {
            let flags = r.array::<1>("flags")?[0];
            if flags & !FLAG_AFTER != 0 {
                return Err(BatchError(format!("unknown record flags {flags:#x}")));
            }
            let after = if flags & FLAG_AFTER != 0 {
                Some(SequenceNumber(u128::from_be_bytes(r.array("sequence number for ordering")?)))
            } else {
                None
            };
            let key_len = u16::from_be_bytes(r.array("key length")?) as usize;
            let key = r.take(key_len, "partition key")?;
            let partition_key =
                std::str::from_utf8(key).map_err(|_| BatchError("partition key is not UTF-8".into()))?;
            let data_len = u32::from_be_bytes(r.array("data length")?) as usize;
            let data = r.take(data_len, "data")?;
            records.push(RecordView { partition_key, data, after });
        }
        Ok((BatchView { arrival_ms, records }, r.at))
    }
}

impl fmt::Display for AppendBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "append of {} records", self.records.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(batch: &AppendBatch) -> Vec<u8> {
        let mut out = Vec::new();
        batch.encode_into(&mut out).unwrap();
        out
    }

    proptest! {
        #[test]
        fn batches_round_trip(
            arrival in any::<i64>(),
            records in proptest::collection::vec(
                ("\\PC{1,20}", proptest::collection::vec(any::<u8>(), 0..64), proptest::option::of(any::<u128>())),
                0..20,
            ),
        ) {
            let batch = AppendBatch {
                arrival_ms: arrival,
                records: records
                    .into_iter()
                    .map(|(k, d, a)| NewRecord { partition_key: k, data: d, after: a.map(SequenceNumber) })
                    .collect(),
            };
            let bytes = encode(&batch);
            prop_assert_eq!(bytes.len(), batch.encoded_bytes_max() - batch.records.iter().filter(|r| r.after.is_none()).count() * 16);
            let view = BatchView::decode(&bytes).unwrap();
            prop_assert_eq!(view.arrival_ms, batch.arrival_ms);
            prop_assert_eq!(view.records.len(), batch.records.len());
            for (v, r) in view.records.iter().zip(&batch.records) {
                prop_assert_eq!(v.partition_key, r.partition_key.as_str());
                prop_assert_eq!(v.data, r.data.as_slice());
                prop_assert_eq!(v.after, r.after);
            }
        }

        /// Whatever bytes a peer sends, decoding answers without panicking.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = BatchView::decode(&bytes);
        }
    }

    #[test]
    fn a_prefix_is_the_batch_of_the_first_records() {
        let records: Vec<_> = (0..5u8)
            .map(|i| NewRecord {
                partition_key: format!("k{i}"),
                data: vec![i; i as usize * 3],
                after: (i == 2).then_some(SequenceNumber(9)),
            })
            .collect();
        let batch = AppendBatch { arrival_ms: 42, records: records.clone() };
        let bytes = encode(&batch);
        for n in 0..=5 {
            let expected = encode(&AppendBatch { arrival_ms: 42, records: records[..n].to_vec() });
            assert_eq!(BatchView::prefix(&bytes, n).unwrap(), expected, "first {n}");
        }
        assert_eq!(BatchView::prefix(&bytes, 99).unwrap(), bytes, "more than there are: all");
        assert!(BatchView::prefix(&bytes[..bytes.len() - 1], 5).is_err(), "a truncated record");
    }

    #[test]
    fn lies_about_lengths_are_refused() {
        let batch = AppendBatch {
            arrival_ms: 5,
            records: vec![NewRecord { partition_key: "k".into(), data: vec![1, 2, 3], after: None }],
        };
        let bytes = encode(&batch);
        assert!(BatchView::decode(&bytes[..bytes.len() - 1]).is_err(), "truncated data");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(BatchView::decode(&longer).is_err(), "trailing bytes");
        let mut huge_count = bytes.clone();
        huge_count[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(BatchView::decode(&huge_count).is_err(), "a count no buffer can hold");
    }
}
