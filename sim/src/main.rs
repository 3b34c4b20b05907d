//! `runnel-sim`: replay one seed, run a range, or soak.
//!
//! ```text
//! cargo run -p runnel-sim -- --seed 42            # one seed (or SIM_SEED=42)
//! cargo run -p runnel-sim -- --seeds 0..100       # a range
//! cargo run -p runnel-sim -- --soak 1000          # many seeds from a random start
//! cargo run -p runnel-sim -- --seed 3 --focus stale-reads --bug stale-reads
//! cargo run -p runnel-sim -- --seed 0 --focus reshards --bug no-seal
//! cargo run -p runnel-sim -- --seed 5 --focus retention --bug leader-only-trim
//! cargo run -p runnel-sim -- --seed 0 --focus fan-out --bug continuation-off-by-one
//! cargo run -p runnel-sim -- --seed 0 --focus fan-out --bug continuation-repeats
//! cargo run -p runnel-sim -- --seed 0 --focus many-groups --bug quiet-followers
//! cargo run -p runnel-sim -- --seeds 0..12 --split-put-records   # the client splits PutRecords
//! ```

use anyhow::bail;
use clap::Parser;
use runnel_sim::{parse_focus, replay_command, run, Bug, SimConfig, COMMIT};

#[derive(Parser)]
#[command(name = "runnel-sim", about = "Deterministic simulation of a Runnel cluster under failures")]
struct Args {
    /// One seed to run (replays a failure).
    #[arg(long, env = "SIM_SEED", conflicts_with_all = ["seeds", "soak"])]
    seed: Option<u64>,
    /// A range of seeds, A..B (B excluded).
    #[arg(long)]
    seeds: Option<String>,
    /// Run this many seeds, starting from a random one, and summarise.
    #[arg(long)]
    soak: Option<u64>,
    /// Simulated nodes (3 or 5).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Turn on a deliberately broken behaviour (to see the checker catch it).
    #[arg(long, value_parser = ["ack-before-sync", "stale-reads", "no-seal", "leader-only-trim", "continuation-off-by-one", "continuation-repeats", "quiet-followers"])]
    bug: Option<String>,
    /// Force what the faults exercise instead of drawing it from the seed.
    #[arg(long, value_parser = ["crashes", "stale-reads", "quiet", "reshards", "retention", "fan-out", "many-groups"])]
    focus: Option<String>,
    /// Print the whole history of every run, not only of failing ones.
    #[arg(long)]
    history: bool,
    /// Run each seed twice and require identical histories.
    #[arg(long)]
    check_determinism: bool,
    /// The client producers split PutRecords per leader (`ClientConfig::split_put_records`).
    #[arg(long)]
    split_put_records: bool,
}

fn parse_range(s: &str) -> anyhow::Result<std::ops::Range<u64>> {
    let Some((a, b)) = s.split_once("..") else { bail!("--seeds takes A..B") };
    Ok(a.parse()?..b.parse()?)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if std::env::var_os("RUNNEL_SIM_LOG").is_some() {
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("RUNNEL_SIM_LOG")).init();
    }
    if args.nodes != 3 && args.nodes != 5 {
        bail!("--nodes must be 3 or 5");
    }
    let seeds: Vec<u64> = match (args.seed, &args.seeds, args.soak) {
        (Some(s), _, _) => vec![s],
        (_, Some(r), _) => parse_range(r)?.collect(),
        (_, _, Some(n)) => {
            let start: u64 = rand::random::<u32>() as u64;
            (start..start + n).collect()
        }
        _ => vec![0],
    };
    let mut failed = Vec::new();
    let mut sim_total = std::time::Duration::ZERO;
    let mut wall_total = std::time::Duration::ZERO;
    let mut duplicates = 0;
    let mut fail_stops = 0;
    for seed in &seeds {
        let mut cfg = SimConfig::new(*seed);
        cfg.nodes = args.nodes;
        cfg.bug = args.bug.as_deref().and_then(Bug::parse);
        cfg.focus = args.focus.as_deref().and_then(parse_focus);
        cfg.split_put_records = args.split_put_records;
        let outcome = run(&cfg);
        if args.check_determinism {
            let again = run(&cfg);
            if again.history != outcome.history {
                let diverged = outcome.history.iter().zip(&again.history).position(|(a, b)| a != b);
                println!("seed {seed}: NOT DETERMINISTIC, histories diverge at line {diverged:?}");
                if let Some(line) = diverged {
                    println!("  first:  {}\n  second: {}", outcome.history[line], again.history[line]);
                }
                failed.push(*seed);
                continue;
            }
        }
        sim_total += outcome.sim_time;
        wall_total += outcome.wall_time;
        duplicates += outcome.stats.duplicates;
        fail_stops += outcome.stats.fail_stops;
        let verdict = if outcome.violations.is_empty() { "ok" } else { "VIOLATION" };
        println!(
            "seed {seed}: {verdict} (sim {:.1} s, wall {:.2} s, {:?})",
            outcome.sim_time.as_secs_f64(),
            outcome.wall_time.as_secs_f64(),
            outcome.stats
        );
        if args.history || !outcome.violations.is_empty() {
            for line in &outcome.history {
                println!("  {line}");
            }
        }
        if !outcome.violations.is_empty() {
            for v in &outcome.violations {
                println!("  violation {v}");
            }
            println!("  seed {seed} at commit {COMMIT}; replay: {}", replay_command(&cfg));
            failed.push(*seed);
        }
    }
    println!(
        "{} seeds, {} with violations {:?}; simulated {:.0} s in {:.1} s wall; {duplicates} duplicates from client retries; {fail_stops} fail-stops",
        seeds.len(),
        failed.len(),
        failed,
        sim_total.as_secs_f64(),
        wall_total.as_secs_f64()
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
