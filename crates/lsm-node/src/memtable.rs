//! `NativeMemtable`: the JS handle of a core memtable. The handle shares the
//! memtable (`Arc`) with every read view, cursor and flush that uses it.

use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use lsm_core::memtable::MemTable;

use crate::convert::{packed_lookup, snapshot, to_js};

#[napi]
pub struct NativeMemtable {
    pub(crate) inner: Arc<MemTable>,
}

#[napi]
impl NativeMemtable {
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeMemtable {
            inner: Arc::new(MemTable::new()),
        }
    }

    /// Applies one encoded write group (FORMAT.md §2.2): one call per group.
    #[napi(catch_unwind)]
    pub fn apply(&self, group: &[u8]) -> napi::Result<()> {
        self.inner.apply(group).map(drop).map_err(to_js)
    }

    /// Newest version of `userKey` with sequence ≤ `snapshotSeq`, packed as
    /// `fixed64(seq × 256 + kind) ‖ value`, or null.
    #[napi(catch_unwind)]
    pub fn get(&self, user_key: &[u8], snapshot_seq: f64) -> Option<Buffer> {
        packed_lookup(self.inner.get(user_key, snapshot(snapshot_seq)?))
    }

    #[napi(getter)]
    pub fn approximate_size(&self) -> f64 {
        self.inner.approximate_size() as f64
    }

    #[napi(getter)]
    pub fn entry_count(&self) -> f64 {
        self.inner.len() as f64
    }
}

impl Default for NativeMemtable {
    fn default() -> Self {
        Self::new()
    }
}
