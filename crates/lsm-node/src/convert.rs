//! Conversions between JS values and core types: numbers that carry
//! sequence numbers and limits, table options and properties, errors.
//!
//! JS numbers are `f64`. Sequence numbers stay below 2^45 and sizes below
//! 2^53, so they convert exactly; the helpers below only decide what NaN,
//! negatives, fractions and infinities mean, mirroring what the TypeScript
//! core's comparisons would do with them.

use napi::bindgen_prelude::{Buffer, Uint8ArraySlice};
use napi_derive::napi;

use lsm_core::key::{Kind, MAX_SEQUENCE};
use lsm_core::table::{Compression, Properties, TableOptions};

/// A core error as a JS exception whose message starts with the core's code
/// (`CORRUPTION: …`, `INVALID_ARGUMENT: …`, `IO_ERROR: …`).
pub fn to_js(e: lsm_core::Error) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

/// An `INVALID_ARGUMENT` exception for a bad JS argument.
pub fn invalid(msg: impl std::fmt::Display) -> napi::Error {
    napi::Error::from_reason(format!("INVALID_ARGUMENT: {msg}"))
}

/// A panic payload as an exception: a Rust bug must surface as a JS error,
/// never abort Node.
pub fn panic_error(payload: Box<dyn std::any::Any + Send>) -> napi::Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    napi::Error::from_reason(format!(
        "IO_ERROR: internal error in the native core: {what}"
    ))
}

/// A read snapshot: `None` when nothing can be visible (NaN or negative, as
/// `seq <= snapshot` is then false for every entry); clamped to the largest
/// sequence; fractions round down (`seq <= 4.5` iff `seq <= 4`).
pub fn snapshot(s: f64) -> Option<u64> {
    if s.is_nan() || s < 0.0 {
        None
    } else if s >= MAX_SEQUENCE as f64 {
        Some(MAX_SEQUENCE)
    } else {
        Some(s.floor() as u64)
    }
}

/// A `count < limit` bound for integer counts: `count < x` iff
/// `count < ceil(x)`; NaN and non-positive allow nothing; +∞ allows all.
pub fn limit(x: f64) -> usize {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= usize::MAX as f64 {
        usize::MAX
    } else {
        x.ceil() as usize
    }
}

/// A non-negative integer argument (a size, a count).
pub fn whole(x: f64, what: &str) -> napi::Result<u64> {
    if x >= 0.0 && x.fract() == 0.0 && x <= 9_007_199_254_740_991.0 {
        Ok(x as u64)
    } else {
        Err(invalid(format!(
            "{what} must be a non-negative integer, got {x}"
        )))
    }
}

/// Options for writing a table (see `TableOptions` in ts/core/core.ts).
#[napi(object)]
pub struct JsTableOptions {
    pub block_size: Option<f64>,
    pub restart_interval: Option<f64>,
    pub bits_per_key: Option<f64>,
    /// `"snappy"` (the default) or `"none"`.
    pub compression: Option<String>,
}

/// Fills in defaults and checks ranges.
pub fn table_options(o: Option<JsTableOptions>) -> napi::Result<TableOptions> {
    let mut t = TableOptions::default();
    if let Some(o) = o {
        if let Some(v) = o.block_size {
            t.block_size = whole(v, "blockSize")? as usize;
        }
        if let Some(v) = o.restart_interval {
            t.restart_interval = whole(v, "restartInterval")? as usize;
        }
        if let Some(v) = o.bits_per_key {
            t.bits_per_key = u32::try_from(whole(v, "bitsPerKey")?).unwrap_or(u32::MAX);
        }
        if let Some(c) = &o.compression {
            t.compression = Compression::parse(c).map_err(to_js)?;
        }
    }
    t.validate().map_err(to_js)?;
    Ok(t)
}

/// Table properties as JS sees them (`TableProperties` in ts/core/ts/sst.ts).
#[napi(object)]
pub struct JsProperties {
    pub entry_count: f64,
    pub deletion_count: f64,
    pub data_block_count: f64,
    pub raw_key_bytes: f64,
    pub raw_value_bytes: f64,
    pub data_bytes: f64,
    pub min_seq: f64,
    pub max_seq: f64,
    pub smallest: Buffer,
    pub largest: Buffer,
}

pub fn properties(p: &Properties) -> JsProperties {
    JsProperties {
        entry_count: p.entry_count as f64,
        deletion_count: p.deletion_count as f64,
        data_block_count: p.data_block_count as f64,
        raw_key_bytes: p.raw_key_bytes as f64,
        raw_value_bytes: p.raw_value_bytes as f64,
        data_bytes: p.data_bytes as f64,
        min_seq: p.min_seq as f64,
        max_seq: p.max_seq as f64,
        smallest: p.smallest.clone().into(),
        largest: p.largest.clone().into(),
    }
}

