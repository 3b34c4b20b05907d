//! PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy: a JSON document kept with the
//! stream its ResourceARN names (Runnel enforces no access control; it keeps and returns
//! the policy as Kinesis does).

use super::types::*;
use super::{KinesisError, KinesisService};
use crate::control::attributes::check_policy;
use crate::control::{MetaCommand, MetaResult};
use crate::limits::RESOURCE_POLICY_BYTES_MAX;

/// What GetResourcePolicy returns for a stream without a policy.
const NO_POLICY: &str = "{}";

impl KinesisService {
    pub async fn put_resource_policy(&self, req: PutResourcePolicyInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.account().stream_of(&req.resource_arn, "resourceARN")?;
        if req.policy.is_empty() {
            return Err(KinesisError::Validation("Policy is required".into()));
        }
        match check_policy(&req.policy) {
            Ok(()) => {}
            Err(true) => {
                return Err(KinesisError::LimitExceeded(format!(
                    "The policy is {} bytes; a resource policy is at most {RESOURCE_POLICY_BYTES_MAX} bytes.",
                    req.policy.len()
                )))
            }
            Err(false) => {
                return Err(KinesisError::InvalidArgument("The policy is not a valid JSON policy document.".into()))
            }
        }
        self.stream(&name)?;
        match self.meta_write(MetaCommand::PutPolicy { name: name.clone(), policy: req.policy }).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(&name)),
            MetaResult::LimitExceeded(why) => Err(KinesisError::LimitExceeded(why)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    pub async fn get_resource_policy(&self, resource_arn: &str) -> Result<String, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.account().stream_of(resource_arn, "resourceARN")?;
        Ok(self.stream(&name)?.policy.unwrap_or_else(|| NO_POLICY.into()))
    }

    pub async fn delete_resource_policy(&self, resource_arn: &str) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.account().stream_of(resource_arn, "resourceARN")?;
        self.stream(&name)?;
        match self.meta_write(MetaCommand::DeletePolicy { name: name.clone() }).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(&name)),
            MetaResult::NoPolicy => Err(KinesisError::ResourceNotFound(format!(
                "No resource policy found for resource ARN {resource_arn}."
            ))),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }
}
