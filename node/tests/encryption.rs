//! Server-side encryption with real node processes:
//!
//! - StartStreamEncryption / StopStreamEncryption, shown by DescribeStream(Summary), with
//!   PutRecord(s) and GetRecords telling, record by record, whether each is encrypted;
//! - records written while the stream is encrypted are on no node's disk in clear: every
//!   file under every data directory is scanned for them, and for a record written before
//!   (which the scan must find, or it would prove nothing: the RocksDB WAL holds entries
//!   uncompressed);
//! - the member checks and errors, and a cluster without a key refusing with
//!   KMSNotFoundException.

#[macro_use]
mod common;

use common::{create_active, eventually, read_shard, Cluster};
use rand::distr::{Alphanumeric, SampleString};
use runnel_node::crypto::RecordKey;
use runnel_proto::v1::kinesis_client::KinesisClient;
use runnel_proto::v1::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::transport::Channel;

const SHARD0: &str = "shardId-000000000000";
const KEY_ID: &str = "alias/aws/kinesis";
/// Bytes of a marker, and of the pieces of it the disk scan looks for: a piece this long
/// cannot turn up by chance, and a marker split by a WAL block boundary keeps whole pieces.
const MARKER_BYTES: usize = 4096;
const PIECE_BYTES: usize = 64;

fn marker() -> Vec<u8> {
    Alphanumeric.sample_string(&mut rand::rng(), MARKER_BYTES).into_bytes()
}

fn start(stream: &str, encryption_type: &str, key_id: &str) -> StartStreamEncryptionRequest {
    StartStreamEncryptionRequest {
        stream_name: stream.into(),
        encryption_type: encryption_type.into(),
        key_id: key_id.into(),
        stream_arn: String::new(),
    }
}

fn stop(stream: &str, encryption_type: &str, key_id: &str) -> StopStreamEncryptionRequest {
    StopStreamEncryptionRequest {
        stream_name: stream.into(),
        encryption_type: encryption_type.into(),
        key_id: key_id.into(),
        stream_arn: String::new(),
    }
}

async fn put(k: &mut KinesisClient<Channel>, stream: &str, data: &[u8]) -> PutRecordResponse {
    let req = PutRecordRequest {
        stream_name: stream.into(),
        data: data.to_vec(),
        partition_key: "pk".into(),
        ..Default::default()
    };
    k.put_record(req).await.expect("put record").into_inner()
}

/// (EncryptionType, KeyId) as DescribeStreamSummary and DescribeStream show them; both
/// must agree.
async fn encryption(k: &mut KinesisClient<Channel>, stream: &str) -> (String, String) {
    let req = DescribeStreamSummaryRequest { stream_name: stream.into(), stream_arn: String::new() };
    let s = k.describe_stream_summary(req).await.expect("describe summary").into_inner();
    let s = s.stream_description_summary.expect("summary");
    let req = DescribeStreamRequest { stream_name: stream.into(), ..Default::default() };
    let d = k.describe_stream(req).await.expect("describe").into_inner().stream_description.expect("description");
    assert_eq!((&d.encryption_type, &d.key_id), (&s.encryption_type, &s.key_id), "DescribeStream agrees");
    assert_eq!(s.stream_status, "ACTIVE", "encryption changes leave the stream ACTIVE");
    (s.encryption_type, s.key_id)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Whether any file under `dir` holds a `PIECE_BYTES`-long piece of `marker` in clear.
/// Markers are alphanumeric: only runs of alphanumeric bytes are looked up, so the scan is
/// one pass over the bytes.
fn on_disk(dir: &Path, marker: &[u8]) -> bool {
    let pieces: HashSet<&[u8]> = marker.windows(PIECE_BYTES).collect();
    let mut files = Vec::new();
    files_under(dir, &mut files);
    assert!(!files.is_empty(), "{} holds files", dir.display());
    files.iter().any(|file| {
        // A file RocksDB removed meanwhile holds nothing.
        let Ok(bytes) = std::fs::read(file) else { return false };
        bytes
            .split(|b| !b.is_ascii_alphanumeric())
            .filter(|run| run.len() >= PIECE_BYTES)
            .any(|run| run.windows(PIECE_BYTES).any(|w| pieces.contains(w)))
    })
}

/// A key file in its own directory (not under any node's data directory).
fn key_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("key dir");
    let path = dir.path().join("encryption.key");
    std::fs::write(&path, RecordKey::generate().to_hex()).expect("write the key file");
    (dir, path)
}

