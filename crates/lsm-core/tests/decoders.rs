//! Fuzzed decoders: every decoder is fed thousands of mutated and truncated
//! copies of valid input. Each must return `Ok` or `Err(Corruption)` — never
//! panic, never another error kind. (A panic in a decoder would abort a read
//! of damaged data instead of reporting it.)

use lsm_core::batch::{decode_write_group, WriteGroupBuilder};
use lsm_core::checksum::mcrc_parts;
use lsm_core::current::{encode_current, parse_current};
use lsm_core::iter::{collect_backward, collect_forward};
use lsm_core::key::{make_internal_key, Kind};
use lsm_core::log::{LogKind, LogReader, LogWriter};
use lsm_core::manifest::{FileMeta, VersionEdit};
use lsm_core::table::{
    build_table, BlockHandle, Table, TableOptions, COMPRESSION_NONE, COMPRESSION_SNAPPY,
};
use lsm_core::wal::read_wal;
use lsm_core::{Error, KvIter, Result};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Yields damaged variants of `good`: bit flips, byte overwrites, truncations,
/// insertions and deletions.
fn mutations(good: &[u8], count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut m = good.to_vec();
        for _ in 0..1 + rng.below(3) {
            if m.is_empty() {
                m.push(rng.next() as u8);
                continue;
            }
            let at = rng.below(m.len());
            match rng.below(5) {
                0 => m[at] ^= 1 << rng.below(8),
                1 => m[at] = rng.next() as u8,
                2 => m.truncate(at),
                3 => m.insert(at, rng.next() as u8),
                _ => {
                    m.remove(at);
                }
            }
        }
        out.push(m);
    }
    out
}

fn only_corruption<T>(r: Result<T>, what: &str) {
    if let Err(e) = r {
        assert!(
            matches!(e, Error::Corruption { .. }),
            "{what}: expected corruption, got {e}"
        );
    }
}

fn sample_group() -> Vec<u8> {
    let mut b = WriteGroupBuilder::new(42).unwrap();
    b.put(b"alpha", b"one")
        .unwrap()
        .delete(b"beta")
        .unwrap()
        .put(b"", b"empty key")
        .unwrap();
    b.finish().unwrap()
}

#[test]
fn write_groups() {
    for m in mutations(&sample_group(), 5000, 1) {
        only_corruption(decode_write_group(&m), "write group");
    }
}

#[test]
fn wal_and_manifest_logs() {
    let mut w = LogWriter::create(Vec::new(), LogKind::Wal, 3).unwrap();
    w.add_record(&sample_group()).unwrap();
    let mut b = WriteGroupBuilder::new(45).unwrap();
    b.put(b"gamma", &[7u8; 40]).unwrap();
    w.add_record(&b.finish().unwrap()).unwrap();
    let wal = w.into_inner();
    for m in mutations(&wal, 3000, 2) {
        only_corruption(read_wal(&m, 3, Some("000003.log")), "wal");
    }
    let edit = VersionEdit {
        log_number: Some(5),
        next_file_number: Some(9),
        last_sequence: Some(1000),
        added_files: vec![FileMeta {
            level: 0,
            file_number: 7,
            file_size: 4096,
            min_seq: 1,
            max_seq: 1000,
            smallest: make_internal_key(b"a", 1000, Kind::Put),
            largest: make_internal_key(b"z", 1, Kind::Delete),
        }],
        ..VersionEdit::default()
    };
    let payload = edit.encode().unwrap();
    for m in mutations(&payload, 5000, 3) {
        only_corruption(VersionEdit::decode(&m), "version edit");
    }
    let mut w = LogWriter::create(Vec::new(), LogKind::Manifest, 2).unwrap();
    w.add_record(&payload).unwrap();
    let manifest = w.into_inner();
    for m in mutations(&manifest, 2000, 4) {
        only_corruption(
            LogReader::new(&m, LogKind::Manifest, 2, None).and_then(|r| r.read_all()),
            "manifest",
        );
    }
}

