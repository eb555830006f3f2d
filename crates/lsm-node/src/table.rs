//! `NativeTable`: the JS handle of an open table file, and `NativeCaches`:
//! the block cache and descriptor pool one database's tables share.
//!
//! `close()` drops this handle's reference: read views and cursors that
//! still hold the table keep reading it, and the file descriptor closes when
//! the last of them is gone (the TypeScript side closes a table only once no
//! version uses it, so in practice it closes at once).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, ClassInstance, Uint8ArraySlice};
use napi::{Env, Task};
use napi_derive::napi;

use lsm_core::cache::BlockCache;
use lsm_core::file_pool::FilePool;
use lsm_core::mmap::MapBudget;
use lsm_core::table::{Table, TableCaches};

use crate::convert::{invalid, panic_error, point_read, properties, to_js, whole, JsProperties};

/// A block cache bounded in bytes, a pool of at most `maxOpenFiles` open
/// table files and, with `mmapReads`, a budget of as many memory-mapped
/// tables (`Core.newCaches`).
#[napi]
pub struct NativeCaches {
    inner: TableCaches,
}

#[napi]
impl NativeCaches {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        block_cache_bytes: f64,
        max_open_files: f64,
        mmap_reads: Option<bool>,
    ) -> napi::Result<Self> {
        let bytes =
            usize::try_from(whole(block_cache_bytes, "blockCacheBytes")?).unwrap_or(usize::MAX);
        let files = usize::try_from(whole(max_open_files, "maxOpenFiles")?).unwrap_or(usize::MAX);
        Ok(NativeCaches {
            inner: TableCaches {
                blocks: Some(Arc::new(BlockCache::new(bytes))),
                files: Some(Arc::new(FilePool::new(files))),
                maps: mmap_reads
                    .unwrap_or(false)
                    .then(|| Arc::new(MapBudget::new(files))),
            },
        })
    }

    /// Bytes held by the block cache.
    #[napi(getter)]
    pub fn block_cache_usage(&self) -> f64 {
        self.inner.blocks.as_ref().map_or(0, |c| c.usage()) as f64
    }

    /// Block cache hits since creation.
    #[napi(getter)]
    pub fn block_cache_hits(&self) -> f64 {
        self.inner.blocks.as_ref().map_or(0, |c| c.stats().0) as f64
    }

    /// Block cache misses since creation.
    #[napi(getter)]
    pub fn block_cache_misses(&self) -> f64 {
        self.inner.blocks.as_ref().map_or(0, |c| c.stats().1) as f64
    }

    /// Frees the caches: drops every cached block and closes every pooled
    /// file. Tables opened with them should be closed first.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        if let Some(blocks) = &self.inner.blocks {
            blocks.set_capacity(0);
        }
        if let Some(files) = &self.inner.files {
            files.close_all();
        }
    }

    /// Tables currently memory-mapped.
    #[napi(getter)]
    pub fn mapped_tables(&self) -> f64 {
        self.inner.maps.as_ref().map_or(0, |m| m.used()) as f64
    }

    /// Table files currently open through the pool.
    #[napi(getter)]
    pub fn open_files(&self) -> f64 {
        self.inner.files.as_ref().map_or(0, |p| p.open_count()) as f64
    }
}

#[napi]
pub struct NativeTable {
    pub(crate) inner: Option<Table>,
    file_size: f64,
}

impl NativeTable {
    /// The JS handle of a table just opened.
    fn wrap(table: Table) -> Self {
        NativeTable {
            file_size: table.file_size() as f64,
            inner: Some(table),
        }
    }

    /// The open table, or an error after `close()`.
    pub(crate) fn table(&self) -> napi::Result<&Table> {
        self.inner
            .as_ref()
            .ok_or_else(|| invalid("the table is closed"))
    }
}

#[napi]
impl NativeTable {
    /// Opens a table file; a damaged one throws `CORRUPTION: <file name>: …`.
    /// Without `caches` the table reads its own descriptor and caches no blocks.
    #[napi(factory, catch_unwind)]
    pub fn open(path: String, caches: Option<ClassInstance<NativeCaches>>) -> napi::Result<Self> {
        let caches = caches.as_ref().map(|c| &c.inner);
        Table::open_file(Path::new(&path), caches)
            .map(NativeTable::wrap)
            .map_err(to_js)
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
    /// index → one block), written into `out` at `outOffset` like `NativeMemtable.get`.
    #[napi(catch_unwind)]
    pub fn get(
        &self,
        user_key: &[u8],
        snapshot_seq: f64,
        mut out: Uint8ArraySlice,
        out_offset: f64,
    ) -> napi::Result<f64> {
        let table = self.table()?;
        point_read(
            &mut out,
            out_offset,
            user_key,
            snapshot_seq,
            |key, snap, visit| Ok(table.get_with(key, snap, visit).map_err(to_js)?.found()),
        )
    }

    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.inner = None;
    }
}

/// Opens a table file on a libuv pool thread (`NativeTable.open` without
/// the JS thread's time: reading and checking the footer, index, filter and
/// properties of a 2 MiB table takes ~0.15 ms, and a compaction installs a
/// dozen or more tables at once). Rejects like `open` throws.
#[napi(catch_unwind, ts_return_type = "Promise<NativeTable>")]
pub fn open_table_async(
    path: String,
    caches: Option<ClassInstance<NativeCaches>>,
) -> AsyncTask<OpenTableTask> {
    AsyncTask::new(OpenTableTask {
        path,
        caches: caches.map(|c| c.inner.clone()),
    })
}

/// The work of [`open_table_async`].
pub struct OpenTableTask {
    path: String,
    caches: Option<TableCaches>,
}

impl Task for OpenTableTask {
    type Output = Table;
    type JsValue = NativeTable;

    fn compute(&mut self) -> napi::Result<Table> {
        // A panic must reject the promise, not unwind into libuv.
        catch_unwind(AssertUnwindSafe(|| {
            Table::open_file(Path::new(&self.path), self.caches.as_ref()).map_err(to_js)
        }))
        .map_err(panic_error)?
    }

    fn resolve(&mut self, _env: Env, table: Table) -> napi::Result<NativeTable> {
        Ok(NativeTable::wrap(table))
    }
}
