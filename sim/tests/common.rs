use runnel_sim::{replay_command, run, Focus, Outcome, SimConfig, COMMIT};

/// Runs `seeds`, printing a line per seed; panics with every failure's report.
pub fn run_seeds(seeds: impl IntoIterator<Item = u64>, nodes: usize) -> Vec<Outcome> {
    run_focused(seeds, nodes, None)
}

/// Like `run_seeds`, with the fault `focus` given.
pub fn run_focused(seeds: impl IntoIterator<Item = u64>, nodes: usize, focus: Option<Focus>) -> Vec<Outcome> {
    run_with(seeds, nodes, |cfg| cfg.focus = focus)
}

/// Like `run_seeds`, each seed's configuration changed by `configure` first.
pub fn run_with(
    seeds: impl IntoIterator<Item = u64>,
    nodes: usize,
    configure: impl Fn(&mut SimConfig),
) -> Vec<Outcome> {
    let mut failures = Vec::new();
    let mut outcomes = Vec::new();
    for seed in seeds {
        let mut cfg = SimConfig::new(seed);
        cfg.nodes = nodes;
        configure(&mut cfg);
        let outcome = run(&cfg);
        println!(
            "seed {seed} ({nodes} nodes): {} violations, sim {:.1} s, wall {:.2} s, {:?}",
            outcome.violations.len(),
            outcome.sim_time.as_secs_f64(),
            outcome.wall_time.as_secs_f64(),
            outcome.stats
        );
        if !outcome.violations.is_empty() {
            let history = outcome.history[outcome.history.len().saturating_sub(80)..].join("\n");
            let violations: Vec<String> = outcome.violations.iter().map(|v| v.to_string()).collect();
            failures.push(format!(
                "seed {seed} at commit {COMMIT}: {}\nreplay: {}\nhistory (last 80 lines):\n{history}",
                violations.join("\n"),
                replay_command(&cfg)
            ));
        }
        outcomes.push(outcome);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    outcomes
}
