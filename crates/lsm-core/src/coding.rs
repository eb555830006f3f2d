//! Primitive encodings of `docs/FORMAT.md` §1: fixed-width little-endian
//! integers, LEB128 varints and length-prefixed byte strings.
//!
//! Writers append to a `Vec<u8>` (growing it amortised); readers go through
//! [`Decoder`], a cursor that checks every length before it touches a byte, so a
//! truncated or hostile buffer yields [`Error::Corruption`] instead of a panic.

use crate::error::{Error, Result};

/// Largest integer JavaScript holds exactly (2^53 − 1). Every `varint64` the
/// format stores is a sequence number, file number, size or offset that the
/// TypeScript side must represent, so a larger one can only be corruption.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Longest legal `varint32` encoding.
pub const MAX_VARINT32_LEN: usize = 5;
/// Longest legal `varint64` encoding.
pub const MAX_VARINT64_LEN: usize = 10;

/// Appends `v` as 4 little-endian bytes.
pub fn put_fixed32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `v` as 8 little-endian bytes.
pub fn put_fixed64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `v` as unsigned LEB128 (at most 5 bytes).
pub fn put_varint32(out: &mut Vec<u8>, v: u32) {
    put_varint64(out, u64::from(v));
}

/// Appends `v` as unsigned LEB128 (at most 10 bytes). The writer accepts any
/// `u64`; callers that store JavaScript-visible numbers keep them within
/// [`MAX_SAFE_INTEGER`] because readers reject larger ones.
pub fn put_varint64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Number of bytes [`put_varint64`] writes for `v`.
pub fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Appends `varint32 len ‖ bytes`. Fails when `bytes` is longer than a
/// `varint32` can describe.
pub fn put_lpbytes(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| Error::invalid(format!("byte string of {} bytes is too long", bytes.len())))?;
    put_varint32(out, len);
    out.extend_from_slice(bytes);
    Ok(())
}

/// Reads a fixed32 from the first 4 bytes of `b`, if there are 4.
pub fn get_fixed32(b: &[u8]) -> Option<u32> {
    let arr: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(arr))
}

/// Reads a fixed64 from the first 8 bytes of `b`, if there are 8.
pub fn get_fixed64(b: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = b.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(arr))
}

