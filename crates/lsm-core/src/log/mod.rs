//! Log framing shared by the WAL and the MANIFEST (`docs/FORMAT.md` §3).
//!
//! A log is a 16-byte file header followed by records, each a 16-byte header and
//! a payload. A reader tells the two ways a log can end badly apart by what a
//! crash can leave:
//! - a **torn tail**: a cut-short record, zeros (unwritten space such as a
//!   WAL's zeroed runway), or a record with a sector of zeros (a write into
//!   zeroed space that reached the disk only in part); the log ends there;
//! - **corruption**: complete bytes that changed (no zero sector), even in the
//!   last record, since silently dropping them could lose acknowledged writes.
//!
//! Each record also names its file's number, so a record embedded in another
//! log (say, copied inside a stored value) never passes as one of this file's.

mod reader;
#[cfg(test)]
mod tests;
mod writer;

pub use reader::{LogReader, LogRecord, LogTail};
pub use writer::{append_record, LogWriter};

use crate::checksum::mcrc;
use crate::coding::put_fixed32;

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
