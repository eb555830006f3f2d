//! Version edits (`docs/FORMAT.md` §5): the payload of MANIFEST records. (The
//! `CURRENT` file that names the live MANIFEST is in [`crate::current`].)
//!
//! An edit is a list of tagged fields, so a reader replays it without knowing
//! which fields a writer chose to include. The writer emits fields in one fixed
//! order (1, 2, 3, 6, 4, 5; groups sorted by level, then file number) so that
//! both engines produce identical bytes for the same edit.
//!
//! A MANIFEST never depends on an older one: its first record is a complete
//! snapshot of the version, so switching to a new MANIFEST is one `CURRENT`
//! swap.

use crate::coding::{put_lpbytes, put_varint32, put_varint64, Decoder, MAX_SAFE_INTEGER};
use crate::error::{Error, Result};
use crate::key::parse_internal_key;
use crate::log::{LogKind, LogReader, LogTail};

/// Field tags. Stored on disk: never renumber, only add.
pub mod tag {
    pub const LOG_NUMBER: u32 = 1;
    pub const NEXT_FILE_NUMBER: u32 = 2;
    pub const LAST_SEQUENCE: u32 = 3;
    pub const DELETE_FILE: u32 = 4;
    pub const ADD_FILE: u32 = 5;
    pub const COMPACT_POINTER: u32 = 6;
}

/// Number of levels; a level ≥ this is corruption.
pub const NUM_LEVELS: u32 = 7;

/// Where the next compaction of `level` starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactPointer {
    pub level: u32,
    pub key: Vec<u8>,
}

/// A table removed from a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeletedFile {
    pub level: u32,
    pub file_number: u64,
}

/// A table added to a level, with what a reader needs to use it without
/// opening it (key range, sequence range, size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    pub level: u32,
    pub file_number: u64,
    pub file_size: u64,
    pub min_seq: u64,
    pub max_seq: u64,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
}

/// One MANIFEST record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionEdit {
    pub log_number: Option<u64>,
    pub next_file_number: Option<u64>,
    pub last_sequence: Option<u64>,
    pub compact_pointers: Vec<CompactPointer>,
    pub deleted_files: Vec<DeletedFile>,
    pub added_files: Vec<FileMeta>,
}

fn check_level(level: u32) -> Result<()> {
    if level >= NUM_LEVELS {
        return Err(Error::invalid(format!(
            "level {level} must be below {NUM_LEVELS}"
        )));
    }
    Ok(())
}

fn check_safe(name: &str, v: u64) -> Result<()> {
    if v > MAX_SAFE_INTEGER {
        return Err(Error::invalid(format!("{name} {v} exceeds 2^53 - 1")));
    }
    Ok(())
}

fn check_key(name: &str, key: &[u8]) -> Result<()> {
    parse_internal_key(key)
        .map(drop)
        .map_err(|e| Error::invalid(format!("{name}: {e}")))
}

