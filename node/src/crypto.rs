//! The cipher that keeps records encrypted at rest: XChaCha20-Poly1305 under the cluster's
//! `RecordKey`, with a fresh random 24-byte nonce per sealed blob (random nonces of that
//! size never repeat in practice, so no counter has to be kept or agreed on).
//!
//! A sealed blob is `[nonce 24][ciphertext][tag 16]`. Opening checks the tag, so a blob
//! sealed under another key, or altered by a single bit, is refused, never returned as
//! data. This module only seals and opens bytes; what the bytes are is the record batch
//! format's business (shard/batch.rs).

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use std::fmt;

pub const KEY_BYTES: usize = 32;
/// A key as written in a key file.
pub const KEY_HEX_CHARS: usize = 2 * KEY_BYTES;
pub const NONCE_BYTES: usize = 24;
pub const TAG_BYTES: usize = 16;
/// What sealing adds to the plaintext.
pub const SEAL_OVERHEAD_BYTES: usize = NONCE_BYTES + TAG_BYTES;

/// Bound into every tag: a blob sealed for another purpose under the same key never opens
/// as a record.
const ASSOCIATED_DATA: &[u8] = b"runnel record v1";

/// The cluster's record encryption key (every node holds the same). Its Debug never shows
/// the key.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordKey([u8; KEY_BYTES]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("an encryption key is {KEY_HEX_CHARS} hexadecimal characters ({KEY_BYTES} bytes); found {0} characters")]
    Length(usize),
    #[error("an encryption key is hexadecimal (0-9, a-f); character {0} is not")]
    NotHex(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} bytes are too many to seal at once")]
pub struct TooLong(pub usize);

/// Why a sealed blob did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("a sealed blob of {0} bytes is shorter than its nonce and tag")]
    Short(usize),
    #[error("the encryption key does not open it (sealed under another key, or altered)")]
    Refused,
}

impl RecordKey {
    pub fn new(bytes: [u8; KEY_BYTES]) -> RecordKey {
        RecordKey(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> RecordKey {
        RecordKey(rand::random())
    }

    /// A key written as 64 hexadecimal characters (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<RecordKey, KeyError> {
        let text = text.trim();
        if text.len() != KEY_HEX_CHARS || !text.is_ascii() {
            return Err(KeyError::Length(text.chars().count()));
        }
        let digit = |i: usize| {
            let c = text.as_bytes()[i] as char;
            c.to_digit(16).map(|d| d as u8).ok_or(KeyError::NotHex(i + 1))
        };
        let mut bytes = [0u8; KEY_BYTES];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (digit(2 * i)? << 4) | digit(2 * i + 1)?;
        }
        Ok(RecordKey(bytes))
    }

    /// The key as 64 lowercase hexadecimal characters, for a key file.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.0))
    }

    /// Appends the concatenation of `plain` sealed (`[nonce][ciphertext][tag]`,
    /// `SEAL_OVERHEAD_BYTES` more than the parts) to `out`, encrypting in place.
    /// Fails only past 2^38 bytes (the cipher's block counter); records are at most MiBs.
    pub fn seal_into(&self, plain: &[&[u8]], out: &mut Vec<u8>) -> Result<(), TooLong> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let len = plain.iter().map(|p| p.len()).sum::<usize>();
        out.reserve(len + SEAL_OVERHEAD_BYTES);
        out.extend_from_slice(&nonce);
        let start = out.len();
        for part in plain {
            out.extend_from_slice(part);
        }
        let tag = self
            .cipher()
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), ASSOCIATED_DATA, &mut out[start..])
            .map_err(|_| TooLong(len))?;
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// The plaintext of a blob `seal_into` made with this key.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < SEAL_OVERHEAD_BYTES {
            return Err(OpenError::Short(sealed.len()));
        }
        let (nonce, rest) = sealed.split_at(NONCE_BYTES);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_BYTES);
        let mut plain = ciphertext.to_vec();
        self.cipher()
            .decrypt_in_place_detached(XNonce::from_slice(nonce), ASSOCIATED_DATA, &mut plain, Tag::from_slice(tag))
            .map_err(|_| OpenError::Refused)?;
        Ok(plain)
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.write_str("RecordKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_with_the_same_key_only() {
        let key = RecordKey::generate();
        let mut sealed = Vec::new();
        key.seal_into(&[b"marker-", b"plaintext"], &mut sealed).unwrap();
        assert_eq!(sealed.len(), 16 + SEAL_OVERHEAD_BYTES);
        assert!(!sealed.windows(6).any(|w| w == b"marker"), "no plaintext in the blob");
        assert_eq!(key.open(&sealed).unwrap(), b"marker-plaintext");
        assert_eq!(RecordKey::generate().open(&sealed), Err(OpenError::Refused));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x10;
            assert_eq!(key.open(&bad), Err(OpenError::Refused), "byte {i} altered");
        }
        assert_eq!(key.open(&sealed[..SEAL_OVERHEAD_BYTES - 1]), Err(OpenError::Short(SEAL_OVERHEAD_BYTES - 1)));
        // Two seals of the same bytes differ (fresh nonces).
        let mut again = Vec::new();
        key.seal_into(&[b"marker-plaintext"], &mut again).unwrap();
        assert_ne!(sealed, again);
    }

    #[test]
    fn keys_read_from_64_hex_characters_and_never_print() {
        let key = RecordKey::generate();
        let hex = key.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(RecordKey::from_hex(&format!("  {}\n", hex.to_uppercase())).unwrap(), key);
        assert_eq!(RecordKey::from_hex(&hex[..62]), Err(KeyError::Length(62)));
        assert_eq!(RecordKey::from_hex(""), Err(KeyError::Length(0)));
        let mut bad = hex.clone().into_bytes();
        bad[10] = b'g';
        assert_eq!(RecordKey::from_hex(std::str::from_utf8(&bad).unwrap()), Err(KeyError::NotHex(11)));
        assert!(RecordKey::from_hex(&"é".repeat(32)).is_err());
        let shown = format!("{key:?}");
        assert!(!shown.contains(&hex[..8]) && !shown.contains(&hex[56..]), "{shown}");
    }
}
