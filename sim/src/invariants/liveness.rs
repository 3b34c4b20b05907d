//! Liveness: after faults stop, writes are accepted again, every live replica converges and
//! every shard reads back to its tip, within a bounded simulated time
//! (`workload::LIVENESS_BOUND`). Some seeds leave one replica down through this phase: a
//! majority of every group is still up, so all of this must still hold without it.
//!
//! Source: Raft makes progress once a majority can communicate (§5.2 with randomized
//! election timeouts); Runnel's operational promise that a healed cluster serves again,
//! with one node out as well as with all.

use super::Violation;
use crate::oracle::Oracle;

const NAME: &str = "liveness";

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    let mut out = check_failure(oracle);
    if oracle.final_reads.is_empty() {
        out.push(Violation { invariant: NAME, detail: "no shard was read back after healing".into() });
    }
    out
}

/// What the driver recorded as failing in the liveness phase, if anything (also for a run
/// that ran out of time, where the rest of the checks cannot be judged).
pub fn check_failure(oracle: &Oracle) -> Vec<Violation> {
    oracle.liveness.failure.iter().map(|failure| Violation { invariant: NAME, detail: failure.clone() }).collect()
}
