//! The envelope around every value Runnel persists: a format version byte, the body, and a
//! CRC32 of both. Every read checks it, so corruption is reported, never returned as data.
//!
//! `[version u8][body ...][crc32 (big-endian) of version and body]`

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io;

/// The format of every value written by this release. Persisted: a later format gets a
/// new number and this one stays readable or is refused by name.
pub const VALUE_FORMAT: u8 = 1;
const CRC_BYTES: usize = 4;

/// Starts a value: a buffer holding the version byte, for the caller to append its body to
/// before `finish`.
pub fn begin(body_bytes: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + body_bytes + CRC_BYTES);
    buf.push(VALUE_FORMAT);
    buf
}

/// Appends the CRC to a buffer from `begin`.
pub fn finish(mut buf: Vec<u8>) -> Vec<u8> {
    assert_eq!(buf.first(), Some(&VALUE_FORMAT), "a sealed value starts with its format");
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_be_bytes());
    buf
}

pub fn seal(body: &[u8]) -> Vec<u8> {
    let mut buf = begin(body.len());
    buf.extend_from_slice(body);
    finish(buf)
}

/// The body of a sealed value, after checking its format and CRC.
pub fn open<'a>(bytes: &'a [u8], what: &str) -> io::Result<&'a [u8]> {
    if bytes.len() < 1 + CRC_BYTES {
        return Err(corrupt(what, "too short"));
    }
    let (sealed, crc) = bytes.split_at(bytes.len() - CRC_BYTES);
    if crc32fast::hash(sealed).to_be_bytes() != crc {
        return Err(corrupt(what, "checksum mismatch"));
    }
    match sealed[0] {
        VALUE_FORMAT => Ok(&sealed[1..]),
        other => Err(corrupt(what, &format!("unknown format {other}"))),
    }
}

/// A serde value (Runnel's own types only) as postcard inside the envelope.
pub fn seal_postcard<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    let body = postcard::to_stdvec(value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(seal(&body))
}

pub fn open_postcard<T: DeserializeOwned>(bytes: &[u8], what: &str) -> io::Result<T> {
    postcard::from_bytes(open(bytes, what)?).map_err(|e| corrupt(what, &e.to_string()))
}

pub fn corrupt(what: &str, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt {what}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_round_trip_and_any_flipped_bit_is_caught() {
        let sealed = seal(b"hello records");
        assert_eq!(open(&sealed, "test").unwrap(), b"hello records");
        for byte in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[byte] ^= 1 << bit;
                assert!(open(&bad, "test").is_err(), "flip of bit {bit} in byte {byte} went unnoticed");
            }
        }
        assert!(open(&[], "test").is_err());
        assert!(open(&sealed[..4], "test").is_err());
        assert_eq!(open(&seal(b""), "test").unwrap(), b"");
    }

    #[test]
    fn an_unknown_format_is_refused_by_name() {
        let mut buf = vec![VALUE_FORMAT + 1, 1, 2];
        let crc = crc32fast::hash(&buf);
        buf.extend_from_slice(&crc.to_be_bytes());
        let err = open(&buf, "test").unwrap_err();
        assert!(err.to_string().contains("unknown format"), "{err}");
    }
}
