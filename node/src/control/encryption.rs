//! Server-side encryption in the metadata: whether a stream's new records are encrypted,
//! and under which KeyId. The KeyId is kept as the client gave it (a KMS key id, alias or
//! ARN): Runnel has no KMS, every encrypted record is sealed with the cluster's own key
//! (crypto.rs), and the KeyId is what DescribeStream shows. Records keep the encryption
//! they were written with (shard/batch.rs), so changing it never touches stored records.

use super::state::{StreamMeta, StreamStatus};
use crate::limits::{KEY_ID_CHARS_MAX, KEY_ID_CHARS_MIN};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionRefused {
    #[error("stream is {0:?}")]
    NotActive(StreamStatus),
    #[error("{0}")]
    Invalid(String),
}

/// StartStreamEncryption (`Some(key_id)`) or StopStreamEncryption (`None`): takes effect
/// at once, for the records written from then on. The stream must be ACTIVE.
pub fn set_encryption(stream: &mut StreamMeta, key_id: Option<&str>) -> Result<(), EncryptionRefused> {
    if let Some(key_id) = key_id {
        let chars = key_id.chars().count();
        if !(KEY_ID_CHARS_MIN..=KEY_ID_CHARS_MAX).contains(&chars) {
            return Err(EncryptionRefused::Invalid(format!(
                "A KeyId is {KEY_ID_CHARS_MIN} to {KEY_ID_CHARS_MAX} characters, not {chars}."
            )));
        }
    }
    if stream.status != StreamStatus::Active {
        return Err(EncryptionRefused::NotActive(stream.status));
    }
    stream.encryption = key_id.map(str::to_string);
    Ok(())
}

impl StreamMeta {
    /// Kinesis' EncryptionType of the stream: KMS or NONE.
    pub fn encryption_type(&self) -> &'static str {
        encryption_type(self.encryption.is_some())
    }
}

/// Kinesis' EncryptionType of a stream or record: KMS when encrypted, else NONE.
pub fn encryption_type(encrypted: bool) -> &'static str {
    if encrypted {
        "KMS"
    } else {
        "NONE"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(status: StreamStatus) -> StreamMeta {
        StreamMeta { status, ..StreamMeta::bare("s") }
    }

    #[test]
    fn encryption_starts_updates_and_stops_on_an_active_stream_only() {
        let mut s = stream(StreamStatus::Active);
        assert_eq!(s.encryption_type(), "NONE");
        assert_eq!(set_encryption(&mut s, Some("alias/aws/kinesis")), Ok(()));
        assert_eq!((s.encryption_type(), s.encryption.as_deref()), ("KMS", Some("alias/aws/kinesis")));
        // Starting again with another key updates the KeyId, as Kinesis does.
        let arn = "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012";
        assert_eq!(set_encryption(&mut s, Some(arn)), Ok(()));
        assert_eq!(s.encryption.as_deref(), Some(arn));
        assert_eq!(set_encryption(&mut s, None), Ok(()));
        assert_eq!((s.encryption_type(), s.encryption.as_deref()), ("NONE", None));
        for bad in [String::new(), "k".repeat(KEY_ID_CHARS_MAX + 1)] {
            assert!(matches!(set_encryption(&mut s, Some(&bad)), Err(EncryptionRefused::Invalid(_))));
            assert_eq!(s.encryption, None, "a refusal changes nothing");
        }
        assert_eq!(set_encryption(&mut s, Some(&"é".repeat(KEY_ID_CHARS_MAX))), Ok(()));
        let mut updating = stream(StreamStatus::Updating);
        let refused = set_encryption(&mut updating, Some("alias/aws/kinesis"));
        assert_eq!(refused, Err(EncryptionRefused::NotActive(StreamStatus::Updating)));
        assert_eq!(updating.encryption, None);
    }
}
