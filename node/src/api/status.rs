//! The one mapping of Kinesis errors to gRPC status. The Kinesis name travels in the
//! `x-kinesis-error` metadata key and at the start of the message.
//!
//! The gRPC code says what a generic retry policy may do: UNAVAILABLE only when nothing
//! happened (`ServiceUnavailable`), so replaying is safe even for writes; INTERNAL when
//! the outcome is unknown (`InternalFailure`), which generic policies do not replay.

use crate::kinesis::KinesisError;
use runnel_proto::{ERROR_METADATA_KEY, RETRY_AFTER_METADATA_KEY};
use tonic::{Code, Status};

fn code(err: &KinesisError) -> Code {
    match err {
        KinesisError::ResourceNotFound(_) => Code::NotFound,
        KinesisError::ResourceInUse(_) => Code::FailedPrecondition,
        KinesisError::InvalidArgument(_) | KinesisError::Validation(_) => Code::InvalidArgument,
        KinesisError::LimitExceeded(_) | KinesisError::Overloaded { .. } => Code::ResourceExhausted,
        KinesisError::ExpiredIterator(_) | KinesisError::ExpiredNextToken(_) => Code::FailedPrecondition,
        KinesisError::ServiceUnavailable(_) => Code::Unavailable,
        KinesisError::InternalFailure(_) => Code::Internal,
        KinesisError::AccessDenied(_) => Code::PermissionDenied,
        // Like LimitExceeded: a generic retry policy backs off and retries.
        KinesisError::ProvisionedThroughputExceeded(_) => Code::ResourceExhausted,
        // Nothing to retry until the cluster is given a key.
        KinesisError::KmsNotFound(_) => Code::FailedPrecondition,
    }
}

pub fn to_status(err: KinesisError) -> Status {
    let mut status = Status::new(code(&err), format!("{}: {}", err.name(), err));
    if let Ok(value) = err.name().parse() {
        status.metadata_mut().insert(ERROR_METADATA_KEY, value);
    }
    if let KinesisError::Overloaded { retry_after_ms, .. } = &err {
        if let Ok(value) = retry_after_ms.to_string().parse() {
            status.metadata_mut().insert(RETRY_AFTER_METADATA_KEY, value);
        }
    }
    status
}

/// The refusal of a request too large to decode (tonic's own OUT_OF_RANGE, which names no
/// Kinesis error), given the action it was sent to.
///
/// Kinesis has no error of its own for "too large": it refuses whatever the large member
/// breaks. Past the decoding cap (`KINESIS_MESSAGE_BYTES_MAX`, 15 MiB) only two things can
/// make a request that large. A PutRecords of so much data and keys is over its 5 MiB
/// total, which Kinesis answers with InvalidArgumentException. Any other request holds a
/// member beyond its model length (a Data blob over 1 MiB, a string over its maximum, the
/// longest being NextToken at 1 MiB), which Kinesis answers with ValidationException.
pub fn oversized_request(action: &str, detail: &str) -> Status {
    to_status(crate::kinesis::error::oversized_request(action, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_requests_get_the_error_kinesis_gives_their_largest_member() {
        let put = oversized_request("PutRecord", "found 16777216 bytes");
        assert_eq!(put.code(), Code::InvalidArgument);
        assert_eq!(put.metadata().get(ERROR_METADATA_KEY).unwrap(), "ValidationException");
        assert!(put.message().starts_with("ValidationException: 1 validation error detected: "), "{put:?}");
        let batch = oversized_request("PutRecords", "found 16777216 bytes");
        assert_eq!(batch.metadata().get(ERROR_METADATA_KEY).unwrap(), "InvalidArgumentException");
        assert!(batch.message().contains("found 16777216 bytes"), "{batch:?}");
    }

    #[test]
    fn status_carries_the_kinesis_name_in_metadata_and_message() {
        let status = to_status(KinesisError::ResourceNotFound("Stream x not found".into()));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.metadata().get(ERROR_METADATA_KEY).unwrap(), "ResourceNotFoundException");
        assert!(status.message().starts_with("ResourceNotFoundException: "));
    }

    #[test]
    fn a_missing_encryption_key_is_kms_not_found() {
        let status = to_status(KinesisError::KmsNotFound("no key".into()));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.metadata().get(ERROR_METADATA_KEY).unwrap(), "KMSNotFoundException");
        assert!(status.message().starts_with("KMSNotFoundException: "));
    }

    #[test]
    fn only_certain_failures_are_unavailable_and_overload_says_when_to_retry() {
        assert_eq!(to_status(KinesisError::ServiceUnavailable("x".into())).code(), Code::Unavailable);
        assert_eq!(to_status(KinesisError::InternalFailure("x".into())).code(), Code::Internal);
        let overload = to_status(KinesisError::Overloaded { message: "busy".into(), retry_after_ms: 100 });
        assert_eq!(overload.code(), Code::ResourceExhausted);
        assert_eq!(overload.metadata().get(RETRY_AFTER_METADATA_KEY).unwrap(), "100");
        let quota = to_status(KinesisError::LimitExceeded("500 shards".into()));
        assert!(quota.metadata().get(RETRY_AFTER_METADATA_KEY).is_none(), "a quota is final");
        assert_eq!(quota.metadata().get(ERROR_METADATA_KEY).unwrap(), "LimitExceededException");
    }
}
