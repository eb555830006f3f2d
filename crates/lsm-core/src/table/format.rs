//! The fixed parts of a table file (`docs/FORMAT.md` §4.1, §4.4, §4.5): block
//! handles, block trailers, the properties block and the footer.
//!
//! The footer sits at a fixed place (the last 64 bytes) so a reader can find
//! everything else from one read; it carries its own checksum, the format
//! version and a magic, and every handle in it is bounds-checked before any
//! block is touched.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::Arc;

use crate::checksum::mcrc_parts;
use crate::coding::{
    get_fixed32, get_fixed64, put_fixed32, put_fixed64, put_lpbytes, put_varint32, put_varint64,
    Decoder,
};
use crate::error::{Error, Result};
use crate::key::parse_internal_key;
use crate::snappy;

/// Footer length.
pub const FOOTER_LEN: usize = 64;
/// Footer magic. Never change.
pub const TABLE_MAGIC: &[u8; 8] = b"LSMR-SST";
/// Table format version.
pub const TABLE_FORMAT_VERSION: u32 = 1;
/// `type u8 ‖ crc fixed32` after every block.
pub const BLOCK_TRAILER_LEN: usize = 5;
/// Compression type "none": the contents are stored as they are. Never renumber.
pub const COMPRESSION_NONE: u8 = 0;
/// Compression type "snappy": the contents are stored in the Snappy raw
/// format ([`crate::snappy`]). Never renumber.
pub const COMPRESSION_SNAPPY: u8 = 1;
/// Properties block version.
pub const PROPERTIES_VERSION: u32 = 1;

/// Where a block's contents lie in the file (trailer excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    pub offset: u64,
    pub size: u64,
}

impl BlockHandle {
    /// `varint64 offset ‖ varint64 size`, the form index entries store.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12);
        put_varint64(&mut out, self.offset);
        put_varint64(&mut out, self.size);
        out
    }

    /// Decodes an index value; it must hold exactly one handle.
    pub fn decode(bytes: &[u8]) -> Result<BlockHandle> {
        let mut d = Decoder::new(bytes);
        let handle = BlockHandle {
            offset: d.varint64()?,
            size: d.varint64()?,
        };
        if !d.is_empty() {
            return Err(Error::corruption("block handle has trailing bytes"));
        }
        Ok(handle)
    }

    /// The contents' byte range, if the block and its trailer end at or before
    /// `limit` (the footer's start).
    pub fn range_within(&self, limit: usize) -> Option<Range<usize>> {
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::try_from(self.size).ok()?)?;
        (end.checked_add(BLOCK_TRAILER_LEN)? <= limit).then_some(start..end)
    }
}

/// Appends `contents ‖ type ‖ mcrc(contents ‖ type)` with type "none" and
/// returns the handle.
pub fn append_block(out: &mut Vec<u8>, contents: &[u8]) -> BlockHandle {
    append_stored_block(out, contents, COMPRESSION_NONE)
}

/// Appends `stored ‖ ty ‖ mcrc(stored ‖ ty)`: `stored` is the block's contents
/// already in the form `ty` says (compressed for [`COMPRESSION_SNAPPY`]). The
/// handle's size is the stored size.
pub fn append_stored_block(out: &mut Vec<u8>, stored: &[u8], ty: u8) -> BlockHandle {
    let handle = BlockHandle {
        offset: out.len() as u64,
        size: stored.len() as u64,
    };
    out.extend_from_slice(stored);
    out.push(ty);
    put_fixed32(out, mcrc_parts(&[stored, &[ty]]));
    handle
}

/// Bounds-checks a handle against the file, verifies the trailer (type and
/// checksum) and returns the stored contents' range. The stored bytes are the
/// block itself only for type "none"; see [`check_block_typed`].
pub fn check_block(file: &[u8], handle: BlockHandle) -> Result<Range<usize>> {
    check_block_typed(file, handle).map(|(range, _)| range)
}

/// [`check_block`] that also returns the block's compression type (one of
/// the known ones).
pub fn check_block_typed(file: &[u8], handle: BlockHandle) -> Result<(Range<usize>, u8)> {
    let limit = file.len().saturating_sub(FOOTER_LEN);
    let range = handle.range_within(limit).ok_or_else(|| {
        Error::corruption(format!("block handle {handle:?} lies outside the table"))
    })?;
    let ty = verify_block(&file[range.start..range.end + BLOCK_TRAILER_LEN], handle)?;
    Ok((range, ty))
}

