//! Typed failures of client calls, decoded from gRPC statuses.
//!
//! The server names the Kinesis error in the `x-kinesis-error` metadata. Three of them are
//! worth retrying: `ServiceUnavailable` (the request had no effect), `InternalFailure` (the
//! outcome is unknown) and `LimitExceededException` with `x-runnel-retry-after-ms` (an
//! overloaded node did nothing). A status without a name comes from the transport and is
//! retried too, unless its gRPC code says the request itself is wrong.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use runnel_proto::{ERROR_METADATA_KEY, RETRY_AFTER_METADATA_KEY};
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
    /// The request may or may not have taken effect (a write may have been stored).
    InternalFailure,
    /// The request certainly had no effect: no shard leader was reachable in time, or the
    /// node is shutting down.
    ServiceUnavailable,
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
            ErrorCode::ServiceUnavailable => "ServiceUnavailable",
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
            "ServiceUnavailable" => ErrorCode::ServiceUnavailable,
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

    /// Retryable failures went on until the retry budget (`RetryPolicy::max_elapsed`) was
    /// spent: connection refused, deadline exceeded, ServiceUnavailable, InternalFailure,
    /// an overloaded node, ... `last` is the final failure seen.
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

/// The wait an overload refusal asks for. Its presence, not its value, tells an overloaded
/// node from a quota refusal: a malformed value asks for no particular wait.
fn retry_after(status: &Status) -> Option<Duration> {
    let value = status.metadata().get(RETRY_AFTER_METADATA_KEY)?;
    let millis = value.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
    Some(Duration::from_millis(millis))
}

/// How the retry loop should treat a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Return the error to the caller as is.
    Fatal,
    /// Try again, on another node if there is one.
    Retry,
    /// The node is overloaded and did nothing: try again after at least this long.
    Overloaded { retry_after: Duration },
}

/// Kinesis errors are final except ServiceUnavailable, InternalFailure (retried as the AWS
/// SDKs do: writes are at-least-once) and LimitExceededException from an overloaded node;
/// statuses without a Kinesis name are transport trouble unless their gRPC code says the
/// request itself is wrong.
pub(crate) fn disposition(status: &Status) -> Disposition {
    match kinesis_code(status) {
        Some(ErrorCode::ServiceUnavailable | ErrorCode::InternalFailure) => Disposition::Retry,
        Some(ErrorCode::LimitExceededException) => match retry_after(status) {
            Some(retry_after) => Disposition::Overloaded { retry_after },
            // A quota (too many shards or streams): waiting does not lift it.
            None => Disposition::Fatal,
        },
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
            _ => Disposition::Retry,
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

    fn status_with(code: Code, message: &str, name: Option<&'static str>) -> Status {
        let mut status = Status::new(code, message);
        if let Some(name) = name {
            status.metadata_mut().insert(ERROR_METADATA_KEY, MetadataValue::from_static(name));
        }
        status
    }

    fn overloaded(retry_after: &'static str) -> Status {
        let mut status = status_with(
            Code::ResourceExhausted,
            "LimitExceededException: node overloaded",
            Some("LimitExceededException"),
        );
        status.metadata_mut().insert(RETRY_AFTER_METADATA_KEY, MetadataValue::from_static(retry_after));
        status
    }

    #[test]
    fn parses_kinesis_code_and_strips_message_prefix() {
        let status = status_with(
            Code::NotFound,
            "ResourceNotFoundException: Stream s under account 000000000000 not found.",
            Some("ResourceNotFoundException"),
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
            ErrorCode::ServiceUnavailable,
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
        let status = status_with(Code::InvalidArgument, "bad shard count", Some("InvalidArgumentException"));
        match ClientError::from_status(&status) {
            ClientError::Kinesis { message, .. } => assert_eq!(message, "bad shard count"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn final_kinesis_errors_are_not_retried() {
        let not_found = status_with(Code::NotFound, "x", Some("ResourceNotFoundException"));
        assert_eq!(disposition(&not_found), Disposition::Fatal);
        let throttled = status_with(Code::ResourceExhausted, "x", Some("ProvisionedThroughputExceededException"));
        assert_eq!(disposition(&throttled), Disposition::Fatal);
        let quota = status_with(Code::ResourceExhausted, "x", Some("LimitExceededException"));
        assert_eq!(disposition(&quota), Disposition::Fatal);
        assert_eq!(ClientError::from_status(&quota).code(), Some(&ErrorCode::LimitExceededException));
    }

    #[test]
    fn service_unavailable_internal_failure_and_transport_trouble_are_retried() {
        let unavailable = status_with(Code::Unavailable, "x", Some("ServiceUnavailable"));
        assert_eq!(disposition(&unavailable), Disposition::Retry);
        assert_eq!(ClientError::from_status(&unavailable).code(), Some(&ErrorCode::ServiceUnavailable));
        let internal = status_with(Code::Internal, "x", Some("InternalFailure"));
        assert_eq!(disposition(&internal), Disposition::Retry);
        assert_eq!(disposition(&Status::unavailable("down")), Disposition::Retry);
        assert_eq!(disposition(&Status::deadline_exceeded("slow")), Disposition::Retry);
        assert_eq!(disposition(&Status::unimplemented("no")), Disposition::Fatal);
        assert_eq!(disposition(&Status::invalid_argument("bad")), Disposition::Fatal);
    }

    #[test]
    fn an_overloaded_node_asks_for_a_wait() {
        assert_eq!(
            disposition(&overloaded("250")),
            Disposition::Overloaded { retry_after: Duration::from_millis(250) }
        );
        assert_eq!(disposition(&overloaded(" 7 ")), Disposition::Overloaded { retry_after: Duration::from_millis(7) });
        // Still an overload refusal, without a usable wait.
        assert_eq!(disposition(&overloaded("soon")), Disposition::Overloaded { retry_after: Duration::ZERO });
        // The wait only counts on LimitExceededException.
        let mut other = status_with(Code::ResourceExhausted, "x", Some("ProvisionedThroughputExceededException"));
        other.metadata_mut().insert(RETRY_AFTER_METADATA_KEY, MetadataValue::from_static("250"));
        assert_eq!(disposition(&other), Disposition::Fatal);
    }
}
