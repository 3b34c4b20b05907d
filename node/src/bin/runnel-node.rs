//! The `runnel-node` binary: `run` one node, `dev` a local 3-node cluster, or `probe` a
//! node's health endpoints (for container health checks: images without curl).

use anyhow::{bail, Context};
use clap::builder::FalseyValueParser;
use clap::{Parser, Subcommand};
use runnel_node::api::server::serve;
use runnel_node::cluster::clock::SystemClock;
use runnel_node::cluster::handoff::HANDOFF_TIMEOUT;
use runnel_node::cluster::{Continuation, LostLeader, Node, NodeDeps, ParentEnd, ReadCheck, SecretSource, TrimPath};
use runnel_node::config::{
    id_from_hostname, load_aws_credentials, load_encryption_key, parse_peer, ConfigError, FileConfig, NodeConfig,
    NodeLimits, RaftTiming, TlsFiles, ACCOUNT_ID_DEFAULT, META_SNAPSHOT_LOGS_DEFAULT, REGION_DEFAULT,
    REPLICATION_FACTOR_DEFAULT,
};
use runnel_node::crypto::RecordKey;
use runnel_node::failstop::FailStop;
use runnel_node::limits::{
    ON_DEMAND_WINDOW_MS_DEFAULT, RETENTION_HOUR_MS_DEFAULT, SCALINGS_PER_WINDOW_DEFAULT, SHARD_LIMIT_DEFAULT,
    SUBSCRIPTION_MS_DEFAULT,
};
use runnel_node::storage::rocks::RocksEngine;
use runnel_node::storage::AckPolicy;
use runnel_node::transport::TcpConnector;
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

// Parsed once at start: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run one node of a cluster.
    Run(RunArgs),
    /// Run a local cluster of 3 nodes in this process (ports 50051-50053 by default).
    Dev(DevArgs),
    /// Ask a node's operations listener whether it is live or ready: exits 0 on HTTP 200,
    /// 1 otherwise (a container HEALTHCHECK or probe without curl).
    Probe(ProbeArgs),
}

