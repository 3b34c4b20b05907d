//! What a stream carries besides its shards (tags, a resource policy, enhanced monitoring),
//! the account's settings, and the cluster's shard limit; the metadata commands that change
//! them, applied alike on every replica.
//!
//! The Kinesis service checks every request first; `apply` checks again what keeps the
//! state sound (a proposal may come from a node of another release, and two may race): tag
//! counts and forms, policy size and JSON, the shard limit against the state as it is when
//! the command commits.

use super::command::{MetaCommand, MetaResult};
use super::state::{MetaState, StreamMeta, StreamStatus};
use crate::domain::StreamName;
use crate::limits::{
    RESOURCE_POLICY_BYTES_MAX, STREAM_TAGS_MAX, TAG_KEY_CHARS_MAX, TAG_KEY_CHARS_MIN, TAG_VALUE_CHARS_MAX,
    THROUGHPUT_COMMITMENT_MS_MIN,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A stream's tags, by key.
pub type Tags = BTreeMap<String, String>;

/// The shard-level metrics enhanced monitoring can publish (Kinesis' `MetricsName`, without
/// `ALL`, which stands for every one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ShardMetric {
    IncomingBytes,
    IncomingRecords,
    OutgoingBytes,
    OutgoingRecords,
    WriteProvisionedThroughputExceeded,
    ReadProvisionedThroughputExceeded,
    IteratorAgeMilliseconds,
}

impl ShardMetric {
    pub const ALL: [ShardMetric; 7] = [
        ShardMetric::IncomingBytes,
        ShardMetric::IncomingRecords,
        ShardMetric::OutgoingBytes,
        ShardMetric::OutgoingRecords,
        ShardMetric::WriteProvisionedThroughputExceeded,
        ShardMetric::ReadProvisionedThroughputExceeded,
        ShardMetric::IteratorAgeMilliseconds,
    ];

    pub fn as_kinesis(self) -> &'static str {
        match self {
            ShardMetric::IncomingBytes => "IncomingBytes",
            ShardMetric::IncomingRecords => "IncomingRecords",
            ShardMetric::OutgoingBytes => "OutgoingBytes",
            ShardMetric::OutgoingRecords => "OutgoingRecords",
            ShardMetric::WriteProvisionedThroughputExceeded => "WriteProvisionedThroughputExceeded",
            ShardMetric::ReadProvisionedThroughputExceeded => "ReadProvisionedThroughputExceeded",
            ShardMetric::IteratorAgeMilliseconds => "IteratorAgeMilliseconds",
        }
    }

    /// A `MetricsName`: one metric, or `ALL` (every one).
    pub fn parse(name: &str) -> Option<Vec<ShardMetric>> {
        if name == "ALL" {
            return Some(ShardMetric::ALL.to_vec());
        }
        ShardMetric::ALL.into_iter().find(|m| m.as_kinesis() == name).map(|m| vec![m])
    }
}

/// The minimum throughput billing commitment (UpdateAccountSettings). Runnel bills nothing;
/// it keeps the setting and its dates as Kinesis reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    pub started_ms: i64,
    /// Before this, asking to disable only schedules the end for this time.
    pub earliest_end_ms: i64,
    /// Set once disabling was asked for: when the commitment ends (or ended).
    pub ended_ms: Option<i64>,
}

/// The commitment's status at `now_ms`, as Kinesis names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitmentStatus {
    Enabled,
    Disabled,
    EnabledUntilEarliestAllowedEnd,
}

impl CommitmentStatus {
    pub fn as_kinesis(self) -> &'static str {
        match self {
            CommitmentStatus::Enabled => "ENABLED",
            CommitmentStatus::Disabled => "DISABLED",
            CommitmentStatus::EnabledUntilEarliestAllowedEnd => "ENABLED_UNTIL_EARLIEST_ALLOWED_END",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// The latest commitment, kept after it ended so its dates can be reported.
    pub commitment: Option<Commitment>,
}

impl AccountSettings {
    pub fn status(&self, now_ms: i64) -> CommitmentStatus {
        match self.commitment {
            None => CommitmentStatus::Disabled,
            Some(Commitment { ended_ms: None, .. }) => CommitmentStatus::Enabled,
            Some(Commitment { ended_ms: Some(end), .. }) if now_ms < end => {
                CommitmentStatus::EnabledUntilEarliestAllowedEnd
            }
            Some(_) => CommitmentStatus::Disabled,
        }
    }

