//! AWS Signature Version 4, checked on the server side: when access keys are configured
//! (`aws_credentials_file`), a request must carry `Authorization: AWS4-HMAC-SHA256
//! Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=..., Signature=...`
//! computed with the secret of one of them. Without them any credentials are accepted, as
//! the emulators do.
//!
//! The check recomputes what the client signed: the canonical request (method, path,
//! canonical query string, the signed headers' trimmed values, the payload's SHA-256), the
//! string to sign (algorithm, request time, credential scope, the canonical request's
//! hash), and its HMAC under the key derived from the secret and the scope. The region and
//! service are taken as the client gave them (clients may name any region); they are part
//! of the signature all the same.
//!
//! Refusals are the errors Kinesis sends, all HTTP 400 on its JSON protocol:
//! `MissingAuthenticationTokenException` (no `Authorization`),
//! `IncompleteSignatureException` (a malformed one), `UnrecognizedClientException` (an
//! unknown access key), `InvalidSignatureException` (a wrong signature, or a request time
//! more than 5 minutes from the server's clock, as AWS's JSON services allow). Secrets appear in no message, log or
//! Debug output.

use super::actions::AwsError;
use crate::config::AwsCredentials;
use hmac::{Hmac, Mac};
use hyper::header::{HeaderMap, AUTHORIZATION, DATE, HOST};
use hyper::{Method, Request, Uri};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The one algorithm served.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's time may be from the server's clock, either way (as AWS).
pub const REQUEST_SKEW_MAX: Duration = Duration::from_secs(5 * 60);
/// What a client sends as `x-amz-content-sha256` when it leaves the body out of the
/// signature; it then stands in the canonical request for the body's hash.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

const MISSING_TOKEN: &str = "MissingAuthenticationTokenException";
const INCOMPLETE: &str = "IncompleteSignatureException";
const UNRECOGNIZED: &str = "UnrecognizedClientException";
const INVALID: &str = "InvalidSignatureException";
/// Every refusal's HTTP status on Kinesis's JSON protocol.
const REFUSAL_STATUS: u16 = 400;

type HmacSha256 = Hmac<Sha256>;

/// Checks the request's signature: Ok when it was signed by one of the access keys
/// within `REQUEST_SKEW_MAX` of `now`, else the error Kinesis would send.
pub fn verify(keys: &AwsCredentials, head: &RequestHead, body: &[u8], now: SystemTime) -> Result<(), AwsError> {
    let Some(authorization) = head.headers.get(AUTHORIZATION) else {
        return Err(refuse(MISSING_TOKEN, "Missing Authentication Token".into()));
    };
    let authorization =
        authorization.to_str().map_err(|_| refuse(INCOMPLETE, "the Authorization header is not ASCII".into()))?;
    let auth = Authorization::parse(authorization, &head.headers)?;
    let time = request_time(&head.headers)?;
    let Some(secret) = keys.secret(auth.access_key_id) else {
        return Err(refuse(UNRECOGNIZED, "The security token included in the request is invalid.".into()));
    };
    check_skew(time, now)?;
    let amz_date = format_amz_date(time);
    if auth.date != &amz_date[..8] {
        return Err(refuse(
            INVALID,
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
                 '{}' != '{}', from '{amz_date}'.",
                auth.date,
                &amz_date[..8]
            ),
        ));
    }
    let payload_hash = payload_hash(&head.headers, body)?;
    let canonical = canonical_request(head, &auth.signed_headers, &payload_hash);
    let scope = format!("{}/{}/{}/aws4_request", auth.date, auth.region, auth.service);
    let string_to_sign = format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(&canonical)));
    let key = signing_key(secret, auth.date, auth.region, auth.service);
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    // verify_slice compares in constant time: the time taken tells nothing of the
    // expected signature.
    match unhex_32(auth.signature) {
        Some(signature) if mac.verify_slice(&signature).is_ok() => Ok(()),
        _ => Err(refuse(
            INVALID,
            "The request signature we calculated does not match the signature you provided. Check your AWS \
             Secret Access Key and signing method. Consult the service documentation for details."
                .into(),
        )),
    }
}

