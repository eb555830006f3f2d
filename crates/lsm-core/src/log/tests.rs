//! Round trips and every way a log can end: clean, torn, corrupt.

use super::*;
use crate::checksum::mcrc;
use crate::coding::get_fixed32;
use crate::error::Result;

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
    assert_eq!(
        get_fixed32(&rec[8..]),
        Some(3),
        "file number is stored mod 2^32"
    );
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
    assert_eq!(
        offsets.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![16, 35, 51]
    );
}

/// Bytes from `from` to the last non-zero byte of `data` (what a torn tail counts).
fn counted(data: &[u8], from: usize) -> u64 {
    data[from..]
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i as u64 + 1)
}

#[test]
fn every_truncation_is_a_torn_tail() {
    let data = log_with(&[b"one", b"two", b"three"], 3);
    for cut in HEADER_LEN..data.len() {
        let (recs, tail) = read(&data[..cut], 3).unwrap();
        let complete = [16 + 19, 16 + 38, 16 + 59]
            .iter()
            .filter(|&&end| end <= cut)
            .count();
        assert_eq!(recs.len(), complete, "cut at {cut}");
        let boundary = [16usize, 35, 54, 75][complete];
        let expected = if cut == boundary {
            LogTail::Clean
        } else {
            LogTail::Torn {
                offset: boundary as u64,
                discarded: counted(&data[..cut], boundary),
            }
        };
        assert_eq!(tail, expected, "cut at {cut}");
    }
}

#[test]
fn short_file_is_an_empty_torn_log() {
    for n in 0..HEADER_LEN {
        let head = &file_header(LogKind::Wal)[..n];
        let (recs, tail) = read(head, 3).unwrap();
        assert!(recs.is_empty());
        assert_eq!(
            tail,
            LogTail::Torn {
                offset: 0,
                discarded: counted(head, 0)
            }
        );
    }
    let (recs, tail) = read(&file_header(LogKind::Wal), 3).unwrap();
    assert!(recs.is_empty());
    assert_eq!(tail, LogTail::Clean);
    // A header that never reached the disk (zeros), records or not after it.
    let mut zeroed = log_with(&[b"one"], 3);
    zeroed[..HEADER_LEN].fill(0);
    let (recs, tail) = read(&zeroed, 3).unwrap();
    assert!(recs.is_empty());
    assert!(matches!(tail, LogTail::Torn { offset: 0, .. }));
}

#[test]
fn bad_header_is_corruption() {
    let data = log_with(&[b"x"], 3);
    assert!(LogReader::new(&data, LogKind::Manifest, 3, None)
        .unwrap_err()
        .is_corruption());
    for i in 0..HEADER_LEN {
        let mut bad = data.clone();
        bad[i] ^= 1;
        let e = LogReader::new(&bad, LogKind::Wal, 3, Some("000003.log")).unwrap_err();
        assert!(e.to_string().contains("000003.log"), "{e}");
    }
}

#[test]
fn any_changed_byte_of_a_complete_record_is_corruption_the_last_included() {
    let data = log_with(&[b"one", b"two", b"three"], 3);
    for at in HEADER_LEN..data.len() {
        let mut bad = data.clone();
        bad[at] ^= 0x40;
        let e = read(&bad, 3).unwrap_err();
        assert!(e.is_corruption(), "flip at {at}");
        assert!(e.to_string().contains("000003.log"), "{e}");
    }
}

#[test]
fn zeros_after_the_last_record_end_the_log_and_are_not_counted() {
    let mut data = log_with(&[b"one", b"two"], 3);
    let n = data.len();
    data.resize(n + 4096, 0);
    let (recs, tail) = read(&data, 3).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        tail,
        LogTail::Torn {
            offset: n as u64,
            discarded: 0
        }
    );
}

/// Three 1500-byte records (each spans several sectors) and a zeroed runway.
fn runway_log() -> (Vec<u8>, [usize; 3]) {
    let payloads: Vec<Vec<u8>> = (0..3u8).map(|i| vec![0x41 + i; 1500]).collect();
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let mut data = log_with(&refs, 3);
    data.resize(data.len() + 8192, 0);
    (data, [16, 16 + 1516, 16 + 2 * 1516])
}

#[test]
fn a_record_with_a_sector_of_zeros_is_a_torn_tail() {
    let (_, starts) = runway_log();
    let last = starts[2];
    let end = last + 16 + 1500;
    let mut s = last - last % 512;
    while s < end {
        let (mut data, _) = runway_log();
        data[s.max(last)..(s + 512).min(end)].fill(0);
        let (recs, tail) = read(&data, 3).unwrap();
        assert_eq!(recs.len(), 2, "sector at {s}");
        assert!(matches!(tail, LogTail::Torn { offset, .. } if offset == last as u64));
        s += 512;
    }
    // A hole in an earlier record ends the log there, whatever follows (a
    // later unsynced sector may reach the disk before an earlier one).
    let (mut data, _) = runway_log();
    data[2048..2560].fill(0);
    let (recs, tail) = read(&data, 3).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(
        tail,
        LogTail::Torn {
            offset: starts[1] as u64,
            discarded: 2 * 1516
        }
    );
    // A changed byte leaves no zero sector: corruption, last record or not.
    for at in [last + 3, last + 16 + 700, end - 1] {
        let (mut data, _) = runway_log();
        data[at] ^= 0x10;
        assert!(read(&data, 3).unwrap_err().is_corruption(), "flip at {at}");
    }
}

#[test]
fn records_of_another_file_are_corruption() {
    let data = log_with(&[b"one"], 3);
    assert!(read(&data, 4).unwrap_err().is_corruption());
    let mut mixed = log_with(&[b"one"], 3);
    mixed.extend_from_slice(&[0xAA; 5]);
    append_record(&mut mixed, 9, b"foreign").unwrap();
    assert!(read(&mixed, 3).unwrap_err().is_corruption());
}

#[test]
fn empty_payload_is_a_header_only_record() {
    let mut out = Vec::new();
    append_record(&mut out, 1, &[]).unwrap();
    assert_eq!(out.len(), HEADER_LEN);
    assert_eq!(MAX_RECORD_LEN, 2_147_483_648);
}
