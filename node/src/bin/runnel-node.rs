//! The `runnel-node` binary: `run` one node, or `dev` a local 3-node cluster.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use runnel_node::api::server::serve;
use runnel_node::cluster::clock::SystemClock;
use runnel_node::cluster::peers::TcpConnector;
use runnel_node::cluster::{Node, NodeDeps};
use runnel_node::config::{parse_peer, FileConfig, NodeConfig, RaftTiming, REPLICATION_FACTOR_DEFAULT};
use runnel_node::storage::rocks::RocksEngine;
use runnel_node::storage::AckPolicy;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt as _;

#[derive(Parser)]
#[command(name = "runnel-node", version, about = "A node of a Runnel cluster (Kinesis-compatible replicated log)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one node of a cluster.
    Run(RunArgs),
    /// Run a local cluster of 3 nodes in this process (ports 50051-50053 by default).
    Dev(DevArgs),
}

#[derive(Parser)]
struct RunArgs {
    /// TOML file with any of the settings below; flags and environment win over it.
    #[arg(long, env = "RUNNEL_CONFIG")]
    config: Option<PathBuf>,
    /// This node's id (unique in the cluster).
    #[arg(long, env = "RUNNEL_NODE_ID")]
    id: Option<u64>,
    /// Address to listen on, e.g. 0.0.0.0:50051.
    #[arg(long, env = "RUNNEL_LISTEN")]
    listen: Option<SocketAddr>,
    /// URL other nodes and clients use to reach this node, e.g. http://10.0.0.5:50051.
    #[arg(long, env = "RUNNEL_ADVERTISE")]
    advertise: Option<String>,
    /// Every node of the cluster as ID=URL, this one included (repeat, or comma-separate).
    #[arg(long = "peer", env = "RUNNEL_PEERS", value_delimiter = ',')]
    peers: Vec<String>,
    /// Where this node keeps its data.
    #[arg(long, env = "RUNNEL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Replicas per shard.
    #[arg(long, env = "RUNNEL_REPLICATION_FACTOR")]
    replication_factor: Option<u32>,
}

#[derive(Parser)]
struct DevArgs {
    /// Where the cluster keeps its data; reused across restarts.
    #[arg(long, env = "RUNNEL_DEV_DIR", default_value = ".runnel-dev")]
    dir: PathBuf,
    /// Port of node 1; the others take the next ports.
    #[arg(long, default_value_t = 50051)]
    base_port: u16,
    #[arg(long, default_value_t = 3)]
    nodes: u64,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUNNEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn"));
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
}

fn resolve(args: RunArgs) -> anyhow::Result<NodeConfig> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let peer_specs = if args.peers.is_empty() { file.peers.unwrap_or_default() } else { args.peers };
    let mut peers = BTreeMap::new();
    for spec in &peer_specs {
        let (id, url) = parse_peer(spec)?;
        peers.insert(id, url);
    }
    let id = args.id.or(file.id).context("--id (or RUNNEL_NODE_ID) is required")?;
    let listen = args.listen.or(file.listen).context("--listen (or RUNNEL_LISTEN) is required")?;
    let advertise = args
        .advertise
        .or(file.advertise)
        .or_else(|| peers.get(&id).cloned())
        .unwrap_or_else(|| format!("http://{listen}"));
    if peers.is_empty() {
        peers.insert(id, advertise.clone());
    }
    let data_dir = args.data_dir.or(file.data_dir).context("--data-dir (or RUNNEL_DATA_DIR) is required")?;
    let config = NodeConfig {
        id,
        listen,
        advertise,
        peers,
        data_dir,
        replication_factor: args.replication_factor.or(file.replication_factor).unwrap_or(REPLICATION_FACTOR_DEFAULT),
        raft: file.raft.unwrap_or_default(),
    };
    Ok(config.validate()?)
}

async fn start_node(config: NodeConfig) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let engine = RocksEngine::open(&config.data_dir.join("db"))
        .with_context(|| format!("cannot open the database in {}", config.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let deps = NodeDeps {
        engine: Arc::new(engine),
        connector: Arc::new(TcpConnector),
        clock: Arc::new(SystemClock),
        seed: rand::random(),
        ack_policy: AckPolicy::AfterSync,
    };
    let id = config.id;
    let node = Node::start(config, deps).await?;
    // Small replies must not wait for delayed ACKs (Nagle): ~40 ms per call otherwise.
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::warn!("cannot set TCP_NODELAY: {e}");
            }
        })
    });
    Ok(tokio::spawn(async move {
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        serve(node.clone(), incoming, shutdown).await.with_context(|| format!("node {id} server failed"))?;
        node.shutdown().await;
        Ok(())
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    match Cli::parse().command {
        Command::Run(args) => {
            let config = resolve(args)?;
            tracing::info!(id = config.id, listen = %config.listen, advertise = %config.advertise, peers = ?config.peers, "starting");
            start_node(config).await?.await??;
        }
        Command::Dev(args) => {
            if args.nodes == 0 {
                bail!("--nodes must be at least 1");
            }
            std::fs::create_dir_all(&args.dir)?;
            let dir = std::fs::canonicalize(&args.dir)?;
            let port = |i: u64| args.base_port as u64 + i - 1;
            let peers: BTreeMap<u64, String> =
                (1..=args.nodes).map(|i| (i, format!("http://127.0.0.1:{}", port(i)))).collect();
            let mut handles = Vec::new();
            for id in 1..=args.nodes {
                let config = NodeConfig {
                    id,
                    listen: format!("127.0.0.1:{}", port(id)).parse()?,
                    advertise: peers[&id].clone(),
                    peers: peers.clone(),
                    data_dir: dir.join(format!("node{id}")),
                    replication_factor: REPLICATION_FACTOR_DEFAULT,
                    raft: RaftTiming::default(),
                };
                handles.push(start_node(config.validate()?).await?);
            }
            let endpoints: Vec<&String> = peers.values().collect();
            println!("Runnel dev cluster: {} nodes, data in {}", args.nodes, dir.display());
            for (id, url) in &peers {
                println!("  node {id}: {url}");
            }
            println!("Try:");
            println!(
                "  cargo run --release -p runnel-client -- --endpoint {} stream create demo --shards 4",
                endpoints[0]
            );
            println!("  grpcurl -plaintext 127.0.0.1:{} list", args.base_port);
            println!("Ctrl-C stops the cluster; starting it again keeps the data.");
            for h in handles {
                h.await??;
            }
        }
    }
    Ok(())
}
