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

#[inline(always)]
fn load32(b: &[u8], i: usize) -> u32 {
    let s = &b[i..i + 4];
    u32::from_le_bytes([s[0], s[1], s[2], s[3]])
}

#[inline(always)]
fn load64(b: &[u8], i: usize) -> u64 {
    let s = &b[i..i + 8];
    u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
}

/// Number of equal bytes at `a + i` and `b + i` (`a < b`), up to the end of `input`.
#[inline(always)]
fn match_len(input: &[u8], a: usize, b: usize, from: usize) -> usize {
    let n = input.len();
    let mut m = from;
    while b + m + 8 <= n {
        let x = load64(input, a + m) ^ load64(input, b + m);
        if x != 0 {
            return m + (x.trailing_zeros() / 8) as usize;
        }
        m += 8;
    }
    while b + m < n && input[a + m] == input[b + m] {
        m += 1;
    }
    m
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

#[inline(always)]
fn emit_copy2(out: &mut Vec<u8>, offset: usize, len: usize) {
    out.extend_from_slice(&[
        (((len - 1) as u8) << 2) | 2,
        offset as u8,
        (offset >> 8) as u8,
    ]);
}

fn emit_copy(out: &mut Vec<u8>, offset: usize, mut len: usize) {
    while len >= 68 {
        emit_copy2(out, offset, 64);
        len -= 64;
    }
    if len > 64 {
        emit_copy2(out, offset, 60);
        len -= 60;
    }
    if len <= 11 && offset < 2048 {
        out.extend_from_slice(&[
            (((offset >> 8) as u8) << 5) | (((len - 4) as u8) << 2) | 1,
            offset as u8,
        ]);
    } else {
        emit_copy2(out, offset, len);
    }
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
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let table: &mut [u32; 1 << MAX_TABLE_BITS] = &mut t;
        table[..1 << bits].fill(0);
        compress_body(input, out, table, shift);
    });
}

thread_local! {
    /// The compressor's hash table, one per thread (a flush or compaction
    /// thread compresses one block after another): only the part a call
    /// uses is cleared, so a small block does not pay for the whole table.
    static TABLE: std::cell::RefCell<Box<[u32; 1 << MAX_TABLE_BITS]>> =
        std::cell::RefCell::new(Box::new([0; 1 << MAX_TABLE_BITS]));
}

/// Steps 3 and 4 of the algorithm; `table[..1 << (32 - shift)]` is zeroed.
fn compress_body(
    input: &[u8],
    out: &mut Vec<u8>,
    table: &mut [u32; 1 << MAX_TABLE_BITS],
    shift: u32,
) {
    let n = input.len();
    let mut ip = 0usize;
    let mut lit = 0usize;
    let mut skip = 32usize;
    while ip + 4 <= n {
        let v = load32(input, ip);
        // The mask changes nothing (h < 2^bits ≤ the table's size); it lets
        // the compiler drop the bounds check.
        let h = (v.wrapping_mul(HASH_MUL) >> shift) as usize & ((1 << MAX_TABLE_BITS) - 1);
        let c = table[h] as usize;
        table[h] = ip as u32;
        if c < ip && ip - c <= MAX_OFFSET && load32(input, c) == v {
            let len = match_len(input, c, ip, 4);
            if lit < ip {
                emit_literal(out, &input[lit..ip]);
            }
            emit_copy(out, ip - c, len);
            ip += len;
            lit = ip;
            skip = 32;
        } else {
            ip += skip >> 5;
            skip += 1;
        }
    }
    if lit < n {
        emit_literal(out, &input[lit..]);
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
    let (n, mut ip) = preamble(input)?;
    if out.len() != n {
        return Err(Error::invalid(format!(
            "snappy output buffer of {} bytes for a declared length of {n}",
            out.len()
        )));
    }
    let end = input.len();
    let mut op = 0usize;
    while ip < end {
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
                if len <= 16 && ip + 16 <= end && op + 16 <= n {
                    // Fast path: one fixed 16-byte copy. The bytes past `len`
                    // are overwritten by the elements that follow (a stream
                    // that ends first is an error anyway).
                    out[op..op + 16].copy_from_slice(&input[ip..ip + 16]);
                } else {
                    out[op..op + len].copy_from_slice(&input[ip..ip + len]);
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
        let src = op - offset;
        if offset >= 16 && len <= 16 && op + 16 <= n {
            // Fast path, as for literals: a fixed 16-byte copy from bytes
            // entirely before `op`.
            let (done, rest) = out.split_at_mut(op);
            rest[..16].copy_from_slice(&done[src..src + 16]);
        } else if offset >= len {
            out.copy_within(src..src + len, op);
        } else if offset == 1 {
            let b = out[src];
            out[op..op + len].fill(b);
        } else {
            // Overlapping: the bytes from `src` repeat with period `offset`.
            // Copy whole periods, doubling each time; every chunk reads only
            // bytes already written and starts at a multiple of the period.
            let mut done = 0;
            while done < len {
                let chunk = (len - done).min(offset + done);
                out.copy_within(src..src + chunk, op + done);
                done += chunk;
            }
        }
        op += len;
    }
    if op != n {
        return Err(Error::corruption(format!(
            "snappy output of {op} bytes is shorter than the declared {n}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
