//! The gRPC services: `Kinesis` (public), `Admin` (operators), `Peer` (node to node), plus
//! health and reflection, all on one listener.

pub mod admin;
pub mod error;
pub mod kinesis;
pub mod peer;
pub mod server;
pub mod tokens;
pub mod validate;
