//! Typed failures of client calls, decoded from gRPC statuses.
//!
//! The server names the Kinesis error in the `x-kinesis-error` metadata; a status without
//! it comes from the transport (or a node that could not reach the shard's leader) and is
//! worth retrying elsewhere.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use runnel_proto::{ERROR_METADATA_KEY, LEADER_HINT_METADATA_KEY};
use tonic::{Code, Status};

/// A Kinesis error name, as carried by a failed call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    ResourceNotFoundException,
    ResourceInUseException,
    InvalidArgumentException,
    LimitExceededException,
    ExpiredIteratorException,
    ExpiredNextTokenException,
    ProvisionedThroughputExceededException,
    InternalFailure,
    ValidationException,
    AccessDeniedException,
    /// A name this client does not know; kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// The wire name of the error.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::ResourceNotFoundException => "ResourceNotFoundException",
            ErrorCode::ResourceInUseException => "ResourceInUseException",
            ErrorCode::InvalidArgumentException => "InvalidArgumentException",
            ErrorCode::LimitExceededException => "LimitExceededException",
            ErrorCode::ExpiredIteratorException => "ExpiredIteratorException",
            ErrorCode::ExpiredNextTokenException => "ExpiredNextTokenException",
            ErrorCode::ProvisionedThroughputExceededException => "ProvisionedThroughputExceededException",
            ErrorCode::InternalFailure => "InternalFailure",
            ErrorCode::ValidationException => "ValidationException",
            ErrorCode::AccessDeniedException => "AccessDeniedException",
            ErrorCode::Other(name) => name,
        }
    }

    /// Parses a wire name; unknown names become `Other`.
    pub fn from_name(name: &str) -> ErrorCode {
        match name {
            "ResourceNotFoundException" => ErrorCode::ResourceNotFoundException,
            "ResourceInUseException" => ErrorCode::ResourceInUseException,
            "InvalidArgumentException" => ErrorCode::InvalidArgumentException,
            "LimitExceededException" => ErrorCode::LimitExceededException,
            "ExpiredIteratorException" => ErrorCode::ExpiredIteratorException,
            "ExpiredNextTokenException" => ErrorCode::ExpiredNextTokenException,
            "ProvisionedThroughputExceededException" => ErrorCode::ProvisionedThroughputExceededException,
            "InternalFailure" => ErrorCode::InternalFailure,
            "ValidationException" => ErrorCode::ValidationException,
            "AccessDeniedException" => ErrorCode::AccessDeniedException,
            other => ErrorCode::Other(other.to_string()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ErrorCode::from_name(s))
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a Kinesis error.
    #[error("{code}: {message}")]
    Kinesis { code: ErrorCode, message: String },

    /// No node answered within the retry budget (connection refused, Unavailable,
    /// deadline exceeded, InternalFailure, ...). `last` is the final failure seen.
    #[error("cluster unavailable after {attempts} attempts in {elapsed:?}: {last}")]
    Unavailable { attempts: u32, elapsed: Duration, last: String },

    /// A gRPC failure without a Kinesis error name that retrying cannot fix
    /// (e.g. Unimplemented, or a message the server could not decode).
    #[error("gRPC status {code:?}: {message}")]
    Status { code: Code, message: String },

    /// An endpoint string is not a usable URI.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },

    /// `Client::connect` was given no endpoint.
    #[error("no endpoint given")]
    NoEndpoints,

    /// A wait (e.g. for a stream to become ACTIVE) ran out of time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout { what: String, waited: Duration },

    /// The server's answer lacks something the protocol promises.
    #[error("malformed response: {0}")]
    MalformedResponse(String),
}

impl ClientError {
    /// The Kinesis error name, when the server gave one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            ClientError::Kinesis { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Decodes a failed call's status.
    pub fn from_status(status: &Status) -> ClientError {
        match kinesis_code(status) {
            Some(code) => {
                let message = strip_code_prefix(status.message(), &code).to_string();
                ClientError::Kinesis { code, message }
            }
            None => ClientError::Status { code: status.code(), message: status.message().to_string() },
        }
    }
}

/// The Kinesis error name a status carries in its metadata.
pub(crate) fn kinesis_code(status: &Status) -> Option<ErrorCode> {
    let value = status.metadata().get(ERROR_METADATA_KEY)?;
    let name = value.to_str().ok()?.trim();
    (!name.is_empty()).then(|| ErrorCode::from_name(name))
}

/// The leader address a status suggests retrying at, when present and well formed.
pub(crate) fn leader_hint(status: &Status) -> Option<String> {
    let value = status.metadata().get(LEADER_HINT_METADATA_KEY)?;
    let hint = value.to_str().ok()?.trim().trim_end_matches('/');
    (hint.starts_with("http://") || hint.starts_with("https://")).then(|| hint.to_string())
}

/// How the retry loop should treat a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Return the error to the caller as is.
    Fatal,
    /// Try again, at `hint` if the server named the leader.
    Retry { hint: Option<String> },
}