#[derive(Parser)]
struct ProbeArgs {
    /// `live` (GET /healthz) or `ready` (GET /readyz).
    #[arg(value_enum)]
    what: ProbeKind,
    /// The node's metrics listener (default: RUNNEL_METRICS_LISTEN with 0.0.0.0 read as
    /// 127.0.0.1, else 127.0.0.1:9090).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 3000)]
    timeout_ms: u64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ProbeKind {
    Live,
    Ready,
}

#[derive(Parser)]
struct RunArgs {
    /// TOML file with any of the settings below; flags and environment win over it.
    #[arg(long, env = "RUNNEL_CONFIG")]
    config: Option<PathBuf>,
    /// This node's id (unique in the cluster).
    #[arg(long, env = "RUNNEL_NODE_ID")]
    id: Option<u64>,
    /// Take the node id from this host's name, NAME-ORDINAL as in a Kubernetes StatefulSet:
    /// runnel-0 is node 1, runnel-2 node 3. Instead of --id.
    #[arg(long, env = "RUNNEL_ID_FROM_HOSTNAME", value_parser = FalseyValueParser::new())]
    id_from_hostname: bool,
    /// Address clients connect to, e.g. 0.0.0.0:50051.
    #[arg(long, env = "RUNNEL_LISTEN")]
    listen: Option<SocketAddr>,
    /// URL clients use to reach this node, e.g. http://10.0.0.5:50051.
    #[arg(long, env = "RUNNEL_ADVERTISE")]
    advertise: Option<String>,
    /// Address other nodes connect to (Raft, forwarding), e.g. 0.0.0.0:50151. Keep it
    /// unreachable for clients.
    #[arg(long, env = "RUNNEL_PEER_LISTEN")]
    peer_listen: Option<SocketAddr>,
    /// Every node of the cluster as ID=PEER_URL, this one included (repeat, or
    /// comma-separate); PEER_URL is where that node's --peer-listen is reached.
    #[arg(long = "peer", env = "RUNNEL_PEERS", value_delimiter = ',')]
    peers: Vec<String>,
    /// Where this node keeps its data.
    #[arg(long, env = "RUNNEL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Replicas per shard.
    #[arg(long, env = "RUNNEL_REPLICATION_FACTOR")]
    replication_factor: Option<u32>,
    /// UpdateShardCount calls accepted per stream per rolling 24 hours (Kinesis: 10).
    #[arg(long, env = "RUNNEL_SCALINGS_PER_DAY_MAX")]
    scalings_per_day_max: Option<u32>,
    /// For tests: how many milliseconds an hour of retention lasts (default 3600000), so
    /// records expire without waiting a day. Give every node the same value.
    #[arg(long, env = "RUNNEL_RETENTION_HOUR_MS", hide = true)]
    retention_hour_ms: Option<u64>,
    /// The region in stream ARNs (default us-east-1).
    #[arg(long, env = "RUNNEL_REGION")]
    region: Option<String>,
    /// The 12-digit account in stream ARNs (default 000000000000).
    #[arg(long, env = "RUNNEL_ACCOUNT_ID")]
    account_id: Option<String>,
    /// Open shards the cluster holds, all streams together (Kinesis account default: 500).
    /// Give every node the same value.
    #[arg(long, env = "RUNNEL_SHARD_LIMIT")]
    shard_limit: Option<u32>,
    /// Enforce Kinesis's per-shard throughput quotas (1 MiB/s and 1,000 records/s of
    /// writes, 2 MiB/s and 5 GetRecords/s of reads): excess gets
    /// ProvisionedThroughputExceededException. Off by default. Give every node the same value.
    #[arg(long, env = "RUNNEL_KINESIS_LIMITS")]
    kinesis_limits: bool,
    /// For tests: the window (ms) over which a shard of an on-demand stream must stay above
    /// half its write capacity to be split (default 60000).
    #[arg(long, env = "RUNNEL_ON_DEMAND_WINDOW_MS", hide = true)]
    on_demand_window_ms: Option<u64>,
    /// A file holding the key that encrypts records of encrypted streams at rest: 64
    /// hexadecimal characters (32 bytes), e.g. from `openssl rand -hex 32`. Without it,
    /// StartStreamEncryption is refused. Give every node the same key.
    #[arg(long, env = "RUNNEL_ENCRYPTION_KEY_FILE")]
    encryption_key_file: Option<PathBuf>,
    /// For tests: how long a SubscribeToShard lasts, in ms (default 300000, as Kinesis).
    #[arg(long, env = "RUNNEL_SUBSCRIPTION_MS", hide = true)]
    subscription_ms: Option<u64>,
    /// Serve /metrics (Prometheus), /healthz and /readyz over HTTP here, e.g. 0.0.0.0:9090.
    /// Off unless given.
    #[arg(long, env = "RUNNEL_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Serve Kinesis's AWS protocol (JSON over HTTP, for the AWS CLI, boto3 and the AWS
    /// SDKs) here, e.g. 0.0.0.0:4567. Off unless given.
    #[arg(long, env = "RUNNEL_AWS_LISTEN")]
    aws_listen: Option<SocketAddr>,
    /// Verify the AWS endpoint's SigV4 signatures against the access keys in this file, one
    /// ACCESS_KEY_ID:SECRET_ACCESS_KEY a line (blank lines and # comments skipped): a wrong
    /// or unknown key is refused with the AWS error. Without it any credentials are
    /// accepted, as the emulators do. Keep the file readable by the node only.
    #[arg(long, env = "RUNNEL_AWS_CREDENTIALS_FILE")]
    aws_credentials_file: Option<PathBuf>,
    /// Serve the AWS endpoint over TLS with this certificate chain (PEM), and
    /// --aws-tls-key's private key; HTTP/2 and HTTP/1.1 by ALPN. Plain HTTP without them.
    #[arg(long, env = "RUNNEL_AWS_TLS_CERT", requires = "aws_tls_key")]
    aws_tls_cert: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of --aws-tls-cert.
    #[arg(long, env = "RUNNEL_AWS_TLS_KEY", requires = "aws_tls_cert")]
    aws_tls_key: Option<PathBuf>,
    /// Confirms that this node's data directory came back empty (a lost or replaced
    /// volume) and that it is to be rebuilt from its peers. Without it such a node refuses
    /// to start. Ignored when the data directory holds data.
    #[arg(long, env = "RUNNEL_REBUILD_EMPTY", value_parser = FalseyValueParser::new())]
    rebuild_empty: bool,
}

#[derive(Parser)]
struct DevArgs {
    /// Where the cluster keeps its data; reused across restarts.
    #[arg(long, env = "RUNNEL_DEV_DIR", default_value = ".runnel-dev")]
    dir: PathBuf,
    /// Client port of node 1; the others take the next ports.
    #[arg(long, default_value_t = 50051)]
    base_port: u16,
    /// Peer port of node 1 (default: the client port + 100); the others take the next.
    #[arg(long)]
    peer_base_port: Option<u16>,
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// Enforce Kinesis's per-shard throughput quotas (see `run --help`).
    #[arg(long)]
    kinesis_limits: bool,
    /// Metrics port of node 1 (/metrics, /healthz, /readyz on 127.0.0.1); the others take
    /// the next.
    #[arg(long, default_value_t = 9091)]
    metrics_base_port: u16,
    /// AWS endpoint port of node 1 (`--endpoint-url http://127.0.0.1:PORT` for the AWS CLI
    /// and SDKs; 4567 is kinesalite's); the others take the next.
    #[arg(long, default_value_t = 4567)]
    aws_base_port: u16,
}

/// Logs to stderr: text, or one JSON object a line with `RUNNEL_LOG_FORMAT=json` (for log
/// collectors); `RUNNEL_LOG` filters.
fn init_tracing() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUNNEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn"));
    let format = std::env::var("RUNNEL_LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format.as_str() {
        "json" => builder.json().with_current_span(false).init(),
        "" | "text" => {
            use std::io::IsTerminal;
            builder.with_ansi(std::io::stderr().is_terminal()).init()
        }
        other => bail!("RUNNEL_LOG_FORMAT must be text or json, not {other:?}"),
    }
    Ok(())
}

