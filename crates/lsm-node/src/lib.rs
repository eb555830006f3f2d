//! N-API bindings for `lsm-core`. Thin by design: argument conversion and
//! error mapping only; every byte of engine logic lives in `lsm-core`, where
//! it is tested without Node.
//!
//! Boundary rules (docs/GUIDE): one crossing per write group
//! (`NativeMemtable.apply`), per point read (`get` on a memtable, table or
//! read view), per iterator chunk (`NativeCursor.nextChunk`); flush and
//! compaction run on their own thread and settle a promise.
//!
//! Errors: a core error becomes a JS `Error` whose message starts with the core
//! code (`INVALID_ARGUMENT: …`, `CORRUPTION: <file>: …`, `IO_ERROR: …`), which
//! the TypeScript side maps to its own error codes. Every export is compiled
//! with `catch_unwind`, so a Rust panic surfaces as a JS exception instead of
//! aborting the Node process.

mod convert;
mod jobs;
mod memtable;
mod raw;
mod settle;
mod table;
mod view;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use convert::to_js;

/// Version of the Rust core (the `lsm-core` crate).
#[napi(catch_unwind)]
pub fn core_version() -> String {
    lsm_core::VERSION.to_string()
}

/// CRC-32C of `data`. With `init`, continues a previous result:
/// `crc32c(b, crc32c(a)) === crc32c(a ‖ b)`.
#[napi(catch_unwind, js_name = "crc32c")]
pub fn crc32c(data: &[u8], init: Option<u32>) -> u32 {
    match init {
        Some(crc) => lsm_core::checksum::crc32c_extend(crc, data),
        None => lsm_core::checksum::crc32c(data),
    }
}

/// The checksum masking of FORMAT.md §1.1.
#[napi(catch_unwind)]
pub fn mask_crc(crc: u32) -> u32 {
    lsm_core::checksum::mask(crc)
}

/// Inverse of `maskCrc`.
#[napi(catch_unwind)]
pub fn unmask_crc(masked: u32) -> u32 {
    lsm_core::checksum::unmask(masked)
}

/// A bloom filter (FORMAT.md §4.3) over the distinct keys among `keys`.
/// `bitsPerKey` must be in 1..64.
#[napi(catch_unwind)]
pub fn bloom_build(keys: Vec<Buffer>, bits_per_key: u32) -> napi::Result<Buffer> {
    let slices: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    lsm_core::bloom::build_filter(&slices, bits_per_key)
        .map(Buffer::from)
        .map_err(to_js)
}

/// False only when `key` is certainly absent from the set `filter` was built from.
#[napi(catch_unwind)]
pub fn bloom_may_contain(filter: &[u8], key: &[u8]) -> bool {
    lsm_core::bloom::may_contain(filter, key)
}

/// Block compression type 1 (FORMAT.md §4.1): `data` in the Snappy raw format,
/// exactly as the table builder stores a compressed block. For checking that
/// both engines compress alike.
#[napi(catch_unwind)]
pub fn snappy_compress(data: &[u8]) -> napi::Result<Buffer> {
    if data.len() > lsm_core::snappy::MAX_DECOMPRESSED_LEN {
        return Err(to_js(lsm_core::Error::invalid(format!(
            "snappy input of {} bytes is too large",
            data.len()
        ))));
    }
    let mut out = Vec::new();
    lsm_core::snappy::compress(data, &mut out);
    Ok(Buffer::from(out))
}

/// Inverse of `snappyCompress`; malformed input is `CORRUPTION`.
#[napi(catch_unwind)]
pub fn snappy_decompress(data: &[u8]) -> napi::Result<Buffer> {
    lsm_core::snappy::decompress(data)
        .map(Buffer::from)
        .map_err(to_js)
}

/// Test hook: panics with `message` inside an export, so that tests can prove
/// a Rust panic reaches JavaScript as an exception and the process lives on.
/// Does nothing else; no engine code calls it.
#[napi(catch_unwind)]
pub fn test_panic(message: String) -> napi::Result<()> {
    panic!("{message}");
}
