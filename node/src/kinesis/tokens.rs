//! Opaque tokens handed to clients (shard iterators, NextTokens), authenticated: a client
//! can read them but cannot forge or alter one.
//!
//! `base64url([format u8][key id u32][body (postcard)][mac, 16 bytes])`, where the MAC is
//! HMAC-SHA256 under the cluster's token key `id`, over the token's kind (`TokenKind`, not
//! sent) and everything before it, so that a token of one kind never opens as another
//! (a NextToken is no shard iterator, whatever its body decodes to). Keys live in
//! the metadata (made by the metadata leader, replicated, rotated every
//! `TOKEN_KEY_ROTATION_MS`); the newest signs and every kept key verifies, so rotation
//! never breaks a live token.

use crate::control::TokenKey;
use crate::domain::{GroupId, ShardId, StreamName};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::Sha256;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// The token layout of this release.
const TOKEN_FORMAT: u8 = 1;
const MAC_BYTES: usize = 16;
const HEADER_BYTES: usize = 1 + 4;
/// A token longer than this was not made here (ours are well under 200 bytes).
pub const TOKEN_CHARS_MAX: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The cluster has no signing key yet (it is still starting).
    #[error("the cluster has no token key yet")]
    NoKey,
    #[error("not a valid token")]
    Invalid,
}

/// The kind of a token, covered by its MAC: each type of token has its own.
pub trait TokenKind {
    const KIND: u8;
}

impl TokenKind for ShardIterator {
    const KIND: u8 = 1;
}

impl TokenKind for NextToken {
    const KIND: u8 = 2;
}

impl TokenKind for ConsumersToken {
    const KIND: u8 = 3;
}

/// When a token was issued, for its expiry.
pub trait Issued {
    fn issued_ms(&self) -> i64;
}

impl Issued for NextToken {
    fn issued_ms(&self) -> i64 {
        self.issued_ms
    }
}

impl Issued for ConsumersToken {
    fn issued_ms(&self) -> i64 {
        self.issued_ms
    }
}

fn mac(key: &TokenKey, kind: u8, signed: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.secret).unwrap_or_else(|_| unreachable!());
    mac.update(&[kind]);
    mac.update(signed);
    mac
}

/// Seals `value` under the newest key of `keys`.
pub fn seal<T: Serialize + TokenKind>(keys: &[TokenKey], value: &T) -> Result<String, TokenError> {
    let key = keys.last().ok_or(TokenError::NoKey)?;
    let mut bytes = vec![TOKEN_FORMAT];
    bytes.extend_from_slice(&key.id.to_be_bytes());
    let mut bytes = postcard::to_extend(value, bytes).map_err(|_| TokenError::Invalid)?;
    let tag = mac(key, T::KIND, &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag[..MAC_BYTES]);
    Ok(B64.encode(bytes))
}

/// Opens a token of kind `T` sealed under any of `keys`; anything else is `Invalid`.
pub fn open<T: DeserializeOwned + TokenKind>(keys: &[TokenKey], token: &str) -> Result<T, TokenError> {
    if token.len() > TOKEN_CHARS_MAX {
        return Err(TokenError::Invalid);
    }
    let bytes = B64.decode(token).map_err(|_| TokenError::Invalid)?;
    if bytes.len() < HEADER_BYTES + MAC_BYTES || bytes[0] != TOKEN_FORMAT {
        return Err(TokenError::Invalid);
    }
    let (signed, tag) = bytes.split_at(bytes.len() - MAC_BYTES);
    let id = u32::from_be_bytes(signed[1..HEADER_BYTES].try_into().map_err(|_| TokenError::Invalid)?);
    let key = keys.iter().find(|k| k.id == id).ok_or(TokenError::Invalid)?;
    mac(key, T::KIND, signed).verify_truncated_left(tag).map_err(|_| TokenError::Invalid)?;
    postcard::from_bytes(&signed[HEADER_BYTES..]).map_err(|_| TokenError::Invalid)
}

/// How long ago a token was issued, never negative and never overflowing, whatever the
/// clocks did.
pub fn age_ms(now_ms: i64, issued_ms: i64) -> i64 {
    now_ms.saturating_sub(issued_ms).max(0)
}

/// A position in a shard, as GetShardIterator and GetRecords hand it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardIterator {
    pub stream: StreamName,
    pub incarnation: u64,
    pub shard: ShardId,
    pub group: GroupId,
    /// The counter of the next record to read.
    pub next_counter: u64,
    pub issued_ms: i64,
}

/// A ListShards / ListStreams continuation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextToken {
    pub stream: Option<StreamName>,
    pub incarnation: u64,
    /// The last item of the previous page (shard number or stream name).
    pub after: String,
    pub page_size: u32,
    pub issued_ms: i64,
    /// ListShards: which shards the listing holds (its ShardFilter).
    pub shards: ShardSelection,
}

/// A ListStreamConsumers continuation: its own kind, so that no ListShards token (whose
/// `after` is a shard number) passes for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumersToken {
    pub stream: StreamName,
    pub incarnation: u64,
    /// The name of the last consumer of the previous page (pages go in name order).
    pub after: String,
    pub page_size: u32,
    pub issued_ms: i64,
}

