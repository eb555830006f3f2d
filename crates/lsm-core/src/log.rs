//! Log framing shared by the WAL and the MANIFEST (`docs/FORMAT.md` §3).
//!
//! A log is a 16-byte file header followed by records, each a 16-byte header and
//! a payload. The record header carries its own checksum, so a reader can test
//! any offset cheaply; that is what lets it tell the two ways a log can end
//! badly apart:
//! - a **torn tail**: the writer died mid-append, nothing valid follows the
//!   damage, and the partial record is simply dropped;
//! - **corruption**: some later offset still holds a valid record, so bytes in
//!   the middle of the log were damaged and silently dropping them would lose
//!   acknowledged writes.
//!
//! Each record also names its file's number, so a record embedded in another
//! log (say, copied inside a stored value) never passes as one of this file's.

use std::io::Write;

use crate::checksum::mcrc;
use crate::coding::{get_fixed32, put_fixed32};
use crate::error::{Error, Result};

/// Length of the file header and of every record header.
pub const HEADER_LEN: usize = 16;
/// Largest payload a record may carry.
pub const MAX_RECORD_LEN: usize = 1 << 31;
/// Log format version (§3).
pub const LOG_VERSION: u32 = 1;

/// Which log a file is; only the magic differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Wal,
    Manifest,
}

impl LogKind {
    /// File magic. Never change.
    pub fn magic(self) -> &'static [u8; 8] {
        match self {
            LogKind::Wal => b"LSMR-WAL",
            LogKind::Manifest => b"LSMR-MAN",
        }
    }
}

/// The 16-byte file header: `magic ‖ version ‖ mcrc(bytes 0..12)`.
pub fn file_header(kind: LogKind) -> [u8; HEADER_LEN] {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(kind.magic());
    put_fixed32(&mut h, LOG_VERSION);
    let crc = mcrc(&h);
    put_fixed32(&mut h, crc);
    let mut out = [0u8; HEADER_LEN];
    out.copy_from_slice(&h);
    out
}

