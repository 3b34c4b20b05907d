//! `runnel subscribe STREAM --consumer NAME`: follow a stream as a registered enhanced
//! fan-out consumer, records pushed as they are written, until Ctrl-C. Shards are taken up
//! in lineage order and their subscriptions renewed and resumed by `Client::subscribe`.

use anyhow::Context;
use runnel_client::{Client, ConsumerKey, Delivery, LineageStart};

use super::output::Output;
use super::SubscribeArgs;

pub async fn run(client: &Client, args: SubscribeArgs, out: &mut Output) -> anyhow::Result<()> {
    let stream_arn = client.stream_arn(&args.stream).await.with_context(|| format!("stream {}", args.stream))?;
    let consumer = client
        .describe_stream_consumer(&ConsumerKey::named(&stream_arn, &args.consumer))
        .await
        .with_context(|| format!("consumer {} of {} (runnel consumer register first)", args.consumer, args.stream))?;
    let start = if args.from_start { LineageStart::Oldest } else { LineageStart::Open };
    let mut deliveries = client.subscribe(&args.stream, &consumer.consumer_arn, start).await?;
    if !out.json() {
        eprintln!("subscribed to {} as {}; Ctrl-C to stop", args.stream, args.consumer);
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            delivery = deliveries.recv() => match delivery {
                None => break,
                Some(delivery) => match delivery? {
                    Delivery::Records { shard_id, records, .. } => {
                        for record in &records {
                            out.record(&shard_id, record)?;
                        }
                        out.flush()?;
                    }
                    Delivery::Ended { shard_id, children } if !out.json() => {
                        let ids: Vec<&str> = children.iter().map(|c| c.shard_id.as_str()).collect();
                        eprintln!("{shard_id} ended; following {}", ids.join(", "));
                    }
                    Delivery::Ended { .. } => {}
                },
            },
        }
    }
    out.flush()?;
    Ok(())
}
