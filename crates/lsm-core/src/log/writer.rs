//! Appends records to a log (§3). One record is written with one
//! `write_all`, so a crash mid-append leaves at most one partial record, at the
//! tail, where the reader recognises it as torn.

use std::io::Write;

use super::{file_header, LogKind, HEADER_LEN, MAX_RECORD_LEN};
use crate::checksum::mcrc;
use crate::coding::put_fixed32;
use crate::error::{Error, Result};

/// Appends one framed record (header ‖ payload) to `out`.
pub fn append_record(out: &mut Vec<u8>, file_number: u64, payload: &[u8]) -> Result<()> {
    if payload.len() > MAX_RECORD_LEN {
        return Err(Error::invalid(format!(
            "log record of {} bytes exceeds 2^31",
            payload.len()
        )));
    }
    let mut tail = [0u8; 12];
    tail[0..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    // Stored mod 2^32 by definition (§3).
    tail[4..8].copy_from_slice(&(file_number as u32).to_le_bytes());
    tail[8..12].copy_from_slice(&mcrc(payload).to_le_bytes());
    out.reserve(HEADER_LEN + payload.len());
    put_fixed32(out, mcrc(&tail));
    out.extend_from_slice(&tail);
    out.extend_from_slice(payload);
    Ok(())
}

/// Writes a log to any `std::io::Write` (a file, a `Vec<u8>`). Durability
/// (fsync) is the caller's business: reach the sink with [`LogWriter::get_mut`].
#[derive(Debug)]
pub struct LogWriter<W: Write> {
    inner: W,
    file_number: u64,
    scratch: Vec<u8>,
    offset: u64,
}

impl<W: Write> LogWriter<W> {
    /// Starts a new log: writes the file header.
    pub fn create(mut inner: W, kind: LogKind, file_number: u64) -> Result<Self> {
        inner.write_all(&file_header(kind))?;
        Ok(LogWriter {
            inner,
            file_number,
            scratch: Vec::new(),
            offset: HEADER_LEN as u64,
        })
    }

    /// Appends one record with a single `write_all`, so a crash leaves at most
    /// one partial record at the tail.
    pub fn add_record(&mut self, payload: &[u8]) -> Result<()> {
        self.scratch.clear();
        append_record(&mut self.scratch, self.file_number, payload)?;
        self.inner.write_all(&self.scratch)?;
        self.offset += self.scratch.len() as u64;
        Ok(())
    }

    /// Bytes written so far, header included.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}
