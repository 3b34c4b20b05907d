//! The order in which a reader takes up a stream's shards: every parent is read to its end
//! before any of its children, so that per partition key a child's records come after its
//! parents' (a split or merge moves a key's later records into a child).
//!
//! Pure bookkeeping, shared by `runnel get` and `runnel tail`: the reader asks which shards
//! it may start (`next_ready`) and reports each one it has read to its end (`finished`,
//! with the `child_shards` GetRecords returned there); shards created after the listing
//! are learned that way.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use runnel_proto::v1::{ChildShard, Shard};

use crate::routing::is_closed;

/// Shards one `Lineage` follows at most: well above the 4,000 (open and closed) a stream
/// keeps, so that reaching it means a broken server.
pub const MAX_TRACKED_SHARDS: usize = 10_000;

/// Which of the listed shards a reader starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineageStart {
    /// Every listed shard, parents before children: for reads from TRIM_HORIZON or
    /// AT_TIMESTAMP. Parents missing from the listing have expired and are not waited for.
    Oldest,
    /// The open shards only, then their children: for reads from LATEST, where what came
    /// before the open shards is not read.
    Open,
}

/// A shard the reader may start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyShard {
    pub shard_id: String,
    /// The shard was in the listing the reader started from: read it from the requested
    /// position. A child learned later was created after the reader started: read it from
    /// its start (TRIM_HORIZON), or records written before the reader got there are lost.
    pub listed: bool,
}

/// A report the lineage cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineageError {
    #[error("more than {MAX_TRACKED_SHARDS} shards to follow")]
    TooManyShards,
    /// `finished` for a shard `next_ready` did not hand out, or reported twice.
    #[error("shard {0} was reported finished but was not being read")]
    NotStarted(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Some parent is not finished (or not yet known).
    Waiting,
    /// In the ready queue.
    Ready,
    /// Handed out by `next_ready`.
    Started,
    /// Read to its end.
    Finished,
}

#[derive(Debug)]
struct Entry {
    parents: Vec<String>,
    listed: bool,
    state: State,
}

/// The shards a reader follows and which of them it may read now.
#[derive(Debug, Default)]
pub struct Lineage {
    /// Ordered by id so the ready queue's order does not depend on hashing.
    shards: BTreeMap<String, Entry>,
    /// Holds each shard at most once, so its length is bounded by `shards`.
    ready: VecDeque<String>,
}

impl Lineage {
    /// The lineage of `listing` (every page of ListShards, closed shards included).
    pub fn new(listing: &[Shard], start: LineageStart) -> Result<Lineage, LineageError> {
        let listed: BTreeSet<&str> = listing.iter().map(|s| s.shard_id.as_str()).collect();
        let mut lineage = Lineage::default();
        for shard in listing {
            let parents = match start {
                LineageStart::Open if is_closed(shard) => continue,
                LineageStart::Open => Vec::new(),
                LineageStart::Oldest => [&shard.parent_shard_id, &shard.adjacent_parent_shard_id]
                    .into_iter()
                    .flatten()
                    .filter(|parent| listed.contains(parent.as_str()))
                    .cloned()
                    .collect(),
            };
            if lineage.shards.len() >= MAX_TRACKED_SHARDS {
                return Err(LineageError::TooManyShards);
            }
            lineage.shards.insert(shard.shard_id.clone(), Entry { parents, listed: true, state: State::Waiting });
        }
        lineage.promote();
        Ok(lineage)
    }

    /// The next shard whose parents are all finished, marked as being read.
    pub fn next_ready(&mut self) -> Option<ReadyShard> {
        let shard_id = self.ready.pop_front()?;
        let entry = self.shards.get_mut(&shard_id)?;
        entry.state = State::Started;
        Some(ReadyShard { listed: entry.listed, shard_id })
    }

    /// `shard_id` was read to its end (GetRecords gave no next iterator), where GetRecords
    /// named `children`. Children not yet known are followed from now on, and any shard
    /// whose parents are now all finished becomes ready.
    pub fn finished(&mut self, shard_id: &str, children: &[ChildShard]) -> Result<(), LineageError> {
        match self.shards.get_mut(shard_id) {
            Some(entry) if entry.state == State::Started => entry.state = State::Finished,
            _ => return Err(LineageError::NotStarted(shard_id.to_string())),
        }
        for child in children {
            // A child already known keeps its parents: the listing's drop expired ones.
            if self.shards.contains_key(&child.shard_id) {
                continue;
            }
            if self.shards.len() >= MAX_TRACKED_SHARDS {
                return Err(LineageError::TooManyShards);
            }
            let mut parents: Vec<String> = child.parent_shards.iter().filter(|p| !p.is_empty()).cloned().collect();
            if parents.is_empty() {
                parents.push(shard_id.to_string());
            }
            // A parent not known yet was created after the listing; another shard's end
            // will name it, so the child waits for it.
            self.shards.insert(child.shard_id.clone(), Entry { parents, listed: false, state: State::Waiting });
        }
        self.promote();
        Ok(())
    }

