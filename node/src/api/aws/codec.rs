//! The two encodings of Kinesis's AWS protocol, chosen by the request's `Content-Type` and
//! used for its reply, errors included: JSON (`application/x-amz-json-1.1`, the AWS CLI,
//! boto3 and most SDKs) and CBOR (`application/x-amz-cbor-1.1`, the AWS SDK for Java v1,
//! the KCL 1.x and the KPL). Both carry the same shapes (`shapes.rs`); `Blob` and
//! `Timestamp` pick their form by the format, the rest is the same map of members.

use super::actions::AwsError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The content type of the JSON protocol, in requests and replies.
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The content type of the CBOR protocol, in requests and replies.
pub const CBOR_CONTENT_TYPE: &str = "application/x-amz-cbor-1.1";

/// How a request's body is read and its reply written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Json,
    Cbor,
}

impl Codec {
    /// The codec of a request's `Content-Type`; parameters such as "; charset=utf-8" do not
    /// matter, and a request without one is JSON. Another type is a SerializationException.
    pub fn of_content_type(content_type: &str) -> Result<Codec, AwsError> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let is = |served: &str| media.eq_ignore_ascii_case(served);
        if media.is_empty() || is(JSON_CONTENT_TYPE) || is("application/json") {
            Ok(Codec::Json)
        } else if is(CBOR_CONTENT_TYPE) {
            Ok(Codec::Cbor)
        } else {
            let message =
                format!("content type {media:?} is not served; send {JSON_CONTENT_TYPE} or {CBOR_CONTENT_TYPE}");
            Err(AwsError::new("SerializationException", message, 400))
        }
    }

    /// The content type the reply is sent with.
    pub fn content_type(self) -> &'static str {
        match self {
            Codec::Json => JSON_CONTENT_TYPE,
            Codec::Cbor => CBOR_CONTENT_TYPE,
        }
    }

    /// An action's request from its body. An empty body is an empty map: SDKs may send none
    /// for an action without members. A body that is not one whole value of the format, or
    /// a member of the wrong type, is a SerializationException, as Kinesis answers it.
    pub fn decode<T: DeserializeOwned>(self, body: &[u8]) -> Result<T, AwsError> {
        let refused = |e: String| AwsError::new("SerializationException", e, 400);
        match self {
            Codec::Json => {
                let body: &[u8] = if body.is_empty() { b"{}" } else { body };
                serde_json::from_slice(body).map_err(|e| refused(e.to_string()))
            }
            Codec::Cbor => {
                // 0xa0: a map of no entries.
                let mut rest: &[u8] = if body.is_empty() { &[0xa0] } else { body };
                let value = ciborium::de::from_reader(&mut rest).map_err(|e| refused(format!("invalid CBOR: {e}")))?;
                // ciborium reads one item and stops; what follows it is not a request.
                if !rest.is_empty() {
                    return Err(refused(format!("{} bytes follow the request's CBOR item", rest.len())));
                }
                Ok(value)
            }
        }
    }

    /// A response in the format.
    pub fn encode<T: Serialize>(self, response: &T) -> Result<Vec<u8>, AwsError> {
        let failed = |e: String| AwsError::new("InternalFailure", format!("encoding the response failed: {e}"), 500);
        match self {
            Codec::Json => serde_json::to_vec(response).map_err(|e| failed(e.to_string())),
            Codec::Cbor => {
                let mut out = Vec::new();
                ciborium::ser::into_writer(response, &mut out).map_err(|e| failed(e.to_string()))?;
                Ok(out)
            }
        }
    }

    /// An error as Kinesis sends it: a map of `__type` (the name the SDKs map to an
    /// exception) and `message`.
    pub fn error_body(self, e: &AwsError) -> Vec<u8> {
        let body = ErrorBody { type_name: e.type_name, message: &e.message };
        // Two strings encode in either format; an empty body is still an error by its status
        // and x-amzn-ErrorType.
        self.encode(&body).unwrap_or_default()
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    type_name: &'a str,
    message: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciborium::value::Value;

    fn cbor(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(value, &mut out).expect("a value encodes");
        out
    }

    #[test]
    fn the_content_type_chooses_the_codec() {
        for (content_type, codec) in [
            ("application/x-amz-json-1.1", Some(Codec::Json)),
            ("application/json; charset=utf-8", Some(Codec::Json)),
            ("", Some(Codec::Json)),
            ("application/x-amz-cbor-1.1", Some(Codec::Cbor)),
            ("Application/X-Amz-Cbor-1.1 ; charset=binary", Some(Codec::Cbor)),
            ("application/cbor", None),
            ("text/plain", None),
        ] {
            assert_eq!(Codec::of_content_type(content_type).ok(), codec, "{content_type:?}");
        }
        let refused = Codec::of_content_type("text/plain; charset=utf-8").expect_err("not served");
        assert_eq!((refused.type_name, refused.status), ("SerializationException", 400));
        assert!(refused.message.contains(r#""text/plain""#), "{refused:?}");
        assert_eq!(Codec::Json.content_type(), JSON_CONTENT_TYPE);
        assert_eq!(Codec::Cbor.content_type(), CBOR_CONTENT_TYPE);
    }

    #[test]
    fn an_error_is_a_map_of_its_type_and_message_in_the_requests_codec() {
        let e = AwsError::new("ResourceNotFoundException", "Stream s not found".into(), 400);
        let json: serde_json::Value = serde_json::from_slice(&Codec::Json.error_body(&e)).expect("JSON");
        assert_eq!(json, serde_json::json!({ "__type": "ResourceNotFoundException", "message": "Stream s not found" }));
        let cbor: Value = ciborium::de::from_reader(&Codec::Cbor.error_body(&e)[..]).expect("CBOR");
        assert_eq!(
            cbor,
            Value::Map(vec![
                (Value::Text("__type".into()), Value::Text("ResourceNotFoundException".into())),
                (Value::Text("message".into()), Value::Text("Stream s not found".into())),
            ])
        );
    }

    #[test]
    fn malformed_cbor_is_a_serialization_exception() {
        let map = Value::Map(vec![(Value::Text("Limit".into()), Value::Integer(10.into()))]);
        let whole = cbor(&map);
        let with_trailing = [&whole[..], &[0x01]].concat();
        for bad in [&whole[..whole.len() - 1], &with_trailing[..], &[0xff], &[0x1c], &[0x7f, 0x61]] {
            let err = Codec::Cbor.decode::<Value>(bad).expect_err("not one whole CBOR item");
            assert_eq!((err.type_name, err.status), ("SerializationException", 400), "{bad:?}: {err:?}");
        }
        assert_eq!(Codec::Cbor.decode::<Value>(&whole).expect("a whole item"), map);
        assert_eq!(Codec::Cbor.decode::<Value>(b"").expect("an empty body"), Value::Map(Vec::new()));
        // Nested deeper than ciborium's recursion limit: refused, not a stack overflow.
        let deep = [vec![0x81u8; 100_000], vec![0x00]].concat();
        assert!(Codec::Cbor.decode::<Value>(&deep).is_err());
    }
}