impl VersionEdit {
    /// Encodes the edit in canonical field order. Validates levels, numbers
    /// and keys, so a bad edit is refused before it reaches the disk.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for (t, name, v) in [
            (tag::LOG_NUMBER, "logNumber", self.log_number),
            (
                tag::NEXT_FILE_NUMBER,
                "nextFileNumber",
                self.next_file_number,
            ),
            (tag::LAST_SEQUENCE, "lastSequence", self.last_sequence),
        ] {
            if let Some(v) = v {
                check_safe(name, v)?;
                put_varint32(&mut out, t);
                put_varint64(&mut out, v);
            }
        }
        let mut pointers: Vec<&CompactPointer> = self.compact_pointers.iter().collect();
        pointers.sort_by_key(|p| p.level); // stable: equal levels keep their order
        for p in pointers {
            check_level(p.level)?;
            check_key("compact pointer", &p.key)?;
            put_varint32(&mut out, tag::COMPACT_POINTER);
            put_varint32(&mut out, p.level);
            put_lpbytes(&mut out, &p.key)?;
        }
        let mut deleted = self.deleted_files.clone();
        deleted.sort();
        for d in deleted {
            check_level(d.level)?;
            check_safe("fileNumber", d.file_number)?;
            put_varint32(&mut out, tag::DELETE_FILE);
            put_varint32(&mut out, d.level);
            put_varint64(&mut out, d.file_number);
        }
        let mut added: Vec<&FileMeta> = self.added_files.iter().collect();
        added.sort_by_key(|f| (f.level, f.file_number));
        for f in added {
            check_level(f.level)?;
            for (name, v) in [
                ("fileNumber", f.file_number),
                ("fileSize", f.file_size),
                ("minSeq", f.min_seq),
                ("maxSeq", f.max_seq),
            ] {
                check_safe(name, v)?;
            }
            check_key("smallest", &f.smallest)?;
            check_key("largest", &f.largest)?;
            put_varint32(&mut out, tag::ADD_FILE);
            put_varint32(&mut out, f.level);
            for v in [f.file_number, f.file_size, f.min_seq, f.max_seq] {
                put_varint64(&mut out, v);
            }
            put_lpbytes(&mut out, &f.smallest)?;
            put_lpbytes(&mut out, &f.largest)?;
        }
        Ok(out)
    }

    /// Decodes an edit. Unknown tags, levels ≥ 7, truncated fields and invalid
    /// internal keys are corruption. Fields are accepted in any order.
    pub fn decode(payload: &[u8]) -> Result<VersionEdit> {
        let mut edit = VersionEdit::default();
        let mut d = Decoder::new(payload);
        while !d.is_empty() {
            let at = d.pos();
            let t = d.varint32()?;
            edit.decode_field(t, &mut d)
                .map_err(|e| e.context(format!("version edit field {t} at {at}")))?;
        }
        Ok(edit)
    }

    fn decode_field(&mut self, t: u32, d: &mut Decoder<'_>) -> Result<()> {
        let level = |d: &mut Decoder<'_>| -> Result<u32> {
            let level = d.varint32()?;
            if level >= NUM_LEVELS {
                return Err(Error::corruption(format!(
                    "level {level} must be below {NUM_LEVELS}"
                )));
            }
            Ok(level)
        };
        let key = |d: &mut Decoder<'_>| -> Result<Vec<u8>> {
            let k = d.lpbytes()?;
            parse_internal_key(k)?;
            Ok(k.to_vec())
        };
        match t {
            tag::LOG_NUMBER => self.log_number = Some(d.varint64()?),
            tag::NEXT_FILE_NUMBER => self.next_file_number = Some(d.varint64()?),
            tag::LAST_SEQUENCE => self.last_sequence = Some(d.varint64()?),
            tag::COMPACT_POINTER => {
                let level = level(d)?;
                self.compact_pointers.push(CompactPointer {
                    level,
                    key: key(d)?,
                });
            }
            tag::DELETE_FILE => {
                let level = level(d)?;
                self.deleted_files.push(DeletedFile {
                    level,
                    file_number: d.varint64()?,
                });
            }
            tag::ADD_FILE => {
                let level = level(d)?;
                let (file_number, file_size, min_seq, max_seq) =
                    (d.varint64()?, d.varint64()?, d.varint64()?, d.varint64()?);
                let (smallest, largest) = (key(d)?, key(d)?);
                self.added_files.push(FileMeta {
                    level,
                    file_number,
                    file_size,
                    min_seq,
                    max_seq,
                    smallest,
                    largest,
                });
            }
            other => {
                return Err(Error::corruption(format!(
                    "unknown version edit tag {other}"
                )))
            }
        }
        Ok(())
    }
}