/// Decompresses a block's verified stored contents: `None` for type "none"
/// (the stored bytes are the contents), the uncompressed contents in a
/// buffer of their own for type "snappy" (allocated once, at the declared
/// length, and filled in place). Malformed compressed data is corruption
/// naming the block.
pub fn uncompress_block(stored: &[u8], ty: u8, handle: BlockHandle) -> Result<Option<Arc<[u8]>>> {
    let at = |e: Error| e.context(format!("compressed block at {}", handle.offset));
    match ty {
        COMPRESSION_NONE => Ok(None),
        COMPRESSION_SNAPPY => {
            let n = snappy::decompressed_len(stored).map_err(at)?;
            // Decoded straight into the `Arc`'s fresh, uninitialized memory:
            // zero-filling it first was ~4% of a random read.
            // (A repeat of `uninit()` of known length allocates once and
            // stores nothing; a fresh `Arc` is unique, so `get_mut` succeeds.)
            let mut buf: Arc<[MaybeUninit<u8>]> =
                std::iter::repeat(MaybeUninit::uninit()).take(n).collect();
            let dst = Arc::get_mut(&mut buf)
                .ok_or_else(|| Error::Io(std::io::Error::other("fresh block buffer is shared")))?;
            snappy::decompress_uninit(stored, dst).map_err(at)?;
            // SAFETY: `decompress_uninit` succeeded, so all `n` bytes are
            // initialized, and `MaybeUninit<u8>` has the layout of `u8`.
            Ok(Some(unsafe {
                Arc::from_raw(Arc::into_raw(buf) as *const [u8])
            }))
        }
        other => Err(Error::corruption(format!(
            "block at {} has unknown compression type {other}",
            handle.offset
        ))),
    }
}

/// Verifies one block read on its own: `raw` is `stored ‖ trailer`
/// (`handle.size + 5` bytes). Used by file-backed tables, which read a block
/// and its trailer with one positional read. Returns the compression type,
/// after checking that it is a known one (the checksum is checked first: a
/// damaged type byte is reported as a checksum failure).
pub fn verify_block(raw: &[u8], handle: BlockHandle) -> Result<u8> {
    let size = usize::try_from(handle.size)
        .ok()
        .filter(|s| s.checked_add(BLOCK_TRAILER_LEN) == Some(raw.len()))
        .ok_or_else(|| {
            Error::corruption(format!(
                "block at {} has {} bytes, expected {} plus its trailer",
                handle.offset,
                raw.len(),
                handle.size
            ))
        })?;
    let (contents, trailer) = raw.split_at(size);
    let stored = get_fixed32(&trailer[1..]).unwrap_or(0);
    if stored != mcrc_parts(&[contents, &trailer[..1]]) {
        return Err(Error::corruption(format!(
            "block at {} fails its checksum",
            handle.offset
        )));
    }
    match trailer[0] {
        ty @ (COMPRESSION_NONE | COMPRESSION_SNAPPY) => Ok(ty),
        other => Err(Error::corruption(format!(
            "block at {} has unknown compression type {other}",
            handle.offset
        ))),
    }
}

/// The footer: handles of the filter (size 0 = none), properties and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    pub filter: BlockHandle,
    pub properties: BlockHandle,
    pub index: BlockHandle,
}

