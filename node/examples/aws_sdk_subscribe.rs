//! Subscribes to one shard with the AWS SDK for Rust over HTTP/2 (SubscribeToShard from
//! TRIM_HORIZON) and prints each record pushed as a JSON line, until COUNT records; the
//! third door of scripts/tests/aws_clients.py, which writes with boto3 and reads with gRPC.
//!
//! Usage: aws_sdk_subscribe HOST:PORT CONSUMER_ARN SHARD_ID COUNT

#[path = "../tests/support/aws_sdk_h2.rs"]
mod aws_sdk_h2;

use anyhow::{bail, Context};
use aws_sdk_kinesis::types::{ShardIteratorType, StartingPosition, SubscribeToShardEventStream};
use base64::Engine as _;
use std::time::Duration;

/// Longer than any wait for the records of a test run: a hang detector.
const WAIT_MAX: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, consumer_arn, shard_id, count] = args.as_slice() else {
        bail!("usage: aws_sdk_subscribe HOST:PORT CONSUMER_ARN SHARD_ID COUNT");
    };
    let count: usize = count.parse().context("COUNT")?;
    let sdk = aws_sdk_h2::sdk_client(addr).await;
    let position = StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon).build()?;
    let mut subscription = sdk
        .subscribe_to_shard()
        .consumer_arn(consumer_arn)
        .shard_id(shard_id)
        .starting_position(position)
        .send()
        .await
        .context("SubscribeToShard")?;
    let mut printed = 0;
    while printed < count {
        let event = tokio::time::timeout(WAIT_MAX, subscription.event_stream.recv())
            .await
            .context("no event within a minute")?
            .context("a malformed event")?
            .context("the subscription ended early")?;
        let SubscribeToShardEventStream::SubscribeToShardEvent(event) = event else {
            bail!("an event other than SubscribeToShardEvent: {event:?}");
        };
        for record in event.records() {
            let data = base64::engine::general_purpose::STANDARD.encode(record.data().as_ref());
            println!("{}", serde_json::json!({ "sequence_number": record.sequence_number(), "data": data }));
            printed += 1;
        }
    }
    Ok(())
}
