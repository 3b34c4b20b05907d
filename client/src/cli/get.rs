//! `runnel get`: read one shard, or every shard with parents before children, until
//! caught up or `--limit`.

use anyhow::{bail, Context};
use runnel_client::proto::{ChildShard, GetRecordsRequest, GetShardIteratorRequest};
use runnel_client::{Client, ClientError, ErrorCode, Lineage, LineageStart, ShardIteratorType};

use super::output::Output;
use super::GetArgs;

/// GetRecords' own ceiling on records per call.
const MAX_PAGE: u64 = 10_000;

pub async fn run(client: &Client, args: GetArgs, out: &mut Output) -> anyhow::Result<()> {
    check_position(&args)?;
    let mut remaining = args.limit;
    if let Some(shard) = &args.shard {
        // One shard, as asked: its children are not followed.
        let iterator = shard_iterator(client, &args.stream, shard, args.iterator_type, &args).await?;
        read_shard(client, shard, iterator, &mut remaining, out).await?;
        out.flush()?;
        return Ok(());
    }
    let shards =
        client.list_shards(&args.stream).await.with_context(|| format!("listing the shards of {}", args.stream))?;
    // LATEST on a closed shard reads nothing: only the open ones and what follows them.
    let start = match args.iterator_type {
        ShardIteratorType::Latest => LineageStart::Open,
        _ => LineageStart::Oldest,
    };
    let mut lineage = Lineage::new(&shards, start)?;
    // Each shard is handed out once and the lineage is bounded, so this loop is too.
    while let Some(ready) = lineage.next_ready() {
        if remaining == Some(0) {
            break;
        }
        // A child created after the listing is read from its start (AT_TIMESTAMP holds
        // there too), else its first records would be skipped.
        let kind = if ready.listed || args.iterator_type == ShardIteratorType::AtTimestamp {
            args.iterator_type
        } else {
            ShardIteratorType::TrimHorizon
        };
        let read = async {
            let iterator = shard_iterator(client, &args.stream, &ready.shard_id, kind, &args).await?;
            read_shard(client, &ready.shard_id, iterator, &mut remaining, out).await
        };
        match read.await {
            // An open shard caught up is left there: children of it, if it closes
            // meanwhile, wait for its end and are not read.
            Ok(ShardEnd::Closed(children)) => lineage.finished(&ready.shard_id, &children)?,
            Ok(ShardEnd::Stopped) => {}
            // A closed shard retention expired after the listing: its records are gone and
            // its listed children go on.
            Err(e) if is_not_found(&e) && expired(client, &args.stream, &ready.shard_id).await? => {
                lineage.finished(&ready.shard_id, &[])?
            }
            Err(e) => return Err(e),
        }
    }
    out.flush()?;
    Ok(())
}

/// An iterator of `kind` for `shard`, with the position flags of `args`.
async fn shard_iterator(
    client: &Client,
    stream: &str,
    shard: &str,
    kind: ShardIteratorType,
    args: &GetArgs,
) -> anyhow::Result<String> {
    let response = client
        .get_shard_iterator(GetShardIteratorRequest {
            stream_name: stream.to_string(),
            shard_id: shard.to_string(),
            shard_iterator_type: kind.as_str().to_string(),
            // Each position only with the type that takes it: Kinesis refuses a
            // StartingSequenceNumber with TRIM_HORIZON or LATEST (children of the shard asked
            // for are read from TRIM_HORIZON).
            starting_sequence_number: takes_sequence_number(kind).then(|| args.sequence_number.clone()).flatten(),
            timestamp: (kind == ShardIteratorType::AtTimestamp).then_some(args.timestamp).flatten(),
            ..Default::default()
        })
        .await
        .with_context(|| format!("getting an iterator for {shard}"))?;
    Ok(response.shard_iterator)
}

/// Whether a call failed with ResourceNotFoundException.
fn is_not_found(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ClientError>().and_then(ClientError::code) == Some(&ErrorCode::ResourceNotFoundException)
}

/// Whether retention forgot `shard`: it is no longer listed, but its children are. (A node
/// whose metadata lags may not list a shard just made, but then not its children either.)
async fn expired(client: &Client, stream: &str, shard: &str) -> anyhow::Result<bool> {
    let shards = client.list_shards(stream).await.with_context(|| format!("listing the shards of {stream}"))?;
    Ok(runnel_client::expired_parent(&shards, shard))
}

fn takes_sequence_number(kind: ShardIteratorType) -> bool {
    matches!(kind, ShardIteratorType::AtSequenceNumber | ShardIteratorType::AfterSequenceNumber)
}

/// The flags a position needs, checked before any call so the error names the flag.
fn check_position(args: &GetArgs) -> anyhow::Result<()> {
    if args.sequence_number.is_some() && !takes_sequence_number(args.iterator_type) {
        bail!(
            "--sequence-number goes with --type AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER, not {}",
            args.iterator_type
        );
    }
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

/// Where `read_shard` stopped.
enum ShardEnd {
    /// Read to the end of a closed shard, where GetRecords named these children.
    Closed(Vec<ChildShard>),
    /// Caught up with an open shard, or the limit reached.
    Stopped,
}

/// Prints pages until the shard is caught up (an empty page at MillisBehindLatest 0),
/// closed, or the limit is reached.
async fn read_shard(
    client: &Client,
    shard: &str,
    iterator: String,
    remaining: &mut Option<u64>,
    out: &mut Output,
) -> anyhow::Result<ShardEnd> {
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
                return Ok(ShardEnd::Stopped);
            }
        }
        iterator = page.next_shard_iterator.filter(|i| !i.is_empty());
        if iterator.is_none() {
            return Ok(ShardEnd::Closed(page.child_shards));
        }
        if page.records.is_empty() && page.millis_behind_latest == 0 {
            return Ok(ShardEnd::Stopped);
        }
    }
    // An empty iterator: nothing to read, and no end to report.
    Ok(ShardEnd::Stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(kind: ShardIteratorType, sequence_number: Option<&str>) -> GetArgs {
        GetArgs {
            stream: "s".into(),
            shard: Some("shardId-000000000000".into()),
            iterator_type: kind,
            sequence_number: sequence_number.map(String::from),
            timestamp: None,
            limit: None,
        }
    }

    /// Kinesis refuses a StartingSequenceNumber with TRIM_HORIZON or LATEST, so the CLI
    /// refuses the flag before any call rather than sending it.
    #[test]
    fn a_sequence_number_goes_only_with_the_types_that_take_one() {
        assert!(check_position(&args(ShardIteratorType::AfterSequenceNumber, Some("7"))).is_ok());
        assert!(check_position(&args(ShardIteratorType::AtSequenceNumber, None)).is_err());
        for kind in [ShardIteratorType::TrimHorizon, ShardIteratorType::Latest] {
            assert!(check_position(&args(kind, Some("7"))).is_err(), "{kind}");
            assert!(check_position(&args(kind, None)).is_ok(), "{kind}");
        }
    }
}
