//! The checker catches a deliberately broken node: with appends acknowledged before they
//! are synced, crashes lose acknowledged records, and the run reports the loss with its
//! seed and the command that replays it.

use runnel_sim::faults::Profile;
use runnel_sim::{replay_command, run, Bug, SimConfig};

#[test]
fn acknowledging_before_the_sync_is_caught() {
    let mut lost_acks_seen = false;
    // The bug only bites when a crash takes acknowledged-but-unsynced entries from a
    // majority; not every seed's faults do that, some must.
    for seed in 0..3 {
        let mut cfg = SimConfig::new(seed);
        cfg.profile = Profile::Crashes;
        cfg.bug = Some(Bug::AckBeforeSync);
        let outcome = run(&cfg);
        assert_eq!(outcome.seed, seed);
        let replay = replay_command(&cfg);
        assert!(replay.contains(&format!("--seed {seed} ")) && replay.contains("--bug ack-before-sync"), "{replay}");
        lost_acks_seen |= outcome.violations.iter().any(|v| v.invariant == "no-lost-acks");
        println!("seed {seed}: {:?}", outcome.violations.iter().map(|v| v.invariant).collect::<Vec<_>>());
    }
    assert!(lost_acks_seen, "some crash must lose an acknowledged write and be reported as such");
}

#[test]
fn the_same_seeds_without_the_bug_keep_every_promise() {
    for seed in 0..2 {
        let mut cfg = SimConfig::new(seed);
        cfg.profile = Profile::Crashes;
        let outcome = run(&cfg);
        assert!(outcome.violations.is_empty(), "seed {seed}: {:?}", outcome.violations);
    }
}
