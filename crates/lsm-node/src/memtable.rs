//! `NativeMemtable`: the JS handle of a core memtable. The handle shares the
//! memtable (`Arc`) with every read view, cursor and flush that uses it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Uint8Array, Uint8ArraySlice};
use napi::{Env, Task};
use napi_derive::napi;

use lsm_core::memtable::MemTable;

use crate::convert::{panic_error, point_read, to_js};

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
        point_read(
            &mut out,
            out_offset,
            user_key,
            snapshot_seq,
            |key, snap, visit| Ok(self.inner.get_with(key, snap, visit).found()),
        )
    }

    /// [`NativeMemtable::apply`] on a libuv pool thread, so a large group
    /// (a big batch) is inserted while the JS thread goes on. The caller
    /// must not change `group` and must apply nothing else to this memtable
    /// until the promise settles (the write queue commits one group at a
    /// time); readers may run meanwhile, as with any apply.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn apply_async(&self, group: Uint8Array) -> AsyncTask<ApplyTask> {
        AsyncTask::new(ApplyTask {
            mem: Arc::clone(&self.inner),
            group,
        })
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

/// The work of [`NativeMemtable::apply_async`]. It holds a reference to the
/// group's JS bytes, so they stay alive until the task settles.
pub struct ApplyTask {
    mem: Arc<MemTable>,
    group: Uint8Array,
}

impl Task for ApplyTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        let (mem, group) = (&self.mem, &self.group);
        // A panic must reject the promise, not unwind into libuv.
        match catch_unwind(AssertUnwindSafe(|| mem.apply(group))) {
            Ok(r) => r.map(drop).map_err(to_js),
            Err(payload) => Err(panic_error(payload)),
        }
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}

impl Default for NativeMemtable {
    fn default() -> Self {
        Self::new()
    }
}
