//! Block compression type 1 (`docs/FORMAT.md` §4.1): the Snappy *raw* format
//! (no framing, no checksums), written from the format description.
//!
//! # Format (what the decoder accepts)
//!
//! `varint32 n` (the uncompressed length), then elements until the input ends.
//! Each element starts with a tag byte; its low two bits give the kind:
//!
//! - `00` literal: `(tag >> 2) < 60` means a length of `(tag >> 2) + 1`;
//!   60, 61, 62, 63 mean that 1, 2, 3 or 4 little-endian bytes follow holding
//!   `length − 1`. Then `length` raw bytes.
//! - `01` copy, 1-byte offset: length `4 + ((tag >> 2) & 7)`, offset
//!   `((tag >> 5) << 8) | next byte` (0..2047).
//! - `10` copy, 2-byte offset: length `(tag >> 2) + 1`, offset = next 2 bytes LE.
//! - `11` copy, 4-byte offset: length `(tag >> 2) + 1`, offset = next 4 bytes LE.
//!
//! A copy repeats `length` bytes starting `offset` bytes back in the output;
//! `offset < length` (an overlapping copy) repeats a pattern.
//!
//! The decoder is strict: a bad preamble varint, a declared length above
//! [`MAX_DECOMPRESSED_LEN`] or above what the input could possibly expand to,
//! a truncated element, a copy with offset 0 or reaching before the start of
//! the output, and output longer or shorter than declared are all
//! [`Error::Corruption`]. It never allocates more than the declared length.
//!
//! # The compressor (must stay byte-identical to `ts/core/ts/snappy.ts`)
//!
//! Both engines write the same table bytes, so the compressor is one fixed,
//! deterministic algorithm — a greedy LZ77 with a hash table of last positions:
//!
//! 1. Write `varint32 n`. If `n < 4` the rest is one literal (none if `n = 0`).
//! 2. Table size `2^bits` with `bits` = smallest `b` in `8..=14` such that
//!    `2^b ≥ n` (14 when none); all entries start at 0.
//! 3. `ip = 0`, `lit = 0` (start of pending literal bytes), `skip = 32`.
//!    While `ip + 4 ≤ n`:
//!    - `v` = the 4 bytes at `ip` as a little-endian u32;
//!      `h = (v × 0x1E35A7BD mod 2^32) >> (32 − bits)`;
//!      `c = table[h]`; `table[h] = ip`.
//!    - If `c < ip`, `ip − c ≤ 65535` and the 4 bytes at `c` equal those at
//!      `ip`: extend the match to `len` = the number of equal bytes at `c + i`
//!      and `ip + i` (i from 0, stopping at the first difference or the end of
//!      input); emit the literal `[lit, ip)` if non-empty; emit the copy
//!      (`ip − c`, `len`); `ip += len`; `lit = ip`; `skip = 32`.
//!    - Otherwise `ip += skip >> 5; skip += 1` (after 32 misses in a row the
//!      scan steps 2 bytes, after 64 more 3, ...: incompressible input is
//!      skipped quickly).
//! 4. Emit the literal `[lit, n)` if non-empty.
//!
//! A literal of length `L` is one element using the shortest length encoding.
//! A copy (`off ≤ 65535`, `len ≥ 4`) is emitted as: while `len ≥ 68`, a
//! 2-byte-offset copy of 64 (`len −= 64`); then if `len > 64`, a 2-byte-offset
//! copy of 60 (`len −= 60`); then the rest (4..64): a 1-byte-offset copy when
//! `len ≤ 11` and `off < 2048`, else a 2-byte-offset copy. The compressor never
//! writes 4-byte-offset copies (the decoder accepts them).

use std::mem::MaybeUninit;

use crate::coding::{get_varint32, put_varint32};
use crate::error::{Error, Result};

/// Largest uncompressed length the decoder accepts (1 GiB + 1 MiB): far above
/// any data block, low enough that a damaged preamble cannot make a reader
/// allocate without bound. The table builder never compresses a block larger
/// than this.
pub const MAX_DECOMPRESSED_LEN: usize = (1 << 30) + (1 << 20);

/// Most output one input byte can stand for: a 3-byte copy of 64 bytes.
const MAX_EXPANSION_NUM: usize = 64;
const MAX_EXPANSION_DEN: usize = 3;

