//! `NativeMemtable`: the JS handle of a core memtable. The handle shares the
//! memtable (`Arc`) with every read view, cursor and flush that uses it, and
//! lets go of its share at `release()` (the engine calls it once a flushed
//! memtable has left the current state) or when the garbage collector frees
//! it. The arena's memory is unknown to V8, which would otherwise keep
//! flushed memtables alive until some unrelated allocation triggered a GC.

use std::sync::Arc;

use napi::bindgen_prelude::{Object, Uint8Array, Uint8ArraySlice};
use napi::Env;
use napi_derive::napi;

use lsm_core::memtable::MemTable;

use crate::convert::{invalid, point_read, to_js};
use crate::jobs::{lane_start, run_job, Runner};

#[napi]
pub struct NativeMemtable {
    inner: Option<Arc<MemTable>>,
}

impl NativeMemtable {
    /// The memtable, or an error after `release()`.
    pub(crate) fn mem(&self) -> napi::Result<&Arc<MemTable>> {
        self.inner
            .as_ref()
            .ok_or_else(|| invalid("the memtable was released"))
    }
}

#[napi]
impl NativeMemtable {
    #[napi(constructor)]
    pub fn new() -> Self {
        lane_start();
        NativeMemtable {
            inner: Some(Arc::new(MemTable::new())),
        }
    }

    /// Drops this handle's share of the memtable: its memory is freed as
    /// soon as no read view, cursor or flush still holds it. Every later
    /// call on this handle throws `INVALID_ARGUMENT`.
    #[napi(catch_unwind)]
    pub fn release(&mut self) {
        self.inner = None;
    }

    /// Applies one encoded write group (FORMAT.md §2.2): one call per group.
    #[napi(catch_unwind)]
    pub fn apply(&self, group: &[u8]) -> napi::Result<()> {
        self.mem()?.apply(group).map(drop).map_err(to_js)
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
        let mem = self.mem()?;
        point_read(
            &mut out,
            out_offset,
            user_key,
            snapshot_seq,
            |key, snap, visit| Ok(mem.get_with(key, snap, visit).found()),
        )
    }

    /// [`NativeMemtable::apply`] on the apply lane (a thread of ours at a
    /// lower priority than the JS thread), so a large group (a big batch) is
    /// inserted while the JS thread goes on. The caller must not change
    /// `group` and must apply nothing else to this memtable until the
    /// promise settles (the write queue commits one group at a time);
    /// readers may run meanwhile, as with any apply.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn apply_async<'env>(
        &self,
        env: &'env Env,
        group: Uint8Array,
    ) -> napi::Result<Object<'env>> {
        let mem = Arc::clone(self.mem()?);
        // `group` stays alive until the job is done and is let go of on the
        // JS thread.
        run_job(
            env,
            Runner::Lane,
            group,
            move |group| mem.apply(group).map(drop),
            |()| (),
        )
    }

    #[napi(getter)]
    pub fn approximate_size(&self) -> napi::Result<f64> {
        Ok(self.mem()?.approximate_size() as f64)
    }

    #[napi(getter)]
    pub fn entry_count(&self) -> napi::Result<f64> {
        Ok(self.mem()?.len() as f64)
    }
}

impl Default for NativeMemtable {
    fn default() -> Self {
        Self::new()
    }
}
