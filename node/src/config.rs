//! Node configuration, from flags, environment (`RUNNEL_*`) and an optional TOML file, in
//! that order of precedence (see `bin/runnel-node.rs`).

use crate::crypto::RecordKey;
use crate::domain::NodeId;
#[cfg(test)]
use crate::limits::{
    ON_DEMAND_WINDOW_MS_DEFAULT, RETENTION_HOUR_MS_DEFAULT, SCALINGS_PER_WINDOW_DEFAULT, SHARD_LIMIT_DEFAULT,
    SUBSCRIPTION_MS_DEFAULT,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
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

/// How much client work one node takes on at once. Past these it refuses new requests
/// with `LimitExceededException` (and a retry-after hint) instead of queueing without end.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct NodeLimits {
    /// Client requests being served at once.
    pub requests_in_flight_max: usize,
    /// Bytes of record data in requests and replies being served at once.
    pub bytes_in_flight_max: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { requests_in_flight_max: 4096, bytes_in_flight_max: 512 * 1024 * 1024 }
    }
}

/// The metadata group compacts its log into a snapshot after this many entries, so a node
/// that was away catches up from a snapshot rather than from the whole history.
pub const META_SNAPSHOT_LOGS_DEFAULT: u64 = 1_000;

/// The region and account in stream ARNs, by default (those of a local Kinesis emulator).
pub const REGION_DEFAULT: &str = "us-east-1";
pub const ACCOUNT_ID_DEFAULT: &str = "000000000000";

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: NodeId,
    /// Where the client-facing gRPC server (Kinesis, Admin) listens.
    pub listen: SocketAddr,
    /// How clients reach this node, e.g. `http://10.0.0.5:50051`.
    pub advertise: String,
    /// Where the node-to-node server listens. Separate from the client port, so no client
    /// can send Raft messages or proposals.
    pub peer_listen: SocketAddr,
    /// Every node of the cluster, this one included: id -> peer address.
    pub peers: BTreeMap<NodeId, String>,
    pub data_dir: PathBuf,
    pub replication_factor: u32,
    pub raft: RaftTiming,
    pub limits: NodeLimits,
    pub meta_snapshot_logs: u64,
    /// UpdateShardCount calls accepted per stream per rolling 24 hours.
    pub scalings_per_window_max: u32,
    /// How long an hour of retention lasts; `RETENTION_HOUR_MS_DEFAULT` but in tests, which
    /// shorten it to see records expire without waiting a day.
    pub retention_hour_ms: u64,
    /// The region in ARNs (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`); an ARN naming
    /// another region names no stream here.
    pub region: String,
    /// The 12-digit account in ARNs and messages; an ARN of another account is refused.
    pub account_id: String,
    /// Open shards the cluster holds, all streams together (a Kinesis account's shard quota).
    pub shard_limit: u32,
    /// Enforce Kinesis's per-shard throughput quotas (`cluster/throughput.rs`).
    pub kinesis_limits: bool,
    /// How long a shard of an on-demand stream must stay above half its write capacity to
    /// be split; `ON_DEMAND_WINDOW_MS_DEFAULT` but in tests.
    pub on_demand_window_ms: u64,
    /// The key that encrypts the records of encrypted streams at rest (StartStreamEncryption
    /// needs one). Every node of a cluster must hold the same key. Never printed.
    pub encryption_key: Option<RecordKey>,
    /// How long a SubscribeToShard lasts; `SUBSCRIPTION_MS_DEFAULT` (5 minutes, as Kinesis)
    /// but in tests.
    pub subscription_ms: u64,
    /// Where the operations listener serves `/metrics` (Prometheus), `/healthz` and
    /// `/readyz`; off when `None`. Metrics are recorded only then.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the AWS endpoint (Kinesis's own JSON protocol over HTTP, for the AWS CLI, boto3
    /// and the AWS SDKs) listens; off when `None`.
    pub aws_listen: Option<SocketAddr>,
    /// The access keys whose SigV4 signatures the AWS endpoint accepts (from
    /// `aws_credentials_file`); `None` accepts any credentials, as the emulators do. Its
    /// Debug never shows a secret.
    pub aws_credentials: Option<AwsCredentials>,
    /// The AWS endpoint's certificate chain and private key (PEM); plain HTTP when `None`.
    pub aws_tls: Option<TlsFiles>,
    /// The operator confirmed that this node's volume came back empty: rebuild it from its
    /// peers instead of refusing to start (cluster/join.rs). Ignored when the database
    /// holds data.
    pub rebuild_empty: bool,
}

