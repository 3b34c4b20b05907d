//! `runnel cluster`: nodes and Raft groups as DescribeCluster reports them.

use anyhow::Context;
use runnel_client::proto::DescribeClusterResponse;
use runnel_client::Client;
use serde_json::{json, Value};

use super::output::Output;

pub async fn run(client: &Client, out: &mut Output) -> anyhow::Result<()> {
    let cluster = client.describe_cluster().await.context("describing the cluster")?;
    if out.json() {
        out.value(&cluster_json(&cluster))?;
        return Ok(());
    }
    out.line(format!("answered by node {}", cluster.answered_by))?;
    out.line("")?;
    out.line(format!("{:<6} {:<28} {:<8} {:<6} ERROR", "NODE", "ADDRESS", "HEALTHY", "LEADS"))?;
    for node in &cluster.nodes {
        let healthy = if node.healthy { "yes" } else { "NO" };
        let row =
            format!("{:<6} {:<28} {:<8} {:<6} {}", node.node_id, node.address, healthy, node.leader_count, node.error);
        out.line(row.trim_end())?;
    }
    out.line("")?;
    out.line(format!(
        "{:<6} {:<20} {:<22} {:<7} {:<6} {:<8} REPLICAS",
        "GROUP", "STREAM", "SHARD", "LEADER", "TERM", "COMMIT"
    ))?;
    let dash = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    for group in &cluster.groups {
        let stream = if group.stream_name.is_empty() { "(metadata)" } else { group.stream_name.as_str() };
        let shard = if group.shard_id.is_empty() { "-" } else { group.shard_id.as_str() };
        let replicas: Vec<String> = group.replicas.iter().map(u64::to_string).collect();
        out.line(format!(
            "{:<6} {:<20} {:<22} {:<7} {:<6} {:<8} {}",
            group.group_id,
            stream,
            shard,
            dash(group.leader),
            dash(group.term),
            dash(group.commit_index),
            replicas.join(",")
        ))?;
    }
    Ok(())
}

fn cluster_json(cluster: &DescribeClusterResponse) -> Value {
    let nodes: Vec<Value> = cluster
        .nodes
        .iter()
        .map(|n| {
            json!({
                "node_id": n.node_id,
                "address": n.address,
                "healthy": n.healthy,
                "leader_count": n.leader_count,
                "error": n.error,
            })
        })
        .collect();
    let groups: Vec<Value> = cluster
        .groups
        .iter()
        .map(|g| {
            let replica_states: Vec<Value> = g
                .replica_states
                .iter()
                .map(|r| {
                    json!({
                        "node_id": r.node_id,
                        "role": r.role,
                        "last_log_index": r.last_log_index,
                        "committed_index": r.committed_index,
                        "applied_index": r.applied_index,
                    })
                })
                .collect();
            json!({
                "group_id": g.group_id,
                "stream_name": g.stream_name,
                "shard_id": g.shard_id,
                "replicas": g.replicas,
                "leader": g.leader,
                "term": g.term,
                "commit_index": g.commit_index,
                "replica_states": replica_states,
            })
        })
        .collect();
    json!({ "answered_by": cluster.answered_by, "nodes": nodes, "groups": groups })
}