const MIN_TABLE_BITS: u32 = 8;
const MAX_TABLE_BITS: u32 = 14;
const HASH_MUL: u32 = 0x1E35_A7BD;
const MAX_OFFSET: usize = 65_535;

/// An upper bound on the compressed size of `n` input bytes.
pub fn max_compressed_len(n: usize) -> usize {
    32 + n + n / 6
}

fn emit_literal(out: &mut Vec<u8>, lit: &[u8]) {
    let l = lit.len() - 1;
    if l < 60 {
        out.push((l as u8) << 2);
    } else if l < 1 << 8 {
        out.extend_from_slice(&[60 << 2, l as u8]);
    } else if l < 1 << 16 {
        out.extend_from_slice(&[61 << 2, l as u8, (l >> 8) as u8]);
    } else if l < 1 << 24 {
        out.extend_from_slice(&[62 << 2, l as u8, (l >> 8) as u8, (l >> 16) as u8]);
    } else {
        out.extend_from_slice(&[
            63 << 2,
            l as u8,
            (l >> 8) as u8,
            (l >> 16) as u8,
            (l >> 24) as u8,
        ]);
    }
    out.extend_from_slice(lit);
}

/// Appends the compressed form of `input` to `out` (the algorithm in the
/// module docs). `input` must be shorter than 2^32 bytes.
pub fn compress(input: &[u8], out: &mut Vec<u8>) {
    let n = input.len();
    assert!(
        u32::try_from(n).is_ok(),
        "snappy input of {n} bytes exceeds 2^32 - 1"
    );
    out.reserve(max_compressed_len(n));
    put_varint32(out, n as u32);
    if n < 4 {
        if n > 0 {
            emit_literal(out, input);
        }
        return;
    }
    let mut bits = MIN_TABLE_BITS;
    while bits < MAX_TABLE_BITS && (1usize << bits) < n {
        bits += 1;
    }
    let shift = 32 - bits;
    if n <= 1 << 16 {
        // Every position fits 16 bits (data blocks): a table of half the
        // size to clear and to keep in the L1 cache.
        with_table(&TABLE16, bits, |table| {
            compress_body(input, out, table, shift)
        });
    } else {
        with_table(&TABLE, bits, |table| {
            compress_body(input, out, table, shift)
        });
    }
}

/// Runs `f` on a thread's table with its first `2^bits` entries zeroed.
fn with_table<T: Slot + Default>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<Box<[T; 1 << MAX_TABLE_BITS]>>>,
    bits: u32,
    f: impl FnOnce(&mut [T; 1 << MAX_TABLE_BITS]),
) {
    key.with(|t| {
        let mut t = t.borrow_mut();
        t[..1 << bits].fill(T::default());
        f(&mut t);
    });
}

thread_local! {
    /// The compressor's hash table, one per thread (a flush or compaction
    /// thread compresses one block after another): only the part a call
    /// uses is cleared, so a small block does not pay for the whole table.
    static TABLE: std::cell::RefCell<Box<[u32; 1 << MAX_TABLE_BITS]>> =
        std::cell::RefCell::new(Box::new([0; 1 << MAX_TABLE_BITS]));
    /// The same for inputs of at most 64 KiB, whose positions fit a `u16`.
    static TABLE16: std::cell::RefCell<Box<[u16; 1 << MAX_TABLE_BITS]>> =
        std::cell::RefCell::new(Box::new([0; 1 << MAX_TABLE_BITS]));
}

/// A hash table entry: a position in the input.
trait Slot: Copy {
    fn get(self) -> usize;
    fn of(pos: usize) -> Self;
}

impl Slot for u32 {
    #[inline(always)]
    fn get(self) -> usize {
        self as usize
    }
    #[inline(always)]
    fn of(pos: usize) -> Self {
        pos as u32
    }
}

impl Slot for u16 {
    #[inline(always)]
    fn get(self) -> usize {
        self as usize
    }
    #[inline(always)]
    fn of(pos: usize) -> Self {
        // Positions stay below 2^16 - 3 where `compress` picks this type
        // (a position is hashed only while it has 4 bytes after it).
        pos as u16
    }
}

