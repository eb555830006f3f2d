//! Reads a log held in memory (§3) and decides how it ends: cleanly, with a
//! torn tail (what a crash mid-append leaves: a cut-short record, zeros, or a
//! record with a sector of zeros), or with corruption (complete bytes that
//! changed). The same rules as `readLog` in `ts/core/ts/log-format.ts`.

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
    /// The log ends at `offset` in what a crash leaves behind (or, at offset 0,
    /// before the file header was complete); `discarded` counts the bytes from
    /// there to the last non-zero byte of the file (trailing zeros are unwritten
    /// space, such as a WAL's runway, not torn data).
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
    /// Checks the file header. A file shorter than the header, or whose header
    /// is all zeros, is a torn creation (an empty log); a full header with the
    /// wrong magic, version or checksum is corruption.
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
        if data.len() < HEADER_LEN || has_zero_sector(data, 0, HEADER_LEN) {
            reader.pos = data.len();
            reader.tail = Some(LogTail::Torn {
                offset: 0,
                discarded: end_of_data(data, 0) as u64,
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

    /// What the bytes at `p` hold (§3's six cases).
    fn classify(&self, p: usize) -> At {
        let data = self.data;
        if data.len() - p < HEADER_LEN {
            return At::Torn;
        }
        let header = &data[p..p + HEADER_LEN];
        let fixed = |i: usize| get_fixed32(&header[i..]).unwrap_or(0);
        if fixed(0) != mcrc(&header[4..]) {
            if data[p..].iter().all(|&b| b == 0) || has_zero_sector(data, p, p + HEADER_LEN) {
                return At::Torn;
            }
            return At::Corrupt(format!("record header at offset {p} fails its checksum"));
        }
        if fixed(8) != self.file_number {
            return At::Corrupt(format!(
                "record at offset {p} belongs to log file {}",
                fixed(8)
            ));
        }
        let start = p + HEADER_LEN;
        let end = start as u64 + u64::from(fixed(4));
        if end > data.len() as u64 || fixed(4) as usize > MAX_RECORD_LEN {
            return At::Torn;
        }
        let end = end as usize;
        if fixed(12) != mcrc(&data[start..end]) {
            if has_zero_sector(data, start, end) {
                return At::Torn;
            }
            return At::Corrupt(format!("record at offset {p} fails its payload checksum"));
        }
        At::Valid(end - start)
    }

    /// The next record, `Ok(None)` at the end (see [`LogReader::tail`]), or a
    /// corruption error.
    pub fn next_record(&mut self) -> Result<Option<LogRecord<'a>>> {
        if self.tail.is_some() {
            return Ok(None);
        }
        let p = self.pos;
        if p >= self.data.len() {
            self.tail = Some(LogTail::Clean);
            return Ok(None);
        }
        match self.classify(p) {
            At::Valid(len) => {
                let start = p + HEADER_LEN;
                self.pos = start + len;
                Ok(Some(LogRecord {
                    offset: p as u64,
                    payload: &self.data[start..start + len],
                }))
            }
            At::Torn => {
                self.tail = Some(LogTail::Torn {
                    offset: p as u64,
                    discarded: (end_of_data(self.data, p) - p) as u64,
                });
                Ok(None)
            }
            At::Corrupt(msg) => Err(self.corrupt(msg)),
        }
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

/// What a log holds at an offset.
enum At {
    /// A valid record with this payload length.
    Valid(usize),
    /// The log ends here (torn tail).
    Torn,
    /// Complete bytes that changed.
    Corrupt(String),
}

/// Size of the sector a torn write is assumed to lose as a whole (§3).
pub const LOG_SECTOR: usize = 512;

/// True when some `LOG_SECTOR`-aligned window meets `data[from..to)` and every
/// byte where they meet is zero: part of the span was never written.
fn has_zero_sector(data: &[u8], from: usize, to: usize) -> bool {
    let mut w = from - from % LOG_SECTOR;
    while w < to {
        let lo = from.max(w);
        let hi = to.min(w + LOG_SECTOR);
        if data[lo..hi].iter().all(|&b| b == 0) {
            return true;
        }
        w += LOG_SECTOR;
    }
    false
}

/// Offset just past the last non-zero byte of `data[from..]` (`from` when none).
fn end_of_data(data: &[u8], from: usize) -> usize {
    data[from..]
        .iter()
        .rposition(|&b| b != 0)
        .map_or(from, |i| from + i + 1)
}
