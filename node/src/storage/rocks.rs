//! The production engine: one RocksDB per node, a column family per `Cf`.
//!
//! `close` drops the database under a write lock after cancelling background work, so no
//! call can reach RocksDB while or after it closes (a use after close aborts the process
//! inside RocksDB's C++).

use super::engine::{Batch, Cf, Engine, Op};
use super::keys::{self, KeyKind, NODE_KEYS};
use crate::failstop;
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB};
use std::io;
use std::path::Path;
use std::sync::RwLock;

/// The layout of the whole database (column families, key kinds). Persisted under
/// `KeyKind::Format`; a database of another layout is refused rather than misread.
/// 4: the metadata state gained tags, policies, monitoring and account settings; a shard's
/// applied state its retention trim. 5: streams gained their mode changes, largest record,
/// warm throughput and encryption.
pub const DATABASE_FORMAT: u8 = 5;

pub struct RocksEngine {
    db: RwLock<Option<DB>>,
}

fn io_err(e: rocksdb::Error) -> io::Error {
    io::Error::other(e.into_string())
}

fn closed() -> io::Error {
    io::Error::other("storage engine closed")
}

/// Log entries at least this large live in blob files (most shard entries: records).
const LOG_BLOB_BYTES_MIN: u64 = 512;
/// A blob file is closed at this size.
const LOG_BLOB_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Settings for one column family. The log is an append-only store of large values, each
/// written once and deleted by range (retention, dropped groups): its values go to blob
/// files when memtables are flushed, and compaction then moves only keys and blob
/// references instead of copying every value again at each level (measured with
/// `runnel-bench --io-pid`: 4.2 disk bytes per byte of records per replica before, 3.5
/// with blob files; docs/benchmarks.md).
///
/// Blob garbage collection stays off. It copies the live values of the oldest blob files
/// into new ones whenever compaction meets them, and in a log the oldest values are the
/// next to expire, so it copied data just before retention deleted it (2.6 disk bytes per
/// byte with it, 2.1 without, same run). A blob file is deleted once no key refers to it:
/// when every entry in it has been purged.
fn cf_options(cf: Cf) -> Options {
    let mut opts = Options::default();
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    if cf == Cf::Log {
        opts.set_enable_blob_files(true);
        opts.set_min_blob_size(LOG_BLOB_BYTES_MIN);
        opts.set_blob_file_size(LOG_BLOB_FILE_BYTES);
        opts.set_blob_compression_type(rocksdb::DBCompressionType::Lz4);
        opts.set_enable_blob_gc(false);
    }
    opts
}

impl RocksEngine {
    pub fn open(path: &Path) -> io::Result<RocksEngine> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Syncs are explicit (`sync`); a write only reaches the OS page cache.
        opts.set_manual_wal_flush(false);
        let cfs = Cf::ALL.iter().map(|cf| ColumnFamilyDescriptor::new(cf.name(), cf_options(*cf)));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(io_err)?;
        let engine = RocksEngine { db: RwLock::new(Some(db)) };
        engine.check_format(path)?;
        Ok(engine)
    }

    /// Stamps a new database with `DATABASE_FORMAT`; refuses one of another format.
    fn check_format(&self, path: &Path) -> io::Result<()> {
        let key = keys::key(NODE_KEYS, KeyKind::Format);
        match self.get(Cf::State, &key)? {
            Some(v) if v == [DATABASE_FORMAT] => Ok(()),
            Some(v) => Err(io::Error::other(format!(
                "{} holds data in format {v:?}; this release reads format {DATABASE_FORMAT}",
                path.display()
            ))),
            None => {
                for cf in Cf::ALL {
                    if !self.scan(cf, &[], &[0xff; 9], 1)?.is_empty() {
                        return Err(io::Error::other(format!(
                            "{} holds data of an earlier Runnel release (no format stamp); \
                             move it away to start empty",
                            path.display()
                        )));
                    }
                }
                let mut batch = Batch::default();
                batch.put(Cf::State, key, vec![DATABASE_FORMAT]);
                self.write(batch)?;
                self.sync()
            }
        }
    }

    fn with_db<T>(&self, f: impl FnOnce(&DB) -> io::Result<T>) -> io::Result<T> {
        let guard = failstop::read(&self.db, "rocksdb handle");
        match guard.as_ref() {
            Some(db) => f(db),
            None => Err(closed()),
        }
    }
}

fn handle(db: &DB, cf: Cf) -> io::Result<&rocksdb::ColumnFamily> {
    db.cf_handle(cf.name()).ok_or_else(|| io::Error::other(format!("missing column family {}", cf.name())))
}

impl Engine for RocksEngine {
    fn get(&self, cf: Cf, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.with_db(|db| db.get_cf(handle(db, cf)?, key).map_err(io_err))
    }

    fn write(&self, batch: Batch) -> io::Result<()> {
        self.with_db(|db| {
            let mut wb = WriteBatch::default();
            for op in &batch.ops {
                match op {
                    Op::Put(cf, k, v) => wb.put_cf(handle(db, *cf)?, k, v),
                    Op::Delete(cf, k) => wb.delete_cf(handle(db, *cf)?, k),
                    Op::DeleteRange(cf, from, to) => wb.delete_range_cf(handle(db, *cf)?, from, to),
                }
            }
            let mut wo = WriteOptions::default();
            wo.set_sync(false);
            db.write_opt(wb, &wo).map_err(io_err)
        })
    }