/// Steps 3 and 4 of the algorithm; `table[..1 << (32 - shift)]` is zeroed.
///
/// Written with raw pointers: this loop is about a third of a flush's and a
/// compaction's CPU, and bounds and capacity checks cost ~25% of it. The
/// plain form of the same steps is `tests::reference_compress`, and the tests
/// check that both write the same bytes.
fn compress_body<T: Slot>(
    input: &[u8],
    out: &mut Vec<u8>,
    table: &mut [T; 1 << MAX_TABLE_BITS],
    shift: u32,
) {
    let n = input.len();
    debug_assert!(n >= 4);
    // Every element written below fits: `compress` reserved
    // `max_compressed_len(n)` (a literal costs at most 5 bytes more than its
    // length, a copy at most 3 bytes for 4 or more bytes of input).
    assert!(out.capacity() - out.len() >= max_compressed_len(n) - 5);
    let src = input.as_ptr();
    // SAFETY (for every `unsafe` below): reads are of `input[i..i + 4]` or
    // `input[i..i + 8]` with `i + 4 ≤ n` or `i + 8 ≤ n` checked first, and
    // `c < ip` for a candidate; writes go to the spare capacity asserted
    // above, and `set_len` covers exactly the bytes written.
    let load32 =
        |i: usize| -> u32 { unsafe { (src.add(i) as *const u32).read_unaligned().to_le() } };
    let load64 =
        |i: usize| -> u64 { unsafe { (src.add(i) as *const u64).read_unaligned().to_le() } };
    let base = out.len();
    let mut op = unsafe { out.as_mut_ptr().add(base) };
    let mut ip = 0usize;
    let mut lit = 0usize;
    let mut skip = 32usize;
    while ip + 4 <= n {
        let v = load32(ip);
        let h = (v.wrapping_mul(HASH_MUL) >> shift) as usize & ((1 << MAX_TABLE_BITS) - 1);
        let c = table[h].get();
        table[h] = T::of(ip);
        if c < ip && ip - c <= MAX_OFFSET && load32(c) == v {
            // Extend the match 8 bytes at a time, then bytewise.
            let mut len = 4;
            loop {
                if ip + len + 8 <= n {
                    let x = load64(c + len) ^ load64(ip + len);
                    if x != 0 {
                        len += (x.trailing_zeros() / 8) as usize;
                        break;
                    }
                    len += 8;
                } else {
                    while ip + len < n && unsafe { *src.add(c + len) == *src.add(ip + len) } {
                        len += 1;
                    }
                    break;
                }
            }
            if lit < ip {
                op = unsafe { put_literal(op, src.add(lit), ip - lit) };
            }
            op = unsafe { put_copy(op, ip - c, len) };
            ip += len;
            lit = ip;
            skip = 32;
        } else {
            ip += skip >> 5;
            skip += 1;
        }
    }
    if lit < n {
        op = unsafe { put_literal(op, src.add(lit), n - lit) };
    }
    unsafe {
        let written = op.offset_from(out.as_ptr().add(base)) as usize;
        out.set_len(base + written);
    }
}

/// Writes a literal element of `len ≥ 1` bytes from `from` at `op` (the
/// shortest length encoding); returns the position after it.
///
/// # Safety
/// `op` must have room for `len + 5` bytes and `from` must hold `len` bytes.
#[inline(always)]
unsafe fn put_literal(mut op: *mut u8, from: *const u8, len: usize) -> *mut u8 {
    let l = len - 1;
    if l < 60 {
        *op = (l as u8) << 2;
        op = op.add(1);
    } else {
        let extra = if l < 1 << 8 {
            1
        } else if l < 1 << 16 {
            2
        } else if l < 1 << 24 {
            3
        } else {
            4
        };
        *op = (59 + extra as u8) << 2;
        for k in 0..extra {
            *op.add(1 + k) = (l >> (8 * k)) as u8;
        }
        op = op.add(1 + extra);
    }
    std::ptr::copy_nonoverlapping(from, op, len);
    op.add(len)
}

/// Writes the copy elements for (`offset ≤ 65535`, `len ≥ 4`) as the module
/// docs describe; returns the position after them.
///
/// # Safety
/// `op` must have room for `3 × ceil(len / 60)` bytes.
#[inline(always)]
unsafe fn put_copy(mut op: *mut u8, offset: usize, mut len: usize) -> *mut u8 {
    let copy2 = |op: *mut u8, len: usize| {
        *op = (((len - 1) as u8) << 2) | 2;
        *op.add(1) = offset as u8;
        *op.add(2) = (offset >> 8) as u8;
        op.add(3)
    };
    while len >= 68 {
        op = copy2(op, 64);
        len -= 64;
    }
    if len > 64 {
        op = copy2(op, 60);
        len -= 60;
    }
    if len <= 11 && offset < 2048 {
        *op = (((offset >> 8) as u8) << 5) | (((len - 4) as u8) << 2) | 1;
        *op.add(1) = offset as u8;
        op.add(2)
    } else {
        copy2(op, len)
    }
}

