//! AWS event stream messages (`application/vnd.amazon.eventstream`), the framing of
//! SubscribeToShard's response: `[total length u32][headers length u32][prelude CRC32]
//! [headers][payload][message CRC32]`, big-endian, each CRC32 over everything before it.
//! Every header written here is a string (`[name length u8][name][7][value length u16]
//! [value]`).

/// The response's content type.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";
/// The content type of each message's JSON payload.
const PAYLOAD_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const PRELUDE_BYTES: usize = 8;
const CRC_BYTES: usize = 4;
/// The header value type of a string.
const STRING: u8 = 7;

/// One message with string `headers` (names up to 255 bytes, values up to 65,535: ours are
/// fixed names) and `payload`.
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut encoded_headers = Vec::new();
    for (name, value) in headers {
        let name_len = u8::try_from(name.len()).expect("event stream header names are short constants");
        let value_len = u16::try_from(value.len()).expect("event stream header values are short constants");
        encoded_headers.push(name_len);
        encoded_headers.extend_from_slice(name.as_bytes());
        encoded_headers.push(STRING);
        encoded_headers.extend_from_slice(&value_len.to_be_bytes());
        encoded_headers.extend_from_slice(value.as_bytes());
    }
    let total = PRELUDE_BYTES + CRC_BYTES + encoded_headers.len() + payload.len() + CRC_BYTES;
    let mut out = Vec::with_capacity(total);
    // A message holds at most one event of at most a few MiB, far below 4 GiB.
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(encoded_headers.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
    out.extend_from_slice(&encoded_headers);
    out.extend_from_slice(payload);
    out.extend_from_slice(&crc32fast::hash(&out).to_be_bytes());
    out
}

/// An event of `event_type` (`initial-response`, `SubscribeToShardEvent`) carrying JSON.
pub fn event(event_type: &str, json: &[u8]) -> Vec<u8> {
    message(&[(":message-type", "event"), (":event-type", event_type), (":content-type", PAYLOAD_CONTENT_TYPE)], json)
}

/// An exception the SDKs raise from the stream (`ResourceNotFoundException`, ...): the
/// last message of a stream that fails after it started.
pub fn exception(type_name: &str, message_text: &str) -> Vec<u8> {
    let payload = serde_json::json!({ "message": message_text }).to_string();
    message(
        &[(":message-type", "exception"), (":exception-type", type_name), (":content-type", PAYLOAD_CONTENT_TYPE)],
        payload.as_bytes(),
    )
}

/// One message decoded: its string headers and payload, and the bytes after it.
pub type Decoded<'a> = (Vec<(String, String)>, &'a [u8], &'a [u8]);

/// Decodes the first message of `bytes`, checking both CRCs; for tests and for clients
/// written in Rust.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, String> {
    let word = |at: usize| -> Result<usize, String> {
        let b = bytes.get(at..at + 4).ok_or("message shorter than its prelude")?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (total, headers_len) = (word(0)?, word(4)?);
    if word(PRELUDE_BYTES)? as u32 != crc32fast::hash(&bytes[..PRELUDE_BYTES]) {
        return Err("prelude CRC mismatch".into());
    }
    let minimum = PRELUDE_BYTES + CRC_BYTES + headers_len + CRC_BYTES;
    if total < minimum || bytes.len() < total {
        return Err(format!("message of {total} bytes, {} present, {headers_len} of headers", bytes.len()));
    }
    if word(total - CRC_BYTES)? as u32 != crc32fast::hash(&bytes[..total - CRC_BYTES]) {
        return Err("message CRC mismatch".into());
    }
    let mut rest = &bytes[PRELUDE_BYTES + CRC_BYTES..PRELUDE_BYTES + CRC_BYTES + headers_len];
    let mut headers = Vec::new();
    while !rest.is_empty() {
        let name_len = usize::from(rest[0]);
        let name = rest.get(1..1 + name_len).ok_or("header name cut short")?;
        let kind = *rest.get(1 + name_len).ok_or("header type missing")?;
        if kind != STRING {
            return Err(format!("header type {kind} is not a string"));
        }
        let len_at = 2 + name_len;
        let len = rest.get(len_at..len_at + 2).ok_or("header value length missing")?;
        let value_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let value = rest.get(len_at + 2..len_at + 2 + value_len).ok_or("header value cut short")?;
        headers.push((String::from_utf8_lossy(name).into_owned(), String::from_utf8_lossy(value).into_owned()));
        rest = &rest[len_at + 2 + value_len..];
    }
    let payload = &bytes[PRELUDE_BYTES + CRC_BYTES + headers_len..total - CRC_BYTES];
    Ok((headers, payload, &bytes[total..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_decode_back_and_every_byte_is_covered_by_a_crc() {
        let first = event("initial-response", b"{}");
        let second = exception("ResourceInUseException", "taken");
        let mut both = first.clone();
        both.extend_from_slice(&second);
        let (headers, payload, rest) = decode(&both).unwrap();
        assert_eq!(payload, b"{}");
        assert_eq!(headers[0], (":message-type".to_string(), "event".to_string()));
        assert_eq!(headers[1], (":event-type".to_string(), "initial-response".to_string()));
        let (headers, payload, rest) = decode(rest).unwrap();
        assert_eq!(headers[1], (":exception-type".to_string(), "ResourceInUseException".to_string()));
        assert_eq!(serde_json::from_slice::<serde_json::Value>(payload).unwrap()["message"], "taken");
        assert!(rest.is_empty());
        // The total length is the message's own.
        assert_eq!(u32::from_be_bytes(first[..4].try_into().unwrap()) as usize, first.len());
        for at in 0..first.len() {
            let mut flipped = first.clone();
            flipped[at] ^= 0x10;
            assert!(decode(&flipped).is_err(), "a flipped bit at byte {at} went unnoticed");
        }
        assert!(decode(&first[..first.len() - 1]).is_err(), "a cut message is refused");
    }

    /// AWS's test vector of a message with one string header and a JSON payload
    /// (`payload_one_str_header`); the CRCs as zlib computes them, independently of
    /// crc32fast.
    #[test]
    fn the_framing_matches_the_aws_test_vector() {
        let bytes = message(&[("content-type", "application/json")], br#"{'foo':'bar'}"#);
        // 12 prelude + 32 of header (1 + 12 + 1 + 2 + 16) + 13 payload + 4 CRC.
        assert_eq!(bytes.len(), 61);
        assert_eq!(&bytes[..12], &[0, 0, 0, 0x3d, 0, 0, 0, 0x20, 0x07, 0xfd, 0x83, 0x96]);
        assert_eq!(&bytes[57..], &[0x8d, 0x9c, 0x08, 0xb1]);
    }
}
