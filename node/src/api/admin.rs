//! The Admin service: the cluster as every node reports it.

use crate::cluster::status::{local_status, GroupStatus, NodeStatus};
use crate::cluster::Node;
use crate::domain::{GroupId, NodeId, META_GROUP};
use crate::transport::wire::unpack;
use runnel_proto::v1 as pb;
use runnel_proto::v1::admin_server::Admin;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

/// A node that does not answer within this is reported unhealthy.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub struct AdminService {
    node: Arc<Node>,
    /// Client addresses nodes last reported, for nodes that do not answer now.
    known: std::sync::Mutex<BTreeMap<NodeId, String>>,
}

impl AdminService {
    pub fn new(node: Arc<Node>) -> AdminService {
        AdminService { node, known: Default::default() }
    }

    async fn probe(&self, id: NodeId, peer_addr: &str) -> Result<NodeStatus, String> {
        if id == self.node.id {
            return Ok(local_status(&self.node));
        }
        let reply = self.node.peers.status(peer_addr, PROBE_TIMEOUT).await.map_err(|e| e.to_string())?;
        unpack(&reply).map_err(|e| e.to_string())
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn describe_cluster(
        &self,
        _req: Request<pb::DescribeClusterRequest>,
    ) -> Result<Response<pb::DescribeClusterResponse>, Status> {
        let addresses: BTreeMap<NodeId, String> = self.node.config.peers.clone();
        let probes = addresses.iter().map(|(id, addr)| async move { (*id, addr.clone(), self.probe(*id, addr).await) });
        let results = futures::future::join_all(probes).await;

        let mut nodes = Vec::new();
        let mut views: BTreeMap<GroupId, Vec<(NodeId, GroupStatus)>> = BTreeMap::new();
        for (id, _peer_address, result) in results {
            match result {
                Ok(status) => {
                    let leader_count = status.groups.iter().filter(|g| g.leader == Some(id)).count() as u32;
                    for g in status.groups {
                        views.entry(g.group).or_default().push((id, g));
                    }
                    // Clients route to a node's client address, which it reports itself.
                    crate::failstop::lock(&self.known, "known addresses").insert(id, status.client_address.clone());
                    nodes.push(pb::NodeState {
                        node_id: id,
                        address: status.client_address.clone(),
                        healthy: true,
                        leader_count,
                        error: String::new(),
                    });
                }
                Err(error) => nodes.push(pb::NodeState {
                    node_id: id,
                    address: crate::failstop::lock(&self.known, "known addresses")
                        .get(&id)
                        .cloned()
                        .unwrap_or_default(),
                    healthy: false,
                    leader_count: 0,
                    error,
                }),
            }
        }

        let meta = self.node.meta.current();
        let mut groups =
            vec![(META_GROUP, String::new(), String::new(), addresses.keys().copied().collect::<Vec<_>>())];
        for (stream, shard) in meta.state.groups() {
            groups.push((shard.group, stream.name.to_string(), shard.id.to_string(), shard.replicas.clone()));
        }
        let groups = groups
            .into_iter()
            .map(|(group, stream_name, shard_id, replicas)| {
                let seen = views.remove(&group).unwrap_or_default();
                // Trust the newest term's view of who leads.
                let newest = seen.iter().max_by_key(|(_, g)| g.term);
                let leader = newest.and_then(|(_, g)| g.leader);
                let leader_view = seen.iter().find(|(id, _)| Some(*id) == leader);
                let commit_index = leader_view
                    .and_then(|(_, g)| g.committed)
                    .or_else(|| seen.iter().filter_map(|(_, g)| g.committed).max());
                pb::GroupState {
                    group_id: group.0,
                    stream_name,
                    shard_id,
                    replicas,
                    leader,
                    term: newest.map(|(_, g)| g.term),
                    commit_index,
                    replica_states: seen
                        .iter()
                        .map(|(id, g)| pb::ReplicaState {
                            node_id: *id,
                            role: g.role.clone(),
                            last_log_index: g.last_log_index,
                            committed_index: g.committed,
                            applied_index: g.applied,
                            purged_index: g.purged,
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(Response::new(pb::DescribeClusterResponse { answered_by: self.node.id, nodes, groups }))
    }
}
