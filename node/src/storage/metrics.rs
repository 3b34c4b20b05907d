//! The storage engine's Prometheus series: fsync latency, group-commit batch sizes, and
//! bytes on disk. Series carry `node` (several nodes may share a process).

use crate::domain::NodeId;
use metrics::SharedString;
use std::sync::Arc;
use std::time::Duration;

pub const FSYNC_LATENCY: &str = "runnel_storage_fsync_seconds";
pub const SYNC_BATCH_SIZE: &str = "runnel_storage_group_commit_batch_size";
pub const DISK_BYTES: &str = "runnel_storage_disk_bytes";

/// Bucket bounds of the group-commit batch size (appends made durable by one fsync).
pub const SYNC_BATCH_BUCKETS: [f64; 11] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];

pub fn describe() {
    use metrics::{describe_gauge, describe_histogram, Unit};
    describe_histogram!(FSYNC_LATENCY, Unit::Seconds, "One group-commit fsync (the WAL flushed and synced)");
    describe_histogram!(SYNC_BATCH_SIZE, Unit::Count, "Sync requests (appends of any group) one fsync completed");
    describe_gauge!(DISK_BYTES, Unit::Bytes, "Live SST bytes of every column family (sampled)");
}

/// What the sync worker records, for one node; `off` records nothing.
#[derive(Clone, Default)]
pub struct SyncMetrics {
    node: Option<SharedString>,
}

impl SyncMetrics {
    pub fn new(node: NodeId) -> SyncMetrics {
        SyncMetrics { node: Some(SharedString::from_shared(Arc::<str>::from(node.to_string()))) }
    }

    pub fn off() -> SyncMetrics {
        SyncMetrics::default()
    }

    /// One fsync that completed `batch` requests.
    pub fn synced(&self, latency: Duration, batch: usize) {
        if let Some(node) = &self.node {
            metrics::histogram!(FSYNC_LATENCY, "node" => node.clone()).record(latency.as_secs_f64());
            metrics::histogram!(SYNC_BATCH_SIZE, "node" => node.clone()).record(batch as f64);
        }
    }
}
