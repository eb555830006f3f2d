//! `NativeReadView` and `NativeCursor`: reads across memtables and tables in
//! one call each — a point read is one crossing, a scan one per chunk.

use napi::bindgen_prelude::{Buffer, ClassInstance, Uint8ArraySlice};
use napi_derive::napi;

use lsm_core::view::{ChunkSink, Cursor, CursorOptions, ReadView};

use crate::convert::{limit, scratch, snapshot, to_js, write_entry, NOT_FOUND};
use crate::memtable::NativeMemtable;
use crate::table::NativeTable;

#[napi]
pub struct NativeReadView {
    inner: ReadView,
}

#[napi]
impl NativeReadView {
    /// `memtables` newest first; `levels[0]` the L0 tables newest first;
    /// deeper levels sorted by key without overlap.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        memtables: Vec<ClassInstance<NativeMemtable>>,
        levels: Vec<Vec<ClassInstance<NativeTable>>>,
    ) -> napi::Result<Self> {
        let memtables = memtables.iter().map(|m| m.inner.clone()).collect();
        let levels = levels
            .iter()
            .map(|level| level.iter().map(|t| t.table().cloned()).collect())
            .collect::<napi::Result<Vec<_>>>()?;
        let inner = ReadView::new(memtables, levels).map_err(to_js)?;
        Ok(NativeReadView { inner })
    }

    /// Newest version of `userKey` with sequence ≤ `snapshotSeq` across all
    /// sources, written into `out` at `outOffset` like `NativeMemtable.get`.
    #[napi(catch_unwind)]
    pub fn get(
        &self,
        user_key: &[u8],
        snapshot_seq: f64,
        mut out: Uint8ArraySlice,
        out_offset: f64,
    ) -> napi::Result<f64> {
        let out = scratch(&mut out, out_offset, user_key)?;
        let Some(snap) = snapshot(snapshot_seq) else {
            return Ok(NOT_FOUND);
        };
        let found = self
            .inner
            .get_with(user_key, snap, |seq, kind, v| {
                write_entry(out, seq, kind, v)
            })
            .map_err(to_js)?;
        Ok(found.unwrap_or(NOT_FOUND))
    }

    #[napi(catch_unwind)]
    pub fn cursor(&self, options: JsCursorOptions) -> NativeCursor {
        let o = CursorOptions {
            // Nothing is visible at a NaN or negative snapshot; no entry has sequence 0.
            snapshot: snapshot(options.snapshot_seq).unwrap_or(0),
            lower: options.lower.map(|b| b.to_vec()),
            lower_exclusive: options.lower_exclusive.unwrap_or(false),
            upper: options.upper.map(|b| b.to_vec()),
            upper_inclusive: options.upper_inclusive.unwrap_or(false),
            reverse: options.reverse.unwrap_or(false),
        };
        NativeCursor {
            inner: self.inner.cursor(o),
        }
    }
}

/// `CursorOptions` of ts/core/core.ts.
#[napi(object)]
pub struct JsCursorOptions {
    pub snapshot_seq: f64,
    pub lower: Option<Buffer>,
    pub lower_exclusive: Option<bool>,
    pub upper: Option<Buffer>,
    pub upper_inclusive: Option<bool>,
    pub reverse: Option<bool>,
}

/// Packs a chunk as `count u32 ‖ done u32 ‖ (klen u32 ‖ vlen u32 ‖ key ‖
/// value)*`, all little-endian: one buffer per chunk, which TypeScript splits
/// into views without copying. Each byte is copied once, from the block or
/// memtable into this buffer.
struct Packer {
    buf: Vec<u8>,
    count: u32,
}

impl ChunkSink for Packer {
    fn push(&mut self, key: &[u8], value: &[u8]) {
        self.buf.reserve(8 + key.len() + value.len());
        self.buf
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.buf
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(key);
        self.buf.extend_from_slice(value);
        self.count += 1;
    }
}

#[napi]
pub struct NativeCursor {
    inner: Cursor,
}

#[napi]
impl NativeCursor {
    /// Repositions: the next chunk starts at the first key ≥ `userKey` (≤ when reverse).
    #[napi(catch_unwind)]
    pub fn seek(&mut self, user_key: &[u8]) {
        self.inner.seek(user_key);
    }

    /// Up to `maxEntries` entries (fewer once `maxBytes` of keys and values is
    /// reached), packed (see `Packer`).
    #[napi(catch_unwind)]
    pub fn next_chunk(&mut self, max_entries: f64, max_bytes: Option<f64>) -> napi::Result<Buffer> {
        let mut p = Packer {
            buf: Vec::with_capacity(4096),
            count: 0,
        };
        p.buf.extend_from_slice(&[0u8; 8]);
        let max_bytes = max_bytes.map_or(usize::MAX, limit);
        let done = self
            .inner
            .next_chunk(limit(max_entries), max_bytes, &mut p)
            .map_err(to_js)?;
        p.buf[..4].copy_from_slice(&p.count.to_le_bytes());
        p.buf[4..8].copy_from_slice(&u32::from(done).to_le_bytes());
        Ok(p.buf.into())
    }
}
