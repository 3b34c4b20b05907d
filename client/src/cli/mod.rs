//! The `runnel` command line: argument definitions and dispatch to one module per command.

mod cluster;
mod consumer;
mod get;
mod output;
mod put;
mod stream;
mod subscribe;
mod tail;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use runnel_client::{Client, ShardIteratorType};

pub use output::Output;

/// Command-line client for a Runnel cluster (Kinesis Data Streams over gRPC).
#[derive(Debug, Parser)]
#[command(name = "runnel", version, about)]
pub struct Cli {
    /// Node to talk to; repeat (or separate with commas) to give several.
    #[arg(
        long = "endpoint",
        global = true,
        env = "RUNNEL_ENDPOINT",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoints: Vec<String>,

    /// Machine-readable output: one JSON document, or one JSON object per record.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, describe, delete, split, merge or scale streams.
    #[command(subcommand)]
    Stream(StreamCommand),
    /// Register, list, describe or deregister a stream's enhanced fan-out consumers.
    #[command(subcommand)]
    Consumer(ConsumerCommand),
    /// Put one record (--data) or one record per line of a file (--file).
    Put(PutArgs),
    /// Read a stream (or one shard) from an iterator position until caught up; parents before children.
    Get(GetArgs),
    /// Follow a stream's shards (and children created meanwhile) and print records as they arrive, until Ctrl-C.
    Tail(TailArgs),
    /// Follow a stream as a registered consumer: records pushed as they are written
    /// (SubscribeToShard), parents before children, until Ctrl-C.
    Subscribe(SubscribeArgs),
    /// Show the cluster's nodes and Raft groups.
    Cluster,
}

