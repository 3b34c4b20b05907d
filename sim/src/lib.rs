//! `runnel-sim`: deterministic simulations of a Runnel cluster with turmoil. The real node
//! code runs on simulated hosts (simulated TCP, an in-memory disk that loses unsynced
//! writes on a crash, simulated time, seeded randomness); the seed chooses the workload's
//! timing and the faults, so every run replays from its seed.
//!
//! # Layout
//! - `harness`: one run: the world, node hosts, clients, fault injection, the verdict.
//! - `net`: gRPC over turmoil TCP (the injected listener and connector), the clock.
//! - `faults`: the seed's fault schedule (partitions, crashes, loss, latency, slow disk).
//! - `workload`: the client hosts: driver, producers, consumer.
//! - `oracle`: what clients were told and what readers saw; failed writes are unknown.
//! - `invariants/`: one file per promise checked after the run.

pub mod faults;
pub mod harness;
pub mod invariants;
pub mod net;
pub mod oracle;
pub mod workload;

pub use harness::{run, Bug, Outcome, SimConfig};

/// The commit this binary was built from.
pub const COMMIT: &str = env!("RUNNEL_SIM_COMMIT");

/// The command that replays a run.
pub fn replay_command(cfg: &SimConfig) -> String {
    let mut cmd = format!("cargo run -p runnel-sim -- --seed {} --nodes {}", cfg.seed, cfg.nodes);
    if cfg.bug.is_some() {
        cmd.push_str(" --bug ack-before-sync");
    }
    cmd
}
