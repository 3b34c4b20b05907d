//! The node runtime: its Raft groups, how it reaches peers, and how it turns the metadata
//! into running groups.

pub mod clock;
pub mod node;
pub mod peers;
pub mod propose;
pub mod read;
pub mod reconcile;

pub use node::{Node, NodeDeps};