#[test]
fn current_file() {
    let good = encode_current("MANIFEST-000002");
    for m in mutations(&good, 3000, 5) {
        if m != good {
            only_corruption(parse_current(&m), "CURRENT");
        }
    }
}

/// Walks a table every way there is; returns the first error.
fn exercise(table: &Table) -> Result<()> {
    let mut it = table.iter();
    it.seek_to_first()?;
    collect_forward(&mut it)?;
    it.seek_to_last()?;
    collect_backward(&mut it)?;
    it.seek(&make_internal_key(b"key050", 100, Kind::Put))?;
    if it.valid() {
        it.prev()?;
        it.next()?;
    }
    for k in [&b"key000"[..], b"key099", b"nope"] {
        table.get(k, u64::MAX)?;
    }
    Ok(())
}

#[test]
fn tables() {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..100u64)
        .map(|i| {
            (
                make_internal_key(format!("key{i:03}").as_bytes(), 200 - i, Kind::Put),
                vec![b'v'; (i % 17) as usize],
            )
        })
        .collect();
    let good = build_table(
        TableOptions {
            block_size: 128,
            ..TableOptions::default()
        },
        &entries,
    )
    .unwrap();
    exercise(&Table::open(good.clone(), None).unwrap()).unwrap();
    for m in mutations(&good, 3000, 6) {
        match Table::open(m, Some("fuzz.sst")) {
            Ok(table) => only_corruption(exercise(&table), "table walk"),
            Err(e) => only_corruption::<()>(Err(e), "table open"),
        }
    }
}

/// Damage that checksums cannot catch: block contents rewritten with a
/// matching CRC. The structural checks alone must then reject or tolerate it.
#[test]
fn tables_with_valid_checksums_over_garbage() {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..100u64)
        .map(|i| {
            (
                make_internal_key(format!("key{i:03}").as_bytes(), 200 - i, Kind::Put),
                vec![b'v'; (i % 17) as usize],
            )
        })
        .collect();
    let good = build_table(
        TableOptions {
            block_size: 128,
            ..TableOptions::default()
        },
        &entries,
    )
    .unwrap();
    let table = Table::open(good.clone(), None).unwrap();
    let footer = *table.footer();
    // Every block: the data blocks (from the index) plus filter, properties, index.
    let mut blocks = vec![footer.filter, footer.properties, footer.index];
    let mut it = lsm_core::block::Block::new(
        std::sync::Arc::from(good.clone()),
        footer.index.offset as usize..(footer.index.offset + footer.index.size) as usize,
    )
    .unwrap()
    .iter();
    it.seek_to_first().unwrap();
    while it.valid() {
        blocks.push(BlockHandle::decode(it.value()).unwrap());
        it.next().unwrap();
    }
    let types: Vec<u8> = blocks
        .iter()
        .map(|h| good[(h.offset + h.size) as usize])
        .collect();
    assert!(
        types[..3].iter().all(|&t| t == COMPRESSION_NONE),
        "meta blocks"
    );
    assert!(
        types[3..].contains(&COMPRESSION_SNAPPY),
        "some data blocks are compressed"
    );
    let mut rng = Rng(99);
    for round in 0..4000 {
        let h = blocks[round % blocks.len()];
        let (start, end) = (h.offset as usize, (h.offset + h.size) as usize);
        let mut m = good.clone();
        for _ in 0..1 + rng.below(3) {
            let at = start + rng.below(end - start);
            m[at] = if rng.below(2) == 0 {
                m[at] ^ (1 << rng.below(8))
            } else {
                rng.next() as u8
            };
        }
        // Reseal with the stored type byte: data blocks are mostly compressed,
        // so this feeds the Snappy decoder garbage under a valid checksum.
        let crc = mcrc_parts(&[&m[start..end], &[m[end]]]);
        m[end + 1..end + 5].copy_from_slice(&crc.to_le_bytes());
        match Table::open(m, Some("fuzz.sst")) {
            Ok(table) => only_corruption(exercise(&table), "table walk"),
            Err(e) => only_corruption::<()>(Err(e), "table open"),
        }
    }
}
