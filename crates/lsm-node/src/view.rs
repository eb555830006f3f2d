//! `NativeReadView` and `NativeCursor`: reads across memtables and tables in
//! one call each — a point read is one crossing, a scan one per chunk.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{
    AsyncTask, Buffer, BufferSlice, ClassInstance, External, Float64Array, Uint8Array,
    Uint8ArraySlice,
};
use napi::{Env, Task};
use napi_derive::napi;

use lsm_core::view::{ChunkSink, Cursor, CursorOptions, ReadView};

use crate::convert::{invalid, limit, overlap, panic_error, point_read, scratch, snapshot, to_js};
use crate::memtable::NativeMemtable;
use crate::table::NativeTable;

/// The read view shared by a `NativeReadView` and the `External` handed to
/// `readViewGet` (JS-thread only, like the class itself). The view itself is
/// behind an `Arc` so a batch read on a pool thread can hold it.
pub(crate) type SharedView = Rc<RefCell<Arc<ReadView>>>;

#[napi]
pub struct NativeReadView {
    inner: SharedView,
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
        let memtables = memtables
            .iter()
            .map(|m| m.mem().cloned())
            .collect::<napi::Result<Vec<_>>>()?;
        let levels = levels
            .iter()
            .map(|level| level.iter().map(|t| t.table().cloned()).collect())
            .collect::<napi::Result<Vec<_>>>()?;
        let inner = ReadView::new(memtables, levels).map_err(to_js)?;
        Ok(NativeReadView {
            inner: Rc::new(RefCell::new(Arc::new(inner))),
        })
    }

    /// Lets go of the memtables and tables now instead of when the garbage
    /// collector frees this object: a table closed meanwhile is unmapped (or
    /// its descriptor closed) at once. Cursors made earlier keep their own
    /// references. Reads after this see an empty view.
    #[napi(catch_unwind)]
    pub fn release(&mut self) -> napi::Result<()> {
        *self.inner.borrow_mut() = Arc::new(ReadView::new(Vec::new(), Vec::new()).map_err(to_js)?);
        Ok(())
    }

    /// The view as an `External` for `readViewGet`: a point read through a
    /// free function skips napi-rs's per-call bookkeeping for `&self` (class
    /// identity check, borrow registration), ~5% of a read that misses.
    #[napi(getter, ts_return_type = "ExternalObject<unknown>")]
    pub fn reader(&self) -> External<SharedView> {
        External::new(Rc::clone(&self.inner))
    }

    #[napi(catch_unwind)]
    pub fn cursor(&self, options: JsCursorOptions) -> NativeCursor {
        NativeCursor {
            inner: Some(
                self.inner
                    .borrow()
                    .cursor(cursor_options((&options).into())),
            ),
            buf: Vec::new(),
        }
    }

    /// The first chunk of a cursor with `options`, packed like
    /// `NativeCursor.nextChunk`, without keeping the cursor: a short
    /// iteration (an iterator with a small `limit`) costs one call and no
    /// N-API object.
    #[napi(catch_unwind, ts_return_type = "Buffer")]
    pub fn scan<'env>(
        &self,
        env: &'env Env,
        options: JsCursorOptions,
        max_entries: f64,
        max_bytes: Option<f64>,
    ) -> napi::Result<BufferSlice<'env>> {
        let mut cursor = self
            .inner
            .borrow()
            .cursor(cursor_options((&options).into()));
        let (out, _) = pack_chunk(env, &mut cursor, Vec::new(), max_entries, max_bytes);
        out
    }
}

/// Newest version of `userKey` with sequence ≤ `snapshotSeq` across all the
/// sources of the view behind `reader` (`NativeReadView.reader`), written
/// into `out` at `outOffset` like `NativeMemtable.get`. A free function, not
/// a method: see `NativeReadView.reader`.
#[napi(catch_unwind)]
pub fn read_view_get(
    #[napi(ts_arg_type = "ExternalObject<unknown>")] reader: &External<SharedView>,
    user_key: &[u8],
    snapshot_seq: f64,
    mut out: Uint8ArraySlice,
    out_offset: f64,
) -> napi::Result<f64> {
    let view = reader.borrow();
    point_read(
        &mut out,
        out_offset,
        user_key,
        snapshot_seq,
        |key, snap, visit| view.get_with(key, snap, visit).map_err(to_js),
    )
}