impl Footer {
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut v = Vec::with_capacity(FOOTER_LEN);
        for h in [self.filter, self.properties, self.index] {
            put_fixed64(&mut v, h.offset);
            put_fixed64(&mut v, h.size);
        }
        put_fixed32(&mut v, TABLE_FORMAT_VERSION);
        let crc = mcrc_parts(&[&v]);
        put_fixed32(&mut v, crc);
        v.extend_from_slice(TABLE_MAGIC);
        let mut out = [0u8; FOOTER_LEN];
        out.copy_from_slice(&v);
        out
    }

    /// Reads and validates the footer of a whole table file: length, magic,
    /// checksum, version, and that every handle plus trailer lies before the
    /// footer.
    pub fn decode(file: &[u8]) -> Result<Footer> {
        let start = file.len().checked_sub(FOOTER_LEN).ok_or_else(|| {
            Error::corruption(format!(
                "table of {} bytes is shorter than its footer",
                file.len()
            ))
        })?;
        Footer::decode_tail(&file[start..], file.len())
    }

    /// [`Footer::decode`] for a reader that has only the last 64 bytes
    /// (`tail`) of a file of `file_len` bytes: a file-backed table reads just
    /// those to start.
    pub fn decode_tail(tail: &[u8], file_len: usize) -> Result<Footer> {
        let start = file_len
            .checked_sub(FOOTER_LEN)
            .filter(|_| tail.len() == FOOTER_LEN)
            .ok_or_else(|| {
                Error::corruption(format!(
                    "table of {file_len} bytes is shorter than its footer"
                ))
            })?;
        let f = tail;
        if &f[56..64] != TABLE_MAGIC {
            return Err(Error::corruption("bad table magic"));
        }
        if get_fixed32(&f[52..]) != Some(mcrc_parts(&[&f[..52]])) {
            return Err(Error::corruption("table footer checksum mismatch"));
        }
        let version = get_fixed32(&f[48..]).unwrap_or(0);
        if version != TABLE_FORMAT_VERSION {
            return Err(Error::corruption(format!(
                "unsupported table format version {version}"
            )));
        }
        let handle = |i: usize| BlockHandle {
            offset: get_fixed64(&f[16 * i..]).unwrap_or(u64::MAX),
            size: get_fixed64(&f[16 * i + 8..]).unwrap_or(u64::MAX),
        };
        let footer = Footer {
            filter: handle(0),
            properties: handle(1),
            index: handle(2),
        };
        let present = [
            (footer.filter, "filter"),
            (footer.properties, "properties"),
            (footer.index, "index"),
        ];
        for (h, name) in present {
            let absent_filter = name == "filter" && h.size == 0;
            if !absent_filter && h.range_within(start).is_none() {
                return Err(Error::corruption(format!(
                    "{name} handle {h:?} lies outside the table"
                )));
            }
        }
        Ok(footer)
    }
}

/// Table statistics (§4.4), written by the builder and read back at open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Properties {
    pub entry_count: u64,
    pub deletion_count: u64,
    pub data_block_count: u64,
    pub raw_key_bytes: u64,
    pub raw_value_bytes: u64,
    /// Bytes of all data blocks including their trailers.
    pub data_bytes: u64,
    pub min_seq: u64,
    pub max_seq: u64,
    /// First internal key.
    pub smallest: Vec<u8>,
    /// Last internal key.
    pub largest: Vec<u8>,
}

