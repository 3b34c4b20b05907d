//! Runnel's wire types: generated from `proto/runnel/v1/*.proto`.
//!
//! # Layout
//! - `v1`: the public `Kinesis` and `Admin` services and their messages.
//! - `v1::peer`: node-to-node RPCs (Raft messages, forwarded proposals and reads).
//! - `limits`: the Kinesis limits of a PutRecords request, shared by the node and the client.
//! - `FILE_DESCRIPTOR_SET`: the encoded descriptors, served by gRPC reflection.
//! - `ERROR_METADATA_KEY`: where a status carries its Kinesis error name;
//!   `RETRY_AFTER_METADATA_KEY`: how long an overloaded node asks callers to wait.

pub mod v1 {
    tonic::include_proto!("runnel.v1");

    pub mod peer {
        tonic::include_proto!("runnel.v1.peer");
    }
}

/// Encoded `FileDescriptorSet` of every Runnel proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/runnel_descriptor.bin"));

/// The gRPC metadata key whose value is the Kinesis error name of a failed call.
pub const ERROR_METADATA_KEY: &str = "x-kinesis-error";

/// The gRPC metadata key on an overload refusal (`LimitExceededException`, RESOURCE_EXHAUSTED):
/// nothing was done, retry after at least this many milliseconds. Quota refusals (too many
/// shards, streams) carry no such key and are final.
pub const RETRY_AFTER_METADATA_KEY: &str = "x-runnel-retry-after-ms";

pub mod hash_key;
pub mod limits;