/// Lines of a credentials file, and access keys in it: a bound, not a quota.
const CREDENTIALS_LINES_MAX: usize = 100_000;

/// The access keys whose signatures are accepted: access key ID -> secret access key. Its
/// Debug shows the IDs, never a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    secrets: BTreeMap<String, Secret>,
}

#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials").field("access_key_ids", &self.secrets.keys().collect::<Vec<_>>()).finish()
    }
}

/// What is wrong with a credentials file: the line and why, never the line itself (it may
/// hold a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: &'static str },
    #[error("no access keys (lines of ACCESS_KEY_ID:SECRET_ACCESS_KEY)")]
    Empty,
    #[error("more than {CREDENTIALS_LINES_MAX} lines")]
    TooLong,
}

impl AwsCredentials {
    /// Access keys, one `ACCESS_KEY_ID:SECRET_ACCESS_KEY` a line; blank lines and lines
    /// starting with `#` are skipped.
    pub fn parse(text: &str) -> Result<AwsCredentials, CredentialsError> {
        let mut secrets = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            if index >= CREDENTIALS_LINES_MAX {
                return Err(CredentialsError::TooLong);
            }
            let line_number = index + 1;
            let bad = |reason| CredentialsError::Line { line: line_number, reason };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, secret) = line.split_once(':').ok_or_else(|| bad("not ACCESS_KEY_ID:SECRET_ACCESS_KEY"))?;
            // The ID travels in the Credential parameter, between slashes and before commas.
            let id_char = |c: char| c.is_ascii_graphic() && !matches!(c, '/' | ',' | '=');
            if id.is_empty() || !id.chars().all(id_char) {
                return Err(bad("the access key ID is empty or holds a character other than visible ASCII \
                                (except / , =)"));
            }
            if secret.is_empty() || !secret.chars().all(|c| c.is_ascii_graphic()) {
                return Err(bad("the secret access key is empty or holds a character other than visible ASCII"));
            }
            if secrets.insert(id.to_string(), Secret(secret.to_string())).is_some() {
                return Err(bad("the access key ID appears on an earlier line too"));
            }
        }
        if secrets.is_empty() {
            return Err(CredentialsError::Empty);
        }
        Ok(AwsCredentials { secrets })
    }

    /// The secret access key of `access_key_id`, if it is one of these.
    pub fn secret(&self, access_key_id: &str) -> Option<&str> {
        self.secrets.get(access_key_id).map(|s| s.0.as_str())
    }

    /// How many access keys are configured.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// A certificate chain and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// Both files or neither: one alone is a mistake, not plain HTTP.
    pub fn pair(cert: Option<PathBuf>, key: Option<PathBuf>) -> Result<Option<TlsFiles>, ConfigError> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Missing("aws_tls_key (a certificate needs its key)")),
            (None, Some(_)) => Err(ConfigError::Missing("aws_tls_cert (a key needs its certificate)")),
        }
    }
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
    #[error("the client, peer, metrics and AWS listeners must differ (two are {0})")]
    SameListeners(SocketAddr),
    #[error("limits: {0}")]
    BadLimits(String),
    #[error("account_id must be 12 digits, got {0:?}")]
    BadAccountId(String),
    #[error("region must be 1 to 32 characters of a-z, 0-9 and '-', got {0:?}")]
    BadRegion(String),
    #[error("cannot read encryption key file {path}: {source}")]
    KeyFile { path: PathBuf, source: std::io::Error },
    #[error("bad encryption key file {path}: {source}")]
    BadKey { path: PathBuf, source: crate::crypto::KeyError },
    #[error("cannot read AWS credentials file {path}: {source}")]
    CredentialsFile { path: PathBuf, source: std::io::Error },
    #[error("bad AWS credentials file {path}: {source}")]
    BadCredentials { path: PathBuf, source: CredentialsError },
    #[error(
        "cannot take the node id from host name {0:?}: it must end in -N, the ordinal of a \
         StatefulSet pod (runnel-0 is node 1)"
    )]
    BadHostname(String),
    #[error("give either the node id or --id-from-hostname, not both")]
    IdTwice,
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

