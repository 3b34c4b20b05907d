//! The newest entries of a group's log, kept in memory as they are appended. The reads that
//! follow an append at once (the entries to each follower, then applying them) are served
//! from here instead of from the engine, without the hop to the blocking pool that an
//! engine read takes.
//!
//! Only a shortcut: the cache holds a suffix of the log (contiguous, ending at the last
//! entry) or nothing, and a read it cannot serve whole goes to the engine. It is bounded per
//! group (entries and bytes) and per node (`CacheBudget`, shared by every group): a group
//! over either bound gives up its oldest entries, so idle groups cost at most their share
//! and a node never holds more than the budget.

use super::types::Entry;
use crate::failstop;
use openraft::entry::RaftEntry;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Entries one group keeps at the most.
pub const GROUP_ENTRIES_MAX: usize = 64;
/// Stored bytes one group keeps at the most (a few coalesced entries of 1 MiB).
pub const GROUP_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Stored bytes all groups of a node keep at the most.
pub const NODE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// Bytes the caches of one node's groups hold together, and their bound; and how many
/// reads they served (for the metrics).
pub struct CacheBudget {
    used: AtomicUsize,
    max: usize,
    served: AtomicU64,
    missed: AtomicU64,
}

impl CacheBudget {
    pub fn new(max: usize) -> Arc<CacheBudget> {
        Arc::new(CacheBudget { used: AtomicUsize::new(0), max, served: AtomicU64::new(0), missed: AtomicU64::new(0) })
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Reads served from memory and reads sent to the engine, so far.
    pub fn reads(&self) -> (u64, u64) {
        (self.served.load(Ordering::Relaxed), self.missed.load(Ordering::Relaxed))
    }

    fn over(&self) -> bool {
        self.used() > self.max
    }
}

/// One group's cache, shared by its log store and the readers cloned from it.
pub struct RecentEntries {
    budget: Arc<CacheBudget>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each entry with its stored size; indexes contiguous.
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

impl Inner {
    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.index())
    }

