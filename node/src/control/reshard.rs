//! Splits, merges and UNIFORM_SCALING, as the metadata group decides them.
//!
//! A reshard moves no data. It is recorded (`Reshard`, the stream UPDATING), then the
//! metadata leader seals each parent with an entry in the parent's own log (writes ordered
//! before the seal land in the parent, writes after it are refused there), then
//! `complete` closes the parents at their ending counters and opens the children above
//! them. Every step is a committed command checked again when applied, so racing or
//! repeated proposals (a new leader redoing a step) change nothing twice.
//!
//! Scaling is a series of such steps planned from the state alone (`next_scaling_step`):
//! one at a time, left to right over the target ranges, so the open shard count never
//! exceeds the larger of the current and target counts by more than one.

use super::placement::replicas_for;
use super::state::{Closed, MetaState, Reshard, ShardMeta, StreamMeta, StreamStatus};
use crate::domain::{GroupId, HashKeyRange, NodeId, ShardId};
use crate::limits::{SCALING_WINDOW_MS, SHARDS_PER_STREAM_MAX, STREAM_SHARDS_KEPT_MAX};

/// Why a reshard was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReshardRefused {
    /// The stream is not ACTIVE (another change is under way, or it is being created or deleted).
    NotActive(StreamStatus),
    ShardNotFound(ShardId),
    /// A closed shard, a key outside the range, shards that are not adjacent... (InvalidArgument).
    Invalid(String),
    /// Over a shard or scaling limit.
    Limit(String),
}

/// The open shards in hash-key order.
fn open_by_range(stream: &StreamMeta) -> Vec<&ShardMeta> {
    let mut open: Vec<&ShardMeta> = stream.open_shards().collect();
    open.sort_by_key(|s| s.start_hash);
    open
}

fn check_active(stream: &StreamMeta) -> Result<(), ReshardRefused> {
    match stream.status {
        StreamStatus::Active => Ok(()),
        other => Err(ReshardRefused::NotActive(other)),
    }
}

/// An open shard of the stream, or why not.
fn open_shard(stream: &StreamMeta, id: ShardId) -> Result<&ShardMeta, ReshardRefused> {
    let shard = stream.shard(id).ok_or(ReshardRefused::ShardNotFound(id))?;
    if !shard.is_open() || stream.reshard.as_ref().is_some_and(|r| r.parents.contains(&id)) {
        return Err(ReshardRefused::Invalid(format!("Shard {id} has already been merged or split.")));
    }
    Ok(shard)
}

/// Closed shards are kept (until retention expires them), so the metadata stays bounded
/// only if reshards stop at a total.
fn check_kept(stream: &StreamMeta, new_total: usize) -> Result<(), ReshardRefused> {
    if stream.shards.len() + new_total > STREAM_SHARDS_KEPT_MAX {
        return Err(ReshardRefused::Limit(format!(
            "The stream keeps at most {STREAM_SHARDS_KEPT_MAX} shards, open and closed."
        )));
    }
    Ok(())
}

/// SplitShard: the children take `[start, at - 1]` and `[at, end]`.
pub fn plan_split(stream: &StreamMeta, id: ShardId, at: u128) -> Result<Reshard, ReshardRefused> {
    check_active(stream)?;
    let parent = open_shard(stream, id)?;
    if !(parent.start_hash < at && at <= parent.end_hash) {
        return Err(ReshardRefused::Invalid(format!(
            "NewStartingHashKey {at} must be greater than the StartingHashKey {} and at most the EndingHashKey {} of shard {id}.",
            parent.start_hash, parent.end_hash
        )));
    }
    // One more open shard (a split's net change), two more kept.
    if stream.open_shards().count() >= SHARDS_PER_STREAM_MAX as usize {
        return Err(ReshardRefused::Limit(format!(
            "This request would exceed the shard limit of {SHARDS_PER_STREAM_MAX} open shards for the stream."
        )));
    }
    check_kept(stream, 2)?;
    Ok(Reshard { parents: vec![id], children: vec![(parent.start_hash, at - 1), (at, parent.end_hash)] })
}