/// GETs /healthz or /readyz of a node's operations listener; true on HTTP 200. A plain
/// HTTP/1.0 exchange over a socket: the probe runs where no HTTP client exists.
fn probe(args: &ProbeArgs) -> anyhow::Result<bool> {
    use std::io::{Read as _, Write as _};
    let addr = match args.addr {
        Some(addr) => addr,
        None => match std::env::var("RUNNEL_METRICS_LISTEN") {
            Ok(listen) => {
                let mut addr: SocketAddr = listen.parse().context("RUNNEL_METRICS_LISTEN is not an address")?;
                if addr.ip().is_unspecified() {
                    addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                addr
            }
            Err(_) => SocketAddr::from(([127, 0, 0, 1], 9090)),
        },
    };
    let path = match args.what {
        ProbeKind::Live => "/healthz",
        ProbeKind::Ready => "/readyz",
    };
    let timeout = std::time::Duration::from_millis(args.timeout_ms.max(1));
    let mut stream =
        std::net::TcpStream::connect_timeout(&addr, timeout).with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    // The status line and a one-line body: a few hundred bytes at most.
    let mut reply = Vec::new();
    stream.take(4096).read_to_end(&mut reply).with_context(|| format!("no answer from {addr}"))?;
    let reply = String::from_utf8_lossy(&reply);
    let status = reply.lines().next().unwrap_or_default();
    let body = reply.split_once("\r\n\r\n").map_or("", |(_, body)| body.trim());
    println!("{path}: {status}{}", if body.is_empty() { String::new() } else { format!(" ({body})") });
    Ok(status.split_whitespace().nth(1) == Some("200"))
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
    let id = match (args.id.or(file.id), args.id_from_hostname) {
        (Some(_), true) => return Err(ConfigError::IdTwice.into()),
        (Some(id), false) => id,
        (None, true) => id_from_hostname(&hostname()?)?,
        (None, false) => bail!("--id (or RUNNEL_NODE_ID, or --id-from-hostname) is required"),
    };
    let listen = args.listen.or(file.listen).context("--listen (or RUNNEL_LISTEN) is required")?;
    let peer_listen =
        args.peer_listen.or(file.peer_listen).context("--peer-listen (or RUNNEL_PEER_LISTEN) is required")?;
    let advertise = args.advertise.or(file.advertise).unwrap_or_else(|| format!("http://{listen}"));
    if peers.is_empty() {
        peers.insert(id, format!("http://{peer_listen}"));
    }
    let data_dir = args.data_dir.or(file.data_dir).context("--data-dir (or RUNNEL_DATA_DIR) is required")?;
    let encryption_key = match args.encryption_key_file.or(file.encryption_key_file) {
        Some(path) => Some(load_encryption_key(&path)?),
        None => None,
    };
    let aws_credentials = match args.aws_credentials_file.or(file.aws_credentials_file) {
        Some(path) => Some(load_aws_credentials(&path)?),
        None => None,
    };
    let config = NodeConfig {
        id,
        listen,
        advertise,
        peers,
        data_dir,
        replication_factor: args.replication_factor.or(file.replication_factor).unwrap_or(REPLICATION_FACTOR_DEFAULT),
        raft: file.raft.unwrap_or_default(),
        peer_listen,
        limits: file.limits.unwrap_or_default(),
        meta_snapshot_logs: META_SNAPSHOT_LOGS_DEFAULT,
        scalings_per_window_max: args
            .scalings_per_day_max
            .or(file.scalings_per_day_max)
            .unwrap_or(SCALINGS_PER_WINDOW_DEFAULT),
        retention_hour_ms: args.retention_hour_ms.or(file.retention_hour_ms).unwrap_or(RETENTION_HOUR_MS_DEFAULT),
        region: args.region.or(file.region).unwrap_or_else(|| REGION_DEFAULT.into()),
        account_id: args.account_id.or(file.account_id).unwrap_or_else(|| ACCOUNT_ID_DEFAULT.into()),
        shard_limit: args.shard_limit.or(file.shard_limit).unwrap_or(SHARD_LIMIT_DEFAULT),
        kinesis_limits: args.kinesis_limits || file.kinesis_limits.unwrap_or(false),
        on_demand_window_ms: args
            .on_demand_window_ms
            .or(file.on_demand_window_ms)
            .unwrap_or(ON_DEMAND_WINDOW_MS_DEFAULT),
        encryption_key,
        subscription_ms: args.subscription_ms.or(file.subscription_ms).unwrap_or(SUBSCRIPTION_MS_DEFAULT),
        metrics_listen: args.metrics_listen.or(file.metrics_listen),
        aws_listen: args.aws_listen.or(file.aws_listen),
        aws_credentials,
        aws_tls: TlsFiles::pair(args.aws_tls_cert.or(file.aws_tls_cert), args.aws_tls_key.or(file.aws_tls_key))?,
        rebuild_empty: args.rebuild_empty,
    };
    Ok(config.validate()?)
}

/// This host's name (a Kubernetes pod's is its pod name), from the kernel, else `$HOSTNAME`.
fn hostname() -> anyhow::Result<String> {
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        return Ok(name.trim().to_string());
    }
    std::env::var("HOSTNAME").context("cannot read this host's name (/proc/sys/kernel/hostname, $HOSTNAME)")
}

