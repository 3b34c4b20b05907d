//! `runnel get`: read one shard, or every shard in turn, until caught up or `--limit`.

use anyhow::{bail, Context};
use runnel_client::proto::{GetRecordsRequest, GetShardIteratorRequest};
use runnel_client::{Client, ShardIteratorType};

use super::output::Output;
use super::GetArgs;

/// GetRecords' own ceiling on records per call.
const MAX_PAGE: u64 = 10_000;

pub async fn run(client: &Client, args: GetArgs, out: &mut Output) -> anyhow::Result<()> {
    check_position(&args)?;
    let shards: Vec<String> = match &args.shard {
        Some(shard) => vec![shard.clone()],
        None => client
            .list_shards(&args.stream)
            .await
            .with_context(|| format!("listing the shards of {}", args.stream))?
            .into_iter()
            .map(|s| s.shard_id)
            .collect(),
    };
    let mut remaining = args.limit;
    for shard in shards {
        if remaining == Some(0) {
            break;
        }
        let iterator = client
            .get_shard_iterator(GetShardIteratorRequest {
                stream_name: args.stream.clone(),
                shard_id: shard.clone(),
                shard_iterator_type: args.iterator_type.as_str().to_string(),
                starting_sequence_number: args.sequence_number.clone(),
                timestamp: args.timestamp,
                ..Default::default()
            })
            .await
            .with_context(|| format!("getting an iterator for {shard}"))?
            .shard_iterator;
        read_shard(client, &shard, iterator, &mut remaining, out).await?;
    }
    out.flush()?;
    Ok(())
}

/// The flags a position needs, checked before any call so the error names the flag.
fn check_position(args: &GetArgs) -> anyhow::Result<()> {
    match args.iterator_type {
        ShardIteratorType::AtSequenceNumber | ShardIteratorType::AfterSequenceNumber => {
            if args.sequence_number.is_none() {
                bail!("--type {} needs --sequence-number", args.iterator_type);
            }
            // Sequence numbers belong to one shard.
            if args.shard.is_none() {
                bail!("--type {} needs --shard", args.iterator_type);
            }
        }
        ShardIteratorType::AtTimestamp if args.timestamp.is_none() => {
            bail!("--type AT_TIMESTAMP needs --timestamp");
        }
        _ => {}
    }
    Ok(())
}

/// Prints pages until the shard is caught up (an empty page at MillisBehindLatest 0),
/// closed, or the limit is reached.
async fn read_shard(
    client: &Client,
    shard: &str,
    iterator: String,
    remaining: &mut Option<u64>,
    out: &mut Output,
) -> anyhow::Result<()> {
    let mut iterator = Some(iterator).filter(|i| !i.is_empty());
    while let Some(shard_iterator) = iterator.take() {
        let limit = remaining.map(|r| r.min(MAX_PAGE)).unwrap_or(MAX_PAGE);
        let page = client
            .get_records(GetRecordsRequest {
                shard_iterator,
                limit: Some(i32::try_from(limit).unwrap_or(i32::MAX)),
                ..Default::default()
            })
            .await
            .with_context(|| format!("reading {shard}"))?;
        // The server may return more than asked; the limit is ours to keep.
        let take = remaining.map_or(page.records.len(), |r| page.records.len().min(r as usize));
        for record in &page.records[..take] {
            out.record(shard, record)?;
        }
        if let Some(r) = remaining.as_mut() {
            *r -= take as u64;
            if *r == 0 {
                break;
            }
        }
        if page.records.is_empty() && page.millis_behind_latest == 0 {
            break;
        }
        iterator = page.next_shard_iterator.filter(|i| !i.is_empty());
    }
    Ok(())
}
