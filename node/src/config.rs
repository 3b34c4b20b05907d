//! Node configuration, from flags, environment (`RUNNEL_*`) and an optional TOML file, in
//! that order of precedence (see `bin/runnel-node.rs`).

use crate::domain::NodeId;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Raft timing, in milliseconds. Shorter elections fail over faster but misfire more on a
/// loaded machine.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RaftTiming {
    pub heartbeat_ms: u64,
    pub election_min_ms: u64,
    pub election_max_ms: u64,
}

impl Default for RaftTiming {
    fn default() -> Self {
        RaftTiming { heartbeat_ms: 150, election_min_ms: 1_000, election_max_ms: 2_000 }
    }
}

pub const REPLICATION_FACTOR_DEFAULT: u32 = 3;

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: NodeId,
    /// Where the gRPC server listens.
    pub listen: SocketAddr,
    /// How other nodes and clients reach this one, e.g. `http://10.0.0.5:50051`.
    pub advertise: String,
    /// Every node of the cluster, this one included: id -> advertised address.
    pub peers: BTreeMap<NodeId, String>,
    pub data_dir: PathBuf,
    pub replication_factor: u32,
    pub raft: RaftTiming,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing setting: {0}")]
    Missing(&'static str),
    #[error("peer {0:?} is not ID=URL (for example 2=http://127.0.0.1:50052)")]
    BadPeer(String),
    #[error("node {0} is not among the peers; list every node, this one included")]
    SelfNotInPeers(NodeId),
    #[error("replication factor must be at least 1")]
    BadReplicationFactor,
    #[error("cannot read config file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("bad config file {path}: {source}")]
    Toml { path: PathBuf, source: toml::de::Error },
}

/// Parses `ID=URL`.
pub fn parse_peer(s: &str) -> Result<(NodeId, String), ConfigError> {
    let (id, url) = s.split_once('=').ok_or_else(|| ConfigError::BadPeer(s.to_string()))?;
    let id = id.trim().parse::<NodeId>().map_err(|_| ConfigError::BadPeer(s.to_string()))?;
    let url = url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError::BadPeer(s.to_string()));
    }
    Ok((id, url.to_string()))
}

/// The optional TOML file; every key may also be given as a flag.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub id: Option<NodeId>,
    pub listen: Option<SocketAddr>,
    pub advertise: Option<String>,
    pub peers: Option<Vec<String>>,
    pub data_dir: Option<PathBuf>,
    pub replication_factor: Option<u32>,
    pub raft: Option<RaftTiming>,
}

impl FileConfig {
    pub fn load(path: &std::path::Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::File { path: path.into(), source })?;
        toml::from_str(&text).map_err(|source| ConfigError::Toml { path: path.into(), source })
    }
}

impl NodeConfig {
    pub fn validate(self) -> Result<NodeConfig, ConfigError> {
        if !self.peers.contains_key(&self.id) {
            return Err(ConfigError::SelfNotInPeers(self.id));
        }
        if self.replication_factor == 0 {
            return Err(ConfigError::BadReplicationFactor);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_as_id_equals_url() {
        assert_eq!(parse_peer("2=http://127.0.0.1:50052").unwrap(), (2, "http://127.0.0.1:50052".into()));
        for bad in ["2", "x=http://a", "2=127.0.0.1:1", "=http://a"] {
            assert!(parse_peer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_file_keys_parse() {
        let file: FileConfig = toml::from_str(
            "id = 2\nlisten = \"127.0.0.1:1\"\npeers = [\"1=http://a:1\"]\n[raft]\nheartbeat_ms = 1\nelection_min_ms = 2\nelection_max_ms = 3\n",
        )
        .unwrap();
        assert_eq!(file.id, Some(2));
        assert_eq!(file.raft.map(|r| r.election_max_ms), Some(3));
        assert!(toml::from_str::<FileConfig>("nonsense = 1").is_err());
    }
}