/// The dev cluster's encryption key: the one in `dir`, or a new random one written there
/// (readable by its owner only) on first start, so encrypted streams work out of the box.
fn dev_encryption_key(dir: &std::path::Path) -> anyhow::Result<RecordKey> {
    let path = dir.join(DEV_KEY_FILE);
    if !path.exists() {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).with_context(|| format!("cannot create the key file {}", path.display()))?;
        writeln!(file, "{}", RecordKey::generate().to_hex())?;
        file.sync_all()?;
    }
    Ok(load_encryption_key(&path)?)
}

/// Where `dev` keeps its cluster's encryption key, in its data directory.
const DEV_KEY_FILE: &str = "encryption.key";

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) or SIGTERM (what `docker
/// stop` and Kubernetes send).
async fn stop_requested() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// TCP connections with TCP_NODELAY: small replies must not wait for delayed ACKs (~40 ms
/// per call otherwise).
fn nodelay(listener: tokio::net::TcpListener) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::warn!("cannot set TCP_NODELAY: {e}");
            }
        })
    })
}

/// How far a stop has gone. Client servers stop first and finish the requests under way
/// while every peer server still runs (a write under way needs its peers to commit; with
/// the peer servers stopping too, it waited out its commit timeout and failed); then the
/// peer servers stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stop {
    Running,
    Clients,
    Peers,
}

