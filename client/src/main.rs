//! `runnel`: command-line client for a Runnel cluster. See `cli/` for the commands.

mod cli;

use std::io::{self, Write};

use clap::Parser;
use runnel_client::ClientError;
use serde_json::json;

use cli::{Cli, Output};

#[tokio::main]
async fn main() {
    // Logs go to stderr and are off unless RUST_LOG asks for them.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(io::stderr)
        .init();
    let cli = Cli::parse();
    let json = cli.json;
    let mut out = Output::new(json);
    let result = cli::run(cli, &mut out).await;
    let flushed = out.flush();
    let code = match result.and(flushed.map_err(anyhow::Error::from)) {
        Ok(()) => 0,
        // `runnel get ... | head` closes the pipe early; that is not a failure.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            report(&e, json);
            1
        }
    };
    let _ = io::stderr().flush();
    // Exit without dropping the runtime: a reader blocked on stdin would keep it alive.
    std::process::exit(code);
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// Prints the error to stderr; with --json as an object carrying the Kinesis error name.
fn report(error: &anyhow::Error, json: bool) {
    if !json {
        eprintln!("error: {error:#}");
        return;
    }
    let code = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ClientError>())
        .and_then(ClientError::code)
        .map(|code| code.to_string());
    eprintln!("{}", json!({ "error": { "code": code, "message": format!("{error:#}") } }));
}