/// Reads every edit of a MANIFEST held in memory. A torn tail is an edit that
/// was never acknowledged and is dropped; the tail state is returned so the
/// caller can truncate or rewrite.
pub fn read_manifest(
    data: &[u8],
    file_number: u64,
    file_name: Option<&str>,
) -> Result<(Vec<VersionEdit>, LogTail)> {
    let (records, tail) =
        LogReader::new(data, LogKind::Manifest, file_number, file_name)?.read_all()?;
    let edits = records
        .iter()
        .map(|r| {
            VersionEdit::decode(r.payload).map_err(|e| {
                e.context(format!("MANIFEST record at {}", r.offset))
                    .in_file(file_name)
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((edits, tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, Kind};
    use crate::log::LogWriter;

    fn file(level: u32, n: u64) -> FileMeta {
        FileMeta {
            level,
            file_number: n,
            file_size: 1000 + n,
            min_seq: 1,
            max_seq: 50,
            smallest: make_internal_key(b"a", 50, Kind::Put),
            largest: make_internal_key(b"z", 1, Kind::Delete),
        }
    }

    fn sample() -> VersionEdit {
        VersionEdit {
            log_number: Some(3),
            next_file_number: Some(5),
            last_sequence: Some(300),
            compact_pointers: vec![CompactPointer {
                level: 2,
                key: make_internal_key(b"m", 7, Kind::Put),
            }],
            deleted_files: vec![
                DeletedFile {
                    level: 1,
                    file_number: 9,
                },
                DeletedFile {
                    level: 0,
                    file_number: 8,
                },
            ],
            added_files: vec![file(1, 12), file(0, 11), file(0, 4)],
        }
    }

    #[test]
    fn canonical_field_order() {
        let bytes = sample().encode().unwrap();
        assert_eq!(&bytes[..6], &[1, 3, 2, 5, 3, 0xac]);
        let decoded = VersionEdit::decode(&bytes).unwrap();
        let tags: Vec<u32> = {
            // Re-walk the encoding to list tags in order.
            let mut d = Decoder::new(&bytes);
            let mut tags = Vec::new();
            let mut scratch = VersionEdit::default();
            while !d.is_empty() {
                let t = d.varint32().unwrap();
                scratch.decode_field(t, &mut d).unwrap();
                tags.push(t);
            }
            tags
        };
        assert_eq!(tags, vec![1, 2, 3, 6, 4, 4, 5, 5, 5]);
        assert_eq!(
            decoded.deleted_files,
            vec![
                DeletedFile {
                    level: 0,
                    file_number: 8
                },
                DeletedFile {
                    level: 1,
                    file_number: 9
                }
            ]
        );
        let order: Vec<(u32, u64)> = decoded
            .added_files
            .iter()
            .map(|f| (f.level, f.file_number))
            .collect();
        assert_eq!(order, vec![(0, 4), (0, 11), (1, 12)]);
        // Decoding a canonical encoding and re-encoding is the identity.
        assert_eq!(decoded.encode().unwrap(), bytes);
    }

    #[test]
    fn empty_and_partial_edits() {
        assert_eq!(VersionEdit::decode(&[]).unwrap(), VersionEdit::default());
        let e = VersionEdit {
            last_sequence: Some(1),
            ..VersionEdit::default()
        };
        assert_eq!(e.encode().unwrap(), vec![3, 1]);
    }

    #[test]
    fn decode_rejects_corruption() {
        let bytes = sample().encode().unwrap();
        for n in 1..bytes.len() {
            // A prefix either ends on a field boundary (valid, fewer fields) or is truncated.
            if let Ok(e) = VersionEdit::decode(&bytes[..n]) {
                assert_ne!(e, sample());
            }
        }
        assert!(
            VersionEdit::decode(&[7, 0]).unwrap_err().is_corruption(),
            "unknown tag"
        );
        assert!(VersionEdit::decode(&[4, 7, 1]).is_err(), "level 7");
        assert!(VersionEdit::decode(&[1]).is_err(), "missing value");
        assert!(
            VersionEdit::decode(&[6, 0, 3, 1, 2, 3]).is_err(),
            "compact pointer key too short"
        );
        let mut big = vec![1u8];
        put_varint64(&mut big, MAX_SAFE_INTEGER + 1);
        assert!(VersionEdit::decode(&big).is_err());
    }

    #[test]
    fn encode_rejects_invalid_edits() {
        let mut e = sample();
        e.added_files[0].level = 7;
        assert!(matches!(e.encode(), Err(Error::InvalidArgument(_))));
        let mut e = sample();
        e.added_files[0].smallest = b"bad".to_vec();
        assert!(e.encode().is_err());
        let e = VersionEdit {
            next_file_number: Some(MAX_SAFE_INTEGER + 1),
            ..VersionEdit::default()
        };
        assert!(e.encode().is_err());
    }

    #[test]
    fn manifest_log_round_trip() {
        let mut w = LogWriter::create(Vec::new(), LogKind::Manifest, 2).unwrap();
        w.add_record(&sample().encode().unwrap()).unwrap();
        let second = VersionEdit {
            added_files: vec![file(0, 4)],
            ..VersionEdit::default()
        };
        w.add_record(&second.encode().unwrap()).unwrap();
        let data = w.into_inner();
        let (edits, tail) = read_manifest(&data, 2, Some("MANIFEST-000002")).unwrap();
        assert_eq!(tail, LogTail::Clean);
        assert_eq!(edits.len(), 2);
        assert_eq!(edits[1], second);
        let (edits, tail) = read_manifest(&data[..data.len() - 1], 2, None).unwrap();
        assert_eq!(edits.len(), 1);
        assert!(matches!(tail, LogTail::Torn { .. }));
    }
}