/// MergeShards: one child takes the union of two adjacent open shards.
pub fn plan_merge(stream: &StreamMeta, id: ShardId, adjacent: ShardId) -> Result<Reshard, ReshardRefused> {
    check_active(stream)?;
    if id == adjacent {
        return Err(ReshardRefused::Invalid(format!("Cannot merge shard {id} with itself.")));
    }
    let a = open_shard(stream, id)?;
    let b = open_shard(stream, adjacent)?;
    let (low, high) = if a.start_hash < b.start_hash { (a, b) } else { (b, a) };
    if low.end_hash.checked_add(1) != Some(high.start_hash) {
        return Err(ReshardRefused::Invalid(format!("Shards {id} and {adjacent} are not adjacent.")));
    }
    check_kept(stream, 1)?;
    Ok(Reshard { parents: vec![id, adjacent], children: vec![(low.start_hash, high.end_hash)] })
}

/// How far (in hundredths of a target range) an existing boundary may be from an even one
/// and still serve: rounding makes even ranges of different counts miss each other by a
/// key, and cutting off one-key shards only to merge them away helps no one.
const SCALING_SNAP_PERCENT: u128 = 1;

/// The ranges UNIFORM_SCALING aims at: `target` even ranges, each boundary moved to an
/// open shard's boundary within `SCALING_SNAP_PERCENT` of it.
fn scaling_targets(open: &[&ShardMeta], target: u32) -> Vec<(u128, u128)> {
    let tolerance = u128::MAX / u128::from(target) / 100 * SCALING_SNAP_PERCENT;
    let mut starts = vec![0u128];
    for range in HashKeyRange::split_evenly(target).iter().skip(1) {
        let even = range.start.0;
        let near = open
            .iter()
            .map(|s| s.start_hash)
            .filter(|s| s.abs_diff(even) <= tolerance)
            .min_by_key(|s| s.abs_diff(even));
        starts.push(near.unwrap_or(even));
    }
    let mut ranges = Vec::with_capacity(starts.len());
    for (i, start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(u128::MAX, |next| next - 1);
        ranges.push((*start, end));
    }
    ranges
}

/// The next split or merge towards `target` open shards spread evenly over the key space,
/// or `None` when the open shards are the target ranges.
pub fn next_scaling_step(stream: &StreamMeta, target: u32) -> Option<Reshard> {
    if target == 0 {
        return None;
    }
    let open = open_by_range(stream);
    for (start, end) in scaling_targets(&open, target) {
        // A shard across the end of this range: split it there.
        if let Some(across) = open.iter().find(|s| s.start_hash <= end && end < s.end_hash) {
            return Some(Reshard {
                parents: vec![across.id],
                children: vec![(across.start_hash, end), (end + 1, across.end_hash)],
            });
        }
        // Shards within this range: merge the first two (adjacent, being in key order).
        let inside: Vec<&&ShardMeta> = open.iter().filter(|s| s.start_hash >= start && s.end_hash <= end).collect();
        if let [first, second, ..] = inside.as_slice() {
            return Some(Reshard {
                parents: vec![first.id, second.id],
                children: vec![(first.start_hash, second.end_hash)],
            });
        }
    }
    None
}

