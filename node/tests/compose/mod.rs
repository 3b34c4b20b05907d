//! A 3-node Runnel cluster in Docker containers, for tests that need real containers:
//! `deploy/docker-compose.yml` run on an image that `deploy/docker/build-image.sh` builds
//! from this build's binaries (nothing is pulled). A test can kill -9 a node's container,
//! start it again, stop it with SIGTERM, pause it, cut it from the network, and move it to
//! another address.
//!
//! Every cluster is its own compose project, `runnel-test-PID-N`, with its own host ports
//! and image tag, so parallel runs never collide. Dropping the cluster removes its
//! containers, volumes, network and image (printing the nodes' logs first if the test
//! failed); a test process that died before that leaves a project whose PID no longer
//! runs, and the next cluster started on this machine removes it.
//!
//! Use it as `mod common; mod compose;` (it takes its ports from `common`), and start with
//! `Docker::detect()`, which says why a test must be skipped when no engine answers.

#![allow(dead_code)]

use crate::common::{admin_at, eventually, free_port};
use runnel_proto::v1::{DescribeClusterRequest, DescribeClusterResponse};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The compose file's services, node 1 first.
pub const SERVICES: [&str; 3] = ["runnel-1", "runnel-2", "runnel-3"];
/// Project names of test clusters start with this; the PID of their test process follows.
const PROJECT_PREFIX: &str = "runnel-test-";
/// Image repository of test clusters; the tag is the project name.
const IMAGE_REPOSITORY: &str = "runnel-test";
/// How long `docker stop` waits after SIGTERM before SIGKILL.
const STOP_GRACE_SECS: u32 = 30;
/// How long `describe` waits for one node (a paused one never answers).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
static CLUSTERS: AtomicU32 = AtomicU32::new(0);

/// A Docker engine that answers, and the compose command to drive it with.
pub struct Docker {
    /// `docker compose` (v2) or `docker-compose` (v1).
    compose: Vec<String>,
}

impl Docker {
    /// The engine and compose command of this machine, or why there is none (the caller
    /// prints it and skips).
    pub fn detect() -> Result<Docker, String> {
        let engine = Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output();
        match engine {
            Err(e) => return Err(format!("no docker command ({e})")),
            Ok(out) if !out.status.success() => {
                return Err(format!("no Docker engine answers: {}", String::from_utf8_lossy(&out.stderr).trim()))
            }
            Ok(_) => {}
        }
        for compose in [&["docker", "compose"][..], &["docker-compose"][..]] {
            let answered = Command::new(compose[0])
                .args(&compose[1..])
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if answered {
                return Ok(Docker { compose: compose.iter().map(|s| s.to_string()).collect() });
            }
        }
        Err("neither `docker compose` nor `docker-compose` is installed".into())
    }
}

/// The repository root (this crate is `node/`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("node/ has a parent").to_path_buf()
}