    /// Shards known but not yet ready: a parent is still being read, or not known yet.
    pub fn waiting(&self) -> usize {
        self.shards.values().filter(|e| e.state == State::Waiting).count()
    }

    /// Moves every waiting shard whose parents are all finished to the ready queue.
    fn promote(&mut self) {
        let finished = |id: &String| self.shards.get(id).is_some_and(|e| e.state == State::Finished);
        let now_ready: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, e)| e.state == State::Waiting && e.parents.iter().all(finished))
            .map(|(id, _)| id.clone())
            .collect();
        for id in now_ready {
            if let Some(entry) = self.shards.get_mut(&id) {
                entry.state = State::Ready;
                self.ready.push_back(id);
            }
        }
    }
}

/// Whether `listing` shows that retention forgot `shard`: it is not listed, but a shard
/// made from it is. Closed shards are forgotten once all their records expired; a shard a
/// lagging node does not list yet has no children it could list either.
pub fn expired_parent(listing: &[Shard], shard: &str) -> bool {
    let named = |s: &Shard| {
        [&s.parent_shard_id, &s.adjacent_parent_shard_id].into_iter().flatten().any(|p| p.as_str() == shard)
    };
    !listing.iter().any(|s| s.shard_id == shard) && listing.iter().any(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use runnel_proto::v1::SequenceNumberRange;

    fn shard(id: &str, parents: &[&str], closed: bool) -> Shard {
        Shard {
            shard_id: id.to_string(),
            parent_shard_id: parents.first().map(|p| p.to_string()),
            adjacent_parent_shard_id: parents.get(1).map(|p| p.to_string()),
            hash_key_range: None,
            sequence_number_range: Some(SequenceNumberRange {
                starting_sequence_number: "1".into(),
                ending_sequence_number: closed.then(|| "9".to_string()),
            }),
        }
    }

    fn child(id: &str, parents: &[&str]) -> ChildShard {
        ChildShard {
            shard_id: id.to_string(),
            parent_shards: parents.iter().map(|p| p.to_string()).collect(),
            hash_key_range: None,
        }
    }

    /// Every shard ready now, in order, each marked as being read.
    fn drain(lineage: &mut Lineage) -> Vec<String> {
        std::iter::from_fn(|| lineage.next_ready()).map(|r| r.shard_id).collect()
    }

    #[test]
    fn a_split_parent_is_read_before_its_children() {
        let listing = [shard("c1", &["p"], false), shard("c2", &["p"], false), shard("p", &[], true)];
        let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("lineage");
        assert_eq!(drain(&mut lineage), ["p"]);
        assert_eq!(lineage.waiting(), 2);
        lineage.finished("p", &[child("c1", &["p"]), child("c2", &["p"])]).expect("finished");
        assert_eq!(drain(&mut lineage), ["c1", "c2"]);
        assert_eq!(lineage.waiting(), 0);
    }

    #[test]
    fn a_merged_child_waits_for_both_parents_in_either_order() {
        for order in [["p", "q"], ["q", "p"]] {
            let listing = [shard("p", &[], true), shard("q", &[], true), shard("m", &["p", "q"], false)];
            let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("lineage");
            assert_eq!(drain(&mut lineage), ["p", "q"]);
            lineage.finished(order[0], &[child("m", &["p", "q"])]).expect("first parent");
            assert_eq!(drain(&mut lineage), Vec::<String>::new(), "{order:?}: one parent is still being read");
            lineage.finished(order[1], &[child("m", &["p", "q"])]).expect("second parent");
            assert_eq!(drain(&mut lineage), ["m"], "{order:?}");
        }
    }

    #[test]
    fn a_split_then_merge_chain_is_read_generation_by_generation() {
        // a splits into b and c; c merges with d into e; e splits into f and g.
        let listing = [
            shard("a", &[], true),
            shard("b", &["a"], false),
            shard("c", &["a"], true),
            shard("d", &[], true),
            shard("e", &["c", "d"], true),
            shard("f", &["e"], false),
            shard("g", &["e"], false),
        ];
        let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("lineage");
        assert_eq!(drain(&mut lineage), ["a", "d"]);
        lineage.finished("d", &[child("e", &["c", "d"])]).expect("d");
        assert!(drain(&mut lineage).is_empty(), "e still waits for c, which waits for a");
        lineage.finished("a", &[child("b", &["a"]), child("c", &["a"])]).expect("a");
        assert_eq!(drain(&mut lineage), ["b", "c"]);
        lineage.finished("c", &[child("e", &["c", "d"])]).expect("c");
        assert_eq!(drain(&mut lineage), ["e"]);
        lineage.finished("e", &[child("f", &["e"]), child("g", &["e"])]).expect("e");
        assert_eq!(drain(&mut lineage), ["f", "g"]);
    }

    #[test]
    fn parents_missing_from_the_listing_have_expired_and_are_not_waited_for() {
        let listing = [shard("c1", &["gone"], false), shard("m", &["c1", "gone-too"], false)];
        let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("lineage");
        assert_eq!(drain(&mut lineage), ["c1"]);
        // m's listed parent still counts; its expired one does not, even when a parent's
        // end names m with both.
        lineage.finished("c1", &[child("m", &["c1", "gone-too"])]).expect("c1");
        assert_eq!(drain(&mut lineage), ["m"]);
    }

    #[test]
    fn children_created_after_the_listing_are_followed_from_their_start() {
        let listing = [shard("p", &[], false)];
        let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("lineage");
        assert_eq!(lineage.next_ready(), Some(ReadyShard { shard_id: "p".into(), listed: true }));
        lineage.finished("p", &[child("c1", &["p"]), child("c2", &[])]).expect("p");
        assert_eq!(lineage.next_ready(), Some(ReadyShard { shard_id: "c1".into(), listed: false }));
        // A child without named parents is taken to be the finished shard's.
        assert_eq!(lineage.next_ready(), Some(ReadyShard { shard_id: "c2".into(), listed: false }));
    }

    #[test]
    fn a_parent_not_known_yet_is_waited_for_until_another_end_names_it() {
        // Listed: a and x. After the listing x splits into y and z, then a merges with y into w.
        let listing = [shard("a", &[], false), shard("x", &[], false)];
        let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("lineage");
        assert_eq!(drain(&mut lineage), ["a", "x"]);
        lineage.finished("a", &[child("w", &["a", "y"])]).expect("a");
        assert!(drain(&mut lineage).is_empty(), "w must wait for y, which nobody has read");
        lineage.finished("x", &[child("y", &["x"]), child("z", &["x"])]).expect("x");
        assert_eq!(drain(&mut lineage), ["y", "z"]);
        lineage.finished("y", &[child("w", &["a", "y"])]).expect("y");
        assert_eq!(drain(&mut lineage), ["w"]);
    }

    #[test]
    fn from_latest_only_open_shards_are_read_then_their_children() {
        let listing = [
            shard("old", &[], true),
            shard("open1", &["old"], false),
            shard("closed", &["old"], true),
            shard("open2", &["closed"], false),
        ];
        let mut lineage = Lineage::new(&listing, LineageStart::Open).expect("lineage");
        assert_eq!(drain(&mut lineage), ["open1", "open2"]);
        lineage.finished("open1", &[child("next", &["open1"])]).expect("open1");
        assert_eq!(lineage.next_ready(), Some(ReadyShard { shard_id: "next".into(), listed: false }));
        assert_eq!(lineage.next_ready(), None);
    }

    #[test]
    fn a_child_named_by_both_parents_is_handed_out_once() {
        let listing = [shard("p", &[], false), shard("q", &[], false)];
        let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("lineage");
        assert_eq!(drain(&mut lineage), ["p", "q"]);
        lineage.finished("p", &[child("m", &["p", "q"])]).expect("p");
        lineage.finished("q", &[child("m", &["p", "q"])]).expect("q");
        assert_eq!(drain(&mut lineage), ["m"]);
        lineage.finished("m", &[]).expect("m");
        assert_eq!(drain(&mut lineage), Vec::<String>::new());
    }

    #[test]
    fn only_shards_being_read_can_finish() {
        let listing = [shard("p", &[], true), shard("c", &["p"], false)];
        let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("lineage");
        assert_eq!(lineage.finished("c", &[]), Err(LineageError::NotStarted("c".into())), "not ready yet");
        assert_eq!(lineage.finished("nope", &[]), Err(LineageError::NotStarted("nope".into())));
        assert_eq!(drain(&mut lineage), ["p"]);
        lineage.finished("p", &[]).expect("p");
        assert_eq!(lineage.finished("p", &[]), Err(LineageError::NotStarted("p".into())), "twice");
        assert_eq!(drain(&mut lineage), ["c"]);
    }

    #[test]
    fn the_number_of_shards_followed_is_bounded() {
        let listing: Vec<Shard> = (0..MAX_TRACKED_SHARDS).map(|i| shard(&format!("s{i}"), &[], false)).collect();
        let mut lineage = Lineage::new(&listing, LineageStart::Oldest).expect("at the bound");
        let first = lineage.next_ready().expect("a shard").shard_id;
        assert_eq!(lineage.finished(&first, &[child("one-too-many", &[&first])]), Err(LineageError::TooManyShards));
        let mut over = listing;
        over.push(shard("one-too-many", &[], false));
        assert!(matches!(Lineage::new(&over, LineageStart::Oldest), Err(LineageError::TooManyShards)));
    }

    #[test]
    fn a_parent_is_taken_for_expired_only_when_its_children_are_listed_without_it() {
        let child = Shard { shard_id: "c".into(), parent_shard_id: Some("p".into()), ..Default::default() };
        let other = Shard { shard_id: "o".into(), ..Default::default() };
        assert!(expired_parent(&[child.clone(), other.clone()], "p"));
        // Listed: not expired. Unknown with no listed child: perhaps just made, on a lagging node.
        let parent = Shard { shard_id: "p".into(), ..Default::default() };
        assert!(!expired_parent(&[parent, child.clone()], "p"));
        assert!(!expired_parent(&[other], "p"));
        let merged = Shard { shard_id: "m".into(), adjacent_parent_shard_id: Some("q".into()), ..Default::default() };
        assert!(expired_parent(&[merged], "q"));
    }
}
