//! A bounded pool of open table files (`maxOpenFiles`): a database with
//! thousands of tables keeps at most this many descriptors open, and reopens
//! a file on demand when a read needs it again.
//!
//! Files are handed out as `Arc<File>`, so a read in progress keeps its
//! descriptor even if another thread evicts it from the pool meanwhile (it
//! closes when that read ends); the bound can be exceeded only by the reads
//! running at that instant. Eviction scans for the least recently used entry:
//! it happens only on a miss, which costs an `open` syscall anyway.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

struct Entry {
    file: Arc<File>,
    last_use: u64,
}

struct Inner {
    open: HashMap<u64, Entry>,
    clock: u64,
}

/// Open files keyed by table id, at most `max_open` at a time.
pub struct FilePool {
    inner: Mutex<Inner>,
    max_open: usize,
}

impl std::fmt::Debug for FilePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePool")
            .field("max_open", &self.max_open)
            .field("open", &self.open_count())
            .finish()
    }
}

/// Opens `path` for reading, naming it in the error.
pub fn open_for_read(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}

impl FilePool {
    /// A pool keeping at most `max_open` (≥ 1) files open.
    pub fn new(max_open: usize) -> Self {
        FilePool {
            inner: Mutex::new(Inner {
                open: HashMap::new(),
                clock: 0,
            }),
            max_open: max_open.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map stays consistent across a panic (each step is one insert or
        // remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open file of table `id`, opening `path` if it is not in the pool.
    pub fn get(&self, id: u64, path: &Path) -> Result<Arc<File>> {
        {
            let mut inner = self.lock();
            inner.clock += 1;
            let now = inner.clock;
            if let Some(e) = inner.open.get_mut(&id) {
                e.last_use = now;
                return Ok(Arc::clone(&e.file));
            }
        }
        // Open outside the lock: other tables' reads need not wait for it.
        let file = Arc::new(open_for_read(path)?);
        self.insert(id, Arc::clone(&file));
        Ok(file)
    }

    /// Adds an already open file (a table's first open) to the pool.
    pub fn insert(&self, id: u64, file: Arc<File>) {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        inner.open.insert(
            id,
            Entry {
                file,
                last_use: now,
            },
        );
        while inner.open.len() > self.max_open {
            let oldest = inner
                .open
                .iter()
                .min_by_key(|(_, e)| e.last_use)
                .map(|(&k, _)| k);
            match oldest {
                Some(k) => inner.open.remove(&k),
                None => break,
            };
        }
    }

    /// Closes table `id`'s file (the table is gone).
    pub fn forget(&self, id: u64) {
        self.lock().open.remove(&id);
    }

    /// Closes every pooled file (the database is closing). Tables still using
    /// the pool would reopen their files on demand.
    pub fn close_all(&self) {
        self.lock().open.clear();
    }

    /// Files currently open through the pool.
    pub fn open_count(&self) -> usize {
        self.lock().open.len()
    }

    pub fn max_open(&self) -> usize {
        self.max_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use std::os::unix::fs::FileExt;

    #[test]
    fn keeps_at_most_max_open_and_reopens_on_demand() {
        let dir = TempDir::new("pool");
        let paths: Vec<_> = (0..5)
            .map(|i| {
                let p = dir.join(&format!("{i}.sst"));
                std::fs::write(&p, [i as u8; 4]).unwrap();
                p
            })
            .collect();
        let pool = FilePool::new(2);
        for round in 0..3 {
            for (i, p) in paths.iter().enumerate() {
                let f = pool.get(i as u64, p).unwrap();
                let mut b = [0u8; 1];
                f.read_exact_at(&mut b, 0).unwrap();
                assert_eq!(b[0], i as u8, "round {round}");
                assert!(pool.open_count() <= 2);
            }
        }
        // Most recently used survive: 3 and 4 are open, touching 3 keeps it over 4.
        pool.get(3, &paths[3]).unwrap();
        pool.get(0, &paths[0]).unwrap();
        let open: Vec<u64> = {
            let mut v: Vec<u64> = pool.lock().open.keys().copied().collect();
            v.sort();
            v
        };
        assert_eq!(open, vec![0, 3]);
        pool.forget(0);
        assert_eq!(pool.open_count(), 1);
        pool.close_all();
        assert_eq!(pool.open_count(), 0);
        // A file deleted while closed cannot be reopened: an I/O error naming it.
        std::fs::remove_file(&paths[1]).unwrap();
        let e = pool.get(1, &paths[1]).unwrap_err();
        assert_eq!(e.code(), "IO_ERROR");
        assert!(e.to_string().contains("1.sst"));
        assert_eq!(FilePool::new(0).max_open(), 1);
    }
}