#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Create a stream and wait until it is ACTIVE.
    Create {
        name: String,
        /// Number of shards.
        #[arg(long, default_value_t = 1)]
        shards: u32,
        /// Return as soon as the stream is CREATING.
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for ACTIVE.
        #[arg(long, default_value_t = 60)]
        wait_timeout: u64,
    },
    /// List every stream.
    List,
    /// Show a stream and all of its shards.
    Describe { name: String },
    /// Delete a stream.
    Delete {
        name: String,
        /// Deregister the stream's consumers too (else a stream with consumers is refused).
        #[arg(long)]
        enforce_consumer_deletion: bool,
    },
    /// Split a shard in two and wait until the stream is ACTIVE again.
    Split {
        name: String,
        /// The open shard to split.
        shard_id: String,
        /// First hash key (decimal) of the second child; default: the middle of the shard's range.
        #[arg(long)]
        at: Option<String>,
        /// Return as soon as the split is recorded (the stream is UPDATING).
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for ACTIVE.
        #[arg(long, default_value_t = 60)]
        wait_timeout: u64,
    },
    /// Merge two open shards with adjacent hash key ranges and wait until the stream is ACTIVE again.
    Merge {
        name: String,
        shard_id: String,
        adjacent_shard_id: String,
        /// Return as soon as the merge is recorded (the stream is UPDATING).
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for ACTIVE.
        #[arg(long, default_value_t = 60)]
        wait_timeout: u64,
    },
    /// Change the number of open shards (UNIFORM_SCALING) and wait until the stream is ACTIVE again.
    Scale {
        name: String,
        /// Open shards wanted: between half and double the current count.
        target_count: u32,
        /// Return as soon as the change is recorded (the stream is UPDATING).
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for ACTIVE; scaling runs one split or merge at a time.
        #[arg(long, default_value_t = 300)]
        wait_timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConsumerCommand {
    /// Register a consumer with a stream and wait until it is ACTIVE.
    Register {
        stream: String,
        name: String,
        /// Return as soon as the consumer is CREATING.
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for ACTIVE.
        #[arg(long, default_value_t = 60)]
        wait_timeout: u64,
    },
    /// List a stream's consumers.
    List { stream: String },
    /// Show one consumer: its ARN, status and creation time.
    Describe { stream: String, name: String },
    /// Deregister a consumer (DELETING, then gone).
    Deregister { stream: String, name: String },
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// Stream to write to.
    pub stream: String,
    /// Partition key; with --file, the key of every line (default: the line number).
    #[arg(long, short = 'k')]
    pub partition_key: Option<String>,
    /// Explicit hash key (decimal), overriding the partition key's hash.
    #[arg(long)]
    pub explicit_hash_key: Option<String>,
    /// Data of the single record to put (as UTF-8).
    #[arg(long, short = 'd', conflicts_with = "file", requires = "partition_key")]
    pub data: Option<String>,
    /// File to read records from, one per line; `-` for standard input.
    #[arg(long, short = 'f', required_unless_present = "data")]
    pub file: Option<PathBuf>,
    /// Records per PutRecords call (at most 500).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub batch_size: u32,
    /// PutRecords calls in flight at once; 1 keeps file order (except for retried records).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub in_flight: u32,
    /// Attempts per record before it counts as failed (throttled or internal failures).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub attempts: u32,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Stream to read.
    pub stream: String,
    /// Read only this shard (default: every shard, parents before children).
    #[arg(long)]
    pub shard: Option<String>,
    /// Where to start: TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP.
    #[arg(long = "type", short = 't', default_value = "TRIM_HORIZON")]
    pub iterator_type: ShardIteratorType,
    /// Sequence number for AT_/AFTER_SEQUENCE_NUMBER.
    #[arg(long)]
    pub sequence_number: Option<String>,
    /// Milliseconds since the Unix epoch, for AT_TIMESTAMP.
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Stop after this many records in all.
    #[arg(long, short = 'n')]
    pub limit: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Stream to follow.
    pub stream: String,
    /// Start at the oldest record instead of new ones only.
    #[arg(long)]
    pub from_start: bool,
    /// Milliseconds between polls of a shard that has nothing new.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub poll_ms: u64,
}

#[derive(Debug, Args)]
pub struct SubscribeArgs {
    /// Stream to follow.
    pub stream: String,
    /// The registered consumer to subscribe as (`runnel consumer register STREAM NAME`).
    #[arg(long)]
    pub consumer: String,
    /// Start at the oldest record instead of new ones only.
    #[arg(long)]
    pub from_start: bool,
}

impl TailArgs {
    fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli, out: &mut Output) -> anyhow::Result<()> {
    let client = Client::connect(cli.endpoints).await?;
    match cli.command {
        Command::Stream(command) => stream::run(&client, command, out).await,
        Command::Consumer(command) => consumer::run(&client, command, out).await,
        Command::Put(args) => put::run(&client, args, out).await,
        Command::Get(args) => get::run(&client, args, out).await,
        Command::Tail(args) => tail::run(&client, args, out).await,
        Command::Subscribe(args) => subscribe::run(&client, args, out).await,
        Command::Cluster => cluster::run(&client, out).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn put_needs_data_with_a_key_or_a_file() {
        assert!(Cli::try_parse_from(["runnel", "put", "s"]).is_err());
        assert!(Cli::try_parse_from(["runnel", "put", "s", "--data", "x"]).is_err());
        assert!(Cli::try_parse_from(["runnel", "put", "s", "--data", "x", "-k", "k"]).is_ok());
        assert!(Cli::try_parse_from(["runnel", "put", "s", "--file", "-"]).is_ok());
        assert!(Cli::try_parse_from(["runnel", "put", "s", "--file", "-", "--data", "x", "-k", "k"]).is_err());
    }

    #[test]
    fn endpoints_repeat_and_default() {
        let cli = Cli::try_parse_from(["runnel", "cluster"]).expect("parses");
        assert!(!cli.endpoints.is_empty());
        let cli = Cli::try_parse_from([
            "runnel",
            "--endpoint",
            "http://127.0.0.1:1",
            "--endpoint",
            "http://127.0.0.1:2",
            "cluster",
        ])
        .expect("parses");
        assert_eq!(cli.endpoints, ["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    }

    #[test]
    fn reshard_commands_parse_and_wait_by_default() {
        let cli = Cli::try_parse_from(["runnel", "stream", "split", "s", "shardId-000000000000"]).expect("parses");
        match cli.command {
            Command::Stream(StreamCommand::Split { name, shard_id, at, no_wait, .. }) => {
                assert_eq!((name.as_str(), shard_id.as_str(), at, no_wait), ("s", "shardId-000000000000", None, false));
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli =
            Cli::try_parse_from(["runnel", "stream", "split", "s", "x", "--at", "42", "--no-wait"]).expect("parses");
        match cli.command {
            Command::Stream(StreamCommand::Split { at, no_wait, .. }) => {
                assert_eq!((at.as_deref(), no_wait), (Some("42"), true));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["runnel", "stream", "merge", "s", "a"]).is_err(), "merge needs two shards");
        assert!(Cli::try_parse_from(["runnel", "stream", "merge", "s", "a", "b"]).is_ok());
        let cli = Cli::try_parse_from(["runnel", "stream", "scale", "s", "4"]).expect("parses");
        match cli.command {
            Command::Stream(StreamCommand::Scale { target_count, wait_timeout, .. }) => {
                assert_eq!((target_count, wait_timeout), (4, 300));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["runnel", "stream", "scale", "s", "-1"]).is_err());
    }

    #[test]
    fn subscribe_takes_a_stream_and_a_consumer() {
        let cli =
            Cli::try_parse_from(["runnel", "subscribe", "s", "--consumer", "app", "--from-start"]).expect("parses");
        match cli.command {
            Command::Subscribe(SubscribeArgs { stream, consumer, from_start }) => {
                assert_eq!((stream.as_str(), consumer.as_str(), from_start), ("s", "app", true))
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["runnel", "subscribe", "s"]).is_err(), "--consumer is required");
    }

    #[test]
    fn consumer_commands_take_a_stream_and_a_name() {
        let cli = Cli::try_parse_from(["runnel", "consumer", "register", "s", "app"]).expect("parses");
        match cli.command {
            Command::Consumer(ConsumerCommand::Register { stream, name, no_wait, wait_timeout }) => {
                assert_eq!((stream.as_str(), name.as_str(), no_wait, wait_timeout), ("s", "app", false, 60));
            }
            other => panic!("unexpected {other:?}"),
        }
        let cli = Cli::try_parse_from(["runnel", "consumer", "register", "s", "app", "--no-wait"]).expect("parses");
        assert!(matches!(cli.command, Command::Consumer(ConsumerCommand::Register { no_wait: true, .. })));
        let cli = Cli::try_parse_from(["runnel", "consumer", "list", "s"]).expect("parses");
        assert!(matches!(cli.command, Command::Consumer(ConsumerCommand::List { ref stream }) if stream == "s"));
        for action in ["describe", "deregister"] {
            let cli = Cli::try_parse_from(["runnel", "consumer", action, "s", "app"]).expect("parses");
            match cli.command {
                Command::Consumer(ConsumerCommand::Describe { stream, name })
                | Command::Consumer(ConsumerCommand::Deregister { stream, name }) => {
                    assert_eq!((stream.as_str(), name.as_str()), ("s", "app"))
                }
                other => panic!("unexpected {other:?}"),
            }
            assert!(Cli::try_parse_from(["runnel", "consumer", action, "s"]).is_err(), "{action} needs a name");
        }
        assert!(Cli::try_parse_from(["runnel", "consumer", "list"]).is_err(), "list needs a stream");
        let cli =
            Cli::try_parse_from(["runnel", "stream", "delete", "s", "--enforce-consumer-deletion"]).expect("parses");
        assert!(matches!(cli.command, Command::Stream(StreamCommand::Delete { enforce_consumer_deletion: true, .. })));
        let cli = Cli::try_parse_from(["runnel", "stream", "delete", "s"]).expect("parses");
        assert!(matches!(cli.command, Command::Stream(StreamCommand::Delete { enforce_consumer_deletion: false, .. })));
        assert!(Cli::try_parse_from(["runnel", "consumer", "register", "s"]).is_err(), "register needs a name");
    }

    #[test]
    fn get_parses_iterator_types() {
        let cli = Cli::try_parse_from(["runnel", "get", "s", "--type", "at_sequence_number", "--sequence-number", "7"])
            .expect("parses");
        match cli.command {
            Command::Get(args) => {
                assert_eq!(args.iterator_type, ShardIteratorType::AtSequenceNumber)
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(Cli::try_parse_from(["runnel", "get", "s", "--type", "EARLIEST"]).is_err());
    }
}
