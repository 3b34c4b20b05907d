//! Subscriptions push only committed records: every record a subscriber was pushed is in
//! its shard at that sequence number at the end of the run (the final reads), so none was
//! read before it was committed and later lost or replaced. With retention on, a record
//! before the shard's first one kept (or of a shard forgotten since) may have expired.
//!
//! Source: the enhanced fan-out promise ("... no read of an uncommitted record"); Raft's
//! State Machine Safety (an applied entry is committed and stays); ARCHITECTURE.md, "Fan-out:
//! push from any replica": a node pushes what its replica applied, so only committed
//! records.

use super::{Violation, REPORT_MAX};
use crate::oracle::Oracle;
use std::collections::BTreeMap;

const NAME: &str = "subscription-committed";

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    let mut out = Vec::new();
    if oracle.final_reads_done.is_none() {
        return out;
    }
    let stored: BTreeMap<(&str, u128), &str> = oracle
        .final_reads
        .iter()
        .flat_map(|(shard, records)| records.iter().map(move |(seq, p)| ((shard.as_str(), *seq), p.as_str())))
        .collect();
    for (name, view) in &oracle.subscribers {
        for (shard, seq, payload) in view.records() {
            let expired = oracle.retention.is_some()
                && oracle.final_reads.get(shard).is_none_or(|r| r.first().is_none_or(|(first, _)| seq < *first));
            let problem = match stored.get(&(shard, seq)) {
                Some(p) if *p == payload => continue,
                Some(p) => format!("the shard holds {p} there"),
                // A final read that never reached the end (the liveness check reports it)
                // proves no absence.
                None if expired || oracle.liveness.failure.is_some() => continue,
                None => "the shard holds nothing there".to_string(),
            };
            out.push(Violation {
                invariant: NAME,
                detail: format!("{name} was pushed {payload} as {shard} #{seq}; {problem}"),
            });
            if out.len() >= REPORT_MAX {
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::{fan_out_run, pushed};

    #[test]
    fn a_record_the_shard_does_not_hold_there_is_caught() {
        let mut o = fan_out_run();
        assert!(check(&o).is_empty());
        let deliveries = &mut o.subscribers.get_mut("s").unwrap().deliveries;
        // Read from a deposed leader's uncommitted suffix: later replaced, or gone.
        deliveries.push(pushed("c", 10, "y"));
        deliveries.push(pushed("c", 11, "z"));
        let found: Vec<String> = check(&o).into_iter().map(|v| v.detail).collect();
        assert_eq!(found.len(), 2);
        assert!(found[0].contains("the shard holds x there"), "{found:?}");
        assert!(found[1].contains("the shard holds nothing there"), "{found:?}");
        // With retention on, records before the first one kept may have expired.
        o.final_reads.get_mut("c").unwrap().clear();
        o.retention = Some(std::time::Duration::from_secs(6));
        assert!(check(&o).is_empty(), "{:?}", check(&o));
    }
}