/// What the signature covers besides the body: taken from the request before its body is
/// read (which consumes the request).
#[derive(Debug, Clone)]
pub struct RequestHead {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl RequestHead {
    pub fn of<B>(req: &Request<B>) -> RequestHead {
        RequestHead { method: req.method().clone(), uri: req.uri().clone(), headers: req.headers().clone() }
    }
}

fn refuse(type_name: &'static str, message: String) -> AwsError {
    AwsError::new(type_name, message, REFUSAL_STATUS)
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    /// Lowercase names, in the order the client gave (sorted, as it signed them).
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

impl<'a> Authorization<'a> {
    fn parse(header: &'a str, headers: &HeaderMap) -> Result<Authorization<'a>, AwsError> {
        let header = header.trim();
        let (algorithm, params) = header.split_once(' ').unwrap_or((header, ""));
        if algorithm != ALGORITHM {
            let shown: String = algorithm.chars().take(32).collect();
            return Err(refuse(INCOMPLETE, format!("Unsupported AWS 'algorithm': '{shown}' (only {ALGORITHM})")));
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for param in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            let slot = match name.trim() {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => continue,
            };
            if !value.trim().is_empty() {
                *slot = Some(value.trim());
            }
        }
        let mut missing = String::new();
        for (name, value) in [("Credential", credential), ("Signature", signature), ("SignedHeaders", signed_headers)] {
            if value.is_none() {
                missing += &format!("Authorization header requires '{name}' parameter. ");
            }
        }
        if !headers.contains_key("x-amz-date") && !headers.contains_key(DATE) {
            missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
        }
        let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature) else {
            return Err(refuse(INCOMPLETE, missing.trim_end().to_string()));
        };
        if !missing.is_empty() {
            return Err(refuse(INCOMPLETE, missing.trim_end().to_string()));
        }
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, terminator] = scope[..] else {
            return Err(refuse(
                INCOMPLETE,
                "Credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request".into(),
            ));
        };
        if [access_key_id, region, service].iter().any(|part| part.is_empty()) {
            return Err(refuse(INCOMPLETE, "Credential has an empty access key ID, region or service".into()));
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse(INCOMPLETE, "Credential's date must be YYYYMMDD".into()));
        }
        if terminator != "aws4_request" {
            return Err(refuse(
                INCOMPLETE,
                "Credential should be scoped with a valid terminator: 'aws4_request'".into(),
            ));
        }
        let signed_headers: Vec<&str> = signed_headers.split(';').collect();
        if signed_headers.iter().any(|name| name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase())) {
            return Err(refuse(INCOMPLETE, "SignedHeaders must be lowercase header names separated by ';'".into()));
        }
        if !signed_headers.contains(&"host") {
            return Err(refuse(
                INCOMPLETE,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
            ));
        }
        Ok(Authorization { access_key_id, date, region, service, signed_headers, signature })
    }
}

