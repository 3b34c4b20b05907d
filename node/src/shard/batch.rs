//! The records of one `Append` command, in Runnel's own format (the command and the log
//! entry around it carry the version byte and the CRC).
//!
//! `[arrival_ms i64][count u32]`, then per record
//! `[flags u8][after u128 if flags & 1][body]`, where the body is
//! `[key length u16][key, UTF-8][data length u32][data]`, or, when `flags & 2` (sealed),
//! `[sealed length u32][sealed]`: one blob (crypto.rs: `[nonce 24][ciphertext][tag 16]`) of
//! the plain `[key length u16][key][data]`. All numbers big-endian. The
//! SequenceNumberForOrdering (`after`) stays in clear: applying needs it, never the key or
//! the data.
//!
//! Decoding checks structure only; `append.rs` decides what is acceptable, and only a
//! reader holding the cluster's key opens a sealed body. ("Sealed" here means encrypted; a
//! shard sealed by a reshard is another matter, `AppendRefused::Sealed`.)

use crate::crypto::{OpenError, RecordKey, SEAL_OVERHEAD_BYTES};
use crate::domain::SequenceNumber;
use std::fmt;

const FLAG_AFTER: u8 = 1;
/// The key and data are one sealed blob. Persisted: never renumber.
const FLAG_SEALED: u8 = 2;
const HEADER_BYTES: usize = 8 + 4;
/// The key length in front of the key inside a sealed blob.
const SEALED_KEY_LENGTH_BYTES: usize = 2;
/// The smallest sealed blob: nonce, tag and a key length.
pub const SEALED_BYTES_MIN: usize = SEAL_OVERHEAD_BYTES + SEALED_KEY_LENGTH_BYTES;

/// Records proposed together; they get consecutive sequence numbers when applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendBatch {
    /// The leader's clock when it proposed the batch. Replicas take the arrival time from
    /// here, never from their own clocks, so they all agree.
    pub arrival_ms: i64,
    pub records: Vec<NewRecord>,
    /// The stream is encrypted: every record's key and data are sealed with this key as
    /// the batch is encoded, so the command (the Raft log, and everything made from it)
    /// holds only ciphertext.
    pub seal_with: Option<RecordKey>,
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
    pub body: RecordBody<'a>,
    pub after: Option<SequenceNumber>,
}

/// A record's partition key and data, as a batch (or an index row) holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordBody<'a> {
    Plain {
        partition_key: &'a str,
        data: &'a [u8],
    },
    /// Sealed `[key length u16][key][data]`: only the cluster's key opens it.
    Sealed(&'a [u8]),
}