/// The node id of a StatefulSet pod: its host name is `NAME-ORDINAL` (ordinals count from
/// 0) and node ids from 1, so `runnel-2` (or `runnel-2.runnel-peer.ns.svc.cluster.local`)
/// is node 3. Lets every pod of a StatefulSet share one pod template.
pub fn id_from_hostname(hostname: &str) -> Result<NodeId, ConfigError> {
    let bad = || ConfigError::BadHostname(hostname.to_string());
    let label = hostname.trim().split('.').next().unwrap_or_default();
    let (name, ordinal) = label.rsplit_once('-').ok_or_else(bad)?;
    if name.is_empty() || ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let ordinal: NodeId = ordinal.parse().map_err(|_| bad())?;
    ordinal.checked_add(1).ok_or_else(bad)
}

/// The optional TOML file; every key may also be given as a flag.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub id: Option<NodeId>,
    pub listen: Option<SocketAddr>,
    pub advertise: Option<String>,
    pub peer_listen: Option<SocketAddr>,
    pub peers: Option<Vec<String>>,
    pub data_dir: Option<PathBuf>,
    pub replication_factor: Option<u32>,
    pub raft: Option<RaftTiming>,
    pub limits: Option<NodeLimits>,
    pub scalings_per_day_max: Option<u32>,
    pub retention_hour_ms: Option<u64>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub shard_limit: Option<u32>,
    pub kinesis_limits: Option<bool>,
    pub on_demand_window_ms: Option<u64>,
    pub subscription_ms: Option<u64>,
    pub metrics_listen: Option<SocketAddr>,
    pub aws_listen: Option<SocketAddr>,
    /// A file of `ACCESS_KEY_ID:SECRET_ACCESS_KEY` lines: the AWS endpoint then verifies
    /// SigV4 signatures against them.
    pub aws_credentials_file: Option<PathBuf>,
    pub aws_tls_cert: Option<PathBuf>,
    pub aws_tls_key: Option<PathBuf>,
    /// A file holding the encryption key as 64 hexadecimal characters.
    pub encryption_key_file: Option<PathBuf>,
}

/// The encryption key in `path`: 64 hexadecimal characters (32 bytes), white space around
/// them ignored. The error names the file and what is wrong, never the file's contents.
pub fn load_encryption_key(path: &std::path::Path) -> Result<RecordKey, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::KeyFile { path: path.into(), source })?;
    RecordKey::from_hex(&text).map_err(|source| ConfigError::BadKey { path: path.into(), source })
}