/// The request's time: `x-amz-date` (`YYYYMMDD'T'HHMMSS'Z'`), else `date` (HTTP's
/// `Sun, 06 Nov 1994 08:49:37 GMT`).
fn request_time(headers: &HeaderMap) -> Result<SystemTime, AwsError> {
    if let Some(value) = headers.get("x-amz-date") {
        let text = value.to_str().unwrap_or_default();
        return parse_amz_date(text).ok_or_else(|| {
            refuse(INCOMPLETE, "X-Amz-Date must be in ISO-8601 'basic format' (YYYYMMDD'T'HHMMSS'Z')".into())
        });
    }
    let text = headers.get(DATE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    parse_http_date(text)
        .ok_or_else(|| refuse(INCOMPLETE, "Date must be an HTTP date (Sun, 06 Nov 1994 08:49:37 GMT)".into()))
}

fn check_skew(time: SystemTime, now: SystemTime) -> Result<(), AwsError> {
    let (request, server) = (format_amz_date(time), format_amz_date(now));
    if time + REQUEST_SKEW_MAX < now {
        let earliest = format_amz_date(now - REQUEST_SKEW_MAX);
        return Err(refuse(
            INVALID,
            format!("Signature expired: {request} is now earlier than {earliest} ({server} - 5 min.)"),
        ));
    }
    if time > now + REQUEST_SKEW_MAX {
        let latest = format_amz_date(now + REQUEST_SKEW_MAX);
        return Err(refuse(
            INVALID,
            format!("Signature not yet current: {request} is still later than {latest} ({server} + 5 min.)"),
        ));
    }
    Ok(())
}

/// The payload's hash as the client put it in the canonical request: its
/// `x-amz-content-sha256`, which must then be the body's (or `UNSIGNED-PAYLOAD`, which
/// leaves the body out of the signature, as SigV4 has it), else the body's SHA-256.
fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<String, AwsError> {
    let computed = hex(&Sha256::digest(body));
    let Some(claimed) = headers.get("x-amz-content-sha256") else {
        return Ok(computed);
    };
    let claimed = claimed.to_str().unwrap_or_default();
    if claimed == UNSIGNED_PAYLOAD {
        return Ok(claimed.to_string());
    }
    if claimed != computed {
        return Err(refuse(
            INVALID,
            "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
        ));
    }
    Ok(computed)
}

/// Method, canonical path, canonical query, the signed headers as `name:value` lines, the
/// signed header names, and the payload's hash, a line each.
fn canonical_request(head: &RequestHead, signed_headers: &[&str], payload_hash: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_path(head.uri.path()).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(head.uri.query().unwrap_or_default()).as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut values = head.headers.get_all(*name).iter().peekable();
        if values.peek().is_none() && *name == HOST.as_str() {
            // HTTP/2 carries the host as the :authority pseudo-header, in the URI.
            if let Some(authority) = head.uri.authority() {
                out.extend_from_slice(authority.as_str().as_bytes());
            }
        }
        let mut first = true;
        for value in values {
            if !first {
                out.push(b',');
            }
            first = false;
            trim_all(value.as_bytes(), &mut out);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// A header value with white space around it removed and each run inside made one space.
fn trim_all(value: &[u8], out: &mut Vec<u8>) {
    let mut first = true;
    for word in value.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        if !first {
            out.push(b' ');
        }
        first = false;
        out.extend_from_slice(word);
    }
}

/// The path as the AWS SDKs sign it for every service but S3: dot segments and empty
/// segments removed, then percent-encoded (a second time: `%` becomes `%25`) but for `/`.
fn canonical_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut normalized = String::from("/");
    normalized += &segments.join("/");
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    uri_encode(normalized.as_bytes(), true)
}

/// The query's parameters, each name and value decoded and encoded again the one AWS way,
/// sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (uri_encode(&percent_decode(name), false), uri_encode(&percent_decode(value), false))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("&")
}

/// Percent-encodes every byte but the unreserved ones (`A-Z a-z 0-9 - _ . ~`), and `/`
/// when `keep_slash`, in uppercase hexadecimal.
fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|&b| (b as char).to_digit(16));
        match (bytes[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, "aws4_request"] {
        let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes a key of any length");
        mac.update(part.as_bytes());
        key = mac.finalize().into_bytes().to_vec();
    }
    key
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signature: 64 hexadecimal characters.
fn unhex_32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let high = (bytes[2 * i] as char).to_digit(16)?;
        let low = (bytes[2 * i + 1] as char).to_digit(16)?;
        *byte = (high * 16 + low) as u8;
    }
    Some(out)
}

const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of `days_from_civil`: (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A UTC date and time, checked, as a time.
fn time_of(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> Option<SystemTime> {
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second);
    if !valid || civil_from_days(days_from_civil(year, month, day)) != (year, month, day) {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `YYYYMMDD'T'HHMMSS'Z'`.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    if text.len() != 16 || !text.is_ascii() || &text[8..9] != "T" || &text[15..] != "Z" {
        return None;
    }
    let field = |range: std::ops::Range<usize>| digits(&text[range]);
    time_of(field(0..4)?, field(4..6)?, field(6..8)?, field(9..11)?, field(11..13)?, field(13..15)?)
}

/// HTTP's preferred date format (RFC 9110's IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(text: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [_weekday, day, month, year, clock, "GMT"] = fields[..] else {
        return None;
    };
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let clock: Vec<&str> = clock.split(':').collect();
    let [hour, minute, second] = clock[..] else {
        return None;
    };
    time_of(digits(year)?, month, digits(day)?, digits(hour)?, digits(minute)?, digits(second)?)
}