/// The declared uncompressed length and where the elements start, after
/// checking it against [`MAX_DECOMPRESSED_LEN`] and against what the rest of
/// the input could expand to.
fn preamble(input: &[u8]) -> Result<(usize, usize)> {
    let (n, used) = get_varint32(input).map_err(|e| e.context("snappy preamble"))?;
    let n = n as usize;
    if n > MAX_DECOMPRESSED_LEN {
        return Err(Error::corruption(format!(
            "snappy length {n} exceeds the limit of {MAX_DECOMPRESSED_LEN}"
        )));
    }
    let rest = input.len() - used;
    if n > rest.saturating_mul(MAX_EXPANSION_NUM) / MAX_EXPANSION_DEN {
        return Err(Error::corruption(format!(
            "snappy length {n} is more than {rest} bytes can encode"
        )));
    }
    Ok((n, used))
}

/// The uncompressed length `input` declares (checked as by [`decompress`],
/// without decoding the elements).
pub fn decompressed_len(input: &[u8]) -> Result<usize> {
    preamble(input).map(|(n, _)| n)
}

/// Decompresses `input` into a new buffer of exactly the declared length.
pub fn decompress(input: &[u8]) -> Result<Vec<u8>> {
    let n = decompressed_len(input)?;
    let mut out = vec![0u8; n];
    decompress_into(input, &mut out)?;
    Ok(out)
}

fn truncated(what: &str) -> Error {
    Error::corruption(format!("snappy {what} is truncated"))
}

fn too_long(op: usize, len: usize, n: usize) -> Error {
    Error::corruption(format!(
        "snappy output of {} bytes exceeds the declared {n}",
        op as u64 + len as u64
    ))
}

/// Decompresses `input` into `out`, whose length must equal the declared
/// uncompressed length ([`decompressed_len`]); every byte of `out` is written.
pub fn decompress_into(input: &[u8], out: &mut [u8]) -> Result<()> {
    // SAFETY: initialized bytes are valid `MaybeUninit<u8>`, and the decoder
    // writes only `u8` values, so `out` stays initialized.
    let out = unsafe { &mut *(out as *mut [u8] as *mut [MaybeUninit<u8>]) };
    decompress_uninit(input, out)
}

/// [`decompress_into`] for memory not yet initialized (a block buffer fresh
/// from the allocator, not zero-filled first). On success every byte of
/// `out` is initialized; on error its contents are unspecified.
pub fn decompress_uninit(input: &[u8], out: &mut [MaybeUninit<u8>]) -> Result<()> {
    let (n, ip) = preamble(input)?;
    if out.len() != n {
        return Err(Error::invalid(format!(
            "snappy output buffer of {} bytes for a declared length of {n}",
            out.len()
        )));
    }
    // SAFETY: `out` is valid for writes of `n` bytes.
    let (_, op) = unsafe { decode(input, ip, out.as_mut_ptr().cast::<u8>(), n, 0, usize::MAX) }?;
    if op != n {
        return Err(Error::corruption(format!(
            "snappy output of {op} bytes is shorter than the declared {n}"
        )));
    }
    Ok(())
}

/// A compressed input decoded a little at a time into memory the caller
/// lends (a point read decodes a data block only as far as the entry it
/// wants: about half of it on average). Bytes below [`PartialDecode::decoded`]
/// are final; the ones above it are unspecified.
pub struct PartialDecode<'a> {
    input: &'a [u8],
    ip: usize,
    out: &'a mut [u8],
    n: usize,
    decoded: usize,
}

impl<'a> PartialDecode<'a> {
    /// Starts decoding `input` into `out`, which must hold at least the
    /// declared length ([`decompressed_len`]); decodes nothing yet.
    pub fn new(input: &'a [u8], out: &'a mut [u8]) -> Result<Self> {
        let (n, ip) = preamble(input)?;
        if out.len() < n {
            return Err(Error::invalid(format!(
                "snappy output buffer of {} bytes for a declared length of {n}",
                out.len()
            )));
        }
        Ok(PartialDecode {
            input,
            ip,
            out,
            n,
            decoded: 0,
        })
    }

