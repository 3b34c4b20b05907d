//! The metadata group's state: streams, shards, hash ranges and replica placement.

pub mod metadata;
pub mod placement;