/// `YYYYMMDD'T'HHMMSS'Z'`, as the string to sign and the messages have it.
fn format_amz_date(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", of_day / 3600, of_day / 60 % 60, of_day % 60)
}

#[cfg(test)]
mod tests {
    //! The signed requests below were made by botocore's own signer (`SigV4Auth.add_auth`
    //! on an `AWSRequest`, botocore 1.44, its clock fixed at 2024-05-06T07:08:09Z) with the
    //! access key `AKIDRUNNELTEST1` and the secret `SECRET`; only what it produced is here.
    use super::*;

    const KEY_ID: &str = "AKIDRUNNELTEST1";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYRUNNELKEY";
    /// 2024-05-06T07:08:09Z.
    const SIGNED_AT_SECS: u64 = 1_714_979_289;
    const AMZ_DATE: &str = "20240506T070809Z";

    fn signed_at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(SIGNED_AT_SECS)
    }

    fn credentials() -> AwsCredentials {
        AwsCredentials::parse(&format!("# test keys\n\nOTHERKEY:other-secret\n{KEY_ID}:{SECRET}\n")).unwrap()
    }

    /// A request as the client sent it: URI (origin form over HTTP/1.1, absolute over
    /// HTTP/2), headers, body.
    struct Signed {
        uri: &'static str,
        headers: Vec<(&'static str, String)>,
        body: &'static [u8],
    }

    impl Signed {
        fn head(&self) -> RequestHead {
            let mut builder = Request::builder().method(Method::POST).uri(self.uri);
            for (name, value) in &self.headers {
                builder = builder.header(*name, value.as_str());
            }
            RequestHead::of(&builder.body(()).unwrap())
        }

        fn with_header(mut self, name: &'static str, value: &str) -> Signed {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self.headers.push((name, value.to_string()));
            self
        }

        fn without_header(mut self, name: &str) -> Signed {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self
        }

        fn verify(&self, credentials: &AwsCredentials, now: SystemTime) -> Result<(), AwsError> {
            verify(credentials, &self.head(), self.body, now)
        }
    }

    /// ListStreams as boto3 sends it to http://127.0.0.1:4567, region us-east-1.
    fn list_streams() -> Signed {
        Signed {
            uri: "/",
            headers: vec![
                ("Host", "127.0.0.1:4567".into()),
                ("Content-Type", "application/x-amz-json-1.1".into()),
                ("X-Amz-Target", "Kinesis_20131202.ListStreams".into()),
                ("X-Amz-Date", AMZ_DATE.into()),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDRUNNELTEST1/20240506/us-east-1/kinesis/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
                     Signature=1a291171231fac13d55c9b754a92001dc11384403b7fe71d33c38abc9e3b2ed2"
                        .into(),
                ),
            ],
            body: br#"{"Limit":10}"#,
        }
    }

    fn refused(result: Result<(), AwsError>) -> (&'static str, String) {
        let err = result.expect_err("refused");
        assert_eq!(err.status, 400, "{err:?}");
        assert!(!err.message.contains(SECRET), "{err:?}");
        (err.type_name, err.message)
    }

    #[test]
    fn requests_signed_by_botocore_verify() {
        let credentials = credentials();
        assert_eq!(list_streams().verify(&credentials, signed_at()), Ok(()));
        // Within 5 minutes either way.
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(list_streams().verify(&credentials, signed_at() + minutes(4)), Ok(()));
        assert_eq!(list_streams().verify(&credentials, signed_at() - minutes(4)), Ok(()));
        // Over HTTP/2 the host is the URI's authority, not a header.
        let h2 = Signed { uri: "http://127.0.0.1:4567/", ..list_streams() }.without_header("host");
        assert_eq!(h2.verify(&credentials, signed_at()), Ok(()));

        // Region eu-central-1; a path with dot segments and an escape, a query out of
        // order with a repeated name, and a header value with runs of spaces.
        let odd = Signed {
            uri: "/a/./b/../c%20d?b=2&a=1&a=0",
            headers: vec![
                ("Host", "localhost:4567".into()),
                ("Content-Type", "application/x-amz-json-1.1".into()),
                ("X-Amz-Target", "Kinesis_20131202.DescribeStream".into()),
                ("X-Runnel-Note", "  two   spaces  ".into()),
                ("X-Amz-Date", AMZ_DATE.into()),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDRUNNELTEST1/20240506/eu-central-1/kinesis/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-runnel-note, \
                     Signature=24b8bfebbf473f85612baa2499255f9a6ed0665c05382fa9784c80f9dbc070ed"
                        .into(),
                ),
            ],
            body: br#"{"StreamName":"demo"}"#,
        };
        assert_eq!(odd.verify(&credentials, signed_at()), Ok(()));

        // The body's hash given as x-amz-content-sha256 (region us-east-1).
        let hashed = Signed {
            uri: "/",
            headers: vec![
                ("Host", "127.0.0.1:4567".into()),
                ("Content-Type", "application/x-amz-json-1.1".into()),
                ("X-Amz-Target", "Kinesis_20131202.CreateStream".into()),
                ("X-Amz-Content-SHA256", "0a8d2ba2b431ff028337ab563807eb1eda9466a8d47f0252b6d65a8a2a1670cd".into()),
                ("X-Amz-Date", AMZ_DATE.into()),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDRUNNELTEST1/20240506/us-east-1/kinesis/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, \
                     Signature=e19ab9d7b0bd46e156edd690d396a1fac7c8225092721f9704e38192ae13208d"
                        .into(),
                ),
            ],
            body: br#"{"StreamName":"demo","ShardCount":1}"#,
        };
        assert_eq!(hashed.verify(&credentials, signed_at()), Ok(()));
        let other_body = Signed { body: br#"{"StreamName":"demo","ShardCount":9}"#, ..hashed };
        let (name, message) = refused(other_body.verify(&credentials, signed_at()));
        assert_eq!(name, "InvalidSignatureException");
        assert!(message.contains("x-amz-content-sha256"), "{message}");

        // UNSIGNED-PAYLOAD stands for the body's hash (region us-west-2).
        let unsigned = Signed {
            uri: "/",
            headers: vec![
                ("Host", "127.0.0.1:4567".into()),
                ("Content-Type", "application/x-amz-json-1.1".into()),
                ("X-Amz-Target", "Kinesis_20131202.ListStreams".into()),
                ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD".into()),
                ("X-Amz-Date", AMZ_DATE.into()),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIDRUNNELTEST1/20240506/us-west-2/kinesis/aws4_request, \
                     SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, \
                     Signature=9921af9792641fce6e2cb19ca533e61dc352d867fc6d8c9499c3201a7603c9a0"
                        .into(),
                ),
            ],
            body: b"{}",
        };
        assert_eq!(unsigned.verify(&credentials, signed_at()), Ok(()));
    }

    #[test]
    fn a_changed_request_is_refused_as_an_invalid_signature() {
        let credentials = credentials();
        let mismatch = |signed: Signed| {
            let (name, message) = refused(signed.verify(&credentials, signed_at()));
            assert_eq!(name, "InvalidSignatureException", "{message}");
            assert!(message.starts_with("The request signature we calculated does not match"), "{message}");
        };
        mismatch(Signed { body: br#"{"Limit":11}"#, ..list_streams() });
        mismatch(list_streams().with_header("X-Amz-Target", "Kinesis_20131202.DeleteStream"));
        mismatch(list_streams().with_header("Host", "127.0.0.1:4568"));
        mismatch(Signed { uri: "/other", ..list_streams() });
        // A header that is not signed may change.
        assert_eq!(list_streams().with_header("User-Agent", "changed").verify(&credentials, signed_at()), Ok(()));
        // The same key ID with another secret.
        let wrong_secret = AwsCredentials::parse(&format!("{KEY_ID}:not-the-secret")).unwrap();
        let (name, _) = refused(list_streams().verify(&wrong_secret, signed_at()));
        assert_eq!(name, "InvalidSignatureException");
        // A signature that is not even hexadecimal.
        let auth = list_streams().headers[4].1.replace("Signature=1a29", "Signature=zz29");
        mismatch(list_streams().with_header("Authorization", &auth));
    }

    #[test]
    fn an_unknown_access_key_is_an_unrecognized_client() {
        let others = AwsCredentials::parse("OTHERKEY:other-secret\n").unwrap();
        let (name, message) = refused(list_streams().verify(&others, signed_at()));
        assert_eq!(name, "UnrecognizedClientException");
        assert_eq!(message, "The security token included in the request is invalid.");
    }

    #[test]
    fn a_request_time_more_than_5_minutes_away_has_expired() {
        let credentials = credentials();
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let (name, message) = refused(list_streams().verify(&credentials, signed_at() + minutes(6)));
        assert_eq!(name, "InvalidSignatureException");
        assert_eq!(
            message,
            "Signature expired: 20240506T070809Z is now earlier than 20240506T070909Z (20240506T071409Z - 5 min.)"
        );
        let (name, message) = refused(list_streams().verify(&credentials, signed_at() - minutes(6)));
        assert_eq!(name, "InvalidSignatureException");
        assert_eq!(
            message,
            "Signature not yet current: 20240506T070809Z is still later than 20240506T070709Z \
             (20240506T070209Z + 5 min.)"
        );
    }

    #[test]
    fn a_missing_or_malformed_authorization_is_refused() {
        let credentials = credentials();
        let (name, message) = refused(list_streams().without_header("Authorization").verify(&credentials, signed_at()));
        assert_eq!((name, message.as_str()), ("MissingAuthenticationTokenException", "Missing Authentication Token"));

        let incomplete = |authorization: &str| {
            let signed = list_streams().with_header("Authorization", authorization);
            let (name, message) = refused(signed.verify(&credentials, signed_at()));
            assert_eq!(name, "IncompleteSignatureException", "{authorization}: {message}");
            message
        };
        let message = incomplete("AWS4-HMAC-SHA256 Credential=AKIDRUNNELTEST1/20240506/us-east-1/kinesis/aws4_request");
        assert_eq!(
            message,
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
             parameter."
        );
        incomplete("Bearer abc");
        incomplete("AWS AKIDRUNNELTEST1:abc");
        incomplete("AWS4-HMAC-SHA256 Credential=AKIDRUNNELTEST1/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00");
        incomplete("AWS4-HMAC-SHA256 Credential=AKIDRUNNELTEST1/20240506/us-east-1/kinesis/aws5_request, SignedHeaders=host, Signature=00");
        incomplete("AWS4-HMAC-SHA256 Credential=AKIDRUNNELTEST1/20240506/us-east-1/kinesis/aws4_request, SignedHeaders=content-type, Signature=00");
        let no_date = list_streams().without_header("X-Amz-Date");
        let (name, message) = refused(no_date.verify(&credentials, signed_at()));
        assert_eq!(name, "IncompleteSignatureException");
        assert!(message.contains("'X-Amz-Date' or a 'Date' header"), "{message}");
        let bad_date = list_streams().with_header("X-Amz-Date", "2024-05-06T07:08:09Z");
        assert_eq!(refused(bad_date.verify(&credentials, signed_at())).0, "IncompleteSignatureException");
        // The scope's date must be the request's.
        let next_day = list_streams().with_header("X-Amz-Date", "20240507T000001Z");
        let (name, message) = refused(next_day.verify(&credentials, UNIX_EPOCH + Duration::from_secs(1_715_040_001)));
        assert_eq!(name, "InvalidSignatureException");
        assert!(message.starts_with("Date in Credential scope does not match"), "{message}");
    }

    #[test]
    fn dates_parse_in_both_formats() {
        assert_eq!(parse_amz_date(AMZ_DATE), Some(signed_at()));
        assert_eq!(parse_http_date("Mon, 06 May 2024 07:08:09 GMT"), Some(signed_at()));
        assert_eq!(format_amz_date(signed_at()), AMZ_DATE);
        assert_eq!(format_amz_date(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(parse_amz_date("20000229T235959Z"), Some(UNIX_EPOCH + Duration::from_secs(951_868_799)));
        for bad in ["20230229T000000Z", "20240506T240000Z", "20240506 070809Z", "2024050T070809Z", ""] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        for bad in ["Mon, 06 May 2024 07:08:09 UTC", "06 May 2024 07:08:09 GMT", "Mon, 06 Mai 2024 07:08:09 GMT"] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        // Every day from 1970 to 2100 goes there and back.
        for days in 0..47_482 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