/// `readViewScan` flags: which bounds are given and how they apply.
const SCAN_LOWER: u32 = 1;
const SCAN_LOWER_EXCLUSIVE: u32 = 2;
const SCAN_UPPER: u32 = 4;
const SCAN_UPPER_INCLUSIVE: u32 = 8;
const SCAN_REVERSE: u32 = 16;

thread_local! {
    /// Staging area of [`read_view_scan`] (JS thread only), kept between calls.
    static SCAN_STAGING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `NativeReadView.scan` through the view's `reader`, with the options as
/// plain arguments and the chunk written into `out` (a buffer the caller
/// keeps) rather than into a new Buffer: a seek that reads a few entries
/// then costs no N-API object, no property lookups and no native allocation
/// handed to V8. `flags`: 1 `lower` is given, 2 it is exclusive, 4 `upper`
/// is given, 8 it is inclusive, 16 reverse; a bound not given is ignored
/// (pass an empty array). Returns the packed length (`count u32 ‖ done u32 ‖
/// (klen u32 ‖ vlen u32 ‖ key ‖ value)*`), or minus the length the chunk
/// needs when `out` is too small (nothing written; ask again with room).
#[napi(catch_unwind)]
#[allow(clippy::too_many_arguments)]
pub fn read_view_scan(
    #[napi(ts_arg_type = "ExternalObject<unknown>")] reader: &External<SharedView>,
    snapshot_seq: f64,
    flags: u32,
    lower: &[u8],
    upper: &[u8],
    max_entries: f64,
    max_bytes: f64,
    mut out: Uint8ArraySlice,
) -> napi::Result<f64> {
    let o = (out.as_ptr(), out.len());
    if overlap(o, (lower.as_ptr(), lower.len())) || overlap(o, (upper.as_ptr(), upper.len())) {
        return Err(invalid("out must not overlap the bounds"));
    }
    let options = cursor_options(JsCursorBounds {
        snapshot_seq,
        lower: (flags & SCAN_LOWER != 0).then_some(lower),
        lower_exclusive: flags & SCAN_LOWER_EXCLUSIVE != 0,
        upper: (flags & SCAN_UPPER != 0).then_some(upper),
        upper_inclusive: flags & SCAN_UPPER_INCLUSIVE != 0,
        reverse: flags & SCAN_REVERSE != 0,
    });
    let mut cursor = reader.borrow().cursor(options);
    SCAN_STAGING.with(|staging| {
        let buf = std::mem::take(&mut *staging.borrow_mut());
        let (packed, buf) = pack(&mut cursor, buf, max_entries, limit(max_bytes));
        let result = packed.and_then(|()| {
            if buf.len() <= out.len() {
                // `out` overlaps neither bound (checked above).
                scratch(&mut out, 0.0)?[..buf.len()].copy_from_slice(&buf);
                Ok(buf.len() as f64)
            } else {
                Ok(-(buf.len() as f64))
            }
        });
        if buf.capacity() <= SCRATCH_KEEP {
            *staging.borrow_mut() = buf;
        }
        result
    })
}

/// Point reads of many keys on a libuv pool thread. `keys` holds the user
/// keys back to back, key `i` ending at `ends[i]`; `seqs[i]` is its snapshot.
/// Resolves to a Buffer of one record per key, in order: an `i32` (LE) `n`,
/// then `n` bytes when `n >= 0` (the entry as `readViewGet` writes it:
/// `fixed64(seq × 256 + kind) ‖ value`); `-1` for no visible version; `-2`
/// followed by a `u32` length and that many bytes of UTF-8 error message
/// (the read of that key failed, e.g. a corrupt block; the others stand).
/// The task holds the view, so a `release` meanwhile does not disturb it;
/// the caller keeps the files the view reads from (its read state pinned)
/// until the promise settles.
#[napi(catch_unwind, ts_return_type = "Promise<Buffer>")]
pub fn read_view_get_batch(
    #[napi(ts_arg_type = "ExternalObject<unknown>")] reader: &External<SharedView>,
    keys: Uint8Array,
    ends: Float64Array,
    seqs: Float64Array,
) -> napi::Result<AsyncTask<GetBatchTask>> {
    if ends.len() != seqs.len() {
        return Err(invalid("ends and seqs differ in length"));
    }
    let mut bounds = Vec::with_capacity(ends.len());
    let mut start = 0usize;
    for (&end, &seq) in ends.iter().zip(seqs.iter()) {
        let end = usize::try_from(crate::convert::whole(end, "key end")?)
            .ok()
            .filter(|&e| e >= start && e <= keys.len())
            .ok_or_else(|| invalid(format!("key end {end} lies outside the keys")))?;
        bounds.push((start, end, snapshot(seq)));
        start = end;
    }
    Ok(AsyncTask::new(GetBatchTask {
        view: Arc::clone(&reader.borrow()),
        keys,
        bounds,
    }))
}

/// The work of [`read_view_get_batch`]; holds the keys' JS bytes until it settles.
pub struct GetBatchTask {
    view: Arc<ReadView>,
    keys: Uint8Array,
    /// Per key: its byte range in `keys` and its snapshot (`None`: nothing visible).
    bounds: Vec<(usize, usize, Option<u64>)>,
}

impl GetBatchTask {
    fn read_all(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bounds.len() * 128);
        for &(start, end, snap) in &self.bounds {
            let key = &self.keys[start..end];
            let at = out.len();
            out.extend_from_slice(&(-1i32).to_le_bytes());
            let Some(snap) = snap else { continue };
            let found = self.view.get_with(key, snap, |seq, kind, value| {
                out.extend_from_slice(&((seq << 8) | kind as u64).to_le_bytes());
                out.extend_from_slice(value);
            });
            match found {
                Ok(None) => {}
                Ok(Some(())) => {
                    let n = i32::try_from(out.len() - at - 4).unwrap_or(i32::MAX);
                    out[at..at + 4].copy_from_slice(&n.to_le_bytes());
                }
                Err(e) => {
                    out.truncate(at);
                    let msg = e.to_string();
                    out.extend_from_slice(&(-2i32).to_le_bytes());
                    out.extend_from_slice(&(msg.len() as u32).to_le_bytes());
                    out.extend_from_slice(msg.as_bytes());
                }
            }
        }
        out
    }
}

