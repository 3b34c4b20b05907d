//! Duplicates only where a client retried a write whose outcome it did not know; they are
//! counted and reported.
//!
//! Writes sent through `runnel-client` may be sent more than once within one call (it
//! retries transport failures and InternalFailure itself), so their copies count as
//! retries.
//!
//! Source: Kinesis producers get at-least-once delivery when they retry ("duplicates in
//! the stream ... producer retries"); the server itself never retries an append that may
//! have been applied (see node/src/cluster/propose.rs).

use super::Violation;
use crate::oracle::Oracle;
use std::collections::BTreeMap;

const NAME: &str = "duplicates";

pub fn check(oracle: &Oracle) -> (Vec<Violation>, usize) {
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for records in oracle.final_reads.values() {
        for (_, payload) in records {
            *copies.entry(payload.as_str()).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    let mut duplicates = 0;
    for (payload, n) in copies.into_iter().filter(|(_, n)| *n > 1) {
        duplicates += n - 1;
        // `runnel-client` retries inside a call; the workload cannot count those sends.
        let retried_unknown =
            oracle.writes.get(payload).is_some_and(|w| w.client_retries || w.unknown > 0 && w.attempts > 1);
        if !retried_unknown {
            out.push(Violation {
                invariant: NAME,
                detail: format!("{payload} appears {n} times but was never retried after an unknown outcome"),
            });
        }
    }
    (out, duplicates)
}
