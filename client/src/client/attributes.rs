//! Tags, resource policies, enhanced monitoring and DescribeLimits: thin calls, answered by
//! any node.

use std::collections::HashMap;

use runnel_proto::v1::{
    AddTagsToStreamRequest, DeleteResourcePolicyRequest, DescribeLimitsRequest, DescribeLimitsResponse,
    DisableEnhancedMonitoringRequest, EnableEnhancedMonitoringRequest, EnhancedMonitoringOutput,
    GetResourcePolicyRequest, ListTagsForStreamRequest, PutResourcePolicyRequest, RemoveTagsFromStreamRequest,
};

use super::call::{too_many_pages, Route};
use super::streams::MAX_PAGES;
use super::{kinesis_stub, Client};
use crate::error::ClientError;

impl Client {
    /// AddTagsToStream: at most 10 tags per call, 50 per stream; existing keys get the new
    /// value.
    pub async fn add_tags(&self, stream: &str, tags: HashMap<String, String>) -> Result<(), ClientError> {
        let request = AddTagsToStreamRequest { stream_name: stream.to_string(), tags, ..Default::default() };
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).add_tags_to_stream(request).await }
        })
        .await?;
        Ok(())
    }

    /// RemoveTagsFromStream: keys the stream lacks are ignored.
    pub async fn remove_tags(&self, stream: &str, keys: Vec<String>) -> Result<(), ClientError> {
        let request =
            RemoveTagsFromStreamRequest { stream_name: stream.to_string(), tag_keys: keys, ..Default::default() };
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).remove_tags_from_stream(request).await }
        })
        .await?;
        Ok(())
    }

    /// ListTagsForStream, following `has_more_tags`: every tag, in key order.
    pub async fn list_tags(&self, stream: &str) -> Result<Vec<(String, String)>, ClientError> {
        let mut tags: Vec<(String, String)> = Vec::new();
        for _ in 0..MAX_PAGES {
            let request = ListTagsForStreamRequest {
                stream_name: stream.to_string(),
                exclusive_start_tag_key: tags.last().map(|(k, _)| k.clone()).unwrap_or_default(),
                ..Default::default()
            };
            let page = self
                .call(Route::Any, |channel| {
                    let request = request.clone();
                    async move { kinesis_stub(channel).list_tags_for_stream(request).await }
                })
                .await?;
            tags.extend(page.tags.into_iter().map(|t| (t.key, t.value.unwrap_or_default())));
            if !page.has_more_tags {
                return Ok(tags);
            }
        }
        Err(too_many_pages("ListTagsForStream"))
    }

    /// PutResourcePolicy on a stream (or other resource) ARN.
    pub async fn put_resource_policy(&self, resource_arn: &str, policy: &str) -> Result<(), ClientError> {
        let request = PutResourcePolicyRequest { resource_arn: resource_arn.to_string(), policy: policy.to_string() };
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).put_resource_policy(request).await }
        })
        .await?;
        Ok(())
    }

    /// GetResourcePolicy: `{}` when there is none.
    pub async fn get_resource_policy(&self, resource_arn: &str) -> Result<String, ClientError> {
        let request = GetResourcePolicyRequest { resource_arn: resource_arn.to_string() };
        let reply = self
            .call(Route::Any, |channel| {
                let request = request.clone();
                async move { kinesis_stub(channel).get_resource_policy(request).await }
            })
            .await?;
        Ok(reply.policy)
    }

    pub async fn delete_resource_policy(&self, resource_arn: &str) -> Result<(), ClientError> {
        let request = DeleteResourcePolicyRequest { resource_arn: resource_arn.to_string() };
        self.call(Route::Any, |channel| {
            let request = request.clone();
            async move { kinesis_stub(channel).delete_resource_policy(request).await }
        })
        .await?;
        Ok(())
    }

    /// EnableEnhancedMonitoring (`enable`) or DisableEnhancedMonitoring of shard-level
    /// metrics (`ALL` for every one).
    pub async fn set_enhanced_monitoring(
        &self,
        stream: &str,
        metrics: Vec<String>,
        enable: bool,
    ) -> Result<EnhancedMonitoringOutput, ClientError> {
        let (name, arn) = (stream.to_string(), String::new());
        self.call(Route::Any, |channel| {
            let (name, arn, metrics) = (name.clone(), arn.clone(), metrics.clone());
            async move {
                let mut stub = kinesis_stub(channel);
                if enable {
                    let request = EnableEnhancedMonitoringRequest {
                        stream_name: name,
                        shard_level_metrics: metrics,
                        stream_arn: arn,
                    };
                    stub.enable_enhanced_monitoring(request).await
                } else {
                    let request = DisableEnhancedMonitoringRequest {
                        stream_name: name,
                        shard_level_metrics: metrics,
                        stream_arn: arn,
                    };
                    stub.disable_enhanced_monitoring(request).await
                }
            }
        })
        .await
    }

    /// DescribeLimits: the cluster's shard limit and its open shards.
    pub async fn describe_limits(&self) -> Result<DescribeLimitsResponse, ClientError> {
        self.call(
            Route::Any,
            |channel| async move { kinesis_stub(channel).describe_limits(DescribeLimitsRequest {}).await },
        )
        .await
    }
}