impl Task for GetBatchTask {
    type Output = Vec<u8>;
    type JsValue = Buffer;

    fn compute(&mut self) -> napi::Result<Vec<u8>> {
        // A panic must reject the promise, not unwind into libuv.
        catch_unwind(AssertUnwindSafe(|| self.read_all())).map_err(panic_error)
    }

    fn resolve(&mut self, _env: Env, output: Vec<u8>) -> napi::Result<Buffer> {
        Ok(output.into())
    }
}

/// The core's cursor options from their JS form.
fn cursor_options(options: JsCursorBounds<'_>) -> CursorOptions {
    let Some(snap) = snapshot(options.snapshot_seq) else {
        // Nothing is visible at a NaN or negative snapshot. Snapshot 0 would
        // not do: the bottom level holds entries with sequence 0
        // (FORMAT.md §2.1); an empty key range (keys < "") does.
        return CursorOptions {
            snapshot: 0,
            lower: None,
            lower_exclusive: false,
            upper: Some(Vec::new()),
            upper_inclusive: false,
            reverse: options.reverse,
        };
    };
    CursorOptions {
        snapshot: snap,
        lower: options.lower.map(<[u8]>::to_vec),
        lower_exclusive: options.lower_exclusive,
        upper: options.upper.map(<[u8]>::to_vec),
        upper_inclusive: options.upper_inclusive,
        reverse: options.reverse,
    }
}

/// Cursor options with borrowed bounds, from either calling convention.
struct JsCursorBounds<'a> {
    snapshot_seq: f64,
    lower: Option<&'a [u8]>,
    lower_exclusive: bool,
    upper: Option<&'a [u8]>,
    upper_inclusive: bool,
    reverse: bool,
}

impl<'a> From<&'a JsCursorOptions> for JsCursorBounds<'a> {
    fn from(o: &'a JsCursorOptions) -> Self {
        JsCursorBounds {
            snapshot_seq: o.snapshot_seq,
            lower: o.lower.as_deref(),
            lower_exclusive: o.lower_exclusive.unwrap_or(false),
            upper: o.upper.as_deref(),
            upper_inclusive: o.upper_inclusive.unwrap_or(false),
            reverse: o.reverse.unwrap_or(false),
        }
    }
}

