//! `runnel stream create|list|describe|delete`.

use std::time::Duration;

use anyhow::Context;
use runnel_client::Client;
use serde_json::json;

use super::output::{description_json, Output};
use super::StreamCommand;

pub async fn run(client: &Client, command: StreamCommand, out: &mut Output) -> anyhow::Result<()> {
    match command {
        StreamCommand::Create { name, shards, no_wait, wait_timeout } => {
            create(client, &name, shards, no_wait, Duration::from_secs(wait_timeout), out).await
        }
        StreamCommand::List => list(client, out).await,
        StreamCommand::Describe { name } => describe(client, &name, out).await,
        StreamCommand::Delete { name } => {
            client.delete_stream(&name).await.with_context(|| format!("deleting stream {name}"))?;
            if out.json() {
                out.value(&json!({ "stream_name": name, "deleted": true }))?;
            } else {
                out.line(format!("deleting stream {name}"))?;
            }
            Ok(())
        }
    }
}

async fn create(
    client: &Client,
    name: &str,
    shards: u32,
    no_wait: bool,
    wait_timeout: Duration,
    out: &mut Output,
) -> anyhow::Result<()> {
    client.create_stream(name, shards).await.with_context(|| format!("creating stream {name}"))?;
    let status =
        if no_wait { "CREATING".to_string() } else { client.wait_for_active(name, wait_timeout).await?.stream_status };
    if out.json() {
        out.value(&json!({ "stream_name": name, "shard_count": shards, "stream_status": status }))?;
    } else {
        out.line(format!("stream {name} with {shards} shard(s) is {status}"))?;
    }
    Ok(())
}

async fn list(client: &Client, out: &mut Output) -> anyhow::Result<()> {
    let listing = client.list_streams().await.context("listing streams")?;
    // Servers may send names only; summaries add the status when present.
    let status_of =
        |name: &str| listing.stream_summaries.iter().find(|s| s.stream_name == name).map(|s| s.stream_status.clone());
    if out.json() {
        let streams: Vec<_> = listing
            .stream_names
            .iter()
            .map(|name| json!({ "stream_name": name, "stream_status": status_of(name) }))
            .collect();
        out.value(&json!({ "streams": streams }))?;
    } else if listing.stream_names.is_empty() {
        out.line("no streams")?;
    } else {
        for name in &listing.stream_names {
            match status_of(name) {
                Some(status) => out.line(format!("{name}\t{status}"))?,
                None => out.line(name)?,
            }
        }
    }
    Ok(())
}

async fn describe(client: &Client, name: &str, out: &mut Output) -> anyhow::Result<()> {
    let d = client.describe_stream(name).await.with_context(|| format!("describing stream {name}"))?;
    if out.json() {
        out.value(&description_json(&d))?;
        return Ok(());
    }
    let mode = d.stream_mode_details.as_ref().map(|m| m.stream_mode.as_str()).unwrap_or("-");
    out.line(format!("Stream:      {}", d.stream_name))?;
    out.line(format!("ARN:         {}", d.stream_arn))?;
    out.line(format!("Status:      {}", d.stream_status))?;
    out.line(format!("Mode:        {mode}"))?;
    out.line(format!("Retention:   {} h", d.retention_period_hours))?;
    out.line(format!("Created:     {} (ms since epoch)", d.stream_creation_timestamp))?;
    out.line(format!("Encryption:  {}", d.encryption_type))?;
    out.line(format!("Shards:      {}", d.shards.len()))?;
    for shard in &d.shards {
        let (start, end) = shard
            .hash_key_range
            .as_ref()
            .map(|r| (r.starting_hash_key.as_str(), r.ending_hash_key.as_str()))
            .unwrap_or(("?", "?"));
        let (first_seq, last_seq) = shard
            .sequence_number_range
            .as_ref()
            .map(|s| (s.starting_sequence_number.as_str(), s.ending_sequence_number.as_deref().unwrap_or("open")))
            .unwrap_or(("?", "?"));
        out.line(format!("  {}  hash keys {start}..={end}  sequence numbers {first_seq}..{last_seq}", shard.shard_id))?;
    }
    Ok(())
}
