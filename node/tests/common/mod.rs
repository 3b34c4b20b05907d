//! A harness for integration tests: real `runnel-node` processes on loopback, each with its
//! own data directory, a client port and a peer port, that a test can kill -9, stop with a
//! signal, and restart.

#![allow(dead_code)]

use runnel_proto::v1::admin_client::AdminClient;
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::peer::peer_client::PeerClient;
use runnel_proto::v1::*;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// Awaits `call` and asserts it failed with the Kinesis error `name`; gives the status.
#[allow(unused_macros)]
macro_rules! expect_err {
    ($call:expr, $name:expr) => {{
        match $call.await {
            Ok(reply) => panic!("expected {} but the call succeeded: {:?}", $name, reply),
            Err(status) => {
                assert_eq!($crate::common::error_name(&status), $name, "{}: {status:?}", stringify!($call));
                status
            }
        }
    }};
}

/// Room for a full GetRecords page (10 MiB) or PutRecords batch (5 MiB) plus framing.
pub const MESSAGE_BYTES_MAX: usize = 64 << 20;

/// Ports are taken from below the kernel's ephemeral range (32768-60999 on Linux), so that
/// no outgoing connection can grab the port of a node that is down between a kill and its
/// restart. Each test process starts at its own offset; every port is checked free.
const PORTS_FIRST: u32 = 20_000;
const PORTS_COUNT: u32 = 12_000;
static PORTS_NEXT: AtomicU32 = AtomicU32::new(0);

fn bindable(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The first of `count` consecutive free loopback ports.
pub fn free_ports(count: u16) -> u16 {
    let offset = (std::process::id() * 7919) % PORTS_COUNT;
    for _ in 0..PORTS_COUNT {
        let n = PORTS_NEXT.fetch_add(u32::from(count), Ordering::Relaxed);
        let first = PORTS_FIRST + (offset + n) % (PORTS_COUNT - u32::from(count));
        let first = first as u16;
        if (first..first + count).all(bindable) {
            return first;
        }
    }
    panic!("no {count} consecutive free ports in {PORTS_FIRST}..{}", PORTS_FIRST + PORTS_COUNT);
}

pub fn free_port() -> u16 {
    free_ports(1)
}

/// A lazily connected channel; connecting fails fast when nothing listens.
pub fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string()).expect("url").connect_timeout(Duration::from_secs(2)).connect_lazy()
}

pub fn kinesis_at(url: &str) -> KinesisClient<Channel> {
    KinesisClient::new(channel(url))
        .max_decoding_message_size(MESSAGE_BYTES_MAX)
        .max_encoding_message_size(MESSAGE_BYTES_MAX)
}

pub fn admin_at(url: &str) -> AdminClient<Channel> {
    AdminClient::new(channel(url)).max_decoding_message_size(MESSAGE_BYTES_MAX)
}

/// Polls `check` every `every` until it returns `Some`, or panics with `what` after
/// `timeout` (a hang detector, not a performance bound).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, every: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!("{what}: not within {timeout:?}");
        }
        tokio::time::sleep(every).await;
    }
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    /// Client ports (Kinesis, Admin, health, reflection), one per node.
    pub ports: Vec<u16>,
    /// Peer ports (node-to-node), one per node.
    pub peer_ports: Vec<u16>,
    /// Operations ports (/metrics, /healthz, /readyz), one per node, when asked for.
    pub metrics_ports: Option<Vec<u16>>,
    /// Extra environment of every node.
    pub env: Vec<(String, String)>,
    config: Option<PathBuf>,
    children: Vec<Option<Child>>,
}

impl Cluster {
    /// Starts `n` nodes and waits until the metadata group has a leader.
    pub async fn start(n: usize) -> Cluster {
        Cluster::start_with_config(n, None).await
    }

    /// Like `start`, with every node reading `config_toml` as its `--config` file.
    pub async fn start_with_config(n: usize, config_toml: Option<&str>) -> Cluster {
        let mut cluster = Cluster::prepare(n, config_toml);
        for i in 0..n {
            cluster.start_node(i);
        }
        cluster.wait_for_meta_leader(Duration::from_secs(60)).await;
        cluster
    }

