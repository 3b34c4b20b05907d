//! `runnel stream create|list|describe|delete|split|merge|scale`.

use std::time::Duration;

use anyhow::{bail, Context};
use runnel_client::hash_key::HashKey;
use runnel_client::proto::Shard;
use runnel_client::{is_closed, shard_hash_range, split_midpoint, Client};
use serde_json::json;

use super::output::{description_json, shard_json, Output};
use super::StreamCommand;

pub async fn run(client: &Client, command: StreamCommand, out: &mut Output) -> anyhow::Result<()> {
    match command {
        StreamCommand::Create { name, shards, no_wait, wait_timeout } => {
            create(client, &name, shards, no_wait, Duration::from_secs(wait_timeout), out).await
        }
        StreamCommand::List => list(client, out).await,
        StreamCommand::Describe { name } => describe(client, &name, out).await,
        StreamCommand::Split { name, shard_id, at, no_wait, wait_timeout } => {
            split(client, &name, &shard_id, at.as_deref(), wait(no_wait, wait_timeout), out).await
        }
        StreamCommand::Merge { name, shard_id, adjacent_shard_id, no_wait, wait_timeout } => {
            merge(client, &name, &shard_id, &adjacent_shard_id, wait(no_wait, wait_timeout), out).await
        }
        StreamCommand::Scale { name, target_count, no_wait, wait_timeout } => {
            scale(client, &name, target_count, wait(no_wait, wait_timeout), out).await
        }
        StreamCommand::Delete { name, enforce_consumer_deletion } => {
            let deleted = if enforce_consumer_deletion {
                client.delete_stream_with_consumers(&name).await
            } else {
                client.delete_stream(&name).await
            };
            deleted.with_context(|| format!("deleting stream {name}"))?;
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

/// How long a reshard command waits for the stream to be ACTIVE again; `None` for not at all.
fn wait(no_wait: bool, wait_timeout: u64) -> Option<Duration> {
    (!no_wait).then(|| Duration::from_secs(wait_timeout))
}

/// The stream's status once the change settled, or UPDATING when not waiting.
async fn settle(client: &Client, name: &str, wait: Option<Duration>) -> anyhow::Result<String> {
    match wait {
        None => Ok("UPDATING".to_string()),
        Some(timeout) => Ok(client.wait_for_active(name, timeout).await?.stream_status),
    }
}

/// The shards whose parents include one of `parents`; none when not waiting, as the
/// children may not exist yet.
async fn children(client: &Client, name: &str, parents: &[&str], wait: Option<Duration>) -> anyhow::Result<Vec<Shard>> {
    if wait.is_none() {
        return Ok(Vec::new());
    }
    let shards = client.list_shards(name).await.with_context(|| format!("listing the shards of {name}"))?;
    let is_child = |shard: &Shard| {
        [&shard.parent_shard_id, &shard.adjacent_parent_shard_id]
            .into_iter()
            .flatten()
            .any(|p| parents.contains(&p.as_str()))
    };
    Ok(shards.into_iter().filter(is_child).collect())
}

/// The middle of an open shard's hash key range.
async fn default_split_point(client: &Client, name: &str, shard_id: &str) -> anyhow::Result<HashKey> {
    let shards = client.list_shards(name).await.with_context(|| format!("listing the shards of {name}"))?;
    let shard = shards
        .iter()
        .find(|s| s.shard_id == shard_id)
        .with_context(|| format!("stream {name} has no shard {shard_id}"))?;
    if is_closed(shard) {
        bail!("shard {shard_id} is closed: it has already been split or merged");
    }
    split_midpoint(shard_hash_range(shard)?)
        .with_context(|| format!("shard {shard_id} owns a single hash key and cannot be split"))
}

async fn split(
    client: &Client,
    name: &str,
    shard_id: &str,
    at: Option<&str>,
    wait: Option<Duration>,
    out: &mut Output,
) -> anyhow::Result<()> {
    let at = match at {
        Some(at) => at.parse::<HashKey>().with_context(|| format!("--at {at}"))?,
        None => default_split_point(client, name, shard_id).await?,
    };
    client
        .split_shard(name, shard_id, &at.to_string())
        .await
        .with_context(|| format!("splitting shard {shard_id} of {name} at {at}"))?;
    let status = settle(client, name, wait).await?;
    let children = children(client, name, &[shard_id], wait).await?;
    if out.json() {
        out.value(&json!({
            "stream_name": name,
            "shard_id": shard_id,
            "new_starting_hash_key": at.to_string(),
            "stream_status": status,
            "child_shards": children.iter().map(shard_json).collect::<Vec<_>>(),
        }))?;
    } else {
        out.line(format!("split {shard_id} of {name} at hash key {at}; the stream is {status}"))?;
        for child in &children {
            out.line(shard_line(child))?;
        }
    }
    Ok(())
}

async fn merge(
    client: &Client,
    name: &str,
    shard_id: &str,
    adjacent_shard_id: &str,
    wait: Option<Duration>,
    out: &mut Output,
) -> anyhow::Result<()> {
    client
        .merge_shards(name, shard_id, adjacent_shard_id)
        .await
        .with_context(|| format!("merging shards {shard_id} and {adjacent_shard_id} of {name}"))?;
    let status = settle(client, name, wait).await?;
    let children = children(client, name, &[shard_id, adjacent_shard_id], wait).await?;
    if out.json() {
        out.value(&json!({
            "stream_name": name,
            "shard_id": shard_id,
            "adjacent_shard_id": adjacent_shard_id,
            "stream_status": status,
            "child_shards": children.iter().map(shard_json).collect::<Vec<_>>(),
        }))?;
    } else {
        out.line(format!("merged {shard_id} and {adjacent_shard_id} of {name}; the stream is {status}"))?;
        for child in &children {
            out.line(shard_line(child))?;
        }
    }
    Ok(())
}

async fn scale(
    client: &Client,
    name: &str,
    target: u32,
    wait: Option<Duration>,
    out: &mut Output,
) -> anyhow::Result<()> {
    let (current, target) = client
        .update_shard_count(name, target)
        .await
        .with_context(|| format!("scaling stream {name} to {target} shard(s)"))?;
    let status = settle(client, name, wait).await?;
    if out.json() {
        out.value(&json!({
            "stream_name": name,
            "current_shard_count": current,
            "target_shard_count": target,
            "stream_status": status,
        }))?;
    } else {
        out.line(format!("stream {name}: {current} -> {target} open shard(s); the stream is {status}"))?;
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
    let open = d.shards.iter().filter(|s| !is_closed(s)).count();
    out.line(format!("Shards:      {} ({open} open)", d.shards.len()))?;
    for shard in &d.shards {
        out.line(shard_line(shard))?;
    }
    Ok(())
}

/// One shard as `describe` shows it: id, OPEN or CLOSED, ranges, parents.
fn shard_line(shard: &Shard) -> String {
    let (start, end) = shard
        .hash_key_range
        .as_ref()
        .map(|r| (r.starting_hash_key.as_str(), r.ending_hash_key.as_str()))
        .unwrap_or(("?", "?"));
    let first_seq = shard.sequence_number_range.as_ref().map_or("?", |s| s.starting_sequence_number.as_str());
    // A closed shard's range ends at its ending sequence number; an open one's is unbounded.
    let (state, last_seq) = match shard.sequence_number_range.as_ref().and_then(|s| s.ending_sequence_number.as_deref())
    {
        Some(end) => ("CLOSED", format!("={end}")),
        None => ("OPEN", String::new()),
    };
    let parents: Vec<&str> =
        [&shard.parent_shard_id, &shard.adjacent_parent_shard_id].into_iter().flatten().map(String::as_str).collect();
    let mut line = format!(
        "  {}  {state:<6}  hash keys {start}..={end}  sequence numbers {first_seq}..{last_seq}",
        shard.shard_id
    );
    if !parents.is_empty() {
        line.push_str(&format!("  parents {}", parents.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use runnel_client::proto::{HashKeyRange, SequenceNumberRange};

    fn shard(parents: (Option<&str>, Option<&str>), ending: Option<&str>) -> Shard {
        Shard {
            shard_id: "shardId-000000000004".into(),
            parent_shard_id: parents.0.map(str::to_string),
            adjacent_parent_shard_id: parents.1.map(str::to_string),
            hash_key_range: Some(HashKeyRange { starting_hash_key: "10".into(), ending_hash_key: "20".into() }),
            sequence_number_range: Some(SequenceNumberRange {
                starting_sequence_number: "100".into(),
                ending_sequence_number: ending.map(str::to_string),
            }),
        }
    }

    #[test]
    fn describe_shows_state_ending_sequence_number_and_parents() {
        assert_eq!(
            shard_line(&shard((None, None), None)),
            "  shardId-000000000004  OPEN    hash keys 10..=20  sequence numbers 100.."
        );
        assert_eq!(
            shard_line(&shard((Some("shardId-000000000001"), None), Some("150"))),
            "  shardId-000000000004  CLOSED  hash keys 10..=20  sequence numbers 100..=150  parents shardId-000000000001"
        );
        assert_eq!(
            shard_line(&shard((Some("shardId-000000000001"), Some("shardId-000000000003")), None)),
            "  shardId-000000000004  OPEN    hash keys 10..=20  sequence numbers 100..  parents shardId-000000000001, shardId-000000000003"
        );
    }
}