/// UpdateShardCount: checks the bounds and the rolling-window count, records the call and
/// plans the first step. Returns the open shard count before.
pub fn begin_scaling(
    stream: &mut StreamMeta,
    target: u32,
    now_ms: i64,
    scalings_per_window_max: u32,
) -> Result<u32, ReshardRefused> {
    check_active(stream)?;
    let current = stream.open_shards().count() as u32;
    if target > SHARDS_PER_STREAM_MAX {
        return Err(ReshardRefused::Limit(format!(
            "TargetShardCount {target} exceeds the shard limit of {SHARDS_PER_STREAM_MAX} for the stream."
        )));
    }
    if target == 0 || u64::from(target) > 2 * u64::from(current) || 2 * u64::from(target) < u64::from(current) {
        return Err(ReshardRefused::Invalid(format!(
            "TargetShardCount {target} must be between half and double the current open shard count {current}."
        )));
    }
    // Each step adds at most two shards; there are at most `current + target` steps.
    check_kept(stream, 2 * (current + target) as usize)?;
    stream.scalings_ms.retain(|t| now_ms.saturating_sub(*t) < SCALING_WINDOW_MS);
    if stream.scalings_ms.len() >= scalings_per_window_max as usize {
        return Err(ReshardRefused::Limit(format!(
            "UpdateShardCount may be called at most {scalings_per_window_max} times per rolling 24 hours on stream {}.",
            stream.name
        )));
    }
    stream.scalings_ms.push(now_ms);
    stream.scaling_target = Some(target);
    stream.reshard = next_scaling_step(stream, target);
    if stream.reshard.is_some() {
        stream.status = StreamStatus::Updating;
    } else {
        stream.scaling_target = None;
    }
    Ok(current)
}

/// Records a planned split or merge; the stream is UPDATING until it completes.
pub fn begin(stream: &mut StreamMeta, reshard: Reshard) -> Result<(), ReshardRefused> {
    check_active(stream)?;
    stream.reshard = Some(reshard);
    stream.status = StreamStatus::Updating;
    Ok(())
}

impl MetaState {
    /// The parents of the stream's reshard are sealed at `endings` (each parent's newest
    /// counter): close them, open the children above every parent's ending counter, and
    /// plan the next scaling step if any. A completion that does not match the reshard
    /// under way (a repeat, or a stale leader's) changes nothing.
    pub fn complete_reshard(
        &mut self,
        name: &crate::domain::StreamName,
        incarnation: u64,
        endings: &[(ShardId, u64)],
        now_ms: i64,
    ) -> Result<(), String> {
        let nodes: Vec<NodeId> = self.nodes.keys().copied().collect();
        let next_group = self.next_group.max(1);
        let stream = self.streams.get_mut(name).ok_or_else(|| format!("no stream {name}"))?;
        if stream.incarnation != incarnation {
            return Err(format!("stream {name} was deleted and created again"));
        }
        let reshard = stream.reshard.clone().ok_or_else(|| format!("no reshard under way on {name}"))?;
        let sealed: Vec<ShardId> = endings.iter().map(|(id, _)| *id).collect();
        if sealed != reshard.parents {
            return Err(format!("sealed {sealed:?}, but the reshard's parents are {:?}", reshard.parents));
        }
        let mut ending_max = 0u64;
        let mut replication = 0usize;
        for (id, last) in endings {
            let parent = stream.shard(*id).ok_or_else(|| format!("no shard {id}"))?;
            // An empty parent still ends at or above where it started.
            ending_max = ending_max.max((*last).max(parent.starting_counter));
            replication = replication.max(parent.replicas.len());
        }
        let Some(starting_counter) = ending_max.checked_add(1).filter(|c| *c < u64::MAX) else {
            return Err("the parents used every sequence number".into());
        };
        let count = reshard.children.len() as u64;
        let Some(after_groups) = next_group.checked_add(count) else {
            return Err("group ids are exhausted".into());
        };
        let Some(after_ids) = stream.next_shard.checked_add(count as u32) else {
            return Err("shard ids are exhausted".into());
        };
        let mut children = Vec::with_capacity(reshard.children.len());
        for (i, (start, end)) in reshard.children.iter().enumerate() {
            let group = GroupId(next_group + i as u64);
            let replicas = replicas_for(group, &nodes, replication)
                .ok_or_else(|| format!("cannot place {replication} replicas on {} nodes", nodes.len()))?;
            children.push(ShardMeta {
                id: ShardId(stream.next_shard + i as u32),
                group,
                start_hash: *start,
                end_hash: *end,
                replicas,
                ready: false,
                starting_counter,
                parents: reshard.parents.clone(),
                opened_ms: now_ms,
                closed: None,
            });
        }
        for (id, last) in endings {
            if let Some(parent) = stream.shards.iter_mut().find(|s| s.id == *id) {
                let ending_counter = (*last).max(parent.starting_counter);
                parent.closed = Some(Closed { ending_counter, closed_ms: now_ms });
            }
        }
        stream.shards.extend(children);
        stream.next_shard = after_ids;
        stream.reshard = stream.scaling_target.and_then(|target| next_scaling_step(stream, target));
        if stream.reshard.is_none() {
            stream.scaling_target = None;
        }
        self.next_group = after_groups;
        assert_tiles(stream);
        Ok(())
    }
}

