//! Write groups (`docs/FORMAT.md` §2.2): the payload of one WAL record and the
//! unit `Core.apply` consumes.
//!
//! A group carries consecutive sequence numbers starting at `firstSeq`, so the
//! sequence of each entry is implied by its position and costs no bytes. A user
//! batch is never split across groups, which is what makes it atomic: recovery
//! either finds the whole record (checksummed) or none of it.

use crate::coding::{put_fixed32, put_fixed64, put_lpbytes, varint_len, Decoder};
use crate::error::{Error, Result};
use crate::key::{Kind, MAX_SEQUENCE, MAX_USER_KEY_LEN};

/// Bytes before the first entry: `firstSeq fixed64 ‖ count fixed32`.
pub const GROUP_HEADER_LEN: usize = 12;

/// One decoded operation, borrowing its bytes from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupEntry<'a> {
    pub seq: u64,
    pub kind: Kind,
    pub key: &'a [u8],
    /// Empty for `Delete`.
    pub value: &'a [u8],
}

/// A decoded, fully validated write group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteGroup<'a> {
    pub first_seq: u64,
    pub entries: Vec<GroupEntry<'a>>,
}

impl WriteGroup<'_> {
    /// Sequence of the last entry (`firstSeq + count − 1`).
    pub fn last_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64 - 1
    }
}

/// Decodes and validates a write group. Rejects `count = 0`, unknown kinds,
/// keys over 65536 bytes, sequences outside `1..=2^45−1`, and entries that do
/// not fill the payload exactly (FORMAT.md §2.2).
pub fn decode_write_group(payload: &[u8]) -> Result<WriteGroup<'_>> {
    let mut d = Decoder::new(payload);
    let first_seq = d.fixed64().map_err(|e| e.context("write group header"))?;
    let count = d.fixed32().map_err(|e| e.context("write group header"))?;
    if count == 0 {
        return Err(Error::corruption("write group has no entries"));
    }
    if first_seq == 0 || first_seq > MAX_SEQUENCE || MAX_SEQUENCE - first_seq < u64::from(count) - 1
    {
        return Err(Error::corruption(format!(
            "write group sequences {first_seq}+{count} fall outside 1..2^45-1"
        )));
    }
    // Every entry takes at least 2 bytes (kind + key length), so a count larger
    // than that bound is corrupt; checking first keeps a hostile count from
    // making us reserve gigabytes.
    if u64::from(count) > (d.remaining() / 2) as u64 {
        return Err(Error::corruption(format!(
            "write group count {count} exceeds its payload"
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for i in 0..u64::from(count) {
        let at = d.pos();
        let entry = decode_entry(&mut d, first_seq + i)
            .map_err(|e| e.context(format!("write group entry {i} at {at}")))?;
        entries.push(entry);
    }
    if !d.is_empty() {
        return Err(Error::corruption(format!(
            "write group has {} trailing bytes",
            d.remaining()
        )));
    }
    Ok(WriteGroup { first_seq, entries })
}

/// A length-prefixed byte string whose length is a minimal varint: a padded
/// length such as `80 00` is refused, so every accepted group re-encodes to
/// the same bytes (FORMAT.md §2.2), as in the TypeScript decoder.
fn minimal_lpbytes<'a>(d: &mut Decoder<'a>) -> Result<&'a [u8]> {
    let start = d.pos();
    let len = d.varint32()?;
    if d.pos() - start != varint_len(u64::from(len)) {
        return Err(Error::corruption(format!(
            "padded varint length at {start}"
        )));
    }
    d.bytes(len as usize)
}

fn decode_entry<'a>(d: &mut Decoder<'a>, seq: u64) -> Result<GroupEntry<'a>> {
    let kind_byte = d.u8()?;
    let kind = Kind::from_u8(kind_byte)
        .ok_or_else(|| Error::corruption(format!("unknown kind {kind_byte}")))?;
    let key = minimal_lpbytes(d)?;
    if key.len() > MAX_USER_KEY_LEN {
        return Err(Error::corruption(format!(
            "key of {} bytes exceeds {MAX_USER_KEY_LEN}",
            key.len()
        )));
    }
    let value = match kind {
        Kind::Put => minimal_lpbytes(d)?,
        Kind::Delete => &[],
    };
    Ok(GroupEntry {
        seq,
        kind,
        key,
        value,
    })
}

/// Encodes a write group incrementally; the count is patched in by `finish`.
#[derive(Debug, Clone)]
pub struct WriteGroupBuilder {
    buf: Vec<u8>,
    first_seq: u64,
    count: u32,
}

impl WriteGroupBuilder {
    /// Starts a group whose first entry gets sequence `first_seq` (≥ 1).
    pub fn new(first_seq: u64) -> Result<Self> {
        if first_seq == 0 || first_seq > MAX_SEQUENCE {
            return Err(Error::invalid(format!(
                "first sequence {first_seq} outside 1..2^45-1"
            )));
        }
        let mut buf = Vec::with_capacity(64);
        put_fixed64(&mut buf, first_seq);
        put_fixed32(&mut buf, 0);
        Ok(WriteGroupBuilder {
            buf,
            first_seq,
            count: 0,
        })
    }

