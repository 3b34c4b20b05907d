//! Newtypes for the values Runnel reasons about.

mod ids;
mod sequence_number;
mod stream_name;

pub use ids::{GroupId, NodeId, ShardId, META_GROUP};
pub use runnel_proto::hash_key::{HashKey, HashKeyRange};
pub use sequence_number::SequenceNumber;
pub use stream_name::StreamName;