/// Decodes one LEB128 value of at most `max_len` bytes and `bits` significant
/// bits from the front of `b`; returns the value and the bytes consumed.
fn get_varint(b: &[u8], max_len: usize, bits: u32) -> Result<(u64, usize)> {
    let mut value: u64 = 0;
    for i in 0..max_len {
        let Some(&byte) = b.get(i) else {
            return Err(Error::corruption("varint runs past the end of its buffer"));
        };
        let shift = 7 * i as u32;
        let group = u64::from(byte & 0x7f);
        // Bits of this group that land at or above `bits` would be lost: overflow.
        if shift + 7 > bits && (group >> (bits - shift)) != 0 {
            return Err(Error::corruption(format!("varint overflows {bits} bits")));
        }
        value |= group << shift;
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(Error::corruption(format!(
        "varint longer than {max_len} bytes"
    )))
}

/// Decodes a `varint32` from the front of `b`: value and bytes consumed.
#[inline]
pub fn get_varint32(b: &[u8]) -> Result<(u32, usize)> {
    // One-byte values (most lengths in blocks) skip the general loop.
    if let Some(&x) = b.first() {
        if x < 0x80 {
            return Ok((u32::from(x), 1));
        }
    }
    let (v, n) = get_varint(b, MAX_VARINT32_LEN, 32)?;
    // get_varint guarantees v < 2^32.
    Ok((v as u32, n))
}

/// Decodes a `varint64` from the front of `b`, rejecting values above
/// [`MAX_SAFE_INTEGER`] (FORMAT.md §1).
#[inline]
pub fn get_varint64(b: &[u8]) -> Result<(u64, usize)> {
    if let Some(&x) = b.first() {
        if x < 0x80 {
            return Ok((u64::from(x), 1));
        }
    }
    let (v, n) = get_varint(b, MAX_VARINT64_LEN, 64)?;
    if v > MAX_SAFE_INTEGER {
        return Err(Error::corruption(format!("varint64 {v} exceeds 2^53 - 1")));
    }
    Ok((v, n))
}

/// A bounds-checked read cursor over a byte slice.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }

    /// Offset of the next unread byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread rest of the buffer.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Takes the next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::corruption(format!(
                "need {n} bytes at offset {}, only {} remain",
                self.pos,
                self.remaining()
            )));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub fn fixed32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        get_fixed32(b).ok_or_else(|| Error::corruption("short fixed32"))
    }

    pub fn fixed64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        get_fixed64(b).ok_or_else(|| Error::corruption("short fixed64"))
    }

    pub fn varint32(&mut self) -> Result<u32> {
        let (v, n) = get_varint32(self.rest())?;
        self.pos += n;
        Ok(v)
    }

    pub fn varint64(&mut self) -> Result<u64> {
        let (v, n) = get_varint64(self.rest())?;
        self.pos += n;
        Ok(v)
    }

    /// Reads `varint32 len ‖ bytes(len)`.
    pub fn lpbytes(&mut self) -> Result<&'a [u8]> {
        let n = self.varint32()? as usize;
        self.bytes(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint64_bytes(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint64(&mut out, v);
        out
    }

    #[test]
    fn fixed_is_little_endian() {
        let mut out = Vec::new();
        put_fixed32(&mut out, 0x0403_0201);
        put_fixed64(&mut out, 0x0c0b_0a09_0807_0605);
        assert_eq!(out, (1..=12).collect::<Vec<u8>>());
        let mut d = Decoder::new(&out);
        assert_eq!(d.fixed32().unwrap(), 0x0403_0201);
        assert_eq!(d.fixed64().unwrap(), 0x0c0b_0a09_0807_0605);
        assert!(d.is_empty());
        assert!(d.fixed32().is_err());
    }

    #[test]
    fn varint_known_encodings() {
        assert_eq!(varint64_bytes(0), [0x00]);
        assert_eq!(varint64_bytes(127), [0x7f]);
        assert_eq!(varint64_bytes(128), [0x80, 0x01]);
        assert_eq!(varint64_bytes(300), [0xac, 0x02]);
        assert_eq!(
            varint64_bytes(u64::from(u32::MAX)),
            [0xff, 0xff, 0xff, 0xff, 0x0f]
        );
        assert_eq!(varint64_bytes(MAX_SAFE_INTEGER).len(), 8);
    }

    #[test]
    fn varint_round_trips_and_lengths() {
        let samples = [
            0u64,
            1,
            127,
            128,
            16383,
            16384,
            1 << 21,
            (1 << 28) - 1,
            1 << 35,
            MAX_SAFE_INTEGER,
        ];
        for v in samples {
            let b = varint64_bytes(v);
            assert_eq!(b.len(), varint_len(v));
            assert_eq!(get_varint64(&b).unwrap(), (v, b.len()));
            if let Ok(v32) = u32::try_from(v) {
                assert_eq!(get_varint32(&b).unwrap(), (v32, b.len()));
            }
        }
    }

    #[test]
    fn varint32_rejects_overflow_and_long_encodings() {
        // 2^32 needs a fifth byte carrying bit 32: overflow.
        assert!(get_varint32(&[0x80, 0x80, 0x80, 0x80, 0x10]).is_err());
        // Six bytes is too long even if the value would be small.
        assert!(get_varint32(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).is_err());
        // Largest legal value.
        assert_eq!(
            get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x0f]).unwrap(),
            (u32::MAX, 5)
        );
    }

    #[test]
    fn varint64_rejects_unsafe_overflow_and_long() {
        assert!(get_varint64(&varint64_bytes(MAX_SAFE_INTEGER + 1)).is_err());
        assert!(get_varint64(&varint64_bytes(u64::MAX)).is_err());
        // Eleven bytes.
        let mut long = vec![0x80u8; 10];
        long.push(0);
        assert!(get_varint64(&long).is_err());
        // Tenth byte carrying more than bit 63: overflow.
        let mut over = vec![0xffu8; 9];
        over.push(0x02);
        assert!(get_varint(&over, 10, 64).is_err());
    }

    #[test]
    fn varint_rejects_truncation() {
        assert!(get_varint32(&[]).is_err());
        assert!(get_varint32(&[0x80]).is_err());
        assert!(get_varint64(&[0xff, 0xff]).is_err());
        let mut d = Decoder::new(&[0x80]);
        assert!(d.varint64().is_err());
    }

    #[test]
    fn lpbytes_round_trip_and_truncation() {
        let mut out = Vec::new();
        put_lpbytes(&mut out, b"hello").unwrap();
        put_lpbytes(&mut out, b"").unwrap();
        let mut d = Decoder::new(&out);
        assert_eq!(d.lpbytes().unwrap(), b"hello");
        assert_eq!(d.lpbytes().unwrap(), b"");
        assert!(d.is_empty());
        // Length says 5, only 4 follow.
        let mut d = Decoder::new(&out[..5]);
        assert!(d.lpbytes().unwrap_err().is_corruption());
    }

    #[test]
    fn decoder_tracks_position() {
        let data = [7u8, 0xac, 0x02, 1, 2, 3];
        let mut d = Decoder::new(&data);
        assert_eq!(d.u8().unwrap(), 7);
        assert_eq!(d.varint32().unwrap(), 300);
        assert_eq!(d.pos(), 3);
        assert_eq!(d.rest(), &[1, 2, 3]);
        assert!(d.bytes(4).is_err());
        assert_eq!(d.pos(), 3, "a failed read consumes nothing");
        assert_eq!(d.bytes(3).unwrap(), &[1, 2, 3]);
    }

    #[test]
    fn short_fixed_helpers_return_none() {
        assert_eq!(get_fixed32(&[1, 2, 3]), None);
        assert_eq!(get_fixed64(&[0; 7]), None);
        assert_eq!(get_fixed32(&[1, 0, 0, 0, 9]), Some(1));
    }
}