    fn last_index(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.index())
    }

    fn pop_front(&mut self, budget: &CacheBudget) {
        if let Some((_, bytes)) = self.entries.pop_front() {
            self.bytes -= bytes;
            budget.used.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    fn pop_back(&mut self, budget: &CacheBudget) {
        if let Some((_, bytes)) = self.entries.pop_back() {
            self.bytes -= bytes;
            budget.used.fetch_sub(bytes, Ordering::Relaxed);
        }
    }
}

impl RecentEntries {
    pub fn new(budget: Arc<CacheBudget>) -> RecentEntries {
        RecentEntries { budget, inner: Mutex::new(Inner::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        failstop::lock(&self.inner, "recent log entries")
    }

    /// Entries just written to the log (contiguous, each with its stored size): they
    /// replace any cached entry at their indexes or after, as they do in the log.
    pub fn appended(&self, entries: impl IntoIterator<Item = (Entry, usize)>) {
        let mut inner = self.lock();
        for (entry, bytes) in entries {
            while inner.last_index().is_some_and(|last| last >= entry.index()) {
                inner.pop_back(&self.budget);
            }
            if inner.last_index().is_some_and(|last| last + 1 != entry.index()) {
                // Not contiguous with what is cached (never expected): start over from here.
                while !inner.entries.is_empty() {
                    inner.pop_front(&self.budget);
                }
            }
            inner.bytes += bytes;
            self.budget.used.fetch_add(bytes, Ordering::Relaxed);
            inner.entries.push_back((entry, bytes));
        }
        // The oldest go first, down to the group's bounds and while the node is over its
        // own (an entry larger than the bounds is not kept at all).
        while inner.entries.len() > GROUP_ENTRIES_MAX
            || inner.bytes > GROUP_BYTES_MAX
            || (!inner.entries.is_empty() && self.budget.over())
        {
            inner.pop_front(&self.budget);
        }
    }

    /// The log was truncated from `index` on.
    pub fn truncated_from(&self, index: u64) {
        let mut inner = self.lock();
        while inner.last_index().is_some_and(|last| last >= index) {
            inner.pop_back(&self.budget);
        }
    }

    /// The log was purged up to `index`, inclusive.
    pub fn purged_through(&self, index: u64) {
        let mut inner = self.lock();
        while inner.first_index().is_some_and(|first| first <= index) {
            inner.pop_front(&self.budget);
        }
    }

    /// The entries in `[start, end)` that the log holds, in order, stopping before
    /// `bytes_max` stored bytes or `entries_max` entries (at least one entry), when the
    /// cache holds `start`; `None` sends the read to the engine.
    pub fn read(&self, start: u64, end: u64, bytes_max: usize, entries_max: usize) -> Option<Vec<Entry>> {
        let served = self.read_cached(start, end, bytes_max, entries_max);
        let counter = if served.is_some() { &self.budget.served } else { &self.budget.missed };
        counter.fetch_add(1, Ordering::Relaxed);
        served
    }

    fn read_cached(&self, start: u64, end: u64, bytes_max: usize, entries_max: usize) -> Option<Vec<Entry>> {
        let inner = self.lock();
        let (first, last) = (inner.first_index()?, inner.last_index()?);
        if start < first || start > last {
            return None;
        }
        let skip = usize::try_from(start - first).ok()?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for (entry, size) in inner.entries.iter().skip(skip) {
            if entry.index() >= end {
                break;
            }
            if !out.is_empty() && (bytes + size > bytes_max || out.len() >= entries_max) {
                break;
            }
            bytes += size;
            out.push(entry.clone());
        }
        Some(out)
    }

    #[cfg(test)]
    fn indexes(&self) -> Vec<u64> {
        self.lock().entries.iter().map(|(e, _)| e.index()).collect()
    }
}

impl Drop for RecentEntries {
    fn drop(&mut self) {
        let bytes = self.inner.get_mut().map(|i| i.bytes).unwrap_or_else(|poisoned| poisoned.into_inner().bytes);
        self.budget.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::{log_id, Command, EntryPayload};

    fn entry(index: u64, bytes: usize) -> (Entry, usize) {
        (Entry { log_id: log_id(1, index), payload: EntryPayload::Normal(Command(vec![1; bytes])) }, bytes)
    }

    fn indexes(entries: &[Entry]) -> Vec<u64> {
        entries.iter().map(|e| e.index()).collect()
    }

    #[test]
    fn serves_a_suffix_of_the_log_and_follows_truncation_and_purge() {
        let budget = CacheBudget::new(NODE_BYTES_MAX);
        let cache = RecentEntries::new(budget.clone());
        assert!(cache.read(1, 10, usize::MAX, usize::MAX).is_none(), "an empty cache serves nothing");
        cache.appended((1..=10).map(|i| entry(i, 100)));
        assert_eq!(indexes(&cache.read(3, 6, usize::MAX, usize::MAX).unwrap()), vec![3, 4, 5]);
        // Past the end of the log: what the log holds, which is up to 10.
        assert_eq!(indexes(&cache.read(9, u64::MAX, usize::MAX, usize::MAX).unwrap()), vec![9, 10]);
        assert!(cache.read(11, 20, usize::MAX, usize::MAX).is_none());
        // Bounds: by bytes, by entries, and at least one entry whatever its size.
        assert_eq!(indexes(&cache.read(1, 11, 250, usize::MAX).unwrap()), vec![1, 2]);
        assert_eq!(indexes(&cache.read(1, 11, usize::MAX, 3).unwrap()), vec![1, 2, 3]);
        assert_eq!(indexes(&cache.read(1, 11, 1, 1).unwrap()), vec![1]);
        // A new leader's entries replace the tail from their index on.
        cache.truncated_from(8);
        assert_eq!(cache.indexes(), (1..=7).collect::<Vec<_>>());
        cache.appended([entry(6, 100), entry(7, 100)]);
        assert_eq!(cache.indexes(), (1..=7).collect::<Vec<_>>());
        cache.purged_through(4);
        assert_eq!(cache.indexes(), vec![5, 6, 7]);
        assert!(cache.read(4, 6, usize::MAX, usize::MAX).is_none(), "purged entries go to the engine");
        assert_eq!(budget.used(), 300);
        assert_eq!(budget.reads(), (5, 3), "reads served and missed are counted");
        // A gap (never expected) drops what was cached rather than serve a hole.
        cache.appended([entry(9, 100)]);
        assert_eq!(cache.indexes(), vec![9]);
        drop(cache);
        assert_eq!(budget.used(), 0, "a dropped cache gives its bytes back");
    }

    #[test]
    fn bounded_per_group_and_per_node() {
        let budget = CacheBudget::new(GROUP_BYTES_MAX + GROUP_BYTES_MAX / 2);
        let a = RecentEntries::new(budget.clone());
        a.appended((1..=(GROUP_ENTRIES_MAX as u64 + 10)).map(|i| entry(i, 10)));
        assert_eq!(a.indexes().len(), GROUP_ENTRIES_MAX);
        assert_eq!(a.indexes()[0], 11, "the oldest go first");
        a.appended((100..110).map(|i| entry(i, GROUP_BYTES_MAX / 8)));
        assert!(a.lock().bytes <= GROUP_BYTES_MAX);
        assert_eq!(a.indexes().last(), Some(&109));
        // A second group pushes the node over its budget: it gives up its own oldest.
        let b = RecentEntries::new(budget.clone());
        b.appended((1..=8).map(|i| entry(i, GROUP_BYTES_MAX / 8)));
        assert!(budget.used() <= GROUP_BYTES_MAX + GROUP_BYTES_MAX / 2, "{} bytes used", budget.used());
        assert_eq!(b.indexes().last(), Some(&8));
        // An entry larger than a group's bound is not kept, and nothing before it either.
        b.appended([entry(9, GROUP_BYTES_MAX + 1)]);
        assert!(b.indexes().is_empty());
        assert!(b.read(9, 10, usize::MAX, usize::MAX).is_none());
    }
}