    /// Enabling starts a commitment unless one is in force (a scheduled end is cancelled);
    /// disabling ends it now, or at its earliest allowed end if that is still ahead.
    fn update(&mut self, enable: bool, now_ms: i64) {
        let status = self.status(now_ms);
        match (enable, status, self.commitment.as_mut()) {
            (true, CommitmentStatus::Disabled, _) => {
                self.commitment = Some(Commitment {
                    started_ms: now_ms,
                    earliest_end_ms: now_ms.saturating_add(THROUGHPUT_COMMITMENT_MS_MIN),
                    ended_ms: None,
                });
            }
            (true, _, Some(c)) => c.ended_ms = None,
            (false, CommitmentStatus::Enabled, Some(c)) => c.ended_ms = Some(c.earliest_end_ms.max(now_ms)),
            _ => {}
        }
    }
}

/// Why a tag is refused: its length breaks the API model (ValidationException), or its
/// characters or prefix break Kinesis' rules (InvalidArgumentException).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagRefused {
    #[error("{0}")]
    Length(String),
    #[error("{0}")]
    Invalid(String),
}

/// Tag characters Kinesis accepts: Unicode letters and digits, white space, `_ . / = + - @ :`.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || matches!(c, '_' | '.' | '/' | '=' | '+' | '-' | '@' | ':')
}

pub fn check_tag_key(key: &str) -> Result<(), TagRefused> {
    let chars = key.chars().count();
    if !(TAG_KEY_CHARS_MIN..=TAG_KEY_CHARS_MAX).contains(&chars) {
        return Err(TagRefused::Length(format!(
            "Tag keys must be {TAG_KEY_CHARS_MIN} to {TAG_KEY_CHARS_MAX} characters, got {chars}"
        )));
    }
    if !key.chars().all(tag_char) {
        return Err(TagRefused::Invalid(INVALID_CHARACTERS.into()));
    }
    if key.starts_with("aws:") {
        return Err(TagRefused::Invalid("Tag keys starting with 'aws:' are reserved for AWS use.".into()));
    }
    Ok(())
}

pub fn check_tag(key: &str, value: &str) -> Result<(), TagRefused> {
    check_tag_key(key)?;
    let chars = value.chars().count();
    if chars > TAG_VALUE_CHARS_MAX {
        return Err(TagRefused::Length(format!(
            "Tag values must be at most {TAG_VALUE_CHARS_MAX} characters, got {chars}"
        )));
    }
    if !value.chars().all(tag_char) {
        return Err(TagRefused::Invalid(INVALID_CHARACTERS.into()));
    }
    Ok(())
}

pub const INVALID_CHARACTERS: &str =
    "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - @ :.";

/// The policy document as Kinesis takes it: a JSON object of at most
/// `RESOURCE_POLICY_BYTES_MAX` bytes. `Err(true)` when too large, `Err(false)` when not JSON.
pub fn check_policy(policy: &str) -> Result<(), bool> {
    if policy.len() > RESOURCE_POLICY_BYTES_MAX {
        return Err(true);
    }
    match serde_json::from_str::<serde_json::Value>(policy) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(false),
    }
}

impl StreamMeta {
    /// The open shards this stream has once the reshard or scaling under way is done.
    pub fn shards_committed(&self) -> u64 {
        let open = self.open_shards().count() as u64;
        match (&self.scaling_target, &self.reshard) {
            (Some(target), _) => u64::from(*target).max(open),
            (None, Some(r)) => (open + r.children.len() as u64).saturating_sub(r.parents.len() as u64),
            (None, None) => open,
        }
    }
}

impl MetaState {
    /// Open shards of every stream not being deleted, counting reshards and scalings under
    /// way as done: what the cluster's shard limit bounds.
    pub fn shards_committed(&self) -> u64 {
        self.streams.values().filter(|s| s.status != StreamStatus::Deleting).map(|s| s.shards_committed()).sum()
    }

    /// Open shards `command` would add to the cluster (never negative).
    fn shards_added(&self, command: &MetaCommand) -> u64 {
        match command {
            MetaCommand::CreateStream { shard_count, .. } => u64::from(*shard_count),
            MetaCommand::SplitShard { .. } => 1,
            MetaCommand::UpdateShardCount { name, target, .. } => {
                let now = self.streams.get(name).map_or(0, |s| s.shards_committed());
                u64::from(*target).saturating_sub(now)
            }
            _ => 0,
        }
    }

