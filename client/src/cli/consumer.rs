//! `runnel consumer register|list|describe|deregister`: a stream's enhanced fan-out
//! consumers, named by stream and consumer name (the stream's ARN comes from
//! DescribeStreamSummary).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use runnel_client::proto::{Consumer, ConsumerDescription};
use runnel_client::{Client, ConsumerKey};
use serde_json::{json, Value};

use super::output::Output;
use super::ConsumerCommand;

pub async fn run(client: &Client, command: ConsumerCommand, out: &mut Output) -> anyhow::Result<()> {
    match command {
        ConsumerCommand::Register { stream, name, no_wait, wait_timeout } => {
            let wait = (!no_wait).then(|| Duration::from_secs(wait_timeout));
            register(client, &stream, &name, wait, out).await
        }
        ConsumerCommand::List { stream } => list(client, &stream, out).await,
        ConsumerCommand::Describe { stream, name } => describe(client, &stream, &name, out).await,
        ConsumerCommand::Deregister { stream, name } => deregister(client, &stream, &name, out).await,
    }
}

async fn stream_arn(client: &Client, stream: &str) -> anyhow::Result<String> {
    client.stream_arn(stream).await.with_context(|| format!("describing stream {stream}"))
}

async fn register(
    client: &Client,
    stream: &str,
    name: &str,
    wait: Option<Duration>,
    out: &mut Output,
) -> anyhow::Result<()> {
    let stream_arn = stream_arn(client, stream).await?;
    let registered = client
        .register_stream_consumer(&stream_arn, name, HashMap::new())
        .await
        .with_context(|| format!("registering consumer {name} with stream {stream}"))?;
    let consumer = match wait {
        None => registered,
        Some(timeout) => {
            let key = ConsumerKey::Arn(registered.consumer_arn.clone());
            let active = client.wait_for_consumer_active(&key, timeout).await?;
            Consumer { consumer_status: active.consumer_status, ..registered }
        }
    };
    if out.json() {
        out.value(&consumer_json(&consumer))?;
    } else {
        out.line(format!("consumer {name} of stream {stream} is {}", consumer.consumer_status))?;
        out.line(format!("ARN: {}", consumer.consumer_arn))?;
    }
    Ok(())
}

async fn list(client: &Client, stream: &str, out: &mut Output) -> anyhow::Result<()> {
    let stream_arn = stream_arn(client, stream).await?;
    let consumers = client
        .list_stream_consumers(&stream_arn)
        .await
        .with_context(|| format!("listing the consumers of stream {stream}"))?;
    if out.json() {
        out.value(&json!({ "consumers": consumers.iter().map(consumer_json).collect::<Vec<_>>() }))?;
    } else if consumers.is_empty() {
        out.line(format!("stream {stream} has no consumers"))?;
    } else {
        for c in &consumers {
            out.line(format!("{}\t{}\t{}", c.consumer_name, c.consumer_status, c.consumer_arn))?;
        }
    }
    Ok(())
}

async fn describe(client: &Client, stream: &str, name: &str, out: &mut Output) -> anyhow::Result<()> {
    let key = ConsumerKey::named(&stream_arn(client, stream).await?, name);
    let d = client
        .describe_stream_consumer(&key)
        .await
        .with_context(|| format!("describing consumer {name} of stream {stream}"))?;
    if out.json() {
        out.value(&description_json(&d))?;
        return Ok(());
    }
    out.line(format!("Consumer:    {}", d.consumer_name))?;
    out.line(format!("ARN:         {}", d.consumer_arn))?;
    out.line(format!("Status:      {}", d.consumer_status))?;
    out.line(format!("Created:     {} (ms since epoch)", d.consumer_creation_timestamp))?;
    out.line(format!("Stream ARN:  {}", d.stream_arn))?;
    Ok(())
}

async fn deregister(client: &Client, stream: &str, name: &str, out: &mut Output) -> anyhow::Result<()> {
    let key = ConsumerKey::named(&stream_arn(client, stream).await?, name);
    client
        .deregister_stream_consumer(&key)
        .await
        .with_context(|| format!("deregistering consumer {name} of stream {stream}"))?;
    if out.json() {
        out.value(&json!({ "stream_name": stream, "consumer_name": name, "deregistered": true }))?;
    } else {
        out.line(format!("deregistering consumer {name} of stream {stream}"))?;
    }
    Ok(())
}

fn consumer_json(c: &Consumer) -> Value {
    json!({
        "consumer_name": c.consumer_name,
        "consumer_arn": c.consumer_arn,
        "consumer_status": c.consumer_status,
        "consumer_creation_timestamp": c.consumer_creation_timestamp,
    })
}

fn description_json(d: &ConsumerDescription) -> Value {
    json!({
        "consumer_name": d.consumer_name,
        "consumer_arn": d.consumer_arn,
        "consumer_status": d.consumer_status,
        "consumer_creation_timestamp": d.consumer_creation_timestamp,
        "stream_arn": d.stream_arn,
    })
}