    /// A cluster of `n` nodes with their ports and directories, none started yet.
    pub fn prepare(n: usize, config_toml: Option<&str>) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config_toml.map(|text| {
            let path = dir.path().join("node.toml");
            std::fs::write(&path, text).expect("write the config file");
            path
        });
        let ports = (0..n).map(|_| free_port()).collect();
        let peer_ports = (0..n).map(|_| free_port()).collect();
        let children = (0..n).map(|_| None).collect();
        Cluster { dir, ports, peer_ports, metrics_ports: None, env: Vec::new(), config, children }
    }

    /// Gives every node an operations listener (`--metrics-listen`).
    pub fn with_metrics(mut self) -> Cluster {
        self.metrics_ports = Some((0..self.size()).map(|_| free_port()).collect());
        self
    }

    /// Node `i`'s operations listener.
    pub fn metrics_addr(&self, i: usize) -> String {
        let ports = self.metrics_ports.as_ref().expect("the cluster was prepared with_metrics");
        format!("127.0.0.1:{}", ports[i])
    }

    pub fn size(&self) -> usize {
        self.ports.len()
    }

    /// Node `i`'s client URL.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    /// Node `i`'s peer URL.
    pub fn peer_endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.peer_ports[i])
    }

    pub fn endpoints(&self) -> Vec<String> {
        (0..self.size()).map(|i| self.endpoint(i)).collect()
    }

    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node{}", i + 1))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node{}.log", i + 1))
    }

    pub fn start_node(&mut self, i: usize) {
        self.start_node_with(i, &[]);
    }

    /// Starts node `i` with `extra` flags after the usual ones.
    pub fn start_node_with(&mut self, i: usize, extra: &[&str]) {
        assert!(self.children[i].is_none(), "node {} is already running", i + 1);
        let peers: Vec<String> = (0..self.size()).map(|j| format!("{}={}", j + 1, self.peer_endpoint(j))).collect();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path(i)).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_runnel-node"));
        command
            .arg("run")
            .args(["--id", &(i + 1).to_string()])
            .args(["--listen", &format!("127.0.0.1:{}", self.ports[i])])
            .args(["--peer-listen", &format!("127.0.0.1:{}", self.peer_ports[i])])
            .args(["--peer", &peers.join(",")])
            .args(["--data-dir", self.data_dir(i).to_str().expect("utf-8 path")]);
        if let Some(config) = &self.config {
            command.args(["--config", config.to_str().expect("utf-8 path")]);
        }
        if self.metrics_ports.is_some() {
            command.args(["--metrics-listen", &self.metrics_addr(i)]);
        }
        command.args(extra);
        let child = command
            .env("RUNNEL_LOG", "info,openraft=warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn runnel-node");
        self.children[i] = Some(child);
    }

    /// Node `i`'s exit status if its process has ended on its own (it is still counted as
    /// running until then).
    pub fn exited(&mut self, i: usize) -> Option<ExitStatus> {
        self.children[i].as_mut().and_then(|c| c.try_wait().expect("wait for the node"))
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.children[i].is_some()
    }

    /// kill -9: no chance to flush or say goodbye.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (e.g. "INT", "TERM") to node `i` and waits for it to exit, at most
    /// `timeout` (a hang detector); returns its exit status.
    pub fn stop_with(&mut self, i: usize, signal: &str, timeout: Duration) -> ExitStatus {
        let mut child = self.children[i].take().expect("node is running");
        send_signal(child.id(), signal);
        wait_exit(&mut child, timeout)
            .unwrap_or_else(|| panic!("node {} did not exit within {timeout:?} of SIG{signal}", i + 1))
    }

    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.start_node(i);
    }

    pub async fn kinesis(&self, i: usize) -> KinesisClient<Channel> {
        kinesis_at(&self.endpoint(i))
    }

    pub async fn admin(&self, i: usize) -> AdminClient<Channel> {
        admin_at(&self.endpoint(i))
    }

    /// A raw Peer stub on node `i`'s peer port.
    pub fn peer(&self, i: usize) -> PeerClient<Channel> {
        PeerClient::new(channel(&self.peer_endpoint(i)))
    }

    /// The cluster as node `i` reports it, if it answers.
    pub async fn describe(&self, i: usize) -> Option<DescribeClusterResponse> {
        if !self.is_running(i) {
            return None;
        }
        let call = self.admin(i).await.describe_cluster(DescribeClusterRequest {}).await;
        call.ok().map(|r| r.into_inner())
    }

    /// The cluster as the first running node that answers reports it.
    pub async fn describe_any(&self) -> Option<DescribeClusterResponse> {
        for i in 0..self.size() {
            if let Some(reply) = self.describe(i).await {
                return Some(reply);
            }
        }
        None
    }

    /// Waits until some node reports a leader for the metadata group (group 0).
    pub async fn wait_for_meta_leader(&self, timeout: Duration) {
        let what = format!("a metadata leader (logs in {})", self.dir.path().display());
        eventually(&what, timeout, Duration::from_millis(200), || async {
            let reply = self.describe_any().await?;
            reply.groups.iter().any(|g| g.group_id == 0 && g.leader.is_some()).then_some(())
        })
        .await
    }

    /// The node (0-based index) that leads `group_id`, as the cluster reports it. Only a
    /// running node counts: a dead leader may still be named by a node that has not yet
    /// noticed.
    pub async fn leader_of(&self, group_id: u64) -> Option<usize> {
        let reply = self.describe_any().await?;
        let leader = reply.groups.iter().find(|g| g.group_id == group_id).and_then(|g| g.leader)?;
        let i = leader as usize - 1;
        self.is_running(i).then_some(i)
    }

    /// Waits until a running node leads `group_id` and reports itself as its leader.
    pub async fn wait_for_leader(&self, group_id: u64, timeout: Duration) -> usize {
        eventually(&format!("a running leader of group {group_id}"), timeout, Duration::from_millis(100), || async {
            let i = self.leader_of(group_id).await?;
            let own = self.describe(i).await?;
            let g = own.groups.iter().find(|g| g.group_id == group_id)?;
            g.replica_states.iter().any(|r| r.node_id == i as u64 + 1 && r.role == "Leader").then_some(i)
        })
        .await
    }

    /// The group of shard `shard_id` of `stream`.
    pub async fn group_of(&self, stream: &str, shard_id: &str) -> GroupState {
        eventually(
            &format!("group of {stream}/{shard_id}"),
            Duration::from_secs(30),
            Duration::from_millis(100),
            || async {
                let reply = self.describe_any().await?;
                reply.groups.into_iter().find(|g| g.stream_name == stream && g.shard_id == shard_id)
            },
        )
        .await
    }

    /// Waits until every replica of every group has applied what the group committed and
    /// every node is healthy.
    pub async fn wait_caught_up(&self, timeout: Duration) {
        let mut last = String::new();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(reply) = self.describe_any().await {
                let lagging: Vec<_> = reply
                    .groups
                    .iter()
                    .filter(|g| {
                        g.leader.is_none()
                            || g.replica_states.len() != g.replicas.len()
                            || g.replica_states
                                .iter()
                                .any(|r| r.applied_index.is_none() || r.applied_index < g.commit_index)
                    })
                    .collect();
                if lagging.is_empty() && reply.nodes.iter().all(|n| n.healthy) {
                    return;
                }
                last = format!("{lagging:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("replicas did not catch up within {timeout:?}: {last}");
    }

    /// The last `lines` lines of every node's log.
    pub fn logs(&self, lines: usize) -> String {
        let mut out = String::new();
        for i in 0..self.size() {
            out.push_str(&format!("--- node {} (peer port {}) ---\n", i + 1, self.peer_ports[i]));
            out.push_str(&tail(&self.log_path(i), lines));
        }
        out
    }

    pub fn log_of(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs(400));
        }
    }
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    out.push('\n');
    out
}