    /// `ShardLimited`: the inner command, unless the cluster would then hold more than
    /// `shard_limit` open shards; a CreateStream's tags go on the new stream in the same step.
    pub(super) fn apply_shard_limited(&mut self, shard_limit: u32, tags: &Tags, command: &MetaCommand) -> MetaResult {
        let create = match command {
            MetaCommand::CreateStream { name, .. } => Some(name.clone()),
            MetaCommand::SplitShard { .. } | MetaCommand::UpdateShardCount { .. } => None,
            other => return MetaResult::Refused(format!("{other:?} is not limited by shards")),
        };
        if create.is_none() && !tags.is_empty() {
            return MetaResult::Refused("only a CreateStream carries tags".into());
        }
        if let Err(refused) = check_new_tags(&Tags::new(), tags) {
            return refused;
        }
        let would_be = self.shards_committed().saturating_add(self.shards_added(command));
        if would_be > u64::from(shard_limit) {
            return MetaResult::LimitExceeded(format!(
                "This request would exceed the shard limit of {shard_limit} for the cluster ({would_be} open shards)."
            ));
        }
        let result = self.apply(command);
        if let (MetaResult::Ok, Some(name)) = (&result, create) {
            if let Some(stream) = self.streams.get_mut(&name) {
                stream.tags = tags.clone();
            }
        }
        result
    }

    pub(super) fn apply_attributes(&mut self, command: &MetaCommand) -> MetaResult {
        match command {
            MetaCommand::ShardLimited { shard_limit, tags, command } => {
                self.apply_shard_limited(*shard_limit, tags, command)
            }
            MetaCommand::AddTags { name, tags } => self.with_stream(name, |stream| {
                check_new_tags(&stream.tags, tags)?;
                stream.tags.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
                Ok(MetaResult::Ok)
            }),
            MetaCommand::RemoveTags { name, keys } => self.with_stream(name, |stream| {
                for key in keys {
                    stream.tags.remove(key);
                }
                Ok(MetaResult::Ok)
            }),
            MetaCommand::PutPolicy { name, policy } => self.with_stream(name, |stream| {
                check_policy(policy).map_err(|too_large| {
                    if too_large {
                        MetaResult::LimitExceeded(format!("a policy is at most {RESOURCE_POLICY_BYTES_MAX} bytes"))
                    } else {
                        MetaResult::Refused("the policy is not a JSON object".into())
                    }
                })?;
                stream.policy = Some(policy.clone());
                Ok(MetaResult::Ok)
            }),
            MetaCommand::DeletePolicy { name } => self.with_stream(name, |stream| match stream.policy.take() {
                Some(_) => Ok(MetaResult::Ok),
                None => Ok(MetaResult::NoPolicy),
            }),
            MetaCommand::SetMonitoring { name, metrics, enable } => self.with_stream(name, |stream| {
                if stream.status != StreamStatus::Active {
                    return Err(MetaResult::NotActive(stream.status));
                }
                let current: Vec<ShardMetric> = stream.shard_level_metrics.iter().copied().collect();
                for metric in metrics {
                    if *enable {
                        stream.shard_level_metrics.insert(*metric);
                    } else {
                        stream.shard_level_metrics.remove(metric);
                    }
                }
                let desired = stream.shard_level_metrics.iter().copied().collect();
                Ok(MetaResult::Monitoring { current, desired })
            }),
            MetaCommand::UpdateAccountSettings { enable_commitment, now_ms } => {
                self.account.update(*enable_commitment, *now_ms);
                MetaResult::Account(self.account.clone())
            }
            other => MetaResult::Refused(format!("{other:?} is not an attribute command")),
        }
    }

    /// Runs `change` on the named stream; an `Err` result changes nothing.
    fn with_stream(
        &mut self,
        name: &StreamName,
        change: impl FnOnce(&mut StreamMeta) -> Result<MetaResult, MetaResult>,
    ) -> MetaResult {
        let Some(stream) = self.streams.get_mut(name) else {
            return MetaResult::StreamNotFound(name.clone());
        };
        if stream.status == StreamStatus::Deleting {
            return MetaResult::StreamNotFound(name.clone());
        }
        let before = stream.clone();
        match change(stream) {
            Ok(result) => result,
            Err(refused) => {
                *stream = before;
                refused
            }
        }
    }
}

