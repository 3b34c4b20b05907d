//! Kinesis errors and their one mapping to gRPC status.

use crate::cluster::propose::ProposeError;
use crate::cluster::read::ReadError;
use runnel_proto::ERROR_METADATA_KEY;
use tonic::{Code, Status};

/// The errors of the Kinesis API, named as the AWS SDKs know them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KinesisError {
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// A request member breaks a length, range or pattern constraint of the API model.
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    ExpiredIterator(String),
    #[error("{0}")]
    ExpiredNextToken(String),
    /// Something failed inside the cluster; the request may be retried.
    #[error("{0}")]
    InternalFailure(String),
}

impl KinesisError {
    pub fn name(&self) -> &'static str {
        match self {
            KinesisError::ResourceNotFound(_) => "ResourceNotFoundException",
            KinesisError::ResourceInUse(_) => "ResourceInUseException",
            KinesisError::InvalidArgument(_) => "InvalidArgumentException",
            KinesisError::Validation(_) => "ValidationException",
            KinesisError::LimitExceeded(_) => "LimitExceededException",
            KinesisError::ExpiredIterator(_) => "ExpiredIteratorException",
            KinesisError::ExpiredNextToken(_) => "ExpiredNextTokenException",
            KinesisError::InternalFailure(_) => "InternalFailure",
        }
    }

    fn code(&self) -> Code {
        match self {
            KinesisError::ResourceNotFound(_) => Code::NotFound,
            KinesisError::ResourceInUse(_) => Code::FailedPrecondition,
            KinesisError::InvalidArgument(_) | KinesisError::Validation(_) => Code::InvalidArgument,
            KinesisError::LimitExceeded(_) => Code::ResourceExhausted,
            KinesisError::ExpiredIterator(_) | KinesisError::ExpiredNextToken(_) => Code::FailedPrecondition,
            KinesisError::InternalFailure(_) => Code::Unavailable,
        }
    }
}

impl From<KinesisError> for Status {
    fn from(err: KinesisError) -> Status {
        let mut status = Status::new(err.code(), format!("{}: {}", err.name(), err));
        if let Ok(value) = err.name().parse() {
            status.metadata_mut().insert(ERROR_METADATA_KEY, value);
        }
        status
    }
}

impl From<ProposeError> for KinesisError {
    fn from(err: ProposeError) -> KinesisError {
        KinesisError::InternalFailure(err.to_string())
    }
}

impl From<ReadError> for KinesisError {
    fn from(err: ReadError) -> KinesisError {
        KinesisError::InternalFailure(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_the_kinesis_name_in_metadata_and_message() {
        let status: Status = KinesisError::ResourceNotFound("Stream x not found".into()).into();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.metadata().get(ERROR_METADATA_KEY).unwrap(), "ResourceNotFoundException");
        assert!(status.message().starts_with("ResourceNotFoundException: "));
    }
}