/// Runs `command`, panicking with its output if it fails.
fn run(command: &mut Command) -> String {
    let out = command.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    if !out.status.success() {
        panic!("{command:?} failed: {}\n{}", out.status, output_text(&out));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs `command` and ignores how it ends (cleanup).
fn run_quietly(command: &mut Command) {
    let _ = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
}

fn output_text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn docker(args: &[&str]) -> String {
    run(Command::new("docker").args(args))
}

pub struct ComposeCluster {
    compose: Vec<String>,
    /// The compose project: prefix of every container, volume and network of this cluster.
    pub project: String,
    pub image: String,
    /// Host ports of the nodes' client ports, node 1 first.
    pub ports: [u16; 3],
    /// Host ports of the nodes' AWS protocol ports.
    pub aws_ports: [u16; 3],
    /// Host ports of the nodes' metrics ports.
    pub metrics_ports: [u16; 3],
    /// Whether the binaries have `runnel-node probe`, so containers report their health.
    pub health_checked: bool,
    /// Containers holding addresses (`hold_address`), removed with the cluster.
    holders: std::sync::Mutex<Vec<String>>,
}

impl ComposeCluster {
    /// Builds the image from this build's binaries and starts the three nodes (without
    /// waiting for them: see `wait_serving`).
    pub fn start(docker: &Docker) -> ComposeCluster {
        remove_leftovers(docker);
        let n = CLUSTERS.fetch_add(1, Ordering::Relaxed);
        let project = format!("{PROJECT_PREFIX}{}-{n}", std::process::id());
        let image = format!("{IMAGE_REPOSITORY}:{project}");
        let node_binary = Path::new(env!("CARGO_BIN_EXE_runnel-node"));
        let bin_dir = node_binary.parent().expect("the binary's directory");
        run(Command::new(repo_root().join("deploy/docker/build-image.sh")).args([
            "--profile",
            "debug",
            "--bin-dir",
            bin_dir.to_str().expect("utf-8 path"),
            "--tag",
            &image,
        ]));
        let health_checked = Command::new(node_binary)
            .args(["probe", "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let cluster = ComposeCluster {
            compose: docker.compose.clone(),
            project,
            image,
            ports: [free_port(), free_port(), free_port()],
            aws_ports: [free_port(), free_port(), free_port()],
            metrics_ports: [free_port(), free_port(), free_port()],
            health_checked,
            holders: Default::default(),
        };
        run(&mut cluster.compose_command(&["up", "-d", "--no-build"]));
        cluster
    }

    /// `docker compose -p PROJECT -f deploy/docker-compose.yml ARGS`, with this cluster's
    /// image and ports in its environment.
    fn compose_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.compose[0]);
        command
            .args(&self.compose[1..])
            .args(["-p", &self.project, "-f"])
            .arg(repo_root().join("deploy/docker-compose.yml"))
            .args(args)
            .env("RUNNEL_IMAGE", &self.image)
            .env("RUNNEL_LOG", "info,openraft=warn");
        for (i, (port, metrics_port)) in self.ports.iter().zip(self.metrics_ports).enumerate() {
            command.env(format!("RUNNEL_PORT_{}", i + 1), port.to_string());
            command.env(format!("RUNNEL_METRICS_PORT_{}", i + 1), metrics_port.to_string());
        }
        for (i, aws_port) in self.aws_ports.iter().enumerate() {
            command.env(format!("RUNNEL_AWS_PORT_{}", i + 1), aws_port.to_string());
        }
        command
    }

    /// Node `i`'s (0-based) AWS protocol address on this host.
    pub fn aws_addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.aws_ports[i])
    }

    /// Node `i`'s (0-based) client URL on this host, as it advertises it.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    /// Node `i`'s container id, running or not (`compose ps` of v2 lists running ones only).
    pub fn container(&self, i: usize) -> String {
        let id = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--filter",
            &format!("label=com.docker.compose.service={}", SERVICES[i]),
        ]);
        assert!(!id.is_empty() && !id.contains('\n'), "not one container for {}: {id:?}", SERVICES[i]);
        id
    }

    /// The cluster's private network, found by its project label rather than through a
    /// node, which may be cut from it.
    pub fn network(&self) -> String {
        let networks = docker(&[
            "network",
            "ls",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.project),
            "--format",
            "{{.Name}}",
        ]);
        let mut networks = networks.split_whitespace();
        let network = networks.next().unwrap_or_else(|| panic!("no network of {}", self.project)).to_string();
        assert!(networks.next().is_none(), "{} has more than one network", self.project);
        network
    }

    /// Node `i`'s address on the cluster's network (empty while it is stopped).
    pub fn ip(&self, i: usize) -> String {
        docker(&["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", &self.container(i)])
    }

    /// kill -9 node `i`'s process (its container stops; the restart policy leaves a killed
    /// container down).
    pub fn kill(&self, i: usize) {
        docker(&["kill", "--signal", "KILL", &self.container(i)]);
    }

    /// SIGTERM to node `i`, SIGKILL if it has not stopped within the grace period.
    pub fn stop(&self, i: usize) {
        docker(&["stop", "--time", &STOP_GRACE_SECS.to_string(), &self.container(i)]);
    }

    /// How node `i`'s process ended last (`None` while it runs): 0 after a clean stop,
    /// 137 after SIGKILL.
    pub fn exit_code(&self, i: usize) -> Option<i64> {
        let container = self.container(i);
        let state = docker(&["inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", &container]);
        match state.split_once(' ') {
            Some(("false", code)) => Some(code.parse().unwrap_or_else(|_| panic!("exit code of {container}: {state}"))),
            _ => None,
        }
    }

    /// Starts node `i`'s stopped container again, with the same volume.
    pub fn start_node(&self, i: usize) {
        docker(&["start", &self.container(i)]);
    }

    /// Freezes node `i`'s processes (SIGSTOP to the cgroup): alive but silent.
    pub fn pause(&self, i: usize) {
        docker(&["pause", &self.container(i)]);
    }

    pub fn unpause(&self, i: usize) {
        docker(&["unpause", &self.container(i)]);
    }

    /// Cuts node `i` from the cluster's network (the host's published ports go too).
    pub fn disconnect(&self, i: usize) {
        docker(&["network", "disconnect", &self.network(), &self.container(i)]);
    }

    /// Puts node `i` back on the cluster's network under its service name.
    pub fn connect(&self, i: usize) {
        docker(&["network", "connect", "--alias", SERVICES[i], &self.network(), &self.container(i)]);
    }

    /// Starts a container on the cluster's network that takes the lowest free address
    /// (Docker hands out the lowest), e.g. the one a stopped node had, so that the node
    /// comes back at another address. It runs a lone node listening on its loopback only,
    /// so a peer still dialing the old address is refused.
    pub fn hold_address(&self) -> String {
        let name = format!("{}-holder-{}", self.project, self.holders.lock().expect("holders").len());
        docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &self.network(),
            "--label",
            &format!("runnel.test.project={}", self.project),
            &self.image,
            "dev",
            "--dir",
            "/tmp/holder",
            "--nodes",
            "1",
        ]);
        self.holders.lock().expect("holders").push(name.clone());
        docker(&["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", &name])
    }

    /// Waits until every node answers on its published port and reports all three nodes
    /// healthy and a metadata leader, and, when the image has health checks, until Docker
    /// reports every container healthy.
    pub async fn wait_serving(&self, timeout: Duration) {
        for (i, service) in SERVICES.iter().enumerate() {
            let what = format!("{service} serving on {} (logs: {})", self.endpoint(i), self.logs_hint());
            eventually(&what, timeout, Duration::from_millis(500), || async move {
                let reply = admin_at(&self.endpoint(i)).describe_cluster(DescribeClusterRequest {}).await.ok()?;
                let reply = reply.into_inner();
                let all_healthy = reply.nodes.len() == 3 && reply.nodes.iter().all(|n| n.healthy);
                let meta_leader = reply.groups.iter().any(|g| g.group_id == 0 && g.leader.is_some());
                (all_healthy && meta_leader).then_some(())
            })
            .await;
        }
        if self.health_checked {
            for (i, service) in SERVICES.iter().enumerate() {
                let container = self.container(i);
                eventually(&format!("{service} healthy"), timeout, Duration::from_secs(1), || {
                    let status = docker(&["inspect", "-f", "{{.State.Health.Status}}", &container]);
                    async move { (status == "healthy").then_some(()) }
                })
                .await;
            }
        }
    }

    /// The cluster as the first node that answers within `CALL_TIMEOUT` reports it.
    pub async fn describe(&self) -> Option<DescribeClusterResponse> {
        for i in 0..SERVICES.len() {
            let mut admin = admin_at(&self.endpoint(i));
            let call = admin.describe_cluster(DescribeClusterRequest {});
            if let Ok(Ok(reply)) = tokio::time::timeout(CALL_TIMEOUT, call).await {
                return Some(reply.into_inner());
            }
        }
        None
    }

    /// Whether node `i` answers ready on its published metrics port (`/readyz`, asked
    /// with `runnel-node probe`, as the container's health check does, but from this host
    /// and at once rather than on Docker's health-check interval).
    pub fn ready(&self, i: usize) -> bool {
        probe_ready(self.metrics_ports[i])
    }

    /// Waits until every node reports all three nodes healthy and a metadata leader and
    /// answers ready on its metrics port: `wait_serving` without waiting for Docker's own
    /// health checks, which run only every few seconds.
    pub async fn wait_ready(&self, timeout: Duration) {
        for (i, service) in SERVICES.iter().enumerate() {
            let what = format!("{service} serving and ready on {} (logs: {})", self.endpoint(i), self.logs_hint());
            eventually(&what, timeout, Duration::from_millis(250), || async move {
                let mut admin = admin_at(&self.endpoint(i));
                let call = admin.describe_cluster(DescribeClusterRequest {});
                let reply = tokio::time::timeout(CALL_TIMEOUT, call).await.ok()?.ok()?.into_inner();
                let all_healthy = reply.nodes.len() == 3 && reply.nodes.iter().all(|n| n.healthy);
                let meta_leader = reply.groups.iter().any(|g| g.group_id == 0 && g.leader.is_some());
                if !(all_healthy && meta_leader) {
                    return None;
                }
                let port = self.metrics_ports[i];
                tokio::task::spawn_blocking(move || probe_ready(port)).await.ok()?.then_some(())
            })
            .await;
        }
    }

    /// Waits until every replica of every group has applied what its group committed and
    /// every node is healthy, as node `i` reports it.
    pub async fn wait_caught_up(&self, i: usize, timeout: Duration) {
        let what = format!("every replica caught up, as {} reports it", SERVICES[i]);
        eventually(&what, timeout, Duration::from_millis(250), || async move {
            let mut admin = admin_at(&self.endpoint(i));
            let call = admin.describe_cluster(DescribeClusterRequest {});
            let reply = tokio::time::timeout(CALL_TIMEOUT, call).await.ok()?.ok()?.into_inner();
            let caught_up = reply.groups.iter().all(|g| {
                g.leader.is_some()
                    && g.replica_states.len() == g.replicas.len()
                    && g.replica_states.iter().all(|r| r.applied_index.is_some() && r.applied_index >= g.commit_index)
            });
            (caught_up && reply.nodes.iter().all(|n| n.healthy)).then_some(())
        })
        .await
    }

    fn logs_hint(&self) -> String {
        format!("{} logs", self.compose.join(" ") + " -p " + &self.project)
    }

    /// The last `lines` lines of every node's log.
    pub fn logs(&self, lines: usize) -> String {
        let out = self.compose_command(&["logs", "--no-color", "--tail", &lines.to_string()]).output();
        out.map(|o| output_text(&o)).unwrap_or_else(|e| format!("no logs: {e}"))
    }
}

