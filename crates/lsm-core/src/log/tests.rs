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
                discarded: (cut - boundary) as u64,
            }
        };
        assert_eq!(tail, expected, "cut at {cut}");
    }
}

#[test]
fn short_file_is_an_empty_torn_log() {
    for n in 0..HEADER_LEN {
        let (recs, tail) = read(&file_header(LogKind::Wal)[..n], 3).unwrap();
        assert!(recs.is_empty());
        assert_eq!(
            tail,
            LogTail::Torn {
                offset: 0,
                discarded: n as u64
            }
        );
    }
    let (recs, tail) = read(&file_header(LogKind::Wal), 3).unwrap();
    assert!(recs.is_empty());
    assert_eq!(tail, LogTail::Clean);
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
    assert_eq!(
        tail,
        LogTail::Torn {
            offset: 54,
            discarded: 21
        }
    );
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
