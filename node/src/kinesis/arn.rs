//! Stream ARNs, `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`, made with the node's region
//! and account and read back from requests (StreamARN beside StreamName, ResourceARN).
//!
//! An ARN that breaks the API model's pattern is a ValidationException; one of another
//! account is an AccessDeniedException (the caller may not act on it); one of another region
//! or partition names nothing here: ResourceNotFoundException. Consumer ARNs add
//! `/consumer/NAME:CREATION_EPOCH_SECONDS` to their stream's.

use super::error::KinesisError;
use super::types::StreamRef;
use super::validate;
use crate::control::StreamStatus;
use crate::domain::StreamName;
use crate::limits::ARN_CHARS_MAX;

/// The region and account this cluster answers for.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    pub region: &'a str,
    pub id: &'a str,
}

impl Account<'_> {
    pub fn stream_arn(&self, name: &StreamName) -> String {
        format!("arn:aws:kinesis:{}:{}:stream/{name}", self.region, self.id)
    }

    pub fn not_found(&self, name: &str) -> KinesisError {
        KinesisError::ResourceNotFound(format!("Stream {name} under account {} not found.", self.id))
    }

    /// A change refused because the stream is not ACTIVE.
    pub fn not_active(&self, name: &StreamName, status: StreamStatus) -> KinesisError {
        KinesisError::ResourceInUse(format!(
            "Stream {name} under account {} not ACTIVE, instead in state {}",
            self.id,
            status.as_kinesis()
        ))
    }

    /// The stream an ARN member names. `member` is the model's name for it (`streamARN`,
    /// `resourceARN`), used in messages.
    pub fn stream_of(&self, arn: &str, member: &str) -> Result<StreamName, KinesisError> {
        let malformed = || {
            KinesisError::Validation(format!(
                "1 validation error detected: Value '{arn}' at '{member}' failed to satisfy constraint: Member must \
                 satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{{12}}:stream/\\S+"
            ))
        };
        if arn.is_empty() || arn.chars().count() > ARN_CHARS_MAX || arn.chars().any(char::is_whitespace) {
            return Err(malformed());
        }
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("kinesis"), Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let Some(rest) = resource.strip_prefix("stream/").filter(|r| !r.is_empty()) else {
            return Err(malformed());
        };
        if !partition.starts_with("aws") || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        if account != self.id {
            return Err(KinesisError::AccessDenied(format!(
                "Account {} is not authorized to access resource {arn} of account {account}.",
                self.id
            )));
        }
        if partition != "aws" || region != self.region {
            return Err(self.not_found(rest));
        }
        // A consumer ARN (`stream/NAME/consumer/...`) or a name no stream can have.
        StreamName::parse(rest).map_err(|_| self.not_found(rest))
    }

    /// A consumer's ARN: `STREAM_ARN/consumer/NAME:CREATION_EPOCH_SECONDS`.
    pub fn consumer_arn(&self, stream: &StreamName, consumer: &str, created_epoch_s: i64) -> String {
        format!("{}/consumer/{consumer}:{created_epoch_s}", self.stream_arn(stream))
    }

    /// The stream, consumer name and creation second a ConsumerARN names; a malformed one
    /// is a ValidationException, one of another account AccessDeniedException, one of
    /// another region ResourceNotFoundException.
    pub fn consumer_of(&self, arn: &str, member: &str) -> Result<(StreamName, String, i64), KinesisError> {
        let malformed = || {
            KinesisError::Validation(format!(
                "1 validation error detected: Value '{arn}' at '{member}' failed to satisfy constraint: Member must \
                 satisfy regular expression pattern: ^(arn):aws.*:kinesis:.*:\\d{{12}}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+"
            ))
        };
        let (stream_arn, consumer) = arn.rsplit_once("/consumer/").ok_or_else(malformed)?;
        let (name, epoch) = consumer.rsplit_once(':').ok_or_else(malformed)?;
        let names_chars =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        let epoch_ok = !epoch.is_empty() && epoch.len() <= 18 && epoch.bytes().all(|b| b.is_ascii_digit());
        if !names_chars(name) || !epoch_ok || arn.chars().count() > ARN_CHARS_MAX {
            return Err(malformed());
        }
        let stream = self.stream_of(stream_arn, member).map_err(|e| match e {
            KinesisError::Validation(_) => malformed(),
            other => other,
        })?;
        let epoch = epoch.parse::<i64>().map_err(|_| malformed())?;
        Ok((stream, name.to_string(), epoch))
    }

    /// The stream a request names by StreamName, StreamARN or both (which must agree).
    pub fn stream_named(&self, name: &str, arn: &str) -> Result<StreamName, KinesisError> {
        if arn.is_empty() {
            return validate::stream_name(&StreamRef { name: Some(name.into()), arn: None });
        }
        let by_arn = self.stream_of(arn, "streamARN")?;
        if !name.is_empty() {
            let by_name = validate::stream_name(&StreamRef { name: Some(name.into()), arn: None })?;
            if by_name != by_arn {
                return Err(KinesisError::InvalidArgument(format!(
                    "StreamName {by_name} and StreamARN {arn} name different streams."
                )));
            }
        }
        Ok(by_arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Account<'static> = Account { region: "eu-west-1", id: "123456789012" };

    #[test]
    fn arns_round_trip_and_name_this_clusters_streams_only() {
        let s = StreamName::parse("orders").unwrap();
        let arn = HERE.stream_arn(&s);
        assert_eq!(arn, "arn:aws:kinesis:eu-west-1:123456789012:stream/orders");
        assert_eq!(HERE.stream_of(&arn, "streamARN").unwrap(), s);
        let other_account = "arn:aws:kinesis:eu-west-1:999999999999:stream/orders";
        assert!(matches!(HERE.stream_of(other_account, "streamARN"), Err(KinesisError::AccessDenied(_))));
        for elsewhere in [
            "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
            "arn:aws-cn:kinesis:eu-west-1:123456789012:stream/orders",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/c:1",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/bad*name",
        ] {
            assert!(
                matches!(HERE.stream_of(elsewhere, "streamARN"), Err(KinesisError::ResourceNotFound(_))),
                "{elsewhere}"
            );
        }
        for malformed in [
            "",
            "orders",
            "arn:aws:sqs:eu-west-1:123456789012:orders",
            "arn:aws:kinesis:eu-west-1:1234:stream/orders",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/",
            "arn:aws:kinesis:eu-west-1:123456789012:table/orders",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/a b",
        ] {
            assert!(matches!(HERE.stream_of(malformed, "streamARN"), Err(KinesisError::Validation(_))), "{malformed}");
        }
        let long = format!("arn:aws:kinesis:eu-west-1:123456789012:stream/{}", "a".repeat(ARN_CHARS_MAX));
        assert!(matches!(HERE.stream_of(&long, "streamARN"), Err(KinesisError::Validation(_))));
    }

    #[test]
    fn consumer_arns_round_trip() {
        let s = StreamName::parse("orders").unwrap();
        let arn = HERE.consumer_arn(&s, "app-1", 1_700_000_000);
        assert_eq!(arn, "arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/app-1:1700000000");
        assert_eq!(HERE.consumer_of(&arn, "consumerARN").unwrap(), (s, "app-1".to_string(), 1_700_000_000));
        for malformed in [
            "arn:aws:kinesis:eu-west-1:123456789012:stream/orders",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/app-1",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/a b:1",
            "arn:aws:kinesis:eu-west-1:123456789012:stream/orders/consumer/app:x",
            "arn:aws:kinesis:eu-west-1:1234:stream/orders/consumer/app:1",
        ] {
            assert!(
                matches!(HERE.consumer_of(malformed, "consumerARN"), Err(KinesisError::Validation(_))),
                "{malformed}"
            );
        }
        let other = "arn:aws:kinesis:eu-west-1:999999999999:stream/orders/consumer/app:1";
        assert!(matches!(HERE.consumer_of(other, "consumerARN"), Err(KinesisError::AccessDenied(_))));
        let elsewhere = "arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/app:1";
        assert!(matches!(HERE.consumer_of(elsewhere, "consumerARN"), Err(KinesisError::ResourceNotFound(_))));
    }

    #[test]
    fn a_name_and_an_arn_must_agree() {
        let arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/a";
        assert_eq!(HERE.stream_named("a", arn).unwrap().as_str(), "a");
        assert_eq!(HERE.stream_named("", arn).unwrap().as_str(), "a");
        assert_eq!(HERE.stream_named("b", "").unwrap().as_str(), "b");
        assert!(matches!(HERE.stream_named("b", arn), Err(KinesisError::InvalidArgument(_))));
        assert!(matches!(HERE.stream_named("", ""), Err(KinesisError::Validation(_))));
    }
}
