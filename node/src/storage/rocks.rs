//! The production engine: one RocksDB per node, a column family per `Cf`.

use super::engine::{Batch, Cf, Engine, Op};
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB};
use std::io;
use std::path::Path;

pub struct RocksEngine {
    db: DB,
}

fn io_err(e: rocksdb::Error) -> io::Error {
    io::Error::other(e.into_string())
}

impl RocksEngine {
    pub fn open(path: &Path) -> io::Result<RocksEngine> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Syncs are explicit (`sync`); a write only reaches the OS page cache.
        opts.set_manual_wal_flush(false);
        let cfs = Cf::ALL.iter().map(|cf| {
            let mut cf_opts = Options::default();
            cf_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
            ColumnFamilyDescriptor::new(cf.name(), cf_opts)
        });
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(io_err)?;
        Ok(RocksEngine { db })
    }

    fn cf(&self, cf: Cf) -> io::Result<&rocksdb::ColumnFamily> {
        self.db.cf_handle(cf.name()).ok_or_else(|| io::Error::other(format!("missing column family {}", cf.name())))
    }
}

impl Engine for RocksEngine {
    fn get(&self, cf: Cf, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.db.get_cf(self.cf(cf)?, key).map_err(io_err)
    }

    fn write(&self, batch: Batch) -> io::Result<()> {
        let mut wb = WriteBatch::default();
        for op in &batch.ops {
            match op {
                Op::Put(cf, k, v) => wb.put_cf(self.cf(*cf)?, k, v),
                Op::Delete(cf, k) => wb.delete_cf(self.cf(*cf)?, k),
                Op::DeleteRange(cf, from, to) => wb.delete_range_cf(self.cf(*cf)?, from, to),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(false);
        self.db.write_opt(wb, &wo).map_err(io_err)
    }

    fn sync(&self) -> io::Result<()> {
        self.db.flush_wal(true).map_err(io_err)
    }

    fn scan(&self, cf: Cf, from: &[u8], to: &[u8], limit: usize) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(cf)?, IteratorMode::From(from, Direction::Forward)) {
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
    }

    fn last(&self, cf: Cf, from: &[u8], to: &[u8]) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        // Iterate backwards from just before `to`.
        let iter = self.db.iterator_cf(self.cf(cf)?, IteratorMode::From(to, Direction::Reverse));
        for item in iter {
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
    }

    fn sync_blocks(&self) -> bool {
        true
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
}
