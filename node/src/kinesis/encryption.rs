//! StartStreamEncryption and StopStreamEncryption, and the key PutRecord and PutRecords
//! seal records with.
//!
//! Runnel has no KMS: the KeyId is kept as given and shown by DescribeStream, and every
//! encrypted record is sealed with the cluster's own key (the `encryption_key_file` node
//! setting, the same on every node). A cluster without one refuses to start encrypting
//! with KMSNotFoundException. Both actions take effect at once (the stream stays ACTIVE):
//! records written from then on are stored encrypted, or not; stored records keep the
//! encryption they were written with, and GetRecords tells which, record by record.

use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::control::encryption::encryption_type;
use crate::control::{MetaCommand, MetaResult, StreamMeta, StreamStatus};
use crate::crypto::RecordKey;

/// Why a KMS refusal happened, in the words a client needs to fix it.
const NO_KEY: &str = "No encryption key is configured on this cluster: give every node the same key \
                      (--encryption-key-file, or encryption_key_file in its config file) to encrypt streams.";

impl KinesisService {
    pub async fn start_stream_encryption(&self, req: StreamEncryptionInput) -> Result<(), KinesisError> {
        self.set_encryption(req, true).await
    }

    pub async fn stop_stream_encryption(&self, req: StreamEncryptionInput) -> Result<(), KinesisError> {
        self.set_encryption(req, false).await
    }

    async fn set_encryption(&self, req: StreamEncryptionInput, start: bool) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        validate::stream_encryption(&req)?;
        let name = self.stream_name(&req.stream)?;
        if req.encryption_type != encryption_type(true) {
            return Err(KinesisError::InvalidArgument(format!(
                "EncryptionType {} is not valid for {}StreamEncryption: the only valid value is KMS.",
                req.encryption_type,
                if start { "Start" } else { "Stop" }
            )));
        }
        let stream = self.stream(&name)?;
        if stream.status != StreamStatus::Active {
            return Err(self.account().not_active(&name, stream.status));
        }
        // Stopping needs no key: records written from then on are stored in clear.
        if start && self.node.config.encryption_key.is_none() {
            return Err(KinesisError::KmsNotFound(NO_KEY.into()));
        }
        let key_id = start.then_some(req.key_id);
        match self.meta_write(MetaCommand::SetEncryption { name: name.clone(), key_id }).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(&name)),
            MetaResult::NotActive(status) => Err(self.account().not_active(&name, status)),
            MetaResult::Refused(why) => Err(KinesisError::InvalidArgument(why)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    /// The key records written to `stream` now are sealed with: none while the stream is
    /// not encrypted. An encrypted stream on a node without the key takes no records
    /// (storing them in clear would break the promise).
    pub(super) fn sealing(&self, stream: &StreamMeta) -> Result<Option<RecordKey>, KinesisError> {
        match (&stream.encryption, &self.node.config.encryption_key) {
            (None, _) => Ok(None),
            (Some(_), Some(key)) => Ok(Some(key.clone())),
            (Some(key_id), None) => Err(KinesisError::KmsNotFound(format!(
                "Stream {} is encrypted with KeyId {key_id}, and this node has no encryption key. {NO_KEY}",
                stream.name
            ))),
        }
    }
}