#[tokio::test(flavor = "multi_thread")]
async fn records_written_while_a_stream_is_encrypted_are_on_no_disk_in_clear() {
    let (_key_dir, key_path) = key_file();
    let cluster = Cluster::start_with_config(3, Some(&format!("encryption_key_file = {key_path:?}\n"))).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "enc", 1).await;
    assert_eq!(encryption(&mut k, "enc").await, ("NONE".into(), String::new()));

    let clear = marker();
    assert_eq!(put(&mut k, "enc", &clear).await.encryption_type, "NONE");
    k.start_stream_encryption(start("enc", "KMS", KEY_ID)).await.expect("start encryption");
    assert_eq!(encryption(&mut k, "enc").await, ("KMS".into(), KEY_ID.into()));
    let secret = marker();
    assert_eq!(put(&mut k, "enc", &secret).await.encryption_type, "KMS");
    let secret_batch = marker();
    let batch = PutRecordsRequest {
        records: vec![PutRecordsRequestEntry {
            data: secret_batch.clone(),
            explicit_hash_key: None,
            partition_key: "pk-batch".into(),
        }],
        stream_name: "enc".into(),
        stream_arn: String::new(),
    };
    let out = k.put_records(batch).await.expect("put records").into_inner();
    assert_eq!((out.failed_record_count, out.encryption_type.as_str()), (0, "KMS"));

    // Read from another node than the one written to: the shard's leader opens them.
    let mut other = cluster.kinesis(1).await;
    let records = read_shard(&mut other, "enc", SHARD0).await;
    let seen: Vec<(&[u8], &str, &str)> =
        records.iter().map(|r| (r.data.as_slice(), r.partition_key.as_str(), r.encryption_type.as_str())).collect();
    assert_eq!(
        seen,
        vec![(clear.as_slice(), "pk", "NONE"), (secret.as_slice(), "pk", "KMS"), (&secret_batch, "pk-batch", "KMS")]
    );

    // Every replica holds every entry before the scan, or a missing marker proves nothing.
    cluster.wait_caught_up(Duration::from_secs(20)).await;
    for i in 0..cluster.size() {
        let dir = cluster.data_dir(i);
        eventually(
            &format!("the clear record on node {}'s disk", i + 1),
            Duration::from_secs(10),
            Duration::from_millis(200),
            || {
                let found = on_disk(&dir, &clear);
                async move { found.then_some(()) }
            },
        )
        .await;
        assert!(!on_disk(&dir, &secret), "node {}: a record of an encrypted stream is on disk in clear", i + 1);
        assert!(!on_disk(&dir, &secret_batch), "node {}: a PutRecords record is on disk in clear", i + 1);
    }

    // Stopping (by StreamARN) takes effect at once; records stored encrypted stay readable.
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/enc";
    let by_arn = StopStreamEncryptionRequest { stream_arn: arn.into(), ..stop("", "KMS", KEY_ID) };
    k.stop_stream_encryption(by_arn).await.expect("stop encryption");
    assert_eq!(encryption(&mut k, "enc").await, ("NONE".into(), String::new()));
    let after = marker();
    assert_eq!(put(&mut k, "enc", &after).await.encryption_type, "NONE");
    let records = read_shard(&mut k, "enc", SHARD0).await;
    let types: Vec<&str> = records.iter().map(|r| r.encryption_type.as_str()).collect();
    assert_eq!(types, ["NONE", "KMS", "KMS", "NONE"]);
    assert_eq!(records[1].data, secret);
    assert_eq!(records[3].data, after);

    // Member checks and errors, as Kinesis names them.
    expect_err!(k.start_stream_encryption(start("enc", "", KEY_ID)), "ValidationException");
    expect_err!(k.start_stream_encryption(start("enc", "AES", KEY_ID)), "ValidationException");
    expect_err!(k.start_stream_encryption(start("enc", "NONE", KEY_ID)), "InvalidArgumentException");
    expect_err!(k.stop_stream_encryption(stop("enc", "NONE", KEY_ID)), "InvalidArgumentException");
    expect_err!(k.start_stream_encryption(start("enc", "KMS", "")), "ValidationException");
    let too_long =
        expect_err!(k.start_stream_encryption(start("enc", "KMS", &"k".repeat(2_049))), "ValidationException");
    assert!(too_long.message().contains("Member must have length less than or equal to 2048"), "{too_long:?}");
    expect_err!(k.start_stream_encryption(start("nope", "KMS", KEY_ID)), "ResourceNotFoundException");
    expect_err!(k.stop_stream_encryption(stop("nope", "KMS", KEY_ID)), "ResourceNotFoundException");
    assert_eq!(encryption(&mut k, "enc").await, ("NONE".into(), String::new()), "refusals change nothing");
    // The longest KeyId is kept as given.
    let longest = "k".repeat(2_048);
    k.start_stream_encryption(start("enc", "KMS", &longest)).await.expect("a 2,048-character KeyId");
    assert_eq!(encryption(&mut k, "enc").await, ("KMS".into(), longest));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_without_a_key_refuses_to_encrypt() {
    let cluster = Cluster::start(1).await;
    let mut k = cluster.kinesis(0).await;
    create_active(&mut k, "plain", 1).await;
    let refused = expect_err!(k.start_stream_encryption(start("plain", "KMS", KEY_ID)), "KMSNotFoundException");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(refused.message().contains("No encryption key is configured on this cluster"), "{refused:?}");
    assert_eq!(encryption(&mut k, "plain").await, ("NONE".into(), String::new()));
    // Stopping needs no key.
    k.stop_stream_encryption(stop("plain", "KMS", KEY_ID)).await.expect("stop encryption");
    assert_eq!(put(&mut k, "plain", b"data").await.encryption_type, "NONE");
}