/// Sends `signal` ("INT" or "TERM") to `pid` with kill(2): no `kill` program needed.
pub fn send_signal(pid: u32, signal: &str) {
    let number = match signal {
        "INT" => libc::SIGINT,
        "TERM" => libc::SIGTERM,
        other => panic!("unsupported signal {other}"),
    };
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, number) };
    assert_eq!(rc, 0, "kill({pid}, SIG{signal}) failed: {}", std::io::Error::last_os_error());
}

/// Waits for `child` to exit, at most `timeout`; kills it (-9) and returns `None` if it
/// does not.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the node") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The Kinesis error name a failed call carries.
pub fn error_name(status: &tonic::Status) -> String {
    status
        .metadata()
        .get(runnel_proto::ERROR_METADATA_KEY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("<none>")
        .to_string()
}

pub async fn create_active(k: &mut KinesisClient<Channel>, name: &str, shards: i32) {
    k.create_stream(CreateStreamRequest {
        stream_name: name.into(),
        shard_count: Some(shards),
        stream_mode_details: None,
        ..Default::default()
    })
    .await
    .expect("create stream");
    wait_active(k, name).await;
}

pub async fn wait_active(k: &mut KinesisClient<Channel>, name: &str) {
    eventually(&format!("stream {name} ACTIVE"), Duration::from_secs(30), Duration::from_millis(100), || {
        let mut k = k.clone();
        async move {
            let req = DescribeStreamSummaryRequest { stream_name: name.into(), stream_arn: String::new() };
            let d = k.describe_stream_summary(req).await.ok()?.into_inner();
            (d.stream_description_summary.map(|s| s.stream_status) == Some("ACTIVE".into())).then_some(())
        }
    })
    .await
}

pub async fn shard_ids(k: &mut KinesisClient<Channel>, name: &str) -> Vec<String> {
    let req = ListShardsRequest { stream_name: name.into(), ..Default::default() };
    k.list_shards(req).await.expect("list shards").into_inner().shards.into_iter().map(|s| s.shard_id).collect()
}

pub fn iterator_req(stream: &str, shard: &str, kind: &str) -> GetShardIteratorRequest {
    GetShardIteratorRequest {
        stream_name: stream.into(),
        shard_id: shard.into(),
        shard_iterator_type: kind.into(),
        ..Default::default()
    }
}

/// Every record of one shard from TRIM_HORIZON, following NextShardIterator until an empty
/// page at the tip (or the end of a closed shard).
pub async fn read_shard(k: &mut KinesisClient<Channel>, name: &str, shard_id: &str) -> Vec<Record> {
    let mut records = Vec::new();
    read_shard_with(k, name, shard_id, |r| records.push(r)).await;
    records
}

/// Hands every record of one shard, from TRIM_HORIZON to the tip, to `each`; returns how
/// many there were. For shards too large to hold in memory.
pub async fn read_shard_with(
    k: &mut KinesisClient<Channel>,
    name: &str,
    shard_id: &str,
    mut each: impl FnMut(Record),
) -> usize {
    let req = iterator_req(name, shard_id, "TRIM_HORIZON");
    let mut iterator = k.get_shard_iterator(req).await.expect("iterator").into_inner().shard_iterator;
    let mut count = 0;
    for _ in 0..100_000 {
        let page = k
            .get_records(GetRecordsRequest {
                shard_iterator: iterator.clone(),
                limit: Some(1000),
                stream_arn: String::new(),
            })
            .await
            .expect("get records")
            .into_inner();
        let empty = page.records.is_empty();
        count += page.records.len();
        page.records.into_iter().for_each(&mut each);
        // A closed shard ends with no next iterator; an open one at an empty page at the tip.
        let Some(next) = page.next_shard_iterator else { return count };
        iterator = next;
        if empty && page.millis_behind_latest == 0 {
            return count;
        }
    }
    panic!("shard {shard_id} never reached its tip");
}

/// GET `path` from `addr` over HTTP/1.0: the status code and the body.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut reply = Vec::new();
    stream.take(64 << 20).read_to_end(&mut reply).ok()?;
    let reply = String::from_utf8(reply).ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// The sum of every sample of `name` whose labels include all of `labels`, or `None` if
/// there is no such sample.
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut total = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        if metric != name || !labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))) {
            continue;
        }
        let value: f64 = value.parse().expect("a sample value");
        total = Some(total.unwrap_or(0.0) + value);
    }
    total
}

/// Three nodes, each also serving the AWS protocol (`--aws-listen`); their AWS addresses.
pub async fn cluster_with_aws_endpoints() -> (Cluster, Vec<String>) {
    let mut cluster = Cluster::prepare(3, None);
    let aws: Vec<String> = (0..3).map(|_| format!("127.0.0.1:{}", free_port())).collect();
    for (i, addr) in aws.iter().enumerate() {
        cluster.start_node_with(i, &["--aws-listen", addr]);
    }
    cluster.wait_for_meta_leader(Duration::from_secs(60)).await;
    (cluster, aws)
}
