//! `NativeMemtable`: the JS handle of a core memtable. The handle shares the
//! memtable (`Arc`) with every read view, cursor and flush that uses it.

use std::sync::Arc;

use napi::bindgen_prelude::Uint8ArraySlice;
use napi_derive::napi;

use lsm_core::memtable::MemTable;

use crate::convert::{scratch, snapshot, to_js, write_entry, NOT_FOUND};

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

    /// Newest version of `userKey` with sequence ≤ `snapshotSeq`, written
    /// into `out` at `outOffset` (see `write_entry`): its length, −1 when not
    /// found, or minus the room it needs.
    #[napi(catch_unwind)]
    pub fn get(
        &self,
        user_key: &[u8],
        snapshot_seq: f64,
        mut out: Uint8ArraySlice,
        out_offset: f64,
    ) -> napi::Result<f64> {
        let out = scratch(&mut out, out_offset, user_key)?;
        let found = snapshot(snapshot_seq).and_then(|snap| {
            self.inner
                .get_with(user_key, snap, |seq, kind, v| {
                    write_entry(out, seq, kind, v)
                })
                .found()
        });
        Ok(found.unwrap_or(NOT_FOUND))
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
