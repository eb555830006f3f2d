//! `NativeTable`: the JS handle of an open table file. Reads go through the
//! process-wide block cache.
//!
//! `close()` drops this handle's reference: read views and cursors that
//! still hold the table keep reading it, and the file descriptor closes when
//! the last of them is gone (the TypeScript side closes a table only once no
//! version uses it, so in practice it closes at once).

use std::path::Path;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use lsm_core::cache::global_block_cache;
use lsm_core::table::Table;

use crate::convert::{invalid, packed_lookup, properties, snapshot, to_js, JsProperties};

#[napi]
pub struct NativeTable {
    pub(crate) inner: Option<Table>,
    file_size: f64,
}

impl NativeTable {
    /// The open table, or an error after `close()`.
    pub(crate) fn table(&self) -> napi::Result<&Table> {
        self.inner.as_ref().ok_or_else(|| invalid("the table is closed"))
    }
}

#[napi]
impl NativeTable {
    /// Opens a table file; a damaged one throws `CORRUPTION: <file name>: …`.
    #[napi(factory, catch_unwind)]
    pub fn open(path: String) -> napi::Result<Self> {
        let cache = Some(global_block_cache().clone());
        let table = Table::open_file(Path::new(&path), cache).map_err(to_js)?;
        Ok(NativeTable {
            file_size: table.file_size() as f64,
            inner: Some(table),
        })
    }

    #[napi(getter)]
    pub fn file_size(&self) -> f64 {
        self.file_size
    }

    /// The properties block (read once at open).
    #[napi(catch_unwind)]
    pub fn properties(&self) -> napi::Result<JsProperties> {
        Ok(properties(self.table()?.properties()))
    }

    /// Newest version of `userKey` with sequence ≤ `snapshotSeq` (bloom →
    /// index → one block), packed like `NativeMemtable.get`, or null.
    #[napi(catch_unwind)]
    pub fn get(&self, user_key: &[u8], snapshot_seq: f64) -> napi::Result<Option<Buffer>> {
        let table = self.table()?;
        let Some(snap) = snapshot(snapshot_seq) else {
            return Ok(None);
        };
        table.get(user_key, snap).map(packed_lookup).map_err(to_js)
    }

    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.inner = None;
    }
}
