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
    let mut out = Vec::new();
    if let Some(failure) = &oracle.liveness.failure {
        out.push(Violation { invariant: NAME, detail: failure.clone() });
    }
    if oracle.final_reads.is_empty() {
        out.push(Violation { invariant: NAME, detail: "no shard was read back after healing".into() });
    }
    out
}