/// A record's key and data as stored, owned: read back from a log entry or an inline
/// index row, still sealed if it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredBody {
    Plain { partition_key: String, data: Vec<u8> },
    Sealed(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed record batch: {0}")]
pub struct BatchError(pub String);

/// Why a sealed record was not opened. Never data: a reader reports it as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsealError {
    #[error("the record is encrypted and no encryption key is configured on this node")]
    NoKey,
    #[error("the record is encrypted and does not open: {0}")]
    Open(#[from] OpenError),
    #[error("the encrypted record opens to malformed contents: {0}")]
    Malformed(&'static str),
}

impl AppendBatch {
    /// The encoded size, at most (a record without `after` takes 16 bytes less).
    pub fn encoded_bytes_max(&self) -> usize {
        let sealing = if self.seal_with.is_some() { SEAL_OVERHEAD_BYTES } else { 0 };
        HEADER_BYTES
            + self
                .records
                .iter()
                .map(|r| 1 + 16 + 2 + r.partition_key.len() + 4 + r.data.len() + sealing)
                .sum::<usize>()
    }

    /// Appends the encoded batch to `out`, each record sealed when `seal_with` is set.
    /// Fails only on a key or data too long for its length field, which validation at the
    /// edge already rules out.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), BatchError> {
        out.reserve(self.encoded_bytes_max());
        out.extend_from_slice(&self.arrival_ms.to_be_bytes());
        let count = u32::try_from(self.records.len()).map_err(|_| BatchError("too many records".into()))?;
        out.extend_from_slice(&count.to_be_bytes());
        for r in &self.records {
            let sealed = if self.seal_with.is_some() { FLAG_SEALED } else { 0 };
            match r.after {
                Some(after) => {
                    out.push(FLAG_AFTER | sealed);
                    out.extend_from_slice(&after.0.to_be_bytes());
                }
                None => out.push(sealed),
            }
            match &self.seal_with {
                Some(key) => seal_body(key, &r.partition_key, &r.data, out)?,
                None => RecordBody::Plain { partition_key: &r.partition_key, data: &r.data }.encode_into(out)?,
            }
        }
        Ok(())
    }
}

/// Appends `[sealed length u32][sealed [key length u16][key][data]]`.
fn seal_body(key: &RecordKey, partition_key: &str, data: &[u8], out: &mut Vec<u8>) -> Result<(), BatchError> {
    let key_len = u16::try_from(partition_key.len()).map_err(|_| BatchError("partition key too long".into()))?;
    let sealed_len = SEALED_BYTES_MIN + partition_key.len() + data.len();
    let sealed_len = u32::try_from(sealed_len).map_err(|_| BatchError("data too long".into()))?;
    out.extend_from_slice(&sealed_len.to_be_bytes());
    let start = out.len();
    key.seal_into(&[&key_len.to_be_bytes(), partition_key.as_bytes(), data], out)
        .map_err(|e| BatchError(e.to_string()))?;
    debug_assert_eq!(out.len() - start, sealed_len as usize, "the sealed length is announced exactly");
    Ok(())
}

impl<'a> RecordBody<'a> {
    /// Bytes of key and data as stored (a sealed blob counts whole).
    pub fn stored_bytes(&self) -> usize {
        match self {
            RecordBody::Plain { partition_key, data } => partition_key.len() + data.len(),
            RecordBody::Sealed(sealed) => sealed.len(),
        }
    }

    fn flags(&self) -> u8 {
        match self {
            RecordBody::Plain { .. } => 0,
            RecordBody::Sealed(_) => FLAG_SEALED,
        }
    }

    /// `[flags u8][body]`: how a snapshot chunk carries a record's body.
    pub fn encode_flagged_into(&self, out: &mut Vec<u8>) -> Result<(), BatchError> {
        out.push(self.flags());
        self.encode_into(out)
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), BatchError> {
        match self {
            RecordBody::Plain { partition_key, data } => {
                let key_len =
                    u16::try_from(partition_key.len()).map_err(|_| BatchError("partition key too long".into()))?;
                out.extend_from_slice(&key_len.to_be_bytes());
                out.extend_from_slice(partition_key.as_bytes());
                let data_len = u32::try_from(data.len()).map_err(|_| BatchError("data too long".into()))?;
                out.extend_from_slice(&data_len.to_be_bytes());
                out.extend_from_slice(data);
            }
            RecordBody::Sealed(sealed) => {
                let len = u32::try_from(sealed.len()).map_err(|_| BatchError("sealed record too long".into()))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(sealed);
            }
        }
        Ok(())
    }

    pub fn to_stored(self) -> StoredBody {
        match self {
            RecordBody::Plain { partition_key, data } => {
                StoredBody::Plain { partition_key: partition_key.to_string(), data: data.to_vec() }
            }
            RecordBody::Sealed(sealed) => StoredBody::Sealed(sealed.to_vec()),
        }
    }
}

impl StoredBody {
    pub fn as_body(&self) -> RecordBody<'_> {
        match self {
            StoredBody::Plain { partition_key, data } => RecordBody::Plain { partition_key, data },
            StoredBody::Sealed(sealed) => RecordBody::Sealed(sealed),
        }
    }

    pub fn is_sealed(&self) -> bool {
        matches!(self, StoredBody::Sealed(_))
    }

    /// The partition key and data, opened with `key` when sealed. A sealed body that
    /// `key` does not open (none given, another key, altered bytes) is an error.
    pub fn open(self, key: Option<&RecordKey>) -> Result<(String, Vec<u8>), UnsealError> {
        let sealed = match self {
            StoredBody::Plain { partition_key, data } => return Ok((partition_key, data)),
            StoredBody::Sealed(sealed) => sealed,
        };
        let mut plain = key.ok_or(UnsealError::NoKey)?.open(&sealed)?;
        let length: [u8; SEALED_KEY_LENGTH_BYTES] = plain
            .get(..SEALED_KEY_LENGTH_BYTES)
            .and_then(|b| b.try_into().ok())
            .ok_or(UnsealError::Malformed("short"))?;
        let key_end = SEALED_KEY_LENGTH_BYTES + usize::from(u16::from_be_bytes(length));
        if key_end > plain.len() {
            return Err(UnsealError::Malformed("the partition key runs past the end"));
        }
        let data = plain.split_off(key_end);
        plain.drain(..SEALED_KEY_LENGTH_BYTES);
        let partition_key = String::from_utf8(plain).map_err(|_| UnsealError::Malformed("the key is not UTF-8"))?;
        Ok((partition_key, data))
    }
}

