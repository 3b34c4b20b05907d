//! Every subscriber gets every record: each acknowledged write, and everything else the
//! final reads found (writes whose outcome was unknown but that landed), was pushed to
//! every subscriber by the time it caught up, and every closed shard was delivered to its
//! end. Subscribers follow the stream from TRIM_HORIZON, so nothing written is before
//! their start.
//!
//! Source: the enhanced fan-out promise ("every consumer receives every acknowledged
//! record exactly once per shard in sequence order, across renewals and failovers; no
//! read of an uncommitted record"), here its first part; Kinesis SubscribeToShard: a
//! subscription resumed AFTER_SEQUENCE_NUMBER of the last ContinuationSequenceNumber
//! continues where the last one stopped, and ChildShards at a shard's end name where to go
//! on. Not judged when the liveness phase failed (the cluster never healed: `liveness`
//! reports that), nor for records a retention period may have expired.

use super::{Violation, REPORT_MAX};
use crate::oracle::Oracle;
use std::collections::BTreeSet;
use std::time::Duration;

const NAME: &str = "subscription-complete";
/// Missing records named in one violation.
const EXAMPLES_MAX: usize = 5;

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    let mut out = Vec::new();
    if oracle.liveness.failure.is_some() || oracle.final_reads_done.is_none() {
        return out;
    }
    let done = oracle.final_reads_done.unwrap_or(Duration::MAX);
    // Every record that must have been pushed: acknowledged ones, then the rest stored.
    let mut expected: BTreeSet<(&str, u128, &str)> = BTreeSet::new();
    for (payload, write) in &oracle.writes {
        if !oracle.may_have_expired(write.first_attempt_at, done) {
            expected.extend(write.acks.iter().map(|a| (a.shard.as_str(), a.seq, payload.as_str())));
        }
    }
    for (shard, records) in &oracle.final_reads {
        expected.extend(records.iter().map(|(seq, p)| (shard.as_str(), *seq, p.as_str())));
    }
    let closed: Vec<&str> =
        oracle.shards.iter().filter(|(_, s)| s.ending_seq.is_some()).map(|(id, _)| id.as_str()).collect();
    for (name, view) in &oracle.subscribers {
        let Some(arn) = &view.consumer_arn else {
            out.push(Violation { invariant: NAME, detail: format!("{name} never got an ACTIVE consumer") });
            continue;
        };
        let delivered: BTreeSet<(&str, u128, &str)> = view.records().collect();
        let ended: BTreeSet<&str> = view.ended().collect();
        let missing: Vec<&(&str, u128, &str)> = expected.difference(&delivered).collect();
        let not_ended: Vec<&str> = closed.iter().copied().filter(|s| !ended.contains(s)).collect();
        if missing.is_empty() && not_ended.is_empty() {
            continue;
        }
        let examples: Vec<String> =
            missing.iter().take(EXAMPLES_MAX).map(|(shard, seq, p)| format!("{p} ({shard} #{seq})")).collect();
        let why = match (&view.failure, view.drained) {
            (Some(failure), _) => format!("; its subscription failed: {failure}"),
            (None, true) => String::new(),
            (None, false) => "; it never caught up".to_string(),
        };
        out.push(Violation {
            invariant: NAME,
            detail: format!(
                "{name} ({arn}) was never pushed {} of {} records, e.g. {}; closed shards never ended: {not_ended:?}{why}",
                missing.len(),
                expected.len(),
                examples.join(", "),
            ),
        });
        if out.len() >= REPORT_MAX {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariants::fan_out_run;

    #[test]
    fn a_record_never_pushed_or_a_shard_never_ended_is_caught() {
        let mut o = fan_out_run();
        assert!(check(&o).is_empty(), "{:?}", check(&o));
        // The resume after a renewal skipped #2.
        let deliveries = &mut o.subscribers.get_mut("s").unwrap().deliveries;
        deliveries.remove(1);
        let found = check(&o);
        assert_eq!(found.len(), 1);
        assert!(found[0].detail.contains("1 of 3 records, e.g. b (p #2)"), "{}", found[0].detail);
        // The subscriber never learnt that p ended (nor got its children).
        let mut o = fan_out_run();
        o.subscribers.get_mut("s").unwrap().deliveries.truncate(2);
        assert!(check(&o)[0].detail.contains("closed shards never ended: [\"p\"]"), "{:?}", check(&o));
        // A run whose cluster never healed is the liveness check's to report.
        o.liveness.failure = Some("never converged".into());
        assert!(check(&o).is_empty());
    }
}
