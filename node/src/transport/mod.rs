//! Node-to-node transport, below Raft: how bytes get from one node to another.
//!
//! - `wire`: the version byte and postcard encoding of every peer payload.
//! - `peers` (client half): one lazily connected HTTP/2 channel per peer address, shared by
//!   every group and every forwarded request, and the typed calls over it.
//! - `server` (server half): the `Peer` gRPC service on the node's own peer listener,
//!   separate from the client port, handing each message to a `PeerHandler` (the node
//!   runtime implements it).
//!
//! The connector and the listener are injected so a simulation carries the same traffic.

pub mod peers;
pub mod server;
pub mod wire;

pub use peers::{CallError, Connector, Peers, TcpConnector};
pub use server::{PeerError, PeerHandler, RaftKind};

/// Largest message between nodes: a replication message (`REPLICATION_MESSAGE_BYTES_MAX`
/// plus one entry beyond it), a snapshot chunk, or a full GetRecords reply, with room for
/// framing.
pub const PEER_MESSAGE_BYTES_MAX: usize = 64 * 1024 * 1024;