/// Kinesis errors are final except InternalFailure; statuses without a Kinesis name are
/// transport trouble unless their gRPC code says the request itself is wrong.
pub(crate) fn disposition(status: &Status) -> Disposition {
    let retry = Disposition::Retry { hint: leader_hint(status) };
    match kinesis_code(status) {
        Some(ErrorCode::InternalFailure) => retry,
        Some(_) => Disposition::Fatal,
        None => match status.code() {
            Code::InvalidArgument
            | Code::Unimplemented
            | Code::Unauthenticated
            | Code::PermissionDenied
            | Code::NotFound
            | Code::AlreadyExists
            | Code::FailedPrecondition
            | Code::OutOfRange => Disposition::Fatal,
            _ => retry,
        },
    }
}

/// Drops the "<Name>: " prefix the server puts before its message.
fn strip_code_prefix<'a>(message: &'a str, code: &ErrorCode) -> &'a str {
    message.strip_prefix(code.as_str()).and_then(|rest| rest.strip_prefix(':')).map(str::trim_start).unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::metadata::MetadataValue;

    fn status_with(code: Code, message: &str, name: Option<&'static str>, hint: Option<&'static str>) -> Status {
        let mut status = Status::new(code, message);
        if let Some(name) = name {
            status.metadata_mut().insert(ERROR_METADATA_KEY, MetadataValue::from_static(name));
        }
        if let Some(hint) = hint {
            status.metadata_mut().insert(LEADER_HINT_METADATA_KEY, MetadataValue::from_static(hint));
        }
        status
    }

    #[test]
    fn parses_kinesis_code_and_strips_message_prefix() {
        let status = status_with(
            Code::NotFound,
            "ResourceNotFoundException: Stream s under account 000000000000 not found.",
            Some("ResourceNotFoundException"),
            None,
        );
        let err = ClientError::from_status(&status);
        assert_eq!(err.code(), Some(&ErrorCode::ResourceNotFoundException));
        match err {
            ClientError::Kinesis { message, .. } => {
                assert_eq!(message, "Stream s under account 000000000000 not found.")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_known_name_round_trips() {
        for code in [
            ErrorCode::ResourceNotFoundException,
            ErrorCode::ResourceInUseException,
            ErrorCode::InvalidArgumentException,
            ErrorCode::LimitExceededException,
            ErrorCode::ExpiredIteratorException,
            ErrorCode::ExpiredNextTokenException,
            ErrorCode::ProvisionedThroughputExceededException,
            ErrorCode::InternalFailure,
            ErrorCode::ValidationException,
            ErrorCode::AccessDeniedException,
        ] {
            assert_eq!(ErrorCode::from_name(code.as_str()), code);
        }
        assert_eq!(ErrorCode::from_name("Weird"), ErrorCode::Other("Weird".into()));
    }

    #[test]
    fn status_without_metadata_is_not_a_kinesis_error() {
        let err = ClientError::from_status(&Status::unavailable("connection refused"));
        assert_eq!(err.code(), None);
        assert!(matches!(err, ClientError::Status { code: Code::Unavailable, .. }));
    }

    #[test]
    fn message_without_prefix_is_kept_whole() {
        let status = status_with(Code::InvalidArgument, "bad shard count", Some("InvalidArgumentException"), None);
        match ClientError::from_status(&status) {
            ClientError::Kinesis { message, .. } => assert_eq!(message, "bad shard count"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn only_transport_failures_and_internal_failure_are_retried() {
        let not_found = status_with(Code::NotFound, "x", Some("ResourceNotFoundException"), None);
        assert_eq!(disposition(&not_found), Disposition::Fatal);
        let throttled = status_with(Code::ResourceExhausted, "x", Some("ProvisionedThroughputExceededException"), None);
        assert_eq!(disposition(&throttled), Disposition::Fatal);
        let internal = status_with(Code::Internal, "x", Some("InternalFailure"), Some("http://127.0.0.1:50052/"));
        assert_eq!(disposition(&internal), Disposition::Retry { hint: Some("http://127.0.0.1:50052".into()) });
        assert_eq!(disposition(&Status::unavailable("down")), Disposition::Retry { hint: None });
        assert_eq!(disposition(&Status::deadline_exceeded("slow")), Disposition::Retry { hint: None });
        assert_eq!(disposition(&Status::unimplemented("no")), Disposition::Fatal);
    }

    #[test]
    fn leader_hint_must_be_an_http_url() {
        let good = status_with(Code::Unavailable, "not leader", None, Some("http://10.0.0.2:50051"));
        assert_eq!(leader_hint(&good).as_deref(), Some("http://10.0.0.2:50051"));
        let bad = status_with(Code::Unavailable, "not leader", None, Some("node-2"));
        assert_eq!(leader_hint(&bad), None);
    }
}
