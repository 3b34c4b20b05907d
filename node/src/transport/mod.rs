//! Node-to-node transport, below Raft: how bytes get from one node to another.
//!
//! - `wire`: the version byte and postcard encoding of every peer payload.
//! - `peers` (client half): one lazily connected HTTP/2 channel per peer address, shared by
//!   every group and every forwarded request, and the typed calls over it.
//! - `raft_stream` (client half): the Raft messages of every group to one peer, and the
//!   writes forwarded to it, batched into frames on one long-lived stream over that channel
//!   instead of a call each.
//! - `server` (server half): the `Peer` gRPC service on the node's own peer listener,
//!   separate from the client port, handing each message to a `PeerHandler` (the node
//!   runtime implements it).
//!
//! The connector and the listener are injected so a simulation carries the same traffic.

pub mod peers;
mod raft_stream;
pub mod server;
pub mod wire;

pub use peers::{CallError, Connector, Peers, TcpConnector};
pub use server::{PeerError, PeerHandler, RaftKind};

/// Largest message between nodes: a replication message (`REPLICATION_MESSAGE_BYTES_MAX`
/// plus one entry beyond it), a snapshot chunk, or a full GetRecords reply, with room for
/// framing.
pub const PEER_MESSAGE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Raft messages up to this size go on the peer's Raft stream; larger ones (catch-up
/// appends of big entries) and snapshot installs are calls of their own, so that one never
/// holds up the small messages of every other group behind it.
pub const STREAMED_PAYLOAD_BYTES_MAX: usize = 1024 * 1024;
/// Forwarded writes (`Peers::propose`) a node keeps waiting on its peers' streams at once;
/// a stream's server handles `STREAM_CALLS_IN_FLIGHT_MAX` calls at a time, so Raft messages
/// always keep most of that room.
pub const STREAMED_PROPOSALS_MAX: usize = 1024;
/// A frame of a Raft stream holds calls (or answers) of about this many payload bytes at the
/// most (at least one, whatever its size)...
pub const FRAME_BYTES_MAX: usize = 4 * 1024 * 1024;
/// ...and this many calls...
pub const CALLS_PER_FRAME_MAX: usize = 512;
/// ...or answers.
pub const ANSWERS_PER_FRAME_MAX: usize = 512;
