//! AddTagsToStream, RemoveTagsFromStream, ListTagsForStream (by StreamName or StreamARN), and
//! TagResource, UntagResource, ListTagsForResource (by ResourceARN; ListTagsForResource also
//! reads the tags a consumer was registered with).
//!
//! Lengths and counts the API model bounds are ValidationException; a key or value with
//! characters Kinesis does not take, a reserved `aws:` key or more than 10 tags in one
//! AddTagsToStream are InvalidArgumentException; more than 50 tags on a stream is
//! LimitExceededException (checked here, and again when the metadata applies it).

use super::types::*;
use super::{validate, KinesisError, KinesisService};
use crate::control::attributes::{check_tag, check_tag_key, TagRefused};
use crate::control::{MetaCommand, MetaResult, Tags};
use crate::domain::StreamName;
use crate::limits::*;
use std::collections::BTreeSet;

fn refused(e: TagRefused) -> KinesisError {
    match e {
        TagRefused::Length(why) => KinesisError::Validation(why),
        TagRefused::Invalid(why) => KinesisError::InvalidArgument(why),
    }
}

/// A list of tag keys (RemoveTagsFromStream, UntagResource): 1 to 50 well-formed keys.
fn tag_keys(keys: &[String]) -> Result<Vec<String>, KinesisError> {
    if keys.is_empty() || keys.len() > TAG_KEYS_PER_CALL_MAX {
        return Err(KinesisError::Validation(format!(
            "TagKeys must have 1 to {TAG_KEYS_PER_CALL_MAX} members, got {}",
            keys.len()
        )));
    }
    for key in keys {
        check_tag_key(key).map_err(refused)?;
    }
    Ok(keys.to_vec())
}

impl KinesisService {
    fn too_many_tags(&self, name: &StreamName) -> KinesisError {
        KinesisError::LimitExceeded(format!(
            "Failed to add tags to stream {name} under account {} because a given stream cannot have more than \
             {STREAM_TAGS_MAX} tags associated with it.",
            self.account().id
        ))
    }

    /// Tags a request adds, checked: at most `TAG_MAP_ENTRIES_MAX` (the model), at most
    /// `per_call_max` when the action has its own bound (AddTagsToStream), at most
    /// `STREAM_TAGS_MAX` in any case, each well formed.
    pub(super) fn new_tags(
        &self,
        name: &StreamName,
        tags: &[(String, String)],
        per_call_max: Option<usize>,
    ) -> Result<Tags, KinesisError> {
        if tags.len() > TAG_MAP_ENTRIES_MAX {
            return Err(KinesisError::Validation(format!(
                "Tags must have at most {TAG_MAP_ENTRIES_MAX} entries, got {}",
                tags.len()
            )));
        }
        for (key, value) in tags {
            check_tag(key, value).map_err(refused)?;
        }
        let checked: Tags = tags.iter().cloned().collect();
        if let Some(per_call_max) = per_call_max.filter(|max| checked.len() > *max) {
            return Err(KinesisError::InvalidArgument(format!(
                "Failed to add tags to stream {name} under account {} because a request can add at most \
                 {per_call_max} tags, got {}.",
                self.account().id,
                checked.len()
            )));
        }
        if checked.len() > STREAM_TAGS_MAX {
            return Err(self.too_many_tags(name));
        }
        Ok(checked)
    }

    /// Adds checked tags to an existing stream.
    async fn tag_stream(&self, name: &StreamName, tags: Tags) -> Result<(), KinesisError> {
        let stream = self.stream(name)?;
        let total = stream.tags.keys().chain(tags.keys()).collect::<BTreeSet<_>>().len();
        if total > STREAM_TAGS_MAX {
            return Err(self.too_many_tags(name));
        }
        match self.meta_write(MetaCommand::AddTags { name: name.clone(), tags }).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(name)),
            MetaResult::LimitExceeded(_) => Err(self.too_many_tags(name)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    async fn untag_stream(&self, name: &StreamName, keys: Vec<String>) -> Result<(), KinesisError> {
        self.stream(name)?;
        match self.meta_write(MetaCommand::RemoveTags { name: name.clone(), keys }).await? {
            MetaResult::Ok => Ok(()),
            MetaResult::StreamNotFound(_) => Err(self.not_found(name)),
            other => Err(KinesisError::InternalFailure(format!("unexpected reply {other:?}"))),
        }
    }

    pub async fn add_tags_to_stream(&self, req: AddTagsToStreamInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        if req.tags.is_empty() {
            return Err(KinesisError::Validation("Tags must have at least 1 entry".into()));
        }
        let tags = self.new_tags(&name, &req.tags, Some(ADD_TAGS_PER_CALL_MAX))?;
        self.tag_stream(&name, tags).await
    }

    pub async fn remove_tags_from_stream(&self, req: RemoveTagsFromStreamInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        let keys = tag_keys(&req.tag_keys)?;
        self.untag_stream(&name, keys).await
    }

    pub async fn list_tags_for_stream(
        &self,
        req: ListTagsForStreamInput,
    ) -> Result<ListTagsForStreamOutput, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.stream_name(&req.stream)?;
        let mut members = validate::Members::new();
        members.number("limit", req.limit.map(i64::from), 1, LIST_TAGS_LIMIT_MAX.into());
        members.finish()?;
        let limit = validate::page_size(req.limit, LIST_TAGS_LIMIT_MAX, LIST_TAGS_LIMIT_MAX);
        // Only its length is bounded: any string orders the keys.
        let start_chars = req.exclusive_start_tag_key.as_ref().map_or(TAG_KEY_CHARS_MIN, |k| k.chars().count());
        if !(TAG_KEY_CHARS_MIN..=TAG_KEY_CHARS_MAX).contains(&start_chars) {
            return Err(KinesisError::Validation(format!(
                "ExclusiveStartTagKey must be {TAG_KEY_CHARS_MIN} to {TAG_KEY_CHARS_MAX} characters, got {start_chars}"
            )));
        }
        let stream = self.stream(&name)?;
        let after = |key: &String| req.exclusive_start_tag_key.as_ref().is_none_or(|start| key > start);
        let remaining: Vec<_> = stream.tags.iter().filter(|(k, _)| after(k)).collect();
        let tags: Vec<Tag> = remaining
            .iter()
            .take(limit as usize)
            .map(|(k, v)| Tag { key: (*k).clone(), value: (*v).clone() })
            .collect();
        Ok(ListTagsForStreamOutput { has_more_tags: remaining.len() > tags.len(), tags })
    }

    pub async fn tag_resource(&self, req: TagResourceInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.account().stream_of(&req.resource_arn, "resourceARN")?;
        let tags = self.new_tags(&name, &req.tags, None)?;
        self.tag_stream(&name, tags).await
    }

    pub async fn untag_resource(&self, req: UntagResourceInput) -> Result<(), KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let name = self.account().stream_of(&req.resource_arn, "resourceARN")?;
        let keys = tag_keys(&req.tag_keys)?;
        self.untag_stream(&name, keys).await
    }

    /// The tags of a stream, or of a consumer (given to RegisterStreamConsumer).
    pub async fn list_tags_for_resource(&self, resource_arn: &str) -> Result<Vec<Tag>, KinesisError> {
        let _admitted = self.admission.admit(0)?;
        let tags = if resource_arn.contains("/consumer/") {
            self.consumer(resource_arn, "resourceARN")?.1.tags
        } else {
            let name = self.account().stream_of(resource_arn, "resourceARN")?;
            self.stream(&name)?.tags
        };
        Ok(tags.into_iter().map(|(key, value)| Tag { key, value }).collect())
    }
}