/// Starts one node and serves it until `stop` says so: at `Stop::Clients` it hands its
/// leaderships over (when `hand_over`), stops its client server and reports on `drained`;
/// its peer server stops at `Stop::Peers`; then it stops the node's groups and workers, and
/// closes its database. A node that refuses to run (its volume came back empty) stops the
/// same way by itself, and the task ends with the reason.
async fn start_node(
    config: NodeConfig,
    stop: tokio::sync::watch::Receiver<Stop>,
    drained: tokio::sync::mpsc::UnboundedSender<()>,
    hand_over: bool,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let engine = RocksEngine::open(&config.data_dir.join("db"))
        .with_context(|| format!("cannot open the database in {}", config.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let peer_listener = tokio::net::TcpListener::bind(config.peer_listen)
        .await
        .with_context(|| format!("cannot listen on {} (peers)", config.peer_listen))?;
    // The recorder goes in before the node starts, so that its first series are kept.
    let ops = match config.metrics_listen {
        Some(addr) => {
            let recorder = runnel_node::api::ops::install_recorder()?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (metrics)"))?;
            Some((recorder, listener))
        }
        None => None,
    };
    let aws = match config.aws_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (AWS endpoint)"))?;
            let tls = match &config.aws_tls {
                Some(files) => Some(runnel_node::api::aws::tls::server_config(&files.cert, &files.key)?),
                None => None,
            };
            Some((listener, tls))
        }
        None => None,
    };
    if let (Some(addr), Some(credentials)) = (config.aws_listen, &config.aws_credentials) {
        tracing::info!(%addr, access_keys = credentials.len(), "AWS endpoint verifies SigV4 signatures");
    }
    let deps = NodeDeps {
        engine: Arc::new(engine),
        connector: Arc::new(TcpConnector),
        clock: Arc::new(SystemClock),
        seed: rand::random(),
        ack_policy: AckPolicy::AfterSync,
        read_check: ReadCheck::Linearizable,
        parent_end: ParentEnd::Seal,
        trim_path: TrimPath::Replicated,
        continuation: Continuation::BeforeNext,
        lost_leader: LostLeader::Elect,
        secrets: SecretSource::Os,
        fail_stop: FailStop::abort_process(),
    };
    let id = config.id;
    let node = Node::start(config, deps).await?;
    Ok(tokio::spawn(async move {
        // A server stops at its stage of the shutdown, or at once when the node refuses to
        // run (its volume came back empty).
        let until = |mut stop: tokio::sync::watch::Receiver<Stop>, stage: Stop| {
            let node = node.clone();
            async move {
                tokio::select! {
                    _ = stop.wait_for(|s| *s >= stage) => {}
                    _ = node.refused() => {}
                }
            }
        };
        let clients_stop = {
            let node = node.clone();
            let stop = until(stop.clone(), Stop::Clients);
            async move {
                stop.await;
                // Clients are still served while the leaderships move.
                if hand_over && node.refusal().is_none() {
                    runnel_node::cluster::handoff::hand_over(&node, HANDOFF_TIMEOUT).await;
                }
            }
        };
        let clients = async {
            let served = serve(node.clone(), nodelay(listener), clients_stop).await;
            let _ = drained.send(());
            served
        };
        let ops_stop = until(stop.clone(), Stop::Peers);
        let ops = async {
            if let Some((recorder, listener)) = ops {
                runnel_node::api::ops::serve_ops(node.clone(), recorder, listener, ops_stop).await;
            }
        };
        // Like the gRPC clients, AWS clients are served while the leaderships move.
        let aws_stop = until(stop.clone(), Stop::Peers);
        let aws = async {
            if let Some((listener, tls)) = aws {
                runnel_node::api::aws::server::serve_aws(node.clone(), listener, tls, aws_stop).await;
            }
        };
        let peers_stop = until(stop, Stop::Peers);
        let peers = runnel_node::transport::server::serve(node.clone(), nodelay(peer_listener), peers_stop);
        let (clients, peers, (), ()) = tokio::join!(clients, peers, ops, aws);
        node.shutdown().await;
        clients.with_context(|| format!("node {id} client server failed"))?;
        peers.with_context(|| format!("node {id} peer server failed"))?;
        if let Some(reason) = node.refusal() {
            bail!(reason);
        }
        Ok(())
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command;
    // A probe prints one line for the health check's log, and no logs.
    if !matches!(command, Command::Probe(_)) {
        init_tracing()?;
    }
    match command {
        Command::Probe(args) => {
            let ok = probe(&args).unwrap_or_else(|e| {
                println!("probe failed: {e:#}");
                false
            });
            std::process::exit(if ok { 0 } else { 1 });
        }
        Command::Run(args) => {
            let config = resolve(args)?;
            tracing::info!(id = config.id, listen = %config.listen, peer_listen = %config.peer_listen, advertise = %config.advertise, peers = ?config.peers, "starting");
            let (stop_tx, stop) = tokio::sync::watch::channel(Stop::Running);
            let (drained_tx, mut drained) = tokio::sync::mpsc::unbounded_channel();
            let mut node = start_node(config, stop, drained_tx, true).await?;
            tokio::select! {
                _ = stop_requested() => {}
                // It refused to run, or a server failed.
                ended = &mut node => return ended?,
            }
            stop_tx.send_replace(Stop::Clients);
            let _ = drained.recv().await;
            stop_tx.send_replace(Stop::Peers);
            node.await??;
        }
        Command::Dev(args) => {
            if args.nodes == 0 {
                bail!("--nodes must be at least 1");
            }
            std::fs::create_dir_all(&args.dir)?;
            let dir = std::fs::canonicalize(&args.dir)?;
            let port = |i: u64| args.base_port as u64 + i - 1;
            let peer_base = args.peer_base_port.map_or(args.base_port as u64 + 100, u64::from);
            let peer_port = |i: u64| peer_base + i - 1;
            let metrics_port = |i: u64| args.metrics_base_port as u64 + i - 1;
            let aws_port = |i: u64| args.aws_base_port as u64 + i - 1;
            let clients: BTreeMap<u64, String> =
                (1..=args.nodes).map(|i| (i, format!("http://127.0.0.1:{}", port(i)))).collect();
            let peers: BTreeMap<u64, String> =
                (1..=args.nodes).map(|i| (i, format!("http://127.0.0.1:{}", peer_port(i)))).collect();
            let encryption_key = dev_encryption_key(&dir)?;
            let (stop_tx, stop) = tokio::sync::watch::channel(Stop::Running);
            let (drained_tx, mut drained) = tokio::sync::mpsc::unbounded_channel();
            let mut handles = Vec::new();
            for id in 1..=args.nodes {
                let config = NodeConfig {
                    id,
                    listen: format!("127.0.0.1:{}", port(id)).parse()?,
                    advertise: clients[&id].clone(),
                    peer_listen: format!("127.0.0.1:{}", peer_port(id)).parse()?,
                    peers: peers.clone(),
                    data_dir: dir.join(format!("node{id}")),
                    replication_factor: REPLICATION_FACTOR_DEFAULT,
                    raft: RaftTiming::default(),
                    limits: NodeLimits::default(),
                    meta_snapshot_logs: META_SNAPSHOT_LOGS_DEFAULT,
                    scalings_per_window_max: SCALINGS_PER_WINDOW_DEFAULT,
                    retention_hour_ms: RETENTION_HOUR_MS_DEFAULT,
                    region: REGION_DEFAULT.into(),
                    account_id: ACCOUNT_ID_DEFAULT.into(),
                    shard_limit: SHARD_LIMIT_DEFAULT,
                    kinesis_limits: args.kinesis_limits,
                    on_demand_window_ms: ON_DEMAND_WINDOW_MS_DEFAULT,
                    encryption_key: Some(encryption_key.clone()),
                    subscription_ms: SUBSCRIPTION_MS_DEFAULT,
                    metrics_listen: Some(format!("127.0.0.1:{}", metrics_port(id)).parse()?),
                    aws_listen: Some(format!("127.0.0.1:{}", aws_port(id)).parse()?),
                    aws_credentials: None,
                    aws_tls: None,
                    rebuild_empty: false,
                };
                // Every node stops at once: there is no one to hand leaderships to.
                handles.push(start_node(config.validate()?, stop.clone(), drained_tx.clone(), false).await?);
            }
            let endpoints: Vec<&String> = clients.values().collect();
            println!("Runnel dev cluster: {} nodes, data in {}", args.nodes, dir.display());
            println!("  encryption key (StartStreamEncryption): {}", dir.join(DEV_KEY_FILE).display());
            for (id, url) in &clients {
                println!(
                    "  node {id}: {url} (peers on {}; metrics, /healthz, /readyz on http://127.0.0.1:{}; \
                     AWS endpoint http://127.0.0.1:{})",
                    peers[id],
                    metrics_port(*id),
                    aws_port(*id)
                );
            }
            println!("Try:");
            println!(
                "  cargo run --release -p runnel-client -- --endpoint {} stream create demo --shards 4",
                endpoints[0]
            );
            println!("  grpcurl -plaintext 127.0.0.1:{} list", args.base_port);
            println!(
                "  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws kinesis list-streams --region {REGION_DEFAULT} \
                 --endpoint-url http://127.0.0.1:{}",
                args.aws_base_port
            );
            println!("Ctrl-C stops the cluster; starting it again keeps the data.");
            drop(drained_tx);
            stop_requested().await;
            // Every node's clients first: their writes may need any node's peer server.
            stop_tx.send_replace(Stop::Clients);
            for _ in 0..handles.len() {
                if drained.recv().await.is_none() {
                    break;
                }
            }
            stop_tx.send_replace(Stop::Peers);
            for h in handles {
                h.await??;
            }
        }
    }
    Ok(())
}
