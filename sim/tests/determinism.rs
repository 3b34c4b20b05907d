//! A seed replays exactly: the same run twice gives byte-identical histories (every put,
//! its sequence number and the simulated millisecond it was acknowledged, every fault).

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

#[test]
fn one_seed_twice_gives_identical_histories() {
    same_twice(SimConfig::new(11));
}

#[test]
fn five_nodes_with_crashes_replay_too() {
    let mut cfg = SimConfig::new(15);
    cfg.nodes = 5;
    same_twice(cfg);
}
