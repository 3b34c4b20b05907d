//! The checker catches deliberately broken nodes, and the same seeds pass without the
//! bugs. Each failing run names its seed and the command that replays it.
//!
//! - Acknowledging appends before they are synced: crashes then lose acknowledged records
//!   (no-lost-acks), and replicas later hold other entries at indexes they had committed
//!   (committed-never-changes, log-matching, both checked while the run goes), and a
//!   follower asked to replace a committed entry trips openraft's own assertion, which
//!   fail-stops the node (raft-asserts-hold).
//! - Serving reads at a node that only believes it leads: a leader cut off from its peers
//!   (but not from clients) keeps answering after a new leader acknowledged writes
//!   (no-stale-reads).
//! - Ending a reshard's parent at its newest record without sealing it: a node whose
//!   metadata is behind (partitions, latency) still routes writes to the parent after its
//!   children opened, so the parent holds records past its EndingSequenceNumber
//!   (records-within-shard-ranges) and a reader that follows the lineage reads a key's
//!   later write before an earlier one (key-order).
//! - Trimming only the shard leader's copy for retention: after leadership moves, a reader
//!   starting from TRIM_HORIZON gets records that an earlier such reader no longer got
//!   (expired-stay-gone).
//! - A subscription's continuation number naming the next record instead of the last one
//!   sent: a subscriber renewing (or failing over) after it skips the record written next
//!   (subscription-complete).
//! - A continuation number naming the record before the last one sent: a subscriber
//!   renewing (or failing over) is pushed that record again (subscription-order).
//! - Acknowledging appends before they are synced, with fan-out subscribers: a crash takes
//!   records a subscriber was already pushed, and the shard later holds other records at
//!   their sequence numbers (subscription-committed).
//! - Followers of quiet groups that never stand while they remember a leader: the node left
//!   down at the heal led groups that were quiet, and they never elect again (liveness).

use runnel_sim::{replay_command, run, Bug, Focus, SimConfig};

/// Crash-focused seeds on which a crash takes acknowledged-but-unsynced entries from a
/// majority (not every seed's crashes do; each of these does, deterministically).
const ACK_BEFORE_SYNC_SEEDS: [u64; 3] = [5, 0, 3];
/// Seeds on which the consumer asks a cut-off leader for a shard after the new leader
/// acknowledged records there (each of these does).
const STALE_READ_SEEDS: [u64; 3] = [0, 1, 2];
/// Reshard-focused seeds on which writes reach a parent after its children opened (each of
/// these does; on 2 one of them also breaks a key's order, on 0 none does).
const NO_SEAL_SEEDS: [u64; 2] = [2, 0];
/// Retention-focused seeds on which a prober reads from TRIM_HORIZON at a new leader
/// before it trimmed its own copy (seeds 5, 7 and 10 do, since nodes ask their peers before
/// creating the cluster; seed 1 did before).
const LEADER_ONLY_TRIM_SEEDS: [u64; 3] = [5, 7, 10];
/// Fan-out-focused seeds on which a subscription is renewed (or fails over) before the
/// record its continuation number names was written, so the resumed one skips it (seed 0
/// does).
const CONTINUATION_SEEDS: [u64; 1] = [0];
/// Fan-out-focused seeds on which a crash takes acknowledged-but-unsynced records that a
/// subscriber had been pushed, and new records take their sequence numbers (seed 5 does).
const PUSHED_THEN_LOST_SEEDS: [u64; 1] = [5];

/// Many-groups seeds on which the node left down at the heal leads quiet groups (every
/// such seed does: most of its 200 shards are never written).
const QUIET_FOLLOWER_SEEDS: [u64; 1] = [0];