    fn sync(&self) -> io::Result<()> {
        self.with_db(|db| db.flush_wal(true).map_err(io_err))
    }

    fn scan(&self, cf: Cf, from: &[u8], to: &[u8], limit: usize) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.with_db(|db| {
            let mut out = Vec::new();
            for item in db.iterator_cf(handle(db, cf)?, IteratorMode::From(from, Direction::Forward)) {
                if out.len() >= limit {
                    break;
                }
                let (k, v) = item.map_err(io_err)?;
                if k.as_ref() >= to {
                    break;
                }
                out.push((k.to_vec(), v.to_vec()));
            }
            Ok(out)
        })
    }

    fn last(&self, cf: Cf, from: &[u8], to: &[u8]) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.with_db(|db| {
            // Iterate backwards from just before `to`.
            for item in db.iterator_cf(handle(db, cf)?, IteratorMode::From(to, Direction::Reverse)) {
                let (k, v) = item.map_err(io_err)?;
                if k.as_ref() >= to {
                    continue;
                }
                if k.as_ref() < from {
                    return Ok(None);
                }
                return Ok(Some((k.to_vec(), v.to_vec())));
            }
            Ok(None)
        })
    }

    fn io_blocks(&self) -> bool {
        true
    }

    fn reclaim(&self, cf: Cf, from: &[u8], to: &[u8]) -> io::Result<()> {
        self.with_db(|db| {
            // Every column family's memtable, so that no write-ahead log file is kept
            // for a family that holds a few small rows: those files hold deleted data too.
            let handles = Cf::ALL.iter().map(|cf| handle(db, *cf)).collect::<io::Result<Vec<_>>>()?;
            db.flush_cfs_opt(&handles, &rocksdb::FlushOptions::default()).map_err(io_err)?;
            db.compact_range_cf(handle(db, cf)?, Some(from), Some(to));
            Ok(())
        })
    }

    fn disk_bytes(&self) -> io::Result<Option<u64>> {
        // RocksDB keeps this figure up to date in memory: reading it does no I/O.
        self.with_db(|db| {
            let mut total = 0u64;
            for cf in Cf::ALL {
                // The log's large entries are in blob files, the rest in SST files.
                for property in ["rocksdb.live-sst-files-size", "rocksdb.live-blob-file-size"] {
                    let live = db.property_int_value_cf(handle(db, cf)?, property).map_err(io_err)?;
                    total = total.saturating_add(live.unwrap_or(0));
                }
            }
            Ok(Some(total))
        })
    }

    fn close(&self) {
        let db = failstop::write(&self.db, "rocksdb handle").take();
        if let Some(db) = db {
            // Flush what the WAL holds and stop compactions before the handle goes.
            if let Err(e) = db.flush_wal(true) {
                tracing::warn!("final WAL sync failed: {e}");
            }
            db.cancel_all_background_work(true);
            drop(db);
        }
    }
}

impl Drop for RocksEngine {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_survive_reopen_after_sync() {
        let dir = tempfile::tempdir().unwrap();
        {
            let engine = RocksEngine::open(dir.path()).unwrap();
            let mut b = Batch::default();
            for k in 0u8..5 {
                b.put(Cf::Log, vec![1, k], vec![k]);
            }
            engine.write(b).unwrap();
            engine.sync().unwrap();
            assert_eq!(engine.last(Cf::Log, &[1], &[1, 3]).unwrap(), Some((vec![1, 2], vec![2])));
            assert_eq!(engine.last(Cf::Log, &[2], &[3]).unwrap(), None);
        }
        let engine = RocksEngine::open(dir.path()).unwrap();
        assert_eq!(engine.scan(Cf::Log, &[1], &[2], 100).unwrap().len(), 5);
        assert_eq!(engine.get(Cf::Log, &[1, 4]).unwrap(), Some(vec![4]));
    }

    #[test]
    fn a_closed_engine_refuses_every_call() {
        let dir = tempfile::tempdir().unwrap();
        let engine = RocksEngine::open(dir.path()).unwrap();
        engine.close();
        assert!(engine.get(Cf::Log, &[1]).is_err());
        assert!(engine.write(Batch::default()).is_err());
        assert!(engine.sync().is_err());
        engine.close();
    }

    #[test]
    fn a_database_of_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let engine = RocksEngine::open(dir.path()).unwrap();
            let mut b = Batch::default();
            b.put(Cf::State, keys::key(NODE_KEYS, KeyKind::Format), vec![DATABASE_FORMAT + 1]);
            engine.write(b).unwrap();
            engine.sync().unwrap();
        }
        let err = RocksEngine::open(dir.path()).err().expect("refused");
        assert!(err.to_string().contains("format"), "{err}");
    }

    #[test]
    fn disk_bytes_count_what_was_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = RocksEngine::open(dir.path()).unwrap();
        let before = engine.disk_bytes().unwrap().expect("rocksdb knows its size");
        let mut b = Batch::default();
        // Values that do not compress, large enough for the log's blob files.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for k in 0u32..1000 {
            let value: Vec<u8> = (0..1000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            b.put(Cf::Log, k.to_be_bytes().to_vec(), value);
        }
        engine.write(b).unwrap();
        engine.reclaim(Cf::Log, &[], &[0xff; 8]).unwrap(); // flushes the memtables to disk
        let after = engine.disk_bytes().unwrap().expect("rocksdb knows its size");
        assert!(after >= before + 1_000_000, "1 MB of values counted: {before} -> {after}");
        engine.close();
        assert!(engine.disk_bytes().is_err());
    }
}