impl Drop for ComposeCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- logs of {} ---\n{}", self.project, self.logs(300));
        }
        for holder in self.holders.lock().map(|h| h.clone()).unwrap_or_default() {
            run_quietly(Command::new("docker").args(["rm", "-f", "-v", &holder]));
        }
        run_quietly(&mut self.compose_command(&["down", "-v", "--remove-orphans", "--timeout", "5"]));
        run_quietly(Command::new("docker").args(["rmi", &self.image]));
    }
}

/// Whether the node whose metrics port is published at `port` on this host answers ready.
fn probe_ready(port: u16) -> bool {
    Command::new(env!("CARGO_BIN_EXE_runnel-node"))
        .args(["probe", "ready", "--timeout-ms", "2000", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes what test processes that no longer run left behind: their compose projects
/// (containers, volumes, networks), address holders and images.
fn remove_leftovers(docker: &Docker) {
    let mut projects: Vec<String> = Vec::new();
    let listings = [
        ["ps", "-a", "--format", "{{.Label \"com.docker.compose.project\"}}"],
        ["ps", "-a", "--format", "{{.Label \"runnel.test.project\"}}"],
        ["volume", "ls", "--format", "{{.Label \"com.docker.compose.project\"}}"],
        ["network", "ls", "--format", "{{.Label \"com.docker.compose.project\"}}"],
        ["images", IMAGE_REPOSITORY, "--format", "{{.Tag}}"],
    ];
    for args in listings {
        let Ok(out) = Command::new("docker").args(args).stdin(Stdio::null()).output() else { continue };
        for name in String::from_utf8_lossy(&out.stdout).lines() {
            if name.starts_with(PROJECT_PREFIX) && !projects.iter().any(|p| p == name) {
                projects.push(name.to_string());
            }
        }
    }
    for project in projects {
        let pid = project[PROJECT_PREFIX.len()..].split('-').next().unwrap_or_default();
        let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
        if alive {
            continue;
        }
        eprintln!("removing {project}, left by a test process that no longer runs");
        let holders = Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("label=runnel.test.project={project}")])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        for holder in holders.split_whitespace() {
            run_quietly(Command::new("docker").args(["rm", "-f", "-v", holder]));
        }
        run_quietly(
            Command::new(&docker.compose[0])
                .args(&docker.compose[1..])
                .args(["-p", &project, "-f"])
                .arg(repo_root().join("deploy/docker-compose.yml"))
                .args(["down", "-v", "--remove-orphans", "--timeout", "1"]),
        );
        run_quietly(Command::new("docker").args(["rmi", &format!("{IMAGE_REPOSITORY}:{project}")]));
    }
}
