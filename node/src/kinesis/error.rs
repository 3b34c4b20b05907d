//! The errors of the Kinesis API, named as the AWS SDKs know them. Every wire adapter maps
//! them in one place (api/status.rs for gRPC).

use crate::cluster::propose::ProposeError;
use crate::cluster::read::ReadError;

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
    /// A quota (shards, streams): final until something changes.
    #[error("{0}")]
    LimitExceeded(String),
    /// The node is overloaded and did nothing; retry after the given wait.
    #[error("{message}")]
    Overloaded { message: String, retry_after_ms: u64 },
    #[error("{0}")]
    ExpiredIterator(String),
    #[error("{0}")]
    ExpiredNextToken(String),
    /// Nothing was done (no leader reachable, shutting down): safe to retry, writes too.
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Something failed inside the cluster and the outcome is unknown: a write may or may
    /// not have been applied.
    #[error("{0}")]
    InternalFailure(String),
    /// The request names a resource of another account.
    #[error("{0}")]
    AccessDenied(String),
    /// A shard's throughput quota is used up (`kinesis_limits` mode); nothing was done.
    #[error("{0}")]
    ProvisionedThroughputExceeded(String),
    /// Encryption asked for, and no encryption key is configured on the cluster (the KMS
    /// key Kinesis would use cannot be found).
    #[error("{0}")]
    KmsNotFound(String),
}

impl KinesisError {
    pub fn name(&self) -> &'static str {
        match self {
            KinesisError::ResourceNotFound(_) => "ResourceNotFoundException",
            KinesisError::ResourceInUse(_) => "ResourceInUseException",
            KinesisError::InvalidArgument(_) => "InvalidArgumentException",
            KinesisError::Validation(_) => "ValidationException",
            KinesisError::LimitExceeded(_) | KinesisError::Overloaded { .. } => "LimitExceededException",
            KinesisError::ExpiredIterator(_) => "ExpiredIteratorException",
            KinesisError::ExpiredNextToken(_) => "ExpiredNextTokenException",
            KinesisError::ServiceUnavailable(_) => "ServiceUnavailable",
            KinesisError::InternalFailure(_) => "InternalFailure",
            KinesisError::AccessDenied(_) => "AccessDeniedException",
            KinesisError::ProvisionedThroughputExceeded(_) => "ProvisionedThroughputExceededException",
            KinesisError::KmsNotFound(_) => "KMSNotFoundException",
        }
    }
}

/// The error Kinesis gives a request too large for its largest member, whatever the wire
/// (the adapters refuse such a request before reading it whole).
pub fn oversized_request(action: &str, detail: &str) -> KinesisError {
    if action == "PutRecords" {
        KinesisError::InvalidArgument(format!(
            "Records size exceeds {} bytes: {detail}",
            crate::limits::PUT_RECORDS_BYTES_MAX
        ))
    } else {
        KinesisError::Validation(format!(
            "1 validation error detected: the {action} request is larger than any valid one: {detail}"
        ))
    }
}

impl From<ProposeError> for KinesisError {
    fn from(err: ProposeError) -> KinesisError {
        if let ProposeError::Throttled(_) = err {
            KinesisError::ProvisionedThroughputExceeded(err.to_string())
        } else if err.certainly_not_applied() {
            KinesisError::ServiceUnavailable(err.to_string())
        } else {
            KinesisError::InternalFailure(err.to_string())
        }
    }
}

impl From<ReadError> for KinesisError {
    fn from(err: ReadError) -> KinesisError {
        match err {
            // Reads change nothing; a storage failure is still a failure inside the cluster.
            ReadError::Storage(_) => KinesisError::InternalFailure(err.to_string()),
            ReadError::Throttled(_) => KinesisError::ProvisionedThroughputExceeded(err.to_string()),
            ReadError::Unavailable(_) | ReadError::NotLeader { .. } => {
                KinesisError::ServiceUnavailable(err.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::GroupId;

    #[test]
    fn proposal_failures_keep_certain_apart_from_unknown() {
        let certain: KinesisError = ProposeError::NoLeader(GroupId(3)).into();
        assert_eq!(certain.name(), "ServiceUnavailable");
        let unknown: KinesisError = ProposeError::Unknown("timed out".into()).into();
        assert_eq!(unknown.name(), "InternalFailure");
    }
}