/// Adding `new` to `existing` keeps every tag well formed and at most `STREAM_TAGS_MAX`.
pub(super) fn check_new_tags(existing: &Tags, new: &Tags) -> Result<(), MetaResult> {
    for (key, value) in new {
        check_tag(key, value).map_err(|e| MetaResult::Refused(e.to_string()))?;
    }
    let total = existing.keys().chain(new.keys()).collect::<BTreeSet<_>>().len();
    if total > STREAM_TAGS_MAX {
        return Err(MetaResult::LimitExceeded(format!(
            "a given stream cannot have more than {STREAM_TAGS_MAX} tags associated with it ({total} requested)."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::state::StreamMode;
    use crate::domain::{GroupId, ShardId};

    fn name(s: &str) -> StreamName {
        StreamName::parse(s).unwrap()
    }

    fn create(s: &str, shards: u32) -> MetaCommand {
        MetaCommand::CreateStream {
            name: name(s),
            shard_count: shards,
            mode: StreamMode::Provisioned,
            created_ms: 1,
            replication_factor: 3,
            retention_hours: 24,
            max_record_size_kib: crate::limits::MAX_RECORD_SIZE_KIB_DEFAULT,
            warm_mibps: None,
        }
    }

    fn limited(limit: u32, tags: &[(&str, &str)], command: MetaCommand) -> MetaCommand {
        let tags = tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        MetaCommand::ShardLimited { shard_limit: limit, tags, command: Box::new(command) }
    }

    fn tags(n: usize, prefix: &str) -> Tags {
        (0..n).map(|i| (format!("{prefix}{i}"), format!("v{i}"))).collect()
    }

    /// Three nodes, stream `s` of `shards` shards, ACTIVE.
    fn active(shards: u32) -> MetaState {
        let mut state =
            MetaState { nodes: (1..=3).map(|i| (i, format!("http://n{i}"))).collect(), ..Default::default() };
        assert_eq!(state.apply(&create("s", shards)), MetaResult::Ok);
        for g in 1..=u64::from(shards) {
            state.apply(&MetaCommand::ShardReady { group: GroupId(g) });
        }
        assert_eq!(state.streams[&name("s")].status, StreamStatus::Active);
        state
    }

    #[test]
    fn the_shard_limit_counts_every_stream_and_reshards_under_way() {
        let mut state = active(3);
        let before = state.clone();
        assert!(matches!(state.apply(&limited(4, &[], create("t", 2))), MetaResult::LimitExceeded(_)));
        assert_eq!(state, before, "a refused create changes nothing");
        assert_eq!(state.apply(&limited(5, &[("team", "a")], create("t", 2))), MetaResult::Ok);
        assert_eq!(state.streams[&name("t")].tags.get("team").map(String::as_str), Some("a"));
        assert_eq!(state.shards_committed(), 5);
        for g in [4, 5] {
            state.apply(&MetaCommand::ShardReady { group: GroupId(g) });
        }
        // A split adds one shard: refused at the limit, accepted above it and counted at once.
        let split = MetaCommand::SplitShard { name: name("s"), shard: ShardId(0), new_starting_hash: 1 << 64 };
        assert!(matches!(state.apply(&limited(5, &[], split.clone())), MetaResult::LimitExceeded(_)));
        assert_eq!(state.apply(&limited(6, &[], split)), MetaResult::Ok);
        assert_eq!(state.shards_committed(), 6);
        let scale =
            |target| MetaCommand::UpdateShardCount { name: name("t"), target, now_ms: 1, scalings_per_window_max: 10 };
        assert!(matches!(state.apply(&limited(7, &[], scale(4))), MetaResult::LimitExceeded(_)));
        assert!(matches!(state.apply(&limited(8, &[], scale(4))), MetaResult::Scaling { current: 2 }));
        assert_eq!(state.shards_committed(), 8);
        // Deleting streams free their shards.
        state.apply(&MetaCommand::DeleteStream { name: name("t") });
        assert_eq!(state.shards_committed(), 4);
        // Only commands that add shards are wrapped, and only a create carries tags.
        let delete = MetaCommand::DeleteStream { name: name("s") };
        assert!(matches!(state.apply(&limited(9, &[], delete)), MetaResult::Refused(_)));
        let split2 = MetaCommand::SplitShard { name: name("s"), shard: ShardId(1), new_starting_hash: 1 << 100 };
        assert!(matches!(state.apply(&limited(99, &[("a", "b")], split2)), MetaResult::Refused(_)));
    }

    #[test]
    fn tags_are_checked_again_when_applied_and_capped_at_fifty() {
        let mut state = active(1);
        let add = |tags: Tags| MetaCommand::AddTags { name: name("s"), tags };
        assert_eq!(state.apply(&add(tags(10, "a"))), MetaResult::Ok);
        assert_eq!(state.apply(&add(tags(10, "a"))), MetaResult::Ok, "overwriting keys adds none");
        for batch in ["b", "c", "d", "e"] {
            assert_eq!(state.apply(&add(tags(10, batch))), MetaResult::Ok);
        }
        assert_eq!(state.streams[&name("s")].tags.len(), 50);
        let before = state.clone();
        assert!(matches!(state.apply(&add(tags(1, "f"))), MetaResult::LimitExceeded(_)));
        for bad in [("aws:x", "v"), ("", "v"), ("k%", "v"), ("k", "v\u{0}")] {
            let one: Tags = [(bad.0.to_string(), bad.1.to_string())].into();
            assert!(matches!(state.apply(&add(one)), MetaResult::Refused(_)), "{bad:?}");
        }
        assert_eq!(state, before);
        let remove = MetaCommand::RemoveTags { name: name("s"), keys: vec!["a0".into(), "nope".into()] };
        assert_eq!(state.apply(&remove), MetaResult::Ok);
        assert_eq!(state.streams[&name("s")].tags.len(), 49);
        let gone = MetaCommand::AddTags { name: name("x"), tags: tags(1, "a") };
        assert_eq!(state.apply(&gone), MetaResult::StreamNotFound(name("x")));
    }

    #[test]
    fn policies_must_be_small_json_objects_and_delete_says_when_there_was_none() {
        let mut state = active(1);
        let put = |policy: &str| MetaCommand::PutPolicy { name: name("s"), policy: policy.into() };
        assert!(matches!(state.apply(&put("not json")), MetaResult::Refused(_)));
        assert!(matches!(state.apply(&put("[1]")), MetaResult::Refused(_)));
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(RESOURCE_POLICY_BYTES_MAX));
        assert!(matches!(state.apply(&put(&big)), MetaResult::LimitExceeded(_)));
        assert_eq!(state.streams[&name("s")].policy, None);
        assert_eq!(state.apply(&put("{\"Version\":\"2012-10-17\"}")), MetaResult::Ok);
        assert_eq!(state.streams[&name("s")].policy.as_deref(), Some("{\"Version\":\"2012-10-17\"}"));
        assert_eq!(state.apply(&MetaCommand::DeletePolicy { name: name("s") }), MetaResult::Ok);
        assert_eq!(state.apply(&MetaCommand::DeletePolicy { name: name("s") }), MetaResult::NoPolicy);
    }

    #[test]
    fn monitoring_reports_before_and_after_and_needs_an_active_stream() {
        let mut state = active(1);
        let set = |metrics: Vec<ShardMetric>, enable| MetaCommand::SetMonitoring { name: name("s"), metrics, enable };
        let on = state.apply(&set(vec![ShardMetric::IncomingBytes, ShardMetric::OutgoingBytes], true));
        assert_eq!(
            on,
            MetaResult::Monitoring {
                current: vec![],
                desired: vec![ShardMetric::IncomingBytes, ShardMetric::OutgoingBytes]
            }
        );
        let off = state.apply(&set(ShardMetric::ALL.to_vec(), false));
        assert_eq!(
            off,
            MetaResult::Monitoring {
                current: vec![ShardMetric::IncomingBytes, ShardMetric::OutgoingBytes],
                desired: vec![]
            }
        );
        state.streams.get_mut(&name("s")).unwrap().status = StreamStatus::Updating;
        assert_eq!(
            state.apply(&set(vec![ShardMetric::IncomingBytes], true)),
            MetaResult::NotActive(StreamStatus::Updating)
        );
        assert!(state.streams[&name("s")].shard_level_metrics.is_empty());
    }

    #[test]
    fn a_commitment_ends_no_sooner_than_its_earliest_allowed_end() {
        let mut state = MetaState::default();
        let update = |enable, now_ms| MetaCommand::UpdateAccountSettings { enable_commitment: enable, now_ms };
        assert_eq!(state.account.status(0), CommitmentStatus::Disabled);
        state.apply(&update(true, 1_000));
        let c = state.account.commitment.unwrap();
        assert_eq!((c.started_ms, c.earliest_end_ms, c.ended_ms), (1_000, 1_000 + THROUGHPUT_COMMITMENT_MS_MIN, None));
        state.apply(&update(false, 2_000));
        assert_eq!(state.account.status(2_000), CommitmentStatus::EnabledUntilEarliestAllowedEnd);
        assert_eq!(state.account.status(1_000 + THROUGHPUT_COMMITMENT_MS_MIN), CommitmentStatus::Disabled);
        // Enabling again before the end cancels it and keeps the start.
        state.apply(&update(true, 3_000));
        assert_eq!(state.account.status(i64::MAX), CommitmentStatus::Enabled);
        assert_eq!(state.account.commitment.unwrap().started_ms, 1_000);
        let late = 1_000 + THROUGHPUT_COMMITMENT_MS_MIN + 5;
        state.apply(&update(false, late));
        assert_eq!(state.account.commitment.unwrap().ended_ms, Some(late));
        assert_eq!(state.account.status(late), CommitmentStatus::Disabled);
    }

    /// The attributes are part of the persisted state and of snapshots.
    #[test]
    fn attributes_survive_encoding_as_applied_state_and_snapshot() {
        let mut state = active(1);
        state.apply(&MetaCommand::AddTags { name: name("s"), tags: tags(3, "t") });
        state.apply(&MetaCommand::PutPolicy { name: name("s"), policy: "{}".into() });
        state.apply(&MetaCommand::SetMonitoring { name: name("s"), metrics: ShardMetric::ALL.to_vec(), enable: true });
        state.apply(&MetaCommand::UpdateAccountSettings { enable_commitment: true, now_ms: 5 });
        let snapshot = crate::control::applied::encode_state(&state).unwrap();
        assert_eq!(crate::control::applied::decode_state(&snapshot).unwrap(), state);
        let applied = crate::control::MetaApplied { state: state.clone(), ..Default::default() };
        let engine = crate::storage::memory::MemoryEngine::default();
        let mut out = crate::storage::Batch::default();
        applied.put_whole(&mut out, GroupId(0)).unwrap();
        crate::storage::Engine::write(&engine, out).unwrap();
        assert_eq!(crate::control::MetaApplied::load(&engine, GroupId(0)).unwrap(), applied);
        let stream = &state.streams[&name("s")];
        assert_eq!((stream.tags.len(), stream.policy.as_deref(), stream.shard_level_metrics.len()), (3, Some("{}"), 7));
    }

    #[test]
    fn metric_names_parse_and_all_means_every_one() {
        assert_eq!(ShardMetric::parse("ALL").unwrap().len(), 7);
        assert_eq!(ShardMetric::parse("IteratorAgeMilliseconds"), Some(vec![ShardMetric::IteratorAgeMilliseconds]));
        assert_eq!(ShardMetric::parse("incomingbytes"), None);
        for m in ShardMetric::ALL {
            assert_eq!(ShardMetric::parse(m.as_kinesis()), Some(vec![m]));
        }
    }

    #[test]
    fn tag_rules() {
        assert!(check_tag("Team Name_1.a/b=c+d-e@f:g", "é ü 東京").is_ok());
        assert!(check_tag(&"k".repeat(TAG_KEY_CHARS_MAX), &"v".repeat(TAG_VALUE_CHARS_MAX)).is_ok());
        assert!(check_tag("k", "").is_ok());
        assert!(matches!(check_tag(&"k".repeat(TAG_KEY_CHARS_MAX + 1), ""), Err(TagRefused::Length(_))));
        assert!(matches!(check_tag("k", &"v".repeat(TAG_VALUE_CHARS_MAX + 1)), Err(TagRefused::Length(_))));
        assert!(matches!(check_tag("", "v"), Err(TagRefused::Length(_))));
        assert!(matches!(check_tag("a%b", "v"), Err(TagRefused::Invalid(_))));
        assert!(matches!(check_tag("k", "v*"), Err(TagRefused::Invalid(_))));
        assert!(matches!(check_tag("aws:k", "v"), Err(TagRefused::Invalid(_))));
    }
}