/// Appends one framed record (header ‖ payload) to `out`.
pub fn append_record(out: &mut Vec<u8>, file_number: u64, payload: &[u8]) -> Result<()> {
    if payload.len() > MAX_RECORD_LEN {
        return Err(Error::invalid(format!("log record of {} bytes exceeds 2^31", payload.len())));
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
        Ok(LogWriter { inner, file_number, scratch: Vec::new(), offset: HEADER_LEN as u64 })
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
    pub fn new(data: &'a [u8], kind: LogKind, file_number: u64, file_name: Option<&str>) -> Result<Self> {
        let mut reader = LogReader {
            data,
            file_number: file_number as u32,
            file_name: file_name.map(str::to_string),
            pos: HEADER_LEN,
            tail: None,
        };
        if data.len() < HEADER_LEN {
            reader.pos = data.len();
            reader.tail = Some(LogTail::Torn { offset: 0, discarded: data.len() as u64 });
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
        let payload = self.data.get(p + HEADER_LEN..(p + HEADER_LEN).checked_add(len)?)?;
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
            return Ok(Some(LogRecord { offset: p as u64, payload: &self.data[start..start + len] }));
        }
        // No record here: damage in the middle if anything valid follows.
        let last_start = self.data.len().saturating_sub(HEADER_LEN);
        if let Some(q) = (p + 1..=last_start).find(|&q| self.valid_record_at(q).is_some()) {
            return Err(self.corrupt(format!("damaged log record at offset {p} (a valid record follows at {q})")));
        }
        self.tail = Some(LogTail::Torn { offset: p as u64, discarded: (self.data.len() - p) as u64 });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(payloads: &[&[u8]], file_number: u64) -> Vec<u8> {
        let mut w = LogWriter::create(Vec::new(), LogKind::Wal, file_number).unwrap();
        for p in payloads {
            w.add_record(p).unwrap();
        }
        assert_eq!(w.offset() as usize, w.get_mut().len());
        w.into_inner()
    }

    fn read(data: &[u8], n: u64) -> Result<(Vec<Vec<u8>>, LogTail)> {
        let (recs, tail) = LogReader::new(data, LogKind::Wal, n, Some("000003.log"))?.read_all()?;
        Ok((recs.into_iter().map(|r| r.payload.to_vec()).collect(), tail))
    }

    #[test]
    fn header_and_record_layout() {
        let h = file_header(LogKind::Manifest);
        assert_eq!(&h[..8], b"LSMR-MAN");
        assert_eq!(&h[8..12], &[1, 0, 0, 0]);
        assert_eq!(get_fixed32(&h[12..]), Some(mcrc(&h[..12])));
        let data = log_with(&[b"abc"], 0x1_0000_0003);
        let rec = &data[16..];
        assert_eq!(rec.len(), 16 + 3);
        assert_eq!(get_fixed32(&rec[4..]), Some(3));
        assert_eq!(get_fixed32(&rec[8..]), Some(3), "file number is stored mod 2^32");
        assert_eq!(get_fixed32(&rec[12..]), Some(mcrc(b"abc")));
        assert_eq!(get_fixed32(rec), Some(mcrc(&rec[4..16])));
    }

    #[test]
    fn round_trip_with_clean_tail() {
        let data = log_with(&[b"one", b"", b"three"], 3);
        let (recs, tail) = read(&data, 3).unwrap();
        assert_eq!(recs, vec![b"one".to_vec(), vec![], b"three".to_vec()]);
        assert_eq!(tail, LogTail::Clean);
        let reader = LogReader::new(&data, LogKind::Wal, 3, None).unwrap();
        let (offsets, _) = reader.read_all().unwrap();
        assert_eq!(offsets.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![16, 35, 51]);
    }

    #[test]
    fn every_truncation_is_a_torn_tail() {
        let data = log_with(&[b"one", b"two", b"three"], 3);
        for cut in HEADER_LEN..data.len() {
            let (recs, tail) = read(&data[..cut], 3).unwrap();
            let complete = [16 + 19, 16 + 38, 16 + 59].iter().filter(|&&end| end <= cut).count();
            assert_eq!(recs.len(), complete, "cut at {cut}");
            let boundary = [16usize, 35, 54, 75][complete];
            let expected = if cut == boundary {
                LogTail::Clean
            } else {
                LogTail::Torn { offset: boundary as u64, discarded: (cut - boundary) as u64 }
            };
            assert_eq!(tail, expected, "cut at {cut}");
        }
    }

    #[test]
    fn short_file_is_an_empty_torn_log() {
        for n in 0..HEADER_LEN {
            let (recs, tail) = read(&file_header(LogKind::Wal)[..n], 3).unwrap();
            assert!(recs.is_empty());
            assert_eq!(tail, LogTail::Torn { offset: 0, discarded: n as u64 });
        }
        let (recs, tail) = read(&file_header(LogKind::Wal), 3).unwrap();
        assert!(recs.is_empty());
        assert_eq!(tail, LogTail::Clean);
    }

    #[test]
    fn bad_header_is_corruption() {
        let data = log_with(&[b"x"], 3);
        assert!(LogReader::new(&data, LogKind::Manifest, 3, None).unwrap_err().is_corruption());
        for i in 0..HEADER_LEN {
            let mut bad = data.clone();
            bad[i] ^= 1;
            let e = LogReader::new(&bad, LogKind::Wal, 3, Some("000003.log")).unwrap_err();
            assert!(e.to_string().contains("000003.log"), "{e}");
        }
    }

    #[test]
    fn damage_followed_by_a_valid_record_is_corruption() {
        let data = log_with(&[b"one", b"two", b"three"], 3);
        // Flip a payload byte of the first and of the second record.
        for at in [16 + 16, 35 + 16 + 1, 35 + 2] {
            let mut bad = data.clone();
            bad[at] ^= 0x40;
            let e = read(&bad, 3).unwrap_err();
            assert!(e.is_corruption());
            assert!(e.to_string().contains("000003.log"), "{e}");
        }
        // Damage in the last record only: a torn tail.
        let mut last = data.clone();
        let n = last.len();
        last[n - 1] ^= 1;
        let (recs, tail) = read(&last, 3).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(tail, LogTail::Torn { offset: 54, discarded: 21 });
    }

    #[test]
    fn records_of_another_file_are_not_valid() {
        let data = log_with(&[b"one"], 3);
        let (recs, tail) = read(&data, 4).unwrap();
        assert!(recs.is_empty());
        assert!(matches!(tail, LogTail::Torn { offset: 16, .. }));
        // A foreign record embedded after a good one does not count as "valid later".
        let mut mixed = log_with(&[b"one"], 3);
        mixed.extend_from_slice(&[0xAA; 5]);
        append_record(&mut mixed, 9, b"foreign").unwrap();
        let (recs, tail) = read(&mixed, 3).unwrap();
        assert_eq!(recs.len(), 1);
        assert!(matches!(tail, LogTail::Torn { offset: 35, .. }));
    }

    #[test]
    fn empty_payload_is_a_header_only_record() {
        let mut out = Vec::new();
        append_record(&mut out, 1, &[]).unwrap();
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(MAX_RECORD_LEN, 2_147_483_648);
    }
}
