//! Reads a log held in memory (§3) and decides how it ends: cleanly, with a
//! torn tail (nothing valid after the damage), or with corruption (a valid
//! record after the damage).

use super::{LogKind, HEADER_LEN, LOG_VERSION, MAX_RECORD_LEN};
use crate::checksum::mcrc;
use crate::coding::get_fixed32;
use crate::error::{Error, Result};

/// One record read back: where its header starts and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecord<'a> {
    pub offset: u64,
    pub payload: &'a [u8],
}

/// How the log ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTail {
    /// The last record ends exactly at the end of the file.
    Clean,
    /// Bytes from `offset` on form no valid record and none follows: the writer
    /// died mid-append (or, at offset 0, before the header was complete).
    Torn { offset: u64, discarded: u64 },
}

/// Reads records from a whole log held in memory.
#[derive(Debug, Clone)]
pub struct LogReader<'a> {
    data: &'a [u8],
    file_number: u32,
    file_name: Option<String>,
    pos: usize,
    tail: Option<LogTail>,
}

impl<'a> LogReader<'a> {
    /// Checks the file header. A file shorter than the header is a torn
    /// creation (an empty log); a full header with the wrong magic, version or
    /// checksum is corruption.
    pub fn new(
        data: &'a [u8],
        kind: LogKind,
        file_number: u64,
        file_name: Option<&str>,
    ) -> Result<Self> {
        let mut reader = LogReader {
            data,
            file_number: file_number as u32,
            file_name: file_name.map(str::to_string),
            pos: HEADER_LEN,
            tail: None,
        };
        if data.len() < HEADER_LEN {
            reader.pos = data.len();
            reader.tail = Some(LogTail::Torn {
                offset: 0,
                discarded: data.len() as u64,
            });
            return Ok(reader);
        }
        let header = &data[..HEADER_LEN];
        if &header[..8] != kind.magic() {
            return Err(reader.corrupt("bad log magic"));
        }
        if get_fixed32(&header[8..]) != Some(LOG_VERSION) {
            return Err(reader.corrupt("unsupported log version"));
        }
        if get_fixed32(&header[12..]) != Some(mcrc(&header[..12])) {
            return Err(reader.corrupt("log header checksum mismatch"));
        }
        Ok(reader)
    }

    fn corrupt(&self, msg: impl Into<String>) -> Error {
        Error::corruption(msg).in_file(self.file_name.as_deref())
    }

    /// Length of the payload of a valid record at `p`, or `None` (§3's
    /// "valid at offset p").
    fn valid_record_at(&self, p: usize) -> Option<usize> {
        let header = self.data.get(p..p.checked_add(HEADER_LEN)?)?;
        let stored_crc = get_fixed32(header)?;
        if stored_crc != mcrc(&header[4..]) {
            return None;
        }
        let len = get_fixed32(&header[4..])? as usize;
        if get_fixed32(&header[8..])? != self.file_number || len > MAX_RECORD_LEN {
            return None;
        }
        let payload = self
            .data
            .get(p + HEADER_LEN..(p + HEADER_LEN).checked_add(len)?)?;
        if get_fixed32(&header[12..])? != mcrc(payload) {
            return None;
        }
        Some(len)
    }

    /// The next record, `Ok(None)` at the end (see [`LogReader::tail`]), or a
    /// corruption error when damage is followed by a valid record.
    pub fn next_record(&mut self) -> Result<Option<LogRecord<'a>>> {
        if self.tail.is_some() {
            return Ok(None);
        }
        let p = self.pos;
        if p >= self.data.len() {
            self.tail = Some(LogTail::Clean);
            return Ok(None);
        }
        if let Some(len) = self.valid_record_at(p) {
            let start = p + HEADER_LEN;
            self.pos = start + len;
            return Ok(Some(LogRecord {
                offset: p as u64,
                payload: &self.data[start..start + len],
            }));
        }
        // No record here: damage in the middle if anything valid follows.
        let last_start = self.data.len().saturating_sub(HEADER_LEN);
        if let Some(q) = (p + 1..=last_start).find(|&q| self.valid_record_at(q).is_some()) {
            return Err(self.corrupt(format!(
                "damaged log record at offset {p} (a valid record follows at {q})"
            )));
        }
        self.tail = Some(LogTail::Torn {
            offset: p as u64,
            discarded: (self.data.len() - p) as u64,
        });
        Ok(None)
    }

    /// How the log ended; `None` until `next_record` has returned `Ok(None)`.
    pub fn tail(&self) -> Option<LogTail> {
        self.tail
    }

    /// Reads every record; returns them with the tail state.
    pub fn read_all(mut self) -> Result<(Vec<LogRecord<'a>>, LogTail)> {
        let mut records = Vec::new();
        while let Some(r) = self.next_record()? {
            records.push(r);
        }
        Ok((records, self.tail.unwrap_or(LogTail::Clean)))
    }
}
