//! Shared by the bench binaries: the stream they load.

use anyhow::Context;
use runnel_client::{Client, ErrorCode};
use std::time::Duration;

/// Creates `name` with `shards` shards unless it exists, and waits until it is ACTIVE.
pub async fn ready(client: &Client, name: &str, shards: u32) -> anyhow::Result<()> {
    match client.create_stream(name, shards).await {
        Ok(()) => {}
        Err(e) if e.code() == Some(&ErrorCode::ResourceInUseException) => {}
        Err(e) => return Err(e).context("create stream"),
    }
    client.wait_for_active(name, Duration::from_secs(60)).await.context("stream never became ACTIVE")?;
    Ok(())
}
