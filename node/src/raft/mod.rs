//! Raft plumbing shared by every group: the type configuration, the log store over the
//! node's engine, the network over the peer gRPC service, and the state machine that
//! dispatches to the shard or metadata logic.

pub mod log_store;
pub mod network;
pub mod state_machine;
pub mod types;

pub use types::{Request, Response, TypeConfig};

/// A Raft group's handle, whatever the group holds.
pub type Raft = openraft::Raft<TypeConfig, state_machine::GroupStateMachine>;

/// postcard encoding for everything Runnel stores or sends between nodes.
pub fn encode<T: serde::Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> std::io::Result<T> {
    postcard::from_bytes(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