/// The shards a ListShards call lists (its ShardFilter, AFTER_SHARD_ID aside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardSelection {
    /// Every shard not yet expired (the default).
    #[default]
    FromTrimHorizon,
    /// The shards open at the trim horizon.
    AtTrimHorizon,
    /// The open shards.
    AtLatest,
    /// The shards open at this time.
    AtTimestamp(i64),
    /// The shards open at this time or later.
    FromTimestamp(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> TokenKey {
        TokenKey { id, secret: [id as u8 ^ 0x5a; 32], created_ms: 0 }
    }

    fn iterator(next_counter: u64) -> ShardIterator {
        ShardIterator {
            stream: StreamName::parse("s").unwrap(),
            incarnation: 3,
            shard: ShardId(1),
            group: GroupId(4),
            next_counter,
            issued_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let keys = [key(1)];
        let token = seal(&keys, &iterator(99)).unwrap();
        assert_eq!(open::<ShardIterator>(&keys, &token), Ok(iterator(99)));
        let mut chars: Vec<char> = token.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(open::<ShardIterator>(&keys, &tampered), Err(TokenError::Invalid));
        assert_eq!(open::<ShardIterator>(&keys, "not a token"), Err(TokenError::Invalid));
        assert_eq!(open::<ShardIterator>(&keys, ""), Err(TokenError::Invalid));
        assert_eq!(open::<ShardIterator>(&keys, &"A".repeat(10_000)), Err(TokenError::Invalid));
        assert_eq!(seal(&[], &iterator(1)), Err(TokenError::NoKey));
    }

    /// The fault: a token was postcard plus a CRC32, so anyone could decode it, move its
    /// position (or its issue time), recompute the CRC, and be served.
    #[test]
    fn a_forged_token_with_a_recomputed_checksum_is_refused() {
        let keys = [key(1)];
        let token = seal(&keys, &iterator(5)).unwrap();
        let bytes = B64.decode(&token).unwrap();
        let (signed, _) = bytes.split_at(bytes.len() - MAC_BYTES);
        // The forger rewrites the body with another position and appends a CRC32, as the
        // old format wanted, or keeps the length with an all-zero tag.
        let mut forged = signed[..HEADER_BYTES].to_vec();
        forged = postcard::to_extend(&iterator(0), forged).unwrap();
        let crc = crc32fast::hash(&forged);
        let mut with_crc = forged.clone();
        with_crc.extend_from_slice(&crc.to_be_bytes());
        with_crc.resize(forged.len() + MAC_BYTES, 0);
        assert_eq!(open::<ShardIterator>(&keys, &B64.encode(&with_crc)), Err(TokenError::Invalid));
        // A correct MAC under a key the cluster does not have is refused too.
        let foreign = seal(&[TokenKey { id: 1, secret: [0; 32], created_ms: 0 }], &iterator(0)).unwrap();
        assert_eq!(open::<ShardIterator>(&keys, &foreign), Err(TokenError::Invalid));
    }

    /// The fault: a ListStreams NextToken opened as a shard iterator (its body decodes as
    /// one), and GetRecords answered ExpiredIteratorException instead of refusing it.
    #[test]
    fn a_token_of_one_kind_never_opens_as_another() {
        let keys = [key(1)];
        let next = NextToken {
            stream: None,
            incarnation: 0,
            after: "tokens".into(),
            page_size: 1,
            issued_ms: 1_700_000_000_000,
            shards: ShardSelection::AtTimestamp(7),
        };
        let token = seal(&keys, &next).unwrap();
        assert_eq!(open::<NextToken>(&keys, &token), Ok(next));
        assert_eq!(open::<ShardIterator>(&keys, &token), Err(TokenError::Invalid));
        let it = seal(&keys, &iterator(3)).unwrap();
        assert_eq!(open::<NextToken>(&keys, &it), Err(TokenError::Invalid));
        // A ListShards token names a shard after which to go on, no consumer.
        let consumers = ConsumersToken {
            stream: StreamName::parse("s").unwrap(),
            incarnation: 1,
            after: "app".into(),
            page_size: 2,
            issued_ms: 1_700_000_000_000,
        };
        let sealed = seal(&keys, &consumers).unwrap();
        assert_eq!(open::<ConsumersToken>(&keys, &sealed), Ok(consumers));
        assert_eq!(open::<NextToken>(&keys, &sealed), Err(TokenError::Invalid));
        assert_eq!(open::<ConsumersToken>(&keys, &token), Err(TokenError::Invalid));
    }

    #[test]
    fn rotation_keeps_live_tokens_valid_until_their_key_is_dropped() {
        let token = seal(&[key(1)], &iterator(7)).unwrap();
        // Key 2 arrives and signs from now on; key 1 still verifies.
        let rotated = [key(1), key(2)];
        assert_eq!(open::<ShardIterator>(&rotated, &token), Ok(iterator(7)));
        let newer = seal(&rotated, &iterator(8)).unwrap();
        assert_eq!(open::<ShardIterator>(&[key(2), key(3)], &newer), Ok(iterator(8)));
        // Once key 1 is no longer kept, its tokens are refused.
        assert_eq!(open::<ShardIterator>(&[key(2), key(3)], &token), Err(TokenError::Invalid));
    }

    #[test]
    fn token_ages_never_overflow() {
        assert_eq!(age_ms(10, 3), 7);
        assert_eq!(age_ms(i64::MAX, i64::MIN), i64::MAX);
        assert_eq!(age_ms(i64::MIN, i64::MAX), 0);
        assert_eq!(age_ms(0, 5), 0, "a token from the future is not negative-aged");
    }
}