impl Properties {
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(64 + self.smallest.len() + self.largest.len());
        put_varint32(&mut out, PROPERTIES_VERSION);
        for v in [
            self.entry_count,
            self.deletion_count,
            self.data_block_count,
            self.raw_key_bytes,
            self.raw_value_bytes,
            self.data_bytes,
            self.min_seq,
            self.max_seq,
        ] {
            put_varint64(&mut out, v);
        }
        put_lpbytes(&mut out, &self.smallest)?;
        put_lpbytes(&mut out, &self.largest)?;
        Ok(out)
    }

    /// Decodes a properties block; extra bytes after `largest` are corruption.
    pub fn decode(bytes: &[u8]) -> Result<Properties> {
        let mut d = Decoder::new(bytes);
        let version = d.varint32()?;
        if version != PROPERTIES_VERSION {
            return Err(Error::corruption(format!(
                "unsupported properties version {version}"
            )));
        }
        let mut next = || d.varint64();
        let p = Properties {
            entry_count: next()?,
            deletion_count: next()?,
            data_block_count: next()?,
            raw_key_bytes: next()?,
            raw_value_bytes: next()?,
            data_bytes: next()?,
            min_seq: next()?,
            max_seq: next()?,
            smallest: d.lpbytes()?.to_vec(),
            largest: d.lpbytes()?.to_vec(),
        };
        if !d.is_empty() {
            return Err(Error::corruption(format!(
                "properties block has {} trailing bytes",
                d.remaining()
            )));
        }
        parse_internal_key(&p.smallest).map_err(|e| e.context("properties smallest key"))?;
        parse_internal_key(&p.largest).map_err(|e| e.context("properties largest key"))?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, Kind};

    #[test]
    fn handle_round_trip_and_strictness() {
        let h = BlockHandle {
            offset: 300,
            size: 4096,
        };
        assert_eq!(h.encode(), [0xac, 0x02, 0x80, 0x20]);
        assert_eq!(BlockHandle::decode(&h.encode()).unwrap(), h);
        let mut extra = h.encode();
        extra.push(0);
        assert!(BlockHandle::decode(&extra).is_err());
        assert!(BlockHandle::decode(&[0xac]).is_err());
        assert_eq!(h.range_within(300 + 4096 + 5), Some(300..4396));
        assert_eq!(h.range_within(300 + 4096 + 4), None);
        assert_eq!(
            BlockHandle {
                offset: u64::MAX,
                size: 2
            }
            .range_within(usize::MAX),
            None
        );
    }

    #[test]
    fn block_trailer_is_checked() {
        let mut file = vec![9u8; 3];
        let h = append_block(&mut file, b"hello");
        assert_eq!(h, BlockHandle { offset: 3, size: 5 });
        assert_eq!(file[8], COMPRESSION_NONE);
        file.extend_from_slice(&[0u8; FOOTER_LEN]);
        assert_eq!(check_block(&file, h).unwrap(), 3..8);
        let mut bad = file.clone();
        bad[4] ^= 1;
        assert!(check_block(&bad, h).unwrap_err().is_corruption());
        let mut typed = file.clone();
        typed[8] = 1;
        assert!(
            check_block(&typed, h).is_err(),
            "type byte is covered by the crc"
        );
        assert!(check_block(&file, BlockHandle { offset: 3, size: 6 }).is_err());
        assert!(check_block(&file[..10], h).is_err());
        // The same checks on a block read on its own.
        assert!(verify_block(&file[3..13], h).is_ok());
        assert!(verify_block(&bad[3..13], h).unwrap_err().is_corruption());
        assert!(verify_block(&file[3..12], h).is_err(), "short read");
    }

    fn footer_file() -> (Vec<u8>, Footer) {
        let mut file = Vec::new();
        let index = append_block(&mut file, b"index");
        let properties = append_block(&mut file, b"props");
        let footer = Footer {
            filter: BlockHandle::default(),
            properties,
            index,
        };
        file.extend_from_slice(&footer.encode());
        (file, footer)
    }

    #[test]
    fn footer_round_trip_and_layout() {
        let (file, footer) = footer_file();
        assert_eq!(Footer::decode(&file).unwrap(), footer);
        let f = &file[file.len() - FOOTER_LEN..];
        assert_eq!(&f[56..], b"LSMR-SST");
        assert_eq!(get_fixed32(&f[48..]), Some(1));
        assert_eq!(get_fixed64(&f[32..]), Some(0), "index offset");
        assert_eq!(get_fixed64(&f[40..]), Some(5), "index size");
    }

    #[test]
    fn footer_validation() {
        let (file, _) = footer_file();
        assert!(Footer::decode(&file[..63]).is_err());
        for i in 0..FOOTER_LEN {
            let mut bad = file.clone();
            let at = file.len() - FOOTER_LEN + i;
            bad[at] ^= 0x10;
            assert!(
                Footer::decode(&bad).unwrap_err().is_corruption(),
                "byte {i}"
            );
        }
        // A well-formed footer whose index handle runs into the footer.
        let mut body = vec![0u8; 10];
        let footer = Footer {
            filter: BlockHandle::default(),
            properties: BlockHandle { offset: 0, size: 5 },
            index: BlockHandle { offset: 2, size: 4 },
        };
        body.extend_from_slice(&footer.encode());
        assert!(Footer::decode(&body).is_err());
        // A non-empty filter handle is checked too; an empty one is not.
        let mut body = vec![0u8; 10];
        let footer = Footer {
            filter: BlockHandle {
                offset: 99,
                size: 0,
            },
            ..footer
        };
        let footer = Footer {
            index: BlockHandle { offset: 5, size: 0 },
            ..footer
        };
        body.extend_from_slice(&footer.encode());
        assert!(Footer::decode(&body).is_ok());
    }

    #[test]
    fn properties_round_trip_and_trailing_bytes() {
        let p = Properties {
            entry_count: 10,
            deletion_count: 2,
            data_block_count: 3,
            raw_key_bytes: 40,
            raw_value_bytes: 400,
            data_bytes: 700,
            min_seq: 1,
            max_seq: 10,
            smallest: make_internal_key(b"a", 10, Kind::Put),
            largest: make_internal_key(b"z", 1, Kind::Delete),
        };
        let bytes = p.encode().unwrap();
        assert_eq!(bytes[0], 1);
        assert_eq!(Properties::decode(&bytes).unwrap(), p);
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(Properties::decode(&extra).is_err());
        for n in 0..bytes.len() {
            assert!(Properties::decode(&bytes[..n]).is_err());
        }
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(Properties::decode(&v2).is_err());
        let bad_key = Properties {
            smallest: b"short".to_vec(),
            ..p
        };
        assert!(Properties::decode(&bad_key.encode().unwrap()).is_err());
    }
}
