//! The Admin service: what the cluster looks like, which also feeds the routing cache.

use runnel_proto::v1::{DescribeClusterRequest, DescribeClusterResponse};
use tokio::time::Instant;

use super::call::Route;
use super::{admin_stub, Client};
use crate::error::ClientError;

impl Client {
    /// DescribeCluster on any node; the answer also refreshes the cached shard leaders.
    pub async fn describe_cluster(&self) -> Result<DescribeClusterResponse, ClientError> {
        let cluster =
            self.call(Route::Any, |channel| async move {
                admin_stub(channel).describe_cluster(DescribeClusterRequest {}).await
            })
            .await?;
        self.routing_mut().apply_cluster(&cluster, Instant::now());
        Ok(cluster)
    }
}