/// Writes a point-read answer into the caller's buffer `out` as
/// `fixed64(seq × 256 + kind) ‖ value` and returns its length, or, when `out`
/// is too small, minus the length needed (always < −1; the caller makes room
/// and asks again). Callers return −1 when nothing was found.
///
/// Why not return a fresh buffer: creating a Node `Buffer` (or any
/// `ArrayBuffer`) per read costs about a microsecond, more than the read
/// itself. The TypeScript side passes a slab it carves values out of (views,
/// as Node's own Buffer pool does), so a read allocates no backing memory and
/// copies the value once, from the memtable or block into the slab.
fn write_entry(out: &mut [u8], seq: u64, kind: Kind, value: &[u8]) -> f64 {
    let needed = 8 + value.len();
    if out.len() < needed {
        return -(needed as f64);
    }
    out[..8].copy_from_slice(&((seq << 8) | kind as u64).to_le_bytes());
    out[8..needed].copy_from_slice(value);
    needed as f64
}

/// `out[offset..]` as a writable slice for the length of one call. Nothing
/// else the call reads from JS memory (the key, scan bounds) may lie in
/// `out`: callers copy such input first, or refuse it.
pub fn scratch<'a>(out: &'a mut Uint8ArraySlice<'_>, offset: f64) -> napi::Result<&'a mut [u8]> {
    let start = out_start(out.len(), offset)?;
    // SAFETY: `as_mut` is unsafe because JS could change the typed array's
    // memory behind Rust's back. It cannot here: the call is synchronous, so
    // no JS runs (nothing can write, detach or resize the buffer) until we
    // return, and the returned borrow ends with the call. The only other
    // Rust references into JS memory the call uses are its inputs (a key,
    // scan bounds), which the caller has checked (or copied) not to overlap
    // it, so this `&mut` aliases nothing.
    let all = unsafe { out.as_mut() };
    Ok(&mut all[start..])
}

/// The answer for "no visible version".
pub const NOT_FOUND: f64 = -1.0;

/// Where a point read hands the entry it found: `write_entry` into the output.
pub type Visit<'a> = &'a mut dyn FnMut(u64, Kind, &[u8]) -> f64;

/// The frame every point read shares: `out[out_offset..]` made writable, the
/// snapshot mapped (nothing is visible at a NaN or negative one), then
/// `read(key, snapshot, visit)`, which looks the key up and hands the entry it
/// finds to `visit` (written into the output, see [`write_entry`]); its `None`
/// is [`NOT_FOUND`]. A key that lies in `out` itself (a value a previous read
/// handed out, read back as a key) is copied first: JS need not check for
/// that on every read.
pub fn point_read(
    out: &mut Uint8ArraySlice<'_>,
    out_offset: f64,
    user_key: &[u8],
    snapshot_seq: f64,
    read: impl FnOnce(&[u8], u64, Visit<'_>) -> napi::Result<Option<f64>>,
) -> napi::Result<f64> {
    let copied: Option<Vec<u8>> = overlap(
        (out.as_ptr(), out.len()),
        (user_key.as_ptr(), user_key.len()),
    )
    .then(|| user_key.to_vec());
    let key: &[u8] = copied.as_deref().unwrap_or(user_key);
    let out = scratch(out, out_offset)?;
    point_read_at(out, key, snapshot_seq, read)
}

/// [`point_read`] once `out` (from the offset on) is writable and the key
/// lies outside it.
pub fn point_read_at(
    out: &mut [u8],
    key: &[u8],
    snapshot_seq: f64,
    read: impl FnOnce(&[u8], u64, Visit<'_>) -> napi::Result<Option<f64>>,
) -> napi::Result<f64> {
    let Some(snap) = snapshot(snapshot_seq) else {
        return Ok(NOT_FOUND);
    };
    let mut visit = |seq: u64, kind: Kind, value: &[u8]| write_entry(out, seq, kind, value);
    Ok(read(key, snap, &mut visit)?.unwrap_or(NOT_FOUND))
}

/// Whether two non-empty byte ranges, each a start and a length, share a byte.
pub fn overlap(a: (*const u8, usize), b: (*const u8, usize)) -> bool {
    let (a0, b0) = (a.0 as usize, b.0 as usize);
    a.1 > 0 && b.1 > 0 && a0 < b0.saturating_add(b.1) && b0 < a0.saturating_add(a.1)
}

/// Where `out[offset..]` starts, checked like [`scratch`] does.
pub fn out_start(len: usize, offset: f64) -> napi::Result<usize> {
    usize::try_from(whole(offset, "outOffset")?)
        .ok()
        .filter(|&s| s <= len)
        .ok_or_else(|| invalid(format!("outOffset {offset} lies outside the output buffer")))
}
