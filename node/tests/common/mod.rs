//! A harness for integration tests: real `runnel-node` processes on loopback, each with its
//! own data directory, that a test can kill -9 and restart.

#![allow(dead_code)]

use runnel_proto::v1::admin_client::AdminClient;
use runnel_proto::v1::kinesis_client::KinesisClient;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub ports: Vec<u16>,
    children: Vec<Option<Child>>,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

impl Cluster {
    /// Starts `n` nodes and waits until the metadata group has a leader.
    pub async fn start(n: usize) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = (0..n).map(|_| free_port()).collect();
        let mut cluster = Cluster { dir, ports, children: (0..n).map(|_| None).collect() };
        for i in 0..n {
            cluster.start_node(i);
        }
        cluster.wait_for_meta_leader(Duration::from_secs(30)).await;
        cluster
    }

    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    pub fn endpoints(&self) -> Vec<String> {
        (0..self.ports.len()).map(|i| self.endpoint(i)).collect()
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("node{}", i + 1))
    }

    pub fn start_node(&mut self, i: usize) {
        let peers: Vec<String> = (0..self.ports.len()).map(|j| format!("{}={}", j + 1, self.endpoint(j))).collect();
        let log = std::fs::File::create(self.dir.path().join(format!("node{}.log", i + 1))).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_runnel-node"))
            .arg("run")
            .args(["--id", &(i + 1).to_string()])
            .args(["--listen", &format!("127.0.0.1:{}", self.ports[i])])
            .args(["--peer", &peers.join(",")])
            .args(["--data-dir", self.data_dir(i).to_str().expect("utf-8 path")])
            .env("RUNNEL_LOG", "info,openraft=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn runnel-node");
        self.children[i] = Some(child);
    }

    /// kill -9: no chance to flush or say goodbye.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.start_node(i);
    }

    pub async fn kinesis(&self, i: usize) -> KinesisClient<Channel> {
        let channel = Channel::from_shared(self.endpoint(i)).expect("url").connect_lazy();
        KinesisClient::new(channel).max_decoding_message_size(64 << 20).max_encoding_message_size(64 << 20)
    }

    pub async fn admin(&self, i: usize) -> AdminClient<Channel> {
        AdminClient::new(Channel::from_shared(self.endpoint(i)).expect("url").connect_lazy())
    }

    /// Waits until some node reports a leader for the metadata group (group 0).
    pub async fn wait_for_meta_leader(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            for i in 0..self.ports.len() {
                if self.children[i].is_none() {
                    continue;
                }
                let mut admin = self.admin(i).await;
                if let Ok(reply) = admin.describe_cluster(runnel_proto::v1::DescribeClusterRequest {}).await {
                    let reply = reply.into_inner();
                    if reply.groups.iter().any(|g| g.group_id == 0 && g.leader.is_some()) {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no metadata leader within {timeout:?}; logs in {}", self.dir.path().display());
    }

    /// The node (0-based index) that leads `group_id`, as the cluster reports it.
    pub async fn leader_of(&self, group_id: u64) -> Option<usize> {
        for i in 0..self.ports.len() {
            if self.children[i].is_none() {
                continue;
            }
            let mut admin = self.admin(i).await;
            if let Ok(reply) = admin.describe_cluster(runnel_proto::v1::DescribeClusterRequest {}).await {
                let leader = reply.into_inner().groups.iter().find(|g| g.group_id == group_id).and_then(|g| g.leader);
                if let Some(l) = leader {
                    return Some(l as usize - 1);
                }
            }
        }
        None
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for i in 0..self.ports.len() {
            let path = self.dir.path().join(format!("node{}.log", i + 1));
            out.push_str(&format!("--- node {} ---\n", i + 1));
            out.push_str(&std::fs::read_to_string(path).unwrap_or_default());
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

use runnel_proto::v1::*;

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
    })
    .await
    .expect("create stream");
    wait_active(k, name).await;
}

pub async fn wait_active(k: &mut KinesisClient<Channel>, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let req = DescribeStreamSummaryRequest { stream_name: name.into(), stream_arn: String::new() };
        if let Ok(d) = k.describe_stream_summary(req).await {
            if d.into_inner().stream_description_summary.map(|s| s.stream_status) == Some("ACTIVE".into()) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stream {name} not ACTIVE within 30 s");
}

pub async fn shard_ids(k: &mut KinesisClient<Channel>, name: &str) -> Vec<String> {
    let req = ListShardsRequest { stream_name: name.into(), ..Default::default() };
    k.list_shards(req).await.expect("list shards").into_inner().shards.into_iter().map(|s| s.shard_id).collect()
}

/// Every record of one shard from TRIM_HORIZON, following NextShardIterator until an empty
/// page at the tip.
pub async fn read_shard(k: &mut KinesisClient<Channel>, name: &str, shard_id: &str) -> Vec<Record> {
    let req = GetShardIteratorRequest {
        stream_name: name.into(),
        shard_id: shard_id.into(),
        shard_iterator_type: "TRIM_HORIZON".into(),
        ..Default::default()
    };
    let mut iterator = k.get_shard_iterator(req).await.expect("iterator").into_inner().shard_iterator;
    let mut records = Vec::new();
    for _ in 0..10_000 {
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
        records.extend(page.records);
        iterator = page.next_shard_iterator.expect("open shards always continue");
        if empty && page.millis_behind_latest == 0 {
            return records;
        }
    }
    panic!("shard {shard_id} never reached its tip");
}
