//! Write-ahead log files (`NNNNNN.log`, `docs/FORMAT.md` §3): the log framing of
//! [`crate::log`] with one write group (§2.2) per record.
//!
//! Reading a WAL adds two checks on top of the framing: each payload must
//! decode as a write group, and sequence numbers must increase from group to
//! group. A WAL is written by a single appender in sequence order, so a group
//! that goes backwards can only be damage (or a record from elsewhere), and
//! replaying it would resurrect stale values.
//!
//! Whether a torn tail is acceptable is the caller's decision: only the newest
//! WAL may end torn, older ones were fsynced when they were retired.

use std::io::Write;

use crate::batch::{decode_write_group, WriteGroup};
use crate::error::{Error, Result};
use crate::log::{LogKind, LogReader, LogTail, LogWriter};

/// Everything a WAL holds, in file order.
#[derive(Debug, Clone)]
pub struct WalContents<'a> {
    /// Groups with the offset of the record that holds each.
    pub groups: Vec<(u64, WriteGroup<'a>)>,
    pub tail: LogTail,
}

impl WalContents<'_> {
    /// Last sequence number in the log, if it holds any group.
    pub fn last_seq(&self) -> Option<u64> {
        self.groups.last().map(|(_, g)| g.last_seq())
    }
}

/// Reads and validates a whole WAL held in memory.
pub fn read_wal<'a>(
    data: &'a [u8],
    file_number: u64,
    file_name: Option<&str>,
) -> Result<WalContents<'a>> {
    let (records, tail) = LogReader::new(data, LogKind::Wal, file_number, file_name)?.read_all()?;
    let mut groups: Vec<(u64, WriteGroup<'a>)> = Vec::with_capacity(records.len());
    for rec in records {
        let group = decode_write_group(rec.payload).map_err(|e| {
            e.context(format!("WAL record at {}", rec.offset))
                .in_file(file_name)
        })?;
        if let Some((_, prev)) = groups.last() {
            if group.first_seq <= prev.last_seq() {
                return Err(Error::corruption(format!(
                    "WAL record at {} starts at sequence {} but the previous group ended at {}",
                    rec.offset,
                    group.first_seq,
                    prev.last_seq()
                ))
                .in_file(file_name));
            }
        }
        groups.push((rec.offset, group));
    }
    Ok(WalContents { groups, tail })
}

/// Starts a new WAL on `sink` (writes the file header).
pub fn create_wal<W: Write>(sink: W, file_number: u64) -> Result<LogWriter<W>> {
    LogWriter::create(sink, LogKind::Wal, file_number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteGroupBuilder;
    use crate::key::Kind;

    fn group(first_seq: u64, keys: &[&[u8]]) -> Vec<u8> {
        let mut b = WriteGroupBuilder::new(first_seq).unwrap();
        for k in keys {
            b.put(k, b"v").unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn reads_groups_in_order() {
        let mut w = create_wal(Vec::new(), 3).unwrap();
        w.add_record(&group(1, &[b"a", b"b"])).unwrap();
        w.add_record(&group(3, &[b"c"])).unwrap();
        w.add_record(&group(10, &[b"d"])).unwrap();
        let data = w.into_inner();
        let wal = read_wal(&data, 3, Some("000003.log")).unwrap();
        assert_eq!(wal.tail, LogTail::Clean);
        assert_eq!(wal.groups.len(), 3);
        assert_eq!(wal.last_seq(), Some(10));
        assert_eq!(wal.groups[0].0, 16);
        let e = &wal.groups[1].1.entries[0];
        assert_eq!(
            (e.seq, e.kind, e.key, e.value),
            (3, Kind::Put, &b"c"[..], &b"v"[..])
        );
    }

    #[test]
    fn sequences_going_backwards_is_corruption() {
        let mut w = create_wal(Vec::new(), 3).unwrap();
        w.add_record(&group(1, &[b"a", b"b"])).unwrap();
        w.add_record(&group(2, &[b"c"])).unwrap();
        let e = read_wal(&w.into_inner(), 3, Some("000003.log")).unwrap_err();
        assert!(e.is_corruption());
        assert!(e.to_string().contains("000003.log"), "{e}");
    }

    #[test]
    fn undecodable_payload_is_corruption() {
        let mut w = create_wal(Vec::new(), 3).unwrap();
        w.add_record(b"not a write group").unwrap();
        let e = read_wal(&w.into_inner(), 3, Some("000003.log")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("CORRUPTION: 000003.log: WAL record at 16"),
            "{e}"
        );
    }

    #[test]
    fn torn_tail_keeps_earlier_groups() {
        let mut w = create_wal(Vec::new(), 3).unwrap();
        w.add_record(&group(1, &[b"a"])).unwrap();
        w.add_record(&group(2, &[b"b"])).unwrap();
        let data = w.into_inner();
        let wal = read_wal(&data[..data.len() - 3], 3, None).unwrap();
        assert_eq!(wal.groups.len(), 1);
        assert!(matches!(wal.tail, LogTail::Torn { .. }));
        let empty = read_wal(&[], 3, None).unwrap();
        assert_eq!(empty.last_seq(), None);
    }
}