/// The open shards tile the key space exactly, and every child's range lies within its
/// parents'. Broken only by a bug in this file: applied metadata that breaks it cannot be
/// trusted, so this stops the node.
pub fn assert_tiles(stream: &StreamMeta) {
    let open = open_by_range(stream);
    assert_eq!(open.first().map(|s| s.start_hash), Some(0), "{}: the open shards start at 0", stream.name);
    assert_eq!(open.last().map(|s| s.end_hash), Some(u128::MAX), "{}: the open shards end at 2^128-1", stream.name);
    for pair in open.windows(2) {
        assert_eq!(
            pair[0].end_hash.checked_add(1),
            Some(pair[1].start_hash),
            "{}: open shards {} and {} leave a gap or overlap",
            stream.name,
            pair[0].id,
            pair[1].id
        );
    }
    for child in stream.shards.iter().filter(|s| !s.parents.is_empty()) {
        let parents: Vec<&ShardMeta> = child.parents.iter().filter_map(|p| stream.shard(*p)).collect();
        // Parents close together and so expire together (control/retention.rs).
        if parents.is_empty() {
            continue;
        }
        let low = parents.iter().map(|p| p.start_hash).min();
        let high = parents.iter().map(|p| p.end_hash).max();
        assert!(
            low.is_some_and(|l| l <= child.start_hash) && high.is_some_and(|h| child.end_hash <= h),
            "{}: child {} lies outside its parents",
            stream.name,
            child.id
        );
        assert!(
            parents.iter().all(|p| p.closed.is_some_and(|c| c.ending_counter < child.starting_counter)),
            "{}: child {} starts above its closed parents",
            stream.name,
            child.id
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::command::{MetaCommand, MetaResult};
    use crate::control::state::StreamMode;
    use crate::domain::StreamName;

    fn name() -> StreamName {
        StreamName::parse("s").unwrap()
    }

    /// A cluster of three nodes with an ACTIVE stream of `shards` shards.
    fn active(shards: u32) -> MetaState {
        let mut state =
            MetaState { nodes: (1..=3).map(|i| (i, format!("http://n{i}"))).collect(), ..Default::default() };
        let create = MetaCommand::CreateStream {
            name: name(),
            shard_count: shards,
            mode: StreamMode::Provisioned,
            created_ms: 1,
            replication_factor: 3,
            retention_hours: 24,
            max_record_size_kib: crate::limits::MAX_RECORD_SIZE_KIB_DEFAULT,
            warm_mibps: None,
        };
        assert_eq!(state.apply(&create), MetaResult::Ok);
        let groups: Vec<GroupId> = state.groups().map(|(_, s)| s.group).collect();
        for group in groups {
            state.apply(&MetaCommand::ShardReady { group });
        }
        assert_eq!(stream(&state).status, StreamStatus::Active);
        state
    }

    fn stream(state: &MetaState) -> &StreamMeta {
        &state.streams[&name()]
    }

    /// What the metadata leader does: seal every parent (each at `last` records) and
    /// complete; then the children's groups report ready.
    fn finish_step(state: &mut MetaState, last: u64) -> MetaResult {
        let s = stream(state);
        let reshard = s.reshard.clone().expect("a reshard under way");
        let endings = reshard.parents.iter().map(|p| (*p, last)).collect();
        let result = state.apply(&MetaCommand::CompleteReshard {
            name: name(),
            incarnation: s.incarnation,
            endings,
            now_ms: 50,
        });
        let unready: Vec<GroupId> = stream(state).open_shards().filter(|s| !s.ready).map(|s| s.group).collect();
        for group in unready {
            state.apply(&MetaCommand::ShardReady { group });
        }
        result
    }

    #[test]
    fn a_split_closes_the_parent_above_its_last_record_and_children_take_the_halves() {
        let mut state = active(2);
        let parent = stream(&state).shards[0].clone();
        let at = parent.start_hash + 1000;
        let split = MetaCommand::SplitShard { name: name(), shard: ShardId(0), new_starting_hash: at };
        assert_eq!(state.apply(&split), MetaResult::Ok);
        assert_eq!(stream(&state).status, StreamStatus::Updating);
        // A second change while one is under way is refused; so is splitting the same shard.
        assert_eq!(state.apply(&split), MetaResult::NotActive(StreamStatus::Updating));
        let before = state.clone();
        assert_eq!(finish_step(&mut state, 41), MetaResult::Ok);
        let s = stream(&state);
        assert_eq!(s.status, StreamStatus::Active);
        assert_eq!(s.shard(ShardId(0)).unwrap().closed.map(|c| c.ending_counter), Some(41));
        let children: Vec<&ShardMeta> = s.children_of(ShardId(0)).collect();
        assert_eq!(children.iter().map(|c| c.id).collect::<Vec<_>>(), vec![ShardId(2), ShardId(3)]);
        assert_eq!((children[0].start_hash, children[0].end_hash), (parent.start_hash, at - 1));
        assert_eq!((children[1].start_hash, children[1].end_hash), (at, parent.end_hash));
        assert!(children.iter().all(|c| c.starting_counter == 42 && c.parents == vec![ShardId(0)]));
        // New groups, never reused, placed like new shards.
        assert_eq!(children[0].group, GroupId(before.next_group));
        assert_eq!(children[0].replicas.len(), 3);
        // A repeated completion (a new leader redoing the step) changes nothing.
        let after = state.clone();
        let repeat = MetaCommand::CompleteReshard {
            name: name(),
            incarnation: s.incarnation,
            endings: vec![(ShardId(0), 41)],
            now_ms: 60,
        };
        assert!(matches!(state.apply(&repeat), MetaResult::Refused(_)));
        assert_eq!(state, after);
        // The closed parent cannot be split again.
        let again = MetaCommand::SplitShard { name: name(), shard: ShardId(0), new_starting_hash: at };
        assert!(
            matches!(state.apply(&again), MetaResult::Refused(why) if why.contains("already been merged or split"))
        );
    }

    #[test]
    fn split_keys_outside_the_open_interior_are_refused() {
        let mut state = active(2);
        let parent = stream(&state).shards[1].clone();
        let before = state.clone();
        for bad in [parent.start_hash, parent.start_hash - 1, 0] {
            let split = MetaCommand::SplitShard { name: name(), shard: ShardId(1), new_starting_hash: bad };
            assert!(matches!(state.apply(&split), MetaResult::Refused(_)), "{bad}");
        }
        let missing = MetaCommand::SplitShard { name: name(), shard: ShardId(9), new_starting_hash: 5 };
        assert_eq!(state.apply(&missing), MetaResult::ShardNotFound(ShardId(9)));
        assert_eq!(state, before);
        // The largest key is allowed: the second child is one key wide.
        let split = MetaCommand::SplitShard { name: name(), shard: ShardId(1), new_starting_hash: u128::MAX };
        assert_eq!(state.apply(&split), MetaResult::Ok);
        finish_step(&mut state, 0);
        let last = stream(&state).shard(ShardId(3)).unwrap();
        assert_eq!((last.start_hash, last.end_hash), (u128::MAX, u128::MAX));
        // An empty parent ends at its starting counter; its children start above it.
        assert_eq!(last.starting_counter, 2);
    }

    #[test]
    fn merges_need_two_distinct_adjacent_open_shards() {
        let mut state = active(3);
        let before = state.clone();
        for (a, b) in [(0, 0), (0, 2), (0, 7)] {
            let merge = MetaCommand::MergeShards { name: name(), shard: ShardId(a), adjacent: ShardId(b) };
            assert_ne!(state.apply(&merge), MetaResult::Ok, "{a} {b}");
        }
        assert_eq!(state, before);
        let merge = MetaCommand::MergeShards { name: name(), shard: ShardId(2), adjacent: ShardId(1) };
        assert_eq!(state.apply(&merge), MetaResult::Ok);
        let s = stream(&state);
        let (mut ends, mut parents) = (Vec::new(), Vec::new());
        for (id, last) in [(ShardId(2), 7u64), (ShardId(1), 90)] {
            ends.push((id, last));
            parents.push(id);
        }
        let complete =
            MetaCommand::CompleteReshard { name: name(), incarnation: s.incarnation, endings: ends, now_ms: 5 };
        assert_eq!(state.apply(&complete), MetaResult::Ok);
        let child = stream(&state).shard(ShardId(3)).unwrap().clone();
        assert_eq!(child.parents, parents, "ParentShardId is the shard to merge, then the adjacent one");
        assert_eq!(child.starting_counter, 91, "above the larger of the parents' ends");
        assert_eq!(child.start_hash, stream(&state).shard(ShardId(1)).unwrap().start_hash);
        assert_eq!(child.end_hash, u128::MAX);
        // A merged parent cannot be merged again.
        let again = MetaCommand::MergeShards { name: name(), shard: ShardId(0), adjacent: ShardId(1) };
        assert!(matches!(state.apply(&again), MetaResult::NotActive(_) | MetaResult::Refused(_)));
    }

    /// Scaling to every allowed target from several starts ends with the even ranges, each
    /// step keeping the tiling, with at most one shard above the larger count.
    #[test]
    fn uniform_scaling_reaches_the_even_ranges_step_by_step() {
        for (from, to) in [(1, 2), (2, 1), (3, 5), (4, 8), (8, 4), (5, 3), (7, 13), (13, 7), (6, 6), (10, 19)] {
            let mut state = active(from);
            // Uneven shards first, so the plan must both split and merge.
            if from > 1 {
                let s = stream(&state).shards[0].clone();
                let split = MetaCommand::SplitShard {
                    name: name(),
                    shard: s.id,
                    new_starting_hash: s.start_hash + (s.end_hash - s.start_hash) / 3,
                };
                assert_eq!(state.apply(&split), MetaResult::Ok);
                finish_step(&mut state, 3);
            }
            let current = stream(&state).open_shards().count() as u32;
            let scale =
                MetaCommand::UpdateShardCount { name: name(), target: to, now_ms: 10, scalings_per_window_max: 10 };
            if u64::from(to) > 2 * u64::from(current) || 2 * u64::from(to) < u64::from(current) {
                assert!(matches!(state.apply(&scale), MetaResult::Refused(_)), "{from}->{to}");
                continue;
            }
            assert_eq!(state.apply(&scale), MetaResult::Scaling { current }, "{from}->{to}");
            let mut steps = 0;
            while stream(&state).reshard.is_some() {
                assert_eq!(stream(&state).status, StreamStatus::Updating);
                assert_eq!(finish_step(&mut state, steps), MetaResult::Ok);
                let open = stream(&state).open_shards().count() as u32;
                assert!(open <= current.max(to) + 1, "{from}->{to}: {open} open shards");
                steps += 1;
                assert!(steps < 100, "{from}->{to} does not converge");
            }
            let s = stream(&state);
            assert_eq!(s.status, StreamStatus::Active);
            assert_eq!(s.scaling_target, None);
            let mut ranges: Vec<(u128, u128)> = s.open_shards().map(|o| (o.start_hash, o.end_hash)).collect();
            ranges.sort();
            let even: Vec<(u128, u128)> = HashKeyRange::split_evenly(to).iter().map(|r| (r.start.0, r.end.0)).collect();
            assert_eq!(ranges.len(), even.len(), "{from}->{to}");
            let tolerance = u128::MAX / u128::from(to) / 100;
            for (got, want) in ranges.iter().zip(&even) {
                assert!(got.0.abs_diff(want.0) <= tolerance, "{from}->{to}: {got:?} is not near {want:?}");
            }
            assert_tiles(s);
        }
    }

    /// Shards that are one key off the even ranges (2 -> 4: the halves' boundary is one key
    /// from the quarters') take two splits, not splits of one-key slivers and merges.
    #[test]
    fn scaling_reuses_boundaries_within_a_key_of_the_even_ones() {
        let mut state = active(2);
        let scale = MetaCommand::UpdateShardCount { name: name(), target: 4, now_ms: 1, scalings_per_window_max: 10 };
        assert_eq!(state.apply(&scale), MetaResult::Scaling { current: 2 });
        let mut steps = 0;
        while stream(&state).reshard.is_some() {
            assert_eq!(stream(&state).reshard.as_ref().unwrap().parents.len(), 1, "only splits");
            finish_step(&mut state, 0);
            steps += 1;
        }
        assert_eq!(steps, 2);
        assert_eq!(stream(&state).open_shards().count(), 4);
    }

    #[test]
    fn scaling_is_bounded_per_rolling_day_and_by_the_shard_limit() {
        let mut state = active(2);
        let scale =
            |target, now_ms| MetaCommand::UpdateShardCount { name: name(), target, now_ms, scalings_per_window_max: 2 };
        assert_eq!(state.apply(&scale(2, 0)), MetaResult::Scaling { current: 2 });
        assert_eq!(state.apply(&scale(2, 1000)), MetaResult::Scaling { current: 2 });
        assert!(matches!(state.apply(&scale(2, 2000)), MetaResult::LimitExceeded(_)));
        // A day after the first call, one more is allowed.
        assert_eq!(state.apply(&scale(2, SCALING_WINDOW_MS)), MetaResult::Scaling { current: 2 });
        assert!(matches!(
            state.apply(&scale(SHARDS_PER_STREAM_MAX + 1, SCALING_WINDOW_MS * 3)),
            MetaResult::LimitExceeded(_)
        ));
        assert!(matches!(state.apply(&scale(0, SCALING_WINDOW_MS * 3)), MetaResult::Refused(_)));
    }

    #[test]
    fn a_split_beyond_the_open_shard_limit_is_refused() {
        let mut state = active(SHARDS_PER_STREAM_MAX);
        let s = stream(&state).shards[0].clone();
        let split = MetaCommand::SplitShard { name: name(), shard: s.id, new_starting_hash: s.start_hash + 1 };
        assert!(matches!(state.apply(&split), MetaResult::LimitExceeded(_)));
    }

    /// The checker itself: a child outside its parents, or a gap, is caught.
    #[test]
    #[should_panic(expected = "gap or overlap")]
    fn a_gap_in_the_open_shards_is_caught() {
        let mut state = active(2);
        let s = state.streams.get_mut(&name()).unwrap();
        s.shards[1].start_hash += 1;
        assert_tiles(s);
    }
}
