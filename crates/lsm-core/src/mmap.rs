//! Read-only memory maps of table files (Unix).
//!
//! A table file never changes after it is written and synced, so its bytes
//! can be read through a shared read-only mapping instead of `pread`: a block
//! read becomes a checksum over mapped pages plus (for a compressed block)
//! one decompression straight out of the mapping, with no system call, no
//! kernel-to-user copy and no buffer for the stored form. The mapping holds no
//! descriptor, so mapped tables do not count against `maxOpenFiles`.
//!
//! The engine never truncates or rewrites a table file while it is open
//! (tables are deleted only when no version uses them, and unlinking a mapped
//! file is safe). A read error of the disk under a mapped page, or a table
//! truncated by another program, raises SIGBUS instead of an error: the
//! `mmapReads: false` open option selects `pread` for those who prefer errors.
//!
//! How many tables are mapped at once is bounded by a [`MapBudget`] shared by
//! one database's tables (`maxOpenFiles`); tables beyond it are read with
//! `pread` through the descriptor pool.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// At most `limit` tables mapped at a time.
#[derive(Debug)]
pub struct MapBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MapBudget {
    pub fn new(limit: usize) -> MapBudget {
        MapBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Tables mapped now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes one slot, or returns false when all are taken.
    fn take(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok()
    }

    fn give_back(&self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A read-only shared mapping of a whole file, holding one slot of its
/// budget until it is unmapped.
pub(crate) struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
    budget: Arc<MapBudget>,
}

// The mapping is read-only and never changes while it exists.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping").field("len", &self.len).finish()
    }
}

impl Mapping {
    /// Maps the first `len` bytes of `file`: `Ok(None)` when the budget has
    /// no slot left or `len` is 0. The descriptor may be closed afterwards.
    pub(crate) fn new(file: &File, len: usize, budget: &Arc<MapBudget>) -> Result<Option<Mapping>> {
        if len == 0 || !budget.take() {
            return Ok(None);
        }
        // SAFETY: a fresh read-only shared mapping of an open descriptor; the
        // result is checked for MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            budget.give_back();
            return Err(Error::Io(std::io::Error::last_os_error()));
        }
        Ok(Some(Mapping {
            ptr,
            len,
            budget: Arc::clone(budget),
        }))
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `self` is dropped.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region mapped in `new`, once.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
        self.budget.give_back();
    }
}