    /// Number of entries added so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Appends a `PUT`.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<&mut Self> {
        self.entry(Kind::Put, key, value)
    }

    /// Appends a `DELETE`.
    pub fn delete(&mut self, key: &[u8]) -> Result<&mut Self> {
        self.entry(Kind::Delete, key, &[])
    }

    fn entry(&mut self, kind: Kind, key: &[u8], value: &[u8]) -> Result<&mut Self> {
        if key.len() > MAX_USER_KEY_LEN {
            return Err(Error::invalid(format!(
                "key of {} bytes exceeds {MAX_USER_KEY_LEN}",
                key.len()
            )));
        }
        if self.first_seq + u64::from(self.count) > MAX_SEQUENCE || self.count == u32::MAX {
            return Err(Error::invalid(
                "write group runs past the last sequence number",
            ));
        }
        let mark = self.buf.len();
        self.buf.push(kind as u8);
        let written = put_lpbytes(&mut self.buf, key).and_then(|()| match kind {
            Kind::Put => put_lpbytes(&mut self.buf, value),
            Kind::Delete => Ok(()),
        });
        if let Err(e) = written {
            self.buf.truncate(mark);
            return Err(e);
        }
        self.count += 1;
        Ok(self)
    }

    /// The encoded payload. Fails for an empty group, which the format forbids.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        if self.count == 0 {
            return Err(Error::invalid("a write group needs at least one entry"));
        }
        self.buf[8..GROUP_HEADER_LEN].copy_from_slice(&self.count.to_le_bytes());
        Ok(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = WriteGroupBuilder::new(7).unwrap();
        b.put(b"a", b"1")
            .unwrap()
            .delete(b"b")
            .unwrap()
            .put(b"", b"")
            .unwrap();
        b.finish().unwrap()
    }

    #[test]
    fn padded_lengths_are_refused() {
        // firstSeq 1, count 1, PUT, key length 1 written as the padded varint 81 00.
        let mut g = Vec::new();
        put_fixed64(&mut g, 1);
        put_fixed32(&mut g, 1);
        g.extend_from_slice(&[1, 0x81, 0x00, b'k', 0]);
        assert!(decode_write_group(&g).is_err());
        // The minimal form of the same group is accepted.
        let mut ok = Vec::new();
        put_fixed64(&mut ok, 1);
        put_fixed32(&mut ok, 1);
        ok.extend_from_slice(&[1, 1, b'k', 0]);
        assert!(decode_write_group(&ok).is_ok());
    }

    #[test]
    fn exact_bytes() {
        let bytes = sample();
        let mut expected = vec![7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0];
        expected.extend_from_slice(&[1, 1, b'a', 1, b'1']);
        expected.extend_from_slice(&[0, 1, b'b']);
        expected.extend_from_slice(&[1, 0, 0]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn round_trip_assigns_consecutive_sequences() {
        let bytes = sample();
        let g = decode_write_group(&bytes).unwrap();
        assert_eq!(g.first_seq, 7);
        assert_eq!(g.last_seq(), 9);
        assert_eq!(
            g.entries,
            vec![
                GroupEntry {
                    seq: 7,
                    kind: Kind::Put,
                    key: b"a",
                    value: b"1"
                },
                GroupEntry {
                    seq: 8,
                    kind: Kind::Delete,
                    key: b"b",
                    value: b""
                },
                GroupEntry {
                    seq: 9,
                    kind: Kind::Put,
                    key: b"",
                    value: b""
                },
            ]
        );
    }

    #[test]
    fn rejects_malformed_payloads() {
        let good = sample();
        // Every strict prefix is invalid (either truncated or count mismatch).
        for n in 0..good.len() {
            assert!(
                decode_write_group(&good[..n]).unwrap_err().is_corruption(),
                "prefix {n}"
            );
        }
        // Trailing garbage.
        let mut extra = good.clone();
        extra.push(0);
        assert!(decode_write_group(&extra).is_err());
        // Unknown kind.
        let mut bad_kind = good.clone();
        bad_kind[12] = 2;
        assert!(decode_write_group(&bad_kind).is_err());
        // count = 0.
        let mut zero = good[..12].to_vec();
        zero[8] = 0;
        assert!(decode_write_group(&zero).is_err());
        // Absurd count is rejected before allocating.
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_write_group(&huge).is_err());
    }

    #[test]
    fn rejects_bad_sequences() {
        let mut zero_seq = sample();
        zero_seq[..8].copy_from_slice(&0u64.to_le_bytes());
        assert!(decode_write_group(&zero_seq).is_err());
        // Last entry would be MAX_SEQUENCE + 2.
        let mut over = sample();
        over[..8].copy_from_slice(&MAX_SEQUENCE.to_le_bytes());
        assert!(decode_write_group(&over).is_err());
        // Exactly reaching MAX_SEQUENCE is fine.
        let mut edge = sample();
        edge[..8].copy_from_slice(&(MAX_SEQUENCE - 2).to_le_bytes());
        assert_eq!(decode_write_group(&edge).unwrap().last_seq(), MAX_SEQUENCE);
    }

    #[test]
    fn builder_validates_arguments() {
        assert!(WriteGroupBuilder::new(0).is_err());
        assert!(WriteGroupBuilder::new(MAX_SEQUENCE + 1).is_err());
        assert!(WriteGroupBuilder::new(1).unwrap().finish().is_err());
        let mut b = WriteGroupBuilder::new(MAX_SEQUENCE).unwrap();
        b.put(b"k", b"v").unwrap();
        assert!(
            b.put(b"k2", b"v").is_err(),
            "second entry would exceed the limit"
        );
        assert_eq!(b.count(), 1);
        let mut b = WriteGroupBuilder::new(1).unwrap();
        assert!(b.put(&vec![0u8; MAX_USER_KEY_LEN + 1], b"").is_err());
        b.delete(&vec![0u8; MAX_USER_KEY_LEN]).unwrap();
        let bytes = b.finish().unwrap();
        assert_eq!(
            decode_write_group(&bytes).unwrap().entries[0].key.len(),
            MAX_USER_KEY_LEN
        );
    }
}
