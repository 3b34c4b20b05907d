//! Index rows: where each record of a shard is, by counter. Runnel's own format inside
//! the storage envelope.
//!
//! Body: `[kind u8]` then, for a record in the log, `[log index u64][position u32]
//! [arrival i64]`; for an inline record, `[arrival i64][key length u16][key][data]`; for an
//! inline sealed record (its stream was encrypted), `[arrival i64][sealed]` (shard/batch.rs).

use super::batch::{RecordBody, StoredBody};
use crate::storage::envelope;
use std::io;

/// Kinds of index rows. Persisted: never renumber.
const IN_LOG: u8 = 1;
const INLINE: u8 = 2;
const INLINE_SEALED: u8 = 3;

/// Where an indexed record's data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexValue {
    /// Inside the Raft entry at `log_index`, the `position`-th record of its batch. This is
    /// the normal case: the committed log is the data, stored once.
    InLog { log_index: u64, position: u32, arrival_ms: i64 },
    /// Copied here by a snapshot install (the log before it is gone on this replica), still
    /// sealed if it was.
    Inline { arrival_ms: i64, body: StoredBody },
}

impl IndexValue {
    pub fn arrival_ms(&self) -> i64 {
        match self {
            IndexValue::InLog { arrival_ms, .. } | IndexValue::Inline { arrival_ms, .. } => *arrival_ms,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            IndexValue::InLog { log_index, position, arrival_ms } => {
                let mut buf = envelope::begin(1 + 8 + 4 + 8);
                buf.push(IN_LOG);
                buf.extend_from_slice(&log_index.to_be_bytes());
                buf.extend_from_slice(&position.to_be_bytes());
                buf.extend_from_slice(&arrival_ms.to_be_bytes());
                envelope::finish(buf)
            }
            IndexValue::Inline { arrival_ms, body } => inline(*arrival_ms, body.as_body()),
        }
    }

    pub fn decode(bytes: &[u8]) -> io::Result<IndexValue> {
        let body = envelope::open(bytes, "index row")?;
        let bad = |why: &str| envelope::corrupt("index row", why);
        let num = |range: std::ops::Range<usize>| body.get(range).ok_or_else(|| bad("short"));
        match body.first() {
            Some(&IN_LOG) if body.len() == 21 => Ok(IndexValue::InLog {
                log_index: u64::from_be_bytes(num(1..9)?.try_into().map_err(|_| bad("log index"))?),
                position: u32::from_be_bytes(num(9..13)?.try_into().map_err(|_| bad("position"))?),
                arrival_ms: i64::from_be_bytes(num(13..21)?.try_into().map_err(|_| bad("arrival"))?),
            }),
            Some(&INLINE) if body.len() >= 11 => {
                let arrival_ms = i64::from_be_bytes(num(1..9)?.try_into().map_err(|_| bad("arrival"))?);
                let key_len = u16::from_be_bytes(num(9..11)?.try_into().map_err(|_| bad("key length"))?) as usize;
                let key = body.get(11..11 + key_len).ok_or_else(|| bad("key"))?;
                let partition_key = String::from_utf8(key.to_vec()).map_err(|_| bad("key is not UTF-8"))?;
                let data = body[11 + key_len..].to_vec();
                Ok(IndexValue::Inline { arrival_ms, body: StoredBody::Plain { partition_key, data } })
            }
            Some(&INLINE_SEALED) if body.len() >= 9 => {
                let arrival_ms = i64::from_be_bytes(num(1..9)?.try_into().map_err(|_| bad("arrival"))?);
                Ok(IndexValue::Inline { arrival_ms, body: StoredBody::Sealed(body[9..].to_vec()) })
            }
            _ => Err(bad("unknown kind or length")),
        }
    }
}

/// An inline row, encoded straight from borrowed parts.
pub fn inline(arrival_ms: i64, body: RecordBody<'_>) -> Vec<u8> {
    let (partition_key, data) = match body {
        RecordBody::Plain { partition_key, data } => (partition_key, data),
        RecordBody::Sealed(sealed) => {
            let mut buf = envelope::begin(1 + 8 + sealed.len());
            buf.push(INLINE_SEALED);
            buf.extend_from_slice(&arrival_ms.to_be_bytes());
            buf.extend_from_slice(sealed);
            return envelope::finish(buf);
        }
    };
    let mut buf = envelope::begin(1 + 8 + 2 + partition_key.len() + data.len());
    buf.push(INLINE);
    buf.extend_from_slice(&arrival_ms.to_be_bytes());
    // Partition keys are at most 256 characters (1,024 bytes) by validation.
    let key_len = u16::try_from(partition_key.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&key_len.to_be_bytes());
    buf.extend_from_slice(&partition_key.as_bytes()[..key_len as usize]);
    buf.extend_from_slice(data);
    envelope::finish(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(key: &str, data: Vec<u8>) -> StoredBody {
        StoredBody::Plain { partition_key: key.into(), data }
    }

    #[test]
    fn index_rows_round_trip_and_corruption_is_reported() {
        for value in [
            IndexValue::InLog { log_index: u64::MAX, position: 499, arrival_ms: -1 },
            IndexValue::Inline { arrival_ms: 7, body: plain("é-key", vec![0; 1024 * 1024]) },
            IndexValue::Inline { arrival_ms: 7, body: plain("", vec![]) },
            IndexValue::Inline { arrival_ms: -3, body: StoredBody::Sealed(vec![9; 100]) },
            IndexValue::Inline { arrival_ms: 0, body: StoredBody::Sealed(vec![]) },
        ] {
            let bytes = value.encode();
            assert_eq!(IndexValue::decode(&bytes).unwrap(), value);
            let mut bad = bytes.clone();
            bad[3] ^= 1;
            assert!(IndexValue::decode(&bad).is_err());
        }
    }
}
