//! The Kinesis limits a PutRecords request can be checked against before it is sent: the
//! node enforces them (node/src/limits.rs re-exports these), and the client checks a
//! request against them before it splits it over the shards' leaders.

/// A partition key is 1 to 256 Unicode characters.
pub const PARTITION_KEY_CHARS_MIN: usize = 1;
pub const PARTITION_KEY_CHARS_MAX: usize = 256;
/// PutRecords takes 1 to 500 records per call...
pub const PUT_RECORDS_COUNT_MIN: usize = 1;
pub const PUT_RECORDS_COUNT_MAX: usize = 500;
/// ...and at most 5 MiB per call, partition keys included.
pub const PUT_RECORDS_BYTES_MAX: usize = 5 * 1024 * 1024;
/// UpdateMaxRecordSize: a stream's largest record (data and partition key) is 1,024 to
/// 10,240 KiB; 1,024 KiB until changed.
pub const MAX_RECORD_SIZE_KIB_MIN: i64 = 1_024;
pub const MAX_RECORD_SIZE_KIB_MAX: i64 = 10_240;