/// The access keys in `path`, one `ACCESS_KEY_ID:SECRET_ACCESS_KEY` a line (blank lines and
/// `#` comments skipped). The error names the file and the line, never a secret.
pub fn load_aws_credentials(path: &std::path::Path) -> Result<AwsCredentials, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::CredentialsFile { path: path.into(), source })?;
    AwsCredentials::parse(&text).map_err(|source| ConfigError::BadCredentials { path: path.into(), source })
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
        if self.listen == self.peer_listen {
            return Err(ConfigError::SameListeners(self.listen));
        }
        let mut listeners = vec![self.listen, self.peer_listen];
        for extra in [self.metrics_listen, self.aws_listen].into_iter().flatten() {
            if listeners.contains(&extra) {
                return Err(ConfigError::SameListeners(extra));
            }
            listeners.push(extra);
        }
        // A GetRecords reserves its largest reply, and a PutRecords its whole batch: a
        // smaller budget would refuse them forever, not just while busy.
        let bytes_min = crate::limits::GET_RECORDS_BYTES_MAX.max(crate::limits::PUT_RECORDS_BYTES_MAX);
        if self.limits.bytes_in_flight_max < bytes_min {
            return Err(ConfigError::BadLimits(format!("bytes_in_flight_max must be at least {bytes_min}")));
        }
        if self.retention_hour_ms == 0 {
            return Err(ConfigError::BadLimits("retention_hour_ms must be at least 1".into()));
        }
        if self.limits.requests_in_flight_max == 0 {
            return Err(ConfigError::BadLimits("requests_in_flight_max must be at least 1".into()));
        }
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::BadAccountId(self.account_id));
        }
        let region_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if !(1..=32).contains(&self.region.len()) || !self.region.chars().all(region_char) {
            return Err(ConfigError::BadRegion(self.region));
        }
        if self.subscription_ms == 0 {
            return Err(ConfigError::BadLimits("subscription_ms must be at least 1".into()));
        }
        if self.on_demand_window_ms == 0 {
            return Err(ConfigError::BadLimits("on_demand_window_ms must be at least 1".into()));
        }
        if self.shard_limit == 0 {
            return Err(ConfigError::BadLimits("shard_limit must be at least 1".into()));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_files_parse_and_errors_never_show_a_secret() {
        let credentials = AwsCredentials::parse("# test keys\n\nOTHERKEY:other-secret\nAKIDTEST:s3cr3t\n").unwrap();
        assert_eq!(credentials.len(), 2);
        assert_eq!(credentials.secret("AKIDTEST"), Some("s3cr3t"));
        assert_eq!(credentials.secret("AKIDNONE"), None);
        let shown = format!("{credentials:?}");
        assert!(shown.contains("AKIDTEST") && !shown.contains("s3cr3t") && !shown.contains("other-secret"), "{shown}");
        // A secret may hold ':'; spaces around a line do not count.
        let colon = AwsCredentials::parse("  A:b:c  \r\n").unwrap();
        assert_eq!(colon.secret("A"), Some("b:c"));

        let secret = "s3cr3t-value";
        for (text, line) in [
            (format!("# c\nA:x\n{secret}\n"), 3),
            (format!("A:{secret}\n:{secret}\n"), 2),
            (format!("A:{secret}\nB:\n"), 2),
            (format!("A:{secret}\nA:{secret}x\n"), 2),
            (format!("A/B:{secret}\n"), 1),
            (format!("A:{secret} with spaces\n"), 1),
        ] {
            let err = AwsCredentials::parse(&text).unwrap_err();
            assert!(matches!(err, CredentialsError::Line { line: l, .. } if l == line), "{text:?}: {err}");
            assert!(!err.to_string().contains(secret), "{err}");
        }
        assert_eq!(AwsCredentials::parse("# nobody\n\n"), Err(CredentialsError::Empty));
    }

    #[test]
    fn peers_parse_as_id_equals_url() {
        assert_eq!(parse_peer("2=http://127.0.0.1:50052").unwrap(), (2, "http://127.0.0.1:50052".into()));
        for bad in ["2", "x=http://a", "2=127.0.0.1:1", "=http://a"] {
            assert!(parse_peer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statefulset_ordinals_are_node_ids_from_one() {
        assert_eq!(id_from_hostname("runnel-0").unwrap(), 1);
        assert_eq!(id_from_hostname("runnel-2").unwrap(), 3);
        assert_eq!(id_from_hostname("my-runnel-11\n").unwrap(), 12);
        assert_eq!(id_from_hostname("runnel-2.runnel-peer.ns.svc.cluster.local").unwrap(), 3);
        for bad in ["runnel", "runnel-", "-2", "runnel-x", "runnel-+1", "runnel-18446744073709551615", ""] {
            let err = id_from_hostname(bad).unwrap_err();
            assert!(matches!(err, ConfigError::BadHostname(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn limits_that_would_refuse_every_read_are_refused() {
        let config = |bytes: usize, requests: usize| NodeConfig {
            id: 1,
            listen: "127.0.0.1:1".parse().unwrap(),
            advertise: "http://127.0.0.1:1".into(),
            peer_listen: "127.0.0.1:2".parse().unwrap(),
            peers: [(1, "http://127.0.0.1:2".to_string())].into(),
            data_dir: "/x".into(),
            replication_factor: 1,
            raft: RaftTiming::default(),
            limits: NodeLimits { requests_in_flight_max: requests, bytes_in_flight_max: bytes },
            meta_snapshot_logs: META_SNAPSHOT_LOGS_DEFAULT,
            scalings_per_window_max: SCALINGS_PER_WINDOW_DEFAULT,
            retention_hour_ms: RETENTION_HOUR_MS_DEFAULT,
            region: REGION_DEFAULT.into(),
            account_id: ACCOUNT_ID_DEFAULT.into(),
            shard_limit: SHARD_LIMIT_DEFAULT,
            kinesis_limits: false,
            on_demand_window_ms: ON_DEMAND_WINDOW_MS_DEFAULT,
            encryption_key: None,
            subscription_ms: SUBSCRIPTION_MS_DEFAULT,
            metrics_listen: None,
            aws_listen: None,
            aws_credentials: None,
            aws_tls: None,
            rebuild_empty: false,
        };
        assert!(config(NodeLimits::default().bytes_in_flight_max, 1).validate().is_ok());
        assert!(matches!(config(5 * 1024 * 1024, 10).validate(), Err(ConfigError::BadLimits(_))));
        assert!(matches!(config(64 * 1024 * 1024, 0).validate(), Err(ConfigError::BadLimits(_))));
        let mut same = config(64 * 1024 * 1024, 1);
        same.peer_listen = same.listen;
        assert!(matches!(same.validate(), Err(ConfigError::SameListeners(_))));
        let mut metrics = config(64 * 1024 * 1024, 1);
        metrics.metrics_listen = Some(metrics.peer_listen);
        assert!(matches!(metrics.validate(), Err(ConfigError::SameListeners(_))));
        let mut metrics = config(64 * 1024 * 1024, 1);
        metrics.metrics_listen = Some("127.0.0.1:9090".parse().unwrap());
        assert!(metrics.clone().validate().is_ok());
        let mut aws = metrics.clone();
        aws.aws_listen = metrics.metrics_listen;
        assert!(matches!(aws.validate(), Err(ConfigError::SameListeners(_))));
        let mut aws = metrics.clone();
        aws.aws_listen = Some(aws.listen);
        assert!(matches!(aws.validate(), Err(ConfigError::SameListeners(_))));
        metrics.aws_listen = Some("127.0.0.1:4567".parse().unwrap());
        assert!(metrics.validate().is_ok());
        let mut account = config(64 * 1024 * 1024, 1);
        account.account_id = "12345".into();
        assert!(matches!(account.validate(), Err(ConfigError::BadAccountId(_))));
        let mut region = config(64 * 1024 * 1024, 1);
        region.region = "US East".into();
        assert!(matches!(region.validate(), Err(ConfigError::BadRegion(_))));
        let mut shards = config(64 * 1024 * 1024, 1);
        shards.shard_limit = 0;
        assert!(matches!(shards.validate(), Err(ConfigError::BadLimits(_))));
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
        let account: FileConfig =
            toml::from_str("region = \"eu-west-1\"\naccount_id = \"123456789012\"\nshard_limit = 7\n").unwrap();
        assert_eq!(account.region.as_deref(), Some("eu-west-1"));
        assert_eq!(account.account_id.as_deref(), Some("123456789012"));
        assert_eq!(account.shard_limit, Some(7));
        let metrics: FileConfig = toml::from_str("metrics_listen = \"0.0.0.0:9090\"\n").unwrap();
        assert_eq!(metrics.metrics_listen, Some("0.0.0.0:9090".parse().unwrap()));
        let key: FileConfig = toml::from_str("encryption_key_file = \"/etc/runnel/key\"\n").unwrap();
        assert_eq!(key.encryption_key_file, Some(PathBuf::from("/etc/runnel/key")));
        let aws: FileConfig = toml::from_str("aws_credentials_file = \"/etc/runnel/aws\"\n").unwrap();
        assert_eq!(aws.aws_credentials_file, Some(PathBuf::from("/etc/runnel/aws")));
    }

    #[test]
    fn encryption_key_files_hold_64_hex_characters_and_errors_never_show_them() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        let key = RecordKey::generate();
        std::fs::write(&good, format!("{}\n", key.to_hex())).unwrap();
        assert_eq!(load_encryption_key(&good).unwrap(), key);
        let short = dir.path().join("short");
        let secret = "ab".repeat(31);
        std::fs::write(&short, &secret).unwrap();
        let err = load_encryption_key(&short).unwrap_err().to_string();
        assert!(err.contains("64 hexadecimal characters") && err.contains("found 62"), "{err}");
        assert!(!err.contains(&secret), "{err}");
        let missing = load_encryption_key(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(missing, ConfigError::KeyFile { .. }), "{missing}");
        let shown = format!("{:?}", Some(key.clone()));
        assert!(!shown.contains(&key.to_hex()[..16]), "{shown}");
    }

    #[test]
    fn tls_takes_a_certificate_and_its_key_or_neither() {
        let (cert, key) = (Some(PathBuf::from("c.pem")), Some(PathBuf::from("k.pem")));
        assert_eq!(
            TlsFiles::pair(cert.clone(), key.clone()).unwrap(),
            Some(TlsFiles { cert: "c.pem".into(), key: "k.pem".into() })
        );
        assert_eq!(TlsFiles::pair(None, None).unwrap(), None);
        assert!(matches!(TlsFiles::pair(cert, None), Err(ConfigError::Missing(_))));
        assert!(matches!(TlsFiles::pair(None, key), Err(ConfigError::Missing(_))));
        let file: FileConfig = toml::from_str("aws_tls_cert = \"/c.pem\"\naws_tls_key = \"/k.pem\"\n").unwrap();
        assert_eq!((file.aws_tls_cert, file.aws_tls_key), (Some("/c.pem".into()), Some("/k.pem".into())));
    }

    #[test]
    fn aws_credentials_files_load_and_errors_name_the_line_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        std::fs::write(&good, "# the team's keys\n\nAKIDONE:secret-one\nAKIDTWO:secret/two+\n").unwrap();
        let credentials = load_aws_credentials(&good).unwrap();
        assert_eq!(credentials.len(), 2);
        let shown = format!("{:?}", Some(credentials));
        assert!(shown.contains("AKIDONE") && !shown.contains("secret-one") && !shown.contains("secret/two"), "{shown}");

        let bad = dir.path().join("bad");
        std::fs::write(&bad, "AKIDONE:secret-one\n# fine\nsecret-on-its-own\n").unwrap();
        let err = load_aws_credentials(&bad).unwrap_err();
        assert!(matches!(err, ConfigError::BadCredentials { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("line 3") && text.contains(bad.to_str().unwrap()), "{text}");
        assert!(!text.contains("secret-on-its-own") && !text.contains("secret-one"), "{text}");
        assert!(!format!("{err:?}").contains("secret-on-its-own"), "{err:?}");

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "# nobody yet\n").unwrap();
        assert!(matches!(load_aws_credentials(&empty), Err(ConfigError::BadCredentials { .. })));
        let missing = load_aws_credentials(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(missing, ConfigError::CredentialsFile { .. }), "{missing}");
    }
}
