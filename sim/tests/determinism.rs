//! A seed replays exactly: the same run twice in one process gives byte-identical
//! histories (every put, its sequence number and the simulated millisecond it was
//! acknowledged, every fault, every fail-stop and what each crash kept).

use runnel_sim::{run, SimConfig};

fn same_twice(cfg: SimConfig) {
    let first = run(&cfg);
    let second = run(&cfg);
    assert!(first.history.len() > 50, "a run must have something to compare");
    if let Some(line) = first.history.iter().zip(&second.history).position(|(a, b)| a != b) {
        panic!(
            "seed {} diverged at history line {line}:\n  {}\n  {}",
            cfg.seed, first.history[line], second.history[line]
        );
    }
    assert_eq!(first.history.len(), second.history.len());
    assert_eq!(first.sim_time, second.sim_time);
}

/// Seed 7 draws crashes, isolated leaders, holds, slow disks and read errors that make a
/// node fail-stop four times, and a fan-out subscriber (its history line carries a digest
/// of every record pushed to it and when).
#[test]
fn one_seed_twice_gives_identical_histories() {
    same_twice(SimConfig::new(7));
}

/// Seed 1006 on 5 nodes draws crashes, partitions, holds, message loss and read errors.
#[test]
fn five_nodes_with_crashes_replay_too() {
    let mut cfg = SimConfig::new(1_006);
    cfg.nodes = 5;
    same_twice(cfg);
}
