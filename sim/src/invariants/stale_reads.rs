//! No stale reads: a record acknowledged before a read starts is visible to that read.
//! For every GetRecords page a reader got, every record acknowledged on that shard before
//! the request was sent, with a sequence number after the position the read continued
//! from, is in the page, unless the page was cut short by its Limit (then only the records
//! up to the page's last one must be there).
//!
//! A leader cut off from its peers may not know it was deposed; if it answers reads from
//! its own state without confirming its leadership, it misses what the new leader
//! acknowledged. The simulation's `Bug::StaleReads` does exactly that.
//!
//! Source: linearizability (Herlihy & Wing, 1990): a read that starts after a write
//! completed must observe it; Raft's read-only queries (Ongaro, "Consensus: Bridging
//! Theory and Practice", §6.4) exist so that a deposed leader cannot serve stale data.
//! Kinesis: a successful PutRecord is readable by GetRecords from then on.

use super::{Violation, REPORT_MAX};
use crate::oracle::Oracle;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const NAME: &str = "no-stale-reads";

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    // Per shard, every acknowledgement by sequence number.
    let mut acked: BTreeMap<&str, Vec<(u128, Duration, &str, Duration)>> = BTreeMap::new();
    for (payload, write) in &oracle.writes {
        for ack in &write.acks {
            let entry = (ack.seq, ack.at, payload.as_str(), write.first_attempt_at);
            acked.entry(ack.shard.as_str()).or_default().push(entry);
        }
    }
    for acks in acked.values_mut() {
        acks.sort();
    }
    let mut out = Vec::new();
    for page in &oracle.pages {
        let Some(acks) = acked.get(page.shard.as_str()) else { continue };
        let returned: BTreeSet<u128> = page.returned.iter().copied().collect();
        let last_returned = page.returned.last().copied();
        let first = match page.after {
            Some(after) => acks.partition_point(|(seq, ..)| *seq <= after),
            None => 0,
        };
        // A record retention may have dropped by the time the page came back is excused.
        let missing = acks[first..]
            .iter()
            .take_while(|(seq, ..)| !page.truncated || last_returned.is_some_and(|last| *seq <= last))
            .find(|(seq, at, _, sent)| {
                *at < page.started && !returned.contains(seq) && !oracle.may_have_expired(*sent, page.finished)
            });
        if let Some((seq, at, payload, _)) = missing {
            out.push(Violation {
                invariant: NAME,
                detail: format!(
                    "{} read {} from n{} at {:.3}s after #{:?} and got {} records{}, without {payload} #{seq} acknowledged at {:.3}s",
                    page.reader,
                    page.shard,
                    page.node,
                    page.started.as_secs_f64(),
                    page.after,
                    page.returned.len(),
                    if page.truncated { " (a full page)" } else { "" },
                    at.as_secs_f64()
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
    use crate::oracle::{Ack, PageRead, Write};

    fn oracle(acks: &[(u128, u64)], page: PageRead) -> Oracle {
        let mut o = Oracle::default();
        for (seq, at_ms) in acks {
            o.writes.insert(
                format!("p{seq}"),
                Write {
                    acks: vec![Ack { shard: "s".into(), seq: *seq, at: Duration::from_millis(*at_ms) }],
                    ..Default::default()
                },
            );
        }
        o.pages.push(page);
        o
    }

    fn page(after: Option<u128>, returned: &[u128], truncated: bool, started_ms: u64) -> PageRead {
        PageRead {
            reader: "c".into(),
            shard: "s".into(),
            node: 1,
            started: Duration::from_millis(started_ms),
            finished: Duration::from_millis(started_ms + 1),
            after,
            returned: returned.to_vec(),
            truncated,
        }
    }

    #[test]
    fn a_page_without_a_record_acknowledged_before_it_started_is_stale() {
        let acks = [(1, 10), (2, 20), (3, 30)];
        assert!(check(&oracle(&acks, page(None, &[1, 2, 3], false, 40))).is_empty());
        assert_eq!(check(&oracle(&acks, page(None, &[1, 2], false, 40))).len(), 1);
        assert!(check(&oracle(&acks, page(None, &[1, 2], false, 25))).is_empty(), "#3 came after the read started");
        assert!(check(&oracle(&acks, page(Some(2), &[3], false, 40))).is_empty(), "continues after #2");
        assert_eq!(check(&oracle(&acks, page(Some(1), &[], false, 40))).len(), 1);
        assert!(check(&oracle(&acks, page(None, &[1, 2], true, 40))).is_empty(), "cut by its Limit");
        assert_eq!(check(&oracle(&acks, page(None, &[1, 3], true, 40))).len(), 1, "a gap inside a full page");
    }
}