    /// The declared uncompressed length.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when the declared length is 0.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Decodes until at least `upto` bytes are final or the input ends, and
    /// returns how many are final (less than `upto` only when the input ends
    /// first). Malformed input is an error, as for [`decompress`].
    pub fn fill(&mut self, upto: usize) -> Result<usize> {
        if self.decoded < upto && self.ip < self.input.len() {
            // SAFETY: `out` is valid for writes of `n` bytes (checked in
            // `new`), and the bytes below `decoded` were written by earlier
            // calls.
            let (ip, op) = unsafe {
                decode(
                    self.input,
                    self.ip,
                    self.out.as_mut_ptr(),
                    self.n,
                    self.decoded,
                    upto,
                )
            }?;
            self.ip = ip;
            self.decoded = op;
        }
        Ok(self.decoded)
    }

    /// The bytes decoded so far.
    pub fn decoded(&self) -> &[u8] {
        &self.out[..self.decoded]
    }
}

/// The element loop of [`decompress_uninit`] and [`PartialDecode`]: decodes
/// `input[ip..]` into the `n` bytes at `dst` from output position `op`,
/// element by element until the output reaches `stop` or the input ends, and
/// returns where input and output stopped. Every check is made before the bytes it guards are
/// touched; bytes of `dst` are read only below the write position, where
/// earlier elements have written them. Elements of up to 16 (or 64) bytes are
/// one fixed 16- (or 64-) byte copy when the output has room, writing up to 63
/// bytes past the element: the elements that follow overwrite them, and a
/// stream that ends before them is an error.
///
/// # Safety
/// `dst` must be valid for writes of `n` bytes, and its first `op` bytes
/// must be initialized (decoded by an earlier call).
unsafe fn decode(
    input: &[u8],
    mut ip: usize,
    dst: *mut u8,
    n: usize,
    mut op: usize,
    stop: usize,
) -> Result<(usize, usize)> {
    /// Elements of up to this many bytes are copied as exactly this many
    /// when both sides have room (the longest copy element is 64 bytes).
    const WIDE: usize = 64;
    let end = input.len();
    let src = input.as_ptr();
    while ip < end && op < stop {
        let tag = input[ip];
        ip += 1;
        let (len, offset) = match tag & 3 {
            0 => {
                let mut len = (tag >> 2) as usize;
                if len >= 60 {
                    let extra = len - 59;
                    let b = input
                        .get(ip..ip + extra)
                        .ok_or_else(|| truncated("literal length"))?;
                    len = b
                        .iter()
                        .rev()
                        .fold(0usize, |acc, &x| (acc << 8) | x as usize);
                    ip += extra;
                }
                // At most 2^32; the comparisons below bound it before any use.
                let len = len.saturating_add(1);
                if len > end - ip {
                    return Err(truncated("literal"));
                }
                if len > n - op {
                    return Err(too_long(op, len, n));
                }
                if len <= 16 && end - ip >= 16 && n - op >= 16 {
                    // SAFETY: 16 bytes are in bounds on both sides (just
                    // checked), and input and output never overlap.
                    std::ptr::copy_nonoverlapping(src.add(ip), dst.add(op), 16);
                } else if len <= WIDE && end - ip >= WIDE && n - op >= WIDE {
                    // A fixed-size copy is a few vector moves inline, where a
                    // `len`-sized one is a call (a value's random bytes make
                    // literals of ~50 bytes: ~18% of a read that decodes).
                    // SAFETY: as above, with `WIDE` bytes.
                    std::ptr::copy_nonoverlapping(src.add(ip), dst.add(op), WIDE);
                } else {
                    // SAFETY: `len` bytes are in bounds on both sides.
                    std::ptr::copy_nonoverlapping(src.add(ip), dst.add(op), len);
                }
                ip += len;
                op += len;
                continue;
            }
            1 => {
                let b = *input.get(ip).ok_or_else(|| truncated("copy"))?;
                ip += 1;
                (
                    4 + ((tag >> 2) & 7) as usize,
                    (((tag >> 5) as usize) << 8) | b as usize,
                )
            }
            2 => {
                let b = input.get(ip..ip + 2).ok_or_else(|| truncated("copy"))?;
                ip += 2;
                (
                    (tag >> 2) as usize + 1,
                    u16::from_le_bytes([b[0], b[1]]) as usize,
                )
            }
            _ => {
                let b = input.get(ip..ip + 4).ok_or_else(|| truncated("copy"))?;
                ip += 4;
                (
                    (tag >> 2) as usize + 1,
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
                )
            }
        };
        if offset == 0 {
            return Err(Error::corruption(format!(
                "snappy copy at output {op} has offset 0"
            )));
        }
        if offset > op {
            return Err(Error::corruption(format!(
                "snappy copy at output {op} reaches {offset} bytes back"
            )));
        }
        if len > n - op {
            return Err(too_long(op, len, n));
        }
        let from = op - offset;
        if offset >= 16 && len <= 16 && n - op >= 16 {
            // SAFETY: in bounds (checked); the 16 bytes read end at least at
            // `op`, so they were written already and do not overlap the write.
            std::ptr::copy_nonoverlapping(dst.add(from), dst.add(op), 16);
        } else if offset >= 16 && len <= WIDE && n - op >= WIDE {
            // Four fixed 16-byte copies in order: each reads 16 bytes that end
            // at or below where it writes, and that were written before it
            // (by earlier elements or the copies just made), so the bytes
            // repeat with period `offset` exactly as a byte-wise copy would.
            for k in (0..WIDE).step_by(16) {
                // SAFETY: `from + k + 16 <= op + k` (offset ≥ 16), and
                // `op + WIDE <= n`.
                std::ptr::copy_nonoverlapping(dst.add(from + k), dst.add(op + k), 16);
            }
        } else if offset == 1 && len <= WIDE && n - op >= WIDE {
            // A run of one byte (a value's repeated tail): fixed-size stores.
            // SAFETY: `from < op` was written; `op + WIDE <= n`.
            std::ptr::write_bytes(dst.add(op), *dst.add(from), WIDE);
        } else if offset < 16 && n - op >= len + 16 {
            // A short period (a run the compressor found a few bytes in, at
            // offset 2, 3, …): fixed 16-byte moves instead of a `memcpy` call
            // per doubling, which was ~11% of a point read that decodes.
            // Each move copies 16 bytes from `from` to `d`, of which the first
            // `d - from` are the period repeated (written already) and the rest
            // are overwritten by the next move; the gap `d - from` stays a
            // multiple of the period. Once it is 16 or more, the moves no
            // longer overlap and advance 16 bytes at a time.
            let end_op = op + len;
            let mut s = from;
            let mut d = op;
            while d < end_op && d - s < 16 {
                // SAFETY: `d + 16 < end_op + 16 <= n`; `std::ptr::copy` is a
                // memmove, so the overlap is defined (it reads before writing).
                std::ptr::copy(dst.add(s), dst.add(d), 16);
                d += d - s;
            }
            while d < end_op {
                // SAFETY: `s + 16 <= d` (the gap is at least 16), both below
                // `n`: `d + 16 < end_op + 16 <= n`.
                std::ptr::copy_nonoverlapping(dst.add(s), dst.add(d), 16);
                s += 16;
                d += 16;
            }
        } else if offset >= len {
            // SAFETY: `from + len <= op`: the ranges do not overlap, and both
            // are in bounds.
            std::ptr::copy_nonoverlapping(dst.add(from), dst.add(op), len);
        } else if offset == 1 {
            // SAFETY: `from < op` was written; `op + len <= n`.
            std::ptr::write_bytes(dst.add(op), *dst.add(from), len);
        } else {
            // Overlapping: the bytes from `from` repeat with period `offset`.
            // Copy whole periods, doubling each time; every chunk reads only
            // bytes already written and starts at a multiple of the period.
            let mut done = 0;
            while done < len {
                let chunk = (len - done).min(offset + done);
                // SAFETY: `from + chunk <= from + offset + done = op + done`, so
                // the source (written already) ends where the destination
                // starts; all of it lies below `op + len <= n`.
                std::ptr::copy_nonoverlapping(dst.add(from), dst.add(op + done), chunk);
                done += chunk;
            }
        }
        op += len;
    }
    Ok((ip, op))
}

#[cfg(test)]
mod tests;