/// Reads a batch's bytes; every length is checked, nothing panics.
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

    /// A body whose flags (`FLAG_SEALED`) were read already.
    fn body(&mut self, flags: u8) -> Result<RecordBody<'a>, BatchError> {
        if flags & FLAG_SEALED != 0 {
            let len = u32::from_be_bytes(self.array("sealed length")?) as usize;
            if len < SEALED_BYTES_MIN {
                return Err(BatchError(format!("a sealed record of {len} bytes is shorter than its nonce and tag")));
            }
            return Ok(RecordBody::Sealed(self.take(len, "sealed record")?));
        }
        let key_len = u16::from_be_bytes(self.array("key length")?) as usize;
        let key = self.take(key_len, "partition key")?;
        let partition_key = std::str::from_utf8(key).map_err(|_| BatchError("partition key is not UTF-8".into()))?;
        let data_len = u32::from_be_bytes(self.array("data length")?) as usize;
        let data = self.take(data_len, "data")?;
        Ok(RecordBody::Plain { partition_key, data })
    }
}

/// The `[flags u8][body]` at the start of `bytes` (as `RecordBody::encode_flagged_into`
/// wrote it), and how many bytes it took.
pub fn decode_flagged_body(bytes: &[u8]) -> Result<(RecordBody<'_>, usize), BatchError> {
    let mut r = Reader { bytes, at: 0 };
    let flags = r.array::<1>("flags")?[0];
    if flags & !FLAG_SEALED != 0 {
        return Err(BatchError(format!("unknown body flags {flags:#x}")));
    }
    let body = r.body(flags)?;
    Ok((body, r.at))
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

    /// Appends to `out` one batch of every record of the encoded batches `parts`, in order,
    /// arriving at the latest of their arrival times (a shard leader coalesces concurrent
    /// appends into one entry). The parts were decoded before, so only their headers are
    /// read here.
    pub fn concat_into(parts: &[&[u8]], out: &mut Vec<u8>) -> Result<(), BatchError> {
        let mut arrival_ms = i64::MIN;
        let mut count = 0u32;
        for part in parts {
            let (header, _) = part.split_at_checked(HEADER_BYTES).ok_or_else(|| BatchError("no header".into()))?;
            let (arrival, records) = header.split_at(8);
            arrival_ms = arrival_ms.max(i64::from_be_bytes(arrival.try_into().unwrap_or_default()));
            let records = u32::from_be_bytes(records.try_into().unwrap_or_default());
            count = count.checked_add(records).ok_or_else(|| BatchError("too many records".into()))?;
        }
        if parts.is_empty() {
            return Err(BatchError("no batches to join".into()));
        }
        out.reserve(HEADER_BYTES + parts.iter().map(|p| p.len() - HEADER_BYTES).sum::<usize>());
        out.extend_from_slice(&arrival_ms.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        for part in parts {
            out.extend_from_slice(&part[HEADER_BYTES..]);
        }
        Ok(())
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
            if flags & !(FLAG_AFTER | FLAG_SEALED) != 0 {
                return Err(BatchError(format!("unknown record flags {flags:#x}")));
            }
            let after = if flags & FLAG_AFTER != 0 {
                Some(SequenceNumber(u128::from_be_bytes(r.array("sequence number for ordering")?)))
            } else {
                None
            };
            let body = r.body(flags)?;
            records.push(RecordView { body, after });
        }
        Ok((BatchView { arrival_ms, records }, r.at))
    }
}

