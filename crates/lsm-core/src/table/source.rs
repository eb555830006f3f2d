//! Where a table's bytes come from: a buffer in memory (tests, golden
//! vectors) or an open file read with positional reads.
//!
//! A file-backed table never loads the whole file: the footer, index, filter
//! and properties are read once at open and kept; each data block is read
//! with one `pread` of `size + 5` bytes (contents and trailer), verified, and
//! decompressed when its trailer says so, before use. `pread` (`FileExt::read_exact_at`) takes no file-position lock,
//! so any number of threads read one file at once.

use std::fs::File;
use std::io::ErrorKind;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::file_pool::FilePool;
use crate::mmap::Mapping;
use crate::table::format::{
    check_block_typed, uncompress_block, verify_block, BlockHandle, BLOCK_TRAILER_LEN, FOOTER_LEN,
};

/// The bytes behind a table.
#[derive(Debug)]
pub(crate) enum Source {
    /// The whole file in memory.
    Memory(Arc<[u8]>),
    /// An open file of `size` bytes.
    File { file: File, size: usize },
    /// A whole file mapped into memory (see `crate::mmap`).
    Mapped(Mapping),
    /// A file of `size` bytes whose descriptor lives in a bounded pool under
    /// the table's id, reopened from `path` when the pool has closed it.
    Pooled {
        pool: Arc<FilePool>,
        id: u64,
        path: PathBuf,
        size: usize,
    },
}

impl Source {
    /// Length of the table file.
    pub(crate) fn size(&self) -> usize {
        match self {
            Source::Memory(data) => data.len(),
            Source::Mapped(map) => map.bytes().len(),
            Source::File { size, .. } | Source::Pooled { size, .. } => *size,
        }
    }

    /// The last `FOOTER_LEN` bytes (or fewer when the file is shorter, which
    /// the footer decoder reports as corruption).
    pub(crate) fn read_tail(&self) -> Result<Vec<u8>> {
        let n = self.size().min(FOOTER_LEN);
        let offset = self.size() - n;
        match self {
            Source::Memory(data) => return Ok(data[offset..].to_vec()),
            Source::Mapped(map) => return Ok(map.bytes()[offset..].to_vec()),
            _ => {}
        }
        let mut buf = vec![0u8; n];
        self.read_at(&mut buf, offset as u64)?;
        Ok(buf)
    }

    /// Fills `buf` from the file at `offset` (file sources only).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        match self {
            Source::Memory(_) | Source::Mapped(_) => {
                Err(Error::invalid("positional read on a memory table"))
            }
            Source::File { file, .. } => read_exact_at(file, buf, offset),
            Source::Pooled { pool, id, path, .. } => {
                read_exact_at(&*pool.get(*id, path)?, buf, offset)
            }
        }
    }

    /// Reads and verifies one block (checksum, then type) and decompresses it
    /// when it is stored compressed: returns a buffer and the uncompressed
    /// contents' range within it. Uncompressed blocks of memory tables share
    /// the table's buffer; every other block gets a fresh buffer that the
    /// caller may cache.
    pub(crate) fn read_block(&self, handle: BlockHandle) -> Result<(Arc<[u8]>, Range<usize>)> {
        if let Source::Mapped(map) = self {
            // Checksum and decompress straight out of the mapping; an
            // uncompressed block is copied once into its own buffer.
            let (range, ty) = check_block_typed(map.bytes(), handle)?;
            let stored = &map.bytes()[range];
            return match uncompress_block(stored, ty, handle)? {
                Some(contents) => {
                    let len = contents.len();
                    Ok((contents, 0..len))
                }
                None => Ok((Arc::from(stored), 0..stored.len())),
            };
        }
        let (buf, range, ty) = self.read_stored_block(handle)?;
        match uncompress_block(&buf[range.clone()], ty, handle)? {
            None => Ok((buf, range)),
            Some(contents) => {
                let len = contents.len();
                Ok((contents, 0..len))
            }
        }
    }

    /// Verifies one block and returns its stored bytes and compression type
    /// without copying or decompressing them: from the mapping or memory in
    /// place, else read into `scratch` (grown as needed and reused, so a
    /// point read that scans the block allocates nothing).
    pub(crate) fn stored_block<'s>(
        &'s self,
        handle: BlockHandle,
        scratch: &'s mut Vec<u8>,
    ) -> Result<(&'s [u8], u8)> {
        match self {
            Source::Memory(data) => {
                let (range, ty) = check_block_typed(data, handle)?;
                Ok((&data[range], ty))
            }
            Source::Mapped(map) => {
                let (range, ty) = check_block_typed(map.bytes(), handle)?;
                Ok((&map.bytes()[range], ty))
            }
            Source::File { size, .. } | Source::Pooled { size, .. } => {
                let range = stored_range(*size, handle)?;
                let len = range.len() + BLOCK_TRAILER_LEN;
                if scratch.len() < len {
                    scratch.resize(len, 0);
                }
                let raw = &mut scratch[..len];
                self.read_at(raw, handle.offset)?;
                let ty = verify_block(raw, handle)?;
                Ok((&scratch[..range.len()], ty))
            }
        }
    }

    /// Reads and verifies one block as stored: buffer, stored range, type.
    fn read_stored_block(&self, handle: BlockHandle) -> Result<(Arc<[u8]>, Range<usize>, u8)> {
        match self {
            Source::Memory(data) => {
                let (range, ty) = check_block_typed(data, handle)?;
                Ok((data.clone(), range, ty))
            }
            Source::Mapped(_) => Err(Error::invalid("stored read of a mapped table")),
            Source::File { size, .. } | Source::Pooled { size, .. } => {
                let range = stored_range(*size, handle)?;
                let len = range.len() + BLOCK_TRAILER_LEN;
                // Collecting a zero-filled iterator of known length allocates the
                // `Arc` once (no Vec-then-copy), and a fresh `Arc` is unique, so
                // `get_mut` hands out the bytes to read into.
                let mut buf: Arc<[u8]> = std::iter::repeat(0u8).take(len).collect();
                let dst = Arc::get_mut(&mut buf).ok_or_else(|| {
                    Error::Io(std::io::Error::other("fresh block buffer is shared"))
                })?;
                self.read_at(dst, handle.offset)?;
                let ty = verify_block(&buf, handle)?;
                Ok((buf, 0..range.len(), ty))
            }
        }
    }
}

/// Where a block's stored bytes lie in a table file of `size` bytes: before
/// the footer, or the handle is corruption.
fn stored_range(size: usize, handle: BlockHandle) -> Result<Range<usize>> {
    handle
        .range_within(size.saturating_sub(FOOTER_LEN))
        .ok_or_else(|| Error::corruption(format!("block handle {handle:?} lies outside the table")))
}

/// `read_exact_at`, except that a file that ended early is corruption (the
/// table was truncated after it was opened, or its size lied), not I/O failure.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> Result<()> {
    file.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == ErrorKind::UnexpectedEof {
            Error::corruption(format!(
                "file ends before the {} bytes at {offset}",
                buf.len()
            ))
        } else {
            Error::Io(e)
        }
    })
}
