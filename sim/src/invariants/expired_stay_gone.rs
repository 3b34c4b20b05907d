//! Nothing expired comes back: once a read from the start of a shard (TRIM_HORIZON) began
//! at record #s, no read that starts after it ended returns a record below #s.
//!
//! Such a read returns the oldest record kept, so everything below #s had expired (or was
//! never written: a later write gets a higher number). A record below #s seen later means
//! retention dropped it from some replicas only, and one that kept it served the read.
//! The simulation's `Bug::LeaderOnlyTrim` does exactly that.
//!
//! Source: Kinesis retention ("records are no longer accessible after the retention
//! period"; IncreaseStreamRetentionPeriod "does not bring back data that has already
//! expired"); Runnel trims through the shard's own Raft log (node/src/shard/trim.rs).

use super::{Violation, REPORT_MAX};
use crate::oracle::Oracle;
use std::collections::BTreeMap;
use std::time::Duration;

pub const NAME: &str = "expired-stay-gone";

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    // Per shard, the horizons reads from the start saw: (read ended, first record, reader).
    let mut horizons: BTreeMap<&str, Vec<(Duration, u128, &str)>> = BTreeMap::new();
    for page in oracle.pages.iter().filter(|p| p.after.is_none()) {
        if let Some(first) = page.returned.first() {
            horizons.entry(page.shard.as_str()).or_default().push((page.finished, *first, page.reader.as_str()));
        }
    }
    let mut out = Vec::new();
    for page in &oracle.pages {
        let Some(seen) = horizons.get(page.shard.as_str()) else { continue };
        let Some(oldest) = page.returned.first() else { continue };
        let earlier = seen.iter().filter(|(ended, _, _)| *ended < page.started).max_by_key(|(_, first, _)| *first);
        if let Some((ended, horizon, reader)) = earlier.filter(|(_, horizon, _)| oldest < horizon) {
            out.push(Violation {
                invariant: NAME,
                detail: format!(
                    "{} read {} from n{} at {:.3}s and got #{oldest}, below #{horizon} where {reader}'s read from \
                     the start began by {:.3}s",
                    page.reader,
                    page.shard,
                    page.node,
                    page.started.as_secs_f64(),
                    ended.as_secs_f64()
                ),
            });
            if out.len() >= REPORT_MAX {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::PageRead;

    fn page(after: Option<u128>, returned: &[u128], started_ms: u64, finished_ms: u64) -> PageRead {
        PageRead {
            reader: "c".into(),
            shard: "s".into(),
            node: 1,
            started: Duration::from_millis(started_ms),
            finished: Duration::from_millis(finished_ms),
            after,
            returned: returned.to_vec(),
            truncated: false,
        }
    }

    fn violations(pages: Vec<PageRead>) -> usize {
        check(&Oracle { pages, ..Default::default() }).len()
    }

    #[test]
    fn a_record_below_an_earlier_horizon_is_caught_and_overlapping_reads_are_not() {
        // From the start at 10-20 ms: #5 first. A read at 30 ms returning #3 is a comeback.
        assert_eq!(violations(vec![page(None, &[5, 6], 10, 20), page(Some(1), &[3, 5], 30, 35)]), 1);
        assert_eq!(violations(vec![page(None, &[5, 6], 10, 20), page(None, &[4], 30, 35)]), 1);
        // Reads that overlap in time may see different horizons.
        assert_eq!(violations(vec![page(None, &[5, 6], 10, 20), page(None, &[3], 15, 25)]), 0);
        // Moving forward is what retention does.
        assert_eq!(
            violations(vec![page(None, &[3], 10, 20), page(None, &[5], 30, 35), page(Some(5), &[6], 40, 41)]),
            0
        );
        // An empty read from the start says nothing.
        assert_eq!(violations(vec![page(None, &[], 10, 20), page(None, &[1], 30, 35)]), 0);
    }
}