/// Runs `seeds` with `bug` until one run reports every invariant in `expected`.
fn caught(seeds: &[u64], focus: Focus, bug: Bug, expected: &[&str]) {
    for &seed in seeds {
        let mut cfg = SimConfig::new(seed);
        cfg.focus = Some(focus);
        cfg.bug = Some(bug);
        let outcome = run(&cfg);
        assert_eq!(outcome.seed, seed);
        let replay = replay_command(&cfg);
        assert!(
            replay.contains(&format!("--seed {seed} ")) && replay.contains(&format!("--bug {}", bug.flag())),
            "{replay}"
        );
        let reported: Vec<&str> = outcome.violations.iter().map(|v| v.invariant).collect();
        println!("seed {seed}: {reported:?}");
        if expected.iter().all(|e| reported.contains(e)) {
            return;
        }
    }
    panic!("{bug:?} must be reported as all of {expected:?} on one of the seeds {seeds:?}");
}

fn clean(seeds: &[u64], focus: Focus) {
    for &seed in seeds {
        let mut cfg = SimConfig::new(seed);
        cfg.focus = Some(focus);
        let outcome = run(&cfg);
        assert!(
            outcome.violations.is_empty(),
            "seed {seed}: {:?}\nreplay: {}",
            outcome.violations,
            replay_command(&cfg)
        );
    }
}

#[test]
fn acknowledging_before_the_sync_is_caught() {
    caught(
        &ACK_BEFORE_SYNC_SEEDS,
        Focus::Crashes,
        Bug::AckBeforeSync,
        &["no-lost-acks", "committed-never-changes", "log-matching", "raft-asserts-hold"],
    );
}

#[test]
fn reading_at_a_leader_that_never_confirms_it_still_leads_is_caught() {
    caught(&STALE_READ_SEEDS, Focus::StaleReads, Bug::StaleReads, &["no-stale-reads"]);
}

#[test]
fn ending_a_parent_without_sealing_it_is_caught() {
    caught(&NO_SEAL_SEEDS, Focus::Reshards, Bug::NoSeal, &["records-within-shard-ranges", "key-order"]);
}

#[test]
fn trimming_only_the_leaders_copy_is_caught() {
    caught(&LEADER_ONLY_TRIM_SEEDS, Focus::Retention, Bug::LeaderOnlyTrim, &["expired-stay-gone"]);
}

#[test]
fn a_continuation_number_one_past_the_last_record_is_caught() {
    caught(&CONTINUATION_SEEDS, Focus::FanOut, Bug::ContinuationOffByOne, &["subscription-complete"]);
}

#[test]
fn a_continuation_number_one_before_the_last_record_is_caught() {
    caught(&CONTINUATION_SEEDS, Focus::FanOut, Bug::ContinuationRepeats, &["subscription-order"]);
}

#[test]
fn pushing_records_a_crash_then_takes_is_caught() {
    caught(&PUSHED_THEN_LOST_SEEDS, Focus::FanOut, Bug::AckBeforeSync, &["subscription-committed"]);
}

#[test]
fn the_fan_out_seeds_without_the_bugs_keep_every_promise() {
    clean(&CONTINUATION_SEEDS, Focus::FanOut);
    clean(&PUSHED_THEN_LOST_SEEDS, Focus::FanOut);
}

#[test]
fn the_retention_seeds_without_the_bug_keep_every_promise() {
    clean(&LEADER_ONLY_TRIM_SEEDS, Focus::Retention);
}

#[test]
fn the_same_seeds_without_the_bugs_keep_every_promise() {
    clean(&ACK_BEFORE_SYNC_SEEDS, Focus::Crashes);
    clean(&STALE_READ_SEEDS, Focus::StaleReads);
}

#[test]
fn the_reshard_seeds_without_the_bug_keep_every_promise() {
    clean(&NO_SEAL_SEEDS, Focus::Reshards);
}

#[test]
fn followers_that_never_stand_for_a_lost_quiet_leader_are_caught() {
    caught(&QUIET_FOLLOWER_SEEDS, Focus::ManyGroups, Bug::QuietFollowers, &["liveness"]);
}