impl fmt::Display for AppendBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sealed = if self.seal_with.is_some() { ", sealed" } else { "" };
        write!(f, "append of {} records{sealed}", self.records.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::RecordKey;
    use proptest::prelude::*;

    fn encode(batch: &AppendBatch) -> Vec<u8> {
        let mut out = Vec::new();
        batch.encode_into(&mut out).unwrap();
        out
    }

    fn plain(r: &RecordView<'_>) -> (String, Vec<u8>) {
        match r.body {
            RecordBody::Plain { partition_key, data } => (partition_key.to_string(), data.to_vec()),
            RecordBody::Sealed(_) => panic!("a sealed record where a plain one was written"),
        }
    }

    fn one(key: &str, data: &[u8], seal_with: Option<RecordKey>) -> AppendBatch {
        AppendBatch {
            arrival_ms: 5,
            records: vec![NewRecord { partition_key: key.into(), data: data.to_vec(), after: None }],
            seal_with,
        }
    }

    /// Coalesced appends: one batch of every part's records, in order, at the latest arrival
    /// time; an encrypted part stays sealed.
    #[test]
    fn joined_batches_hold_every_record_in_order() {
        let key = RecordKey::new([7; 32]);
        let mut first = one("a", b"1", None);
        first.records.push(NewRecord { partition_key: "b".into(), data: vec![2; 3], after: None });
        let mut second = one("c", b"", Some(key.clone()));
        second.arrival_ms = 9;
        let third = one("d", &[4; 1000], None);
        let parts = [encode(&first), encode(&second), encode(&third)];
        let mut joined = Vec::new();
        BatchView::concat_into(&parts.iter().map(|p| p.as_slice()).collect::<Vec<_>>(), &mut joined).unwrap();
        let view = BatchView::decode(&joined).unwrap();
        assert_eq!(view.arrival_ms, 9);
        assert_eq!(view.records.len(), 4);
        assert_eq!(plain(&view.records[0]), ("a".into(), b"1".to_vec()));
        assert_eq!(plain(&view.records[1]), ("b".into(), vec![2; 3]));
        assert!(matches!(view.records[2].body, RecordBody::Sealed(_)));
        assert_eq!(plain(&view.records[3]), ("d".into(), vec![4; 1000]));
        // Nothing to join, or a part with no header, is refused.
        assert!(BatchView::concat_into(&[], &mut Vec::new()).is_err());
        assert!(BatchView::concat_into(&[&parts[0], &[0; 3]], &mut Vec::new()).is_err());
    }

    proptest! {
        #[test]
        fn batches_round_trip(
            arrival in any::<i64>(),
            records in proptest::collection::vec(
                ("\\PC{1,20}", proptest::collection::vec(any::<u8>(), 0..64), proptest::option::of(any::<u128>())),
                0..20,
            ),
            sealed in any::<bool>(),
        ) {
            let key = RecordKey::generate();
            let batch = AppendBatch {
                arrival_ms: arrival,
                records: records
                    .into_iter()
                    .map(|(k, d, a)| NewRecord { partition_key: k, data: d, after: a.map(SequenceNumber) })
                    .collect(),
                seal_with: sealed.then(|| key.clone()),
            };
            let bytes = encode(&batch);
            prop_assert_eq!(bytes.len(), batch.encoded_bytes_max() - batch.records.iter().filter(|r| r.after.is_none()).count() * 16);
            let view = BatchView::decode(&bytes).unwrap();
            prop_assert_eq!(view.arrival_ms, batch.arrival_ms);
            prop_assert_eq!(view.records.len(), batch.records.len());
            for (v, r) in view.records.iter().zip(&batch.records) {
                prop_assert_eq!(v.after, r.after);
                let stored = v.body.to_stored();
                prop_assert_eq!(stored.is_sealed(), sealed);
                if sealed {
                    prop_assert_eq!(stored.clone().open(None), Err(UnsealError::NoKey));
                    prop_assert_eq!(
                        stored.clone().open(Some(&RecordKey::generate())),
                        Err(UnsealError::Open(OpenError::Refused))
                    );
                }
                let (partition_key, data) = stored.open(Some(&key)).unwrap();
                prop_assert_eq!(partition_key, r.partition_key.clone());
                prop_assert_eq!(data, r.data.clone());
            }
        }

        /// Whatever bytes a peer sends, decoding (and opening what decodes) answers
        /// without panicking.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(view) = BatchView::decode(&bytes) {
                for r in view.records {
                    let _ = r.body.to_stored().open(Some(&RecordKey::new([7; 32])));
                }
            }
            let _ = decode_flagged_body(&bytes);
        }

        /// A sealed blob whose contents do not parse (made with the right key) is an error.
        #[test]
        fn sealed_garbage_is_an_error_not_a_panic(contents in proptest::collection::vec(any::<u8>(), 0..8)) {
            let key = RecordKey::new([3; 32]);
            let mut sealed = Vec::new();
            key.seal_into(&[&contents], &mut sealed).unwrap();
            let opened = StoredBody::Sealed(sealed).open(Some(&key));
            if let Ok((k, d)) = opened {
                // Only contents that really are `[key length][key][data]` open.
                let key_len = u16::from_be_bytes([contents[0], contents[1]]) as usize;
                prop_assert_eq!(k.as_bytes(), &contents[2..2 + key_len]);
                prop_assert_eq!(d.as_slice(), &contents[2 + key_len..]);
            }
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
        let batch = AppendBatch { arrival_ms: 42, records: records.clone(), seal_with: None };
        let bytes = encode(&batch);
        for n in 0..=5 {
            let expected = encode(&AppendBatch { arrival_ms: 42, records: records[..n].to_vec(), seal_with: None });
            assert_eq!(BatchView::prefix(&bytes, n).unwrap(), expected, "first {n}");
        }
        assert_eq!(BatchView::prefix(&bytes, 99).unwrap(), bytes, "more than there are: all");
        assert!(BatchView::prefix(&bytes[..bytes.len() - 1], 5).is_err(), "a truncated record");
    }

    #[test]
    fn sealed_batches_hold_no_plaintext_and_keep_after_in_clear() {
        let key = RecordKey::generate();
        let after = SequenceNumber(0x1234_5678_9abc_def0_1122_3344_5566_7788);
        let batch = AppendBatch {
            arrival_ms: 9,
            records: vec![NewRecord {
                partition_key: "pk-marker".into(),
                data: b"data-marker".to_vec(),
                after: Some(after),
            }],
            seal_with: Some(key.clone()),
        };
        let bytes = encode(&batch);
        let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(!contains(b"pk-marker") && !contains(b"data-marker"), "no plaintext in a sealed batch");
        assert!(contains(&after.0.to_be_bytes()), "SequenceNumberForOrdering stays in clear");
        let view = BatchView::decode(&bytes).unwrap();
        assert_eq!(view.records[0].after, Some(after));
        assert!(matches!(view.records[0].body, RecordBody::Sealed(_)));
        assert_eq!(
            view.records[0].body.to_stored().open(Some(&key)).unwrap(),
            ("pk-marker".into(), b"data-marker".to_vec())
        );
    }

    #[test]
    fn tampered_sealed_records_are_refused() {
        let key = RecordKey::generate();
        let bytes = encode(&one("k", b"some data", Some(key.clone())));
        // Header 12 bytes, flags 1, sealed length 4: the blob is the rest.
        for i in 17..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            let view = BatchView::decode(&bad).expect("the structure is intact");
            let opened = view.records[0].body.to_stored().open(Some(&key));
            assert_eq!(opened, Err(UnsealError::Open(OpenError::Refused)), "byte {i} altered");
        }
        let mut short = bytes.clone();
        short[13..17].copy_from_slice(&(SEALED_BYTES_MIN as u32 - 1).to_be_bytes());
        assert!(BatchView::decode(&short).is_err(), "a blob shorter than nonce and tag");
    }

    /// Batches written before encryption existed (no sealed flag) decode exactly as before.
    #[test]
    fn batches_without_the_sealed_flag_decode_as_before() {
        let mut bytes = 77i64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&2u32.to_be_bytes());
        bytes.push(0);
        bytes.extend_from_slice(&[0, 2, b'k', b'1', 0, 0, 0, 3, 1, 2, 3]);
        bytes.push(1);
        bytes.extend_from_slice(&42u128.to_be_bytes());
        bytes.extend_from_slice(&[0, 1, b'k', 0, 0, 0, 0]);
        assert_eq!(
            bytes,
            encode(&AppendBatch {
                arrival_ms: 77,
                records: vec![
                    NewRecord { partition_key: "k1".into(), data: vec![1, 2, 3], after: None },
                    NewRecord { partition_key: "k".into(), data: vec![], after: Some(SequenceNumber(42)) },
                ],
                seal_with: None,
            })
        );
        let view = BatchView::decode(&bytes).unwrap();
        assert_eq!(view.arrival_ms, 77);
        assert_eq!(plain(&view.records[0]), ("k1".into(), vec![1, 2, 3]));
        assert_eq!(view.records[0].after, None);
        assert_eq!(plain(&view.records[1]), ("k".into(), vec![]));
        assert_eq!(view.records[1].after, Some(SequenceNumber(42)));
        let mut unknown = bytes.clone();
        unknown[12] = 4;
        assert!(BatchView::decode(&unknown).is_err(), "an unknown flag");
    }

    #[test]
    fn lies_about_lengths_are_refused() {
        let bytes = encode(&one("k", &[1, 2, 3], None));
        assert!(BatchView::decode(&bytes[..bytes.len() - 1]).is_err(), "truncated data");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(BatchView::decode(&longer).is_err(), "trailing bytes");
        let mut huge_count = bytes.clone();
        huge_count[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(BatchView::decode(&huge_count).is_err(), "a count no buffer can hold");
        let sealed = encode(&one("k", &[1, 2, 3], Some(RecordKey::generate())));
        assert!(BatchView::decode(&sealed[..sealed.len() - 1]).is_err(), "truncated sealed record");
    }
}
