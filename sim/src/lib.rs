//! `runnel-sim`: deterministic simulations of a Runnel cluster with turmoil. The real node
//! code (and the real `runnel-client`) runs on simulated hosts: simulated TCP, an
//! in-memory disk that loses a suffix of its unsynced writes on a crash and can fail
//! reads, simulated time, seeded randomness. The seed chooses the swarm options (which
//! faults, how often, how hard), the fault schedule and the workload's timing, so every
//! run replays from its seed.
//!
//! A run has a safety phase (faults) and a liveness phase (healed, perhaps with one
//! replica left down). Some invariants are checked while it goes, the rest after it.
//!
//! # Layout
//! - `harness`: one run: the world, node hosts, clients, fault injection, the supervisor
//!   that restarts fail-stopped nodes, the verdict.
//! - `swarm`: the options of a run (faults, how many reshards, fan-out subscribers), drawn
//!   from its seed (and `Focus` to force some).
//! - `faults`: the seed's fault schedule under those options, each fault with its end.
//! - `disks`: one in-memory engine per node: crashes, read errors, quiet reads for the
//!   checker.
//! - `net`: gRPC over turmoil TCP (client and peer listeners, connectors), the clock.
//! - `workload/`: the client hosts: driver, producers (raw gRPC and `runnel-client`),
//!   consumer, resharder (splits, merges, UpdateShardCount during the faults), and
//!   enhanced fan-out subscribers (`runnel-client`'s `subscribe`: SubscribeToShard
//!   pushes, renewed every 3 s, failing over between nodes); readers follow the lineage,
//!   parents to their ends before children.
//! - `oracle`: what clients were told and when, what readers got and what subscriptions
//!   pushed; failed writes are unknown.
//! - `sampler`: what the harness reads from running nodes every few steps for the live
//!   invariants.
//! - `invariants/`: one file per promise, each citing where it comes from; the
//!   `subscription_*` ones judge what the subscribers were pushed (no loss, order and
//!   lineage, only committed records).

pub mod disks;
pub mod faults;
pub mod harness;
pub mod invariants;
pub mod net;
pub mod oracle;
pub mod sampler;
pub mod swarm;
pub mod workload;

pub use harness::{run, Bug, Outcome, SimConfig, MANY_GROUPS_SHARDS};
pub use swarm::Focus;

/// The commit this binary was built from.
pub const COMMIT: &str = env!("RUNNEL_SIM_COMMIT");

/// The name of a focus on the command line (`--focus`).
pub fn focus_flag(focus: Focus) -> &'static str {
    match focus {
        Focus::Crashes => "crashes",
        Focus::StaleReads => "stale-reads",
        Focus::Quiet => "quiet",
        Focus::Reshards => "reshards",
        Focus::Retention => "retention",
        Focus::FanOut => "fan-out",
        Focus::ManyGroups => "many-groups",
    }
}

pub fn parse_focus(flag: &str) -> Option<Focus> {
    [
        Focus::Crashes,
        Focus::StaleReads,
        Focus::Quiet,
        Focus::Reshards,
        Focus::Retention,
        Focus::FanOut,
        Focus::ManyGroups,
    ]
    .into_iter()
    .find(|f| focus_flag(*f) == flag)
}

/// The command that replays a run.
pub fn replay_command(cfg: &SimConfig) -> String {
    let mut cmd = format!("cargo run -p runnel-sim -- --seed {} --nodes {}", cfg.seed, cfg.nodes);
    if let Some(focus) = cfg.focus {
        cmd.push_str(&format!(" --focus {}", focus_flag(focus)));
    }
    if let Some(bug) = cfg.bug {
        cmd.push_str(&format!(" --bug {}", bug.flag()));
    }
    if cfg.split_put_records {
        cmd.push_str(" --split-put-records");
    }
    cmd
}
