//! At most one leader per term per group.
//!
//! Source: Raft's Election Safety property (Ongaro & Ousterhout, Figure 3), observed from
//! every node's openraft metrics throughout the run.

use super::Violation;
use crate::oracle::Oracle;

const NAME: &str = "election-safety";

pub fn check(oracle: &Oracle) -> Vec<Violation> {
    oracle
        .leader_claims
        .iter()
        .filter(|(_, leaders)| leaders.len() > 1)
        .map(|((group, term), leaders)| Violation {
            invariant: NAME,
            detail: format!("group {group} term {term} had leaders {leaders:?}"),
        })
        .collect()
}