/// Packs the next chunk of `cursor` (see `Packer`) into `buf` (cleared
/// first) and hands `buf` back, also on error.
fn pack(
    cursor: &mut Cursor,
    mut buf: Vec<u8>,
    max_entries: f64,
    max_bytes: usize,
) -> (napi::Result<()>, Vec<u8>) {
    buf.clear();
    buf.extend_from_slice(&[0u8; 8]);
    let mut p = Packer { buf, count: 0 };
    let done = cursor
        .next_chunk(limit(max_entries), max_bytes, &mut p)
        .map_err(to_js);
    let Packer { mut buf, count } = p;
    let done = match done {
        Ok(d) => d,
        Err(e) => return (Err(e), buf),
    };
    buf[..4].copy_from_slice(&count.to_le_bytes());
    buf[4..8].copy_from_slice(&u32::from(done).to_le_bytes());
    (Ok(()), buf)
}

/// Packs the next chunk of `cursor` (see `Packer`) into a buffer V8 owns,
/// using `scratch` as the staging area; hands the scratch back for reuse.
fn pack_chunk<'env>(
    env: &'env Env,
    cursor: &mut Cursor,
    buf: Vec<u8>,
    max_entries: f64,
    max_bytes: Option<f64>,
) -> (napi::Result<BufferSlice<'env>>, Vec<u8>) {
    let (packed, buf) = pack(
        cursor,
        buf,
        max_entries,
        max_bytes.map_or(usize::MAX, limit),
    );
    match packed {
        Ok(()) => (BufferSlice::copy_from(env, &buf), buf),
        Err(e) => (Err(e), buf),
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

/// A chunked cursor over a read view.
///
/// Memory: a cursor pins its sources (memtables, tables) and the data block
/// each of its table iterators stands on — easily tens of KiB. Node runs the
/// finalizers of N-API objects (and the free callbacks of external buffers)
/// only when its event loop turns, not during garbage collection, so a
/// program that opens iterators in a loop of resolved promises never frees
/// them while the loop runs (the seekrandom benchmark reached 4.9 GB). Hence:
/// - `close()` frees everything at once; the engine calls it when an iterator
///   is closed or exhausted, leaving only this small shell to the finalizer;
/// - a chunk is returned as a buffer V8 allocates and frees itself (a copy of
///   a scratch buffer kept here), never as an external buffer over a Rust `Vec`.
#[napi]
pub struct NativeCursor {
    /// `None` once closed.
    inner: Option<Cursor>,
    /// Scratch for packing chunks, reused across calls.
    buf: Vec<u8>,
}

impl NativeCursor {
    fn cursor(&mut self) -> napi::Result<&mut Cursor> {
        self.inner
            .as_mut()
            .ok_or_else(|| invalid("the cursor is closed"))
    }
}

#[napi]
impl NativeCursor {
    /// Repositions: the next chunk starts at the first key ≥ `userKey` (≤ when reverse).
    #[napi(catch_unwind)]
    pub fn seek(&mut self, user_key: &[u8]) -> napi::Result<()> {
        self.cursor()?.seek(user_key);
        Ok(())
    }

    /// Up to `maxEntries` entries (fewer once `maxBytes` of keys and values is
    /// reached), packed (see `Packer`).
    #[napi(catch_unwind, ts_return_type = "Buffer")]
    pub fn next_chunk<'env>(
        &mut self,
        env: &'env Env,
        max_entries: f64,
        max_bytes: Option<f64>,
    ) -> napi::Result<BufferSlice<'env>> {
        let buf = std::mem::take(&mut self.buf);
        let cursor = self
            .inner
            .as_mut()
            .ok_or_else(|| invalid("the cursor is closed"))?;
        let (out, buf) = pack_chunk(env, cursor, buf, max_entries, max_bytes);
        // Keep a modest scratch buffer; a huge chunk's memory goes back at once.
        if buf.capacity() <= SCRATCH_KEEP {
            self.buf = buf;
        }
        out
    }

    /// Frees the cursor's state (iterators, pinned blocks and sources) now
    /// rather than when the JS object is finalized. Later calls throw; closing
    /// again does nothing.
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.inner = None;
        self.buf = Vec::new();
    }
}

/// Largest scratch buffer a cursor keeps between chunks.
const SCRATCH_KEEP: usize = 256 << 10;
