//! The gRPC wire adapters on the client port: `Kinesis` (a thin adapter over the
//! transport-neutral `kinesis::KinesisService`), `Admin` (cluster state), health and
//! reflection. Node-to-node traffic is not here: it has its own listener (transport/).
//!
//! - `kinesis`: protobuf messages to and from the service's plain types.
//! - `admin`: DescribeCluster.
//! - `status`: the one mapping of `KinesisError` to gRPC status.
//! - `server`: serving all of them on one listener.
//! - `ops`: the operations listener (HTTP): `/metrics` for Prometheus, `/healthz`,
//!   `/readyz`; the process's one metrics recorder.
//! - `aws`: the AWS protocol (Kinesis JSON over HTTP, on its own listener), the same
//!   service's other adapter.
//! - `accept`: the HTTP listeners' accept loop (a bound on connections).

pub mod accept;
pub mod admin;
pub mod aws;
pub mod kinesis;
pub mod ops;
pub mod server;
pub mod status;
