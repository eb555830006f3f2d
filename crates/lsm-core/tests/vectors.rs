//! Golden vectors (`docs/FORMAT.md` §8): the Rust core must rebuild every file
//! in `test/vectors/` byte for byte from `vectors.json`, and read each back.
//!
//! The files are produced by the TypeScript engine (`npx tsx
//! scripts/gen-vectors.ts`), so passing here proves the two engines agree on
//! the format. Missing files fail the test: a silently skipped compatibility
//! check is worse than none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsm_core::batch::WriteGroupBuilder;
use lsm_core::bloom::{build_filter, may_contain};
use lsm_core::checksum::{crc32c, mask};
use lsm_core::current::{encode_current, manifest_file_name, parse_current};
use lsm_core::iter::{collect_backward, collect_forward};
use lsm_core::key::{compare_internal, make_internal_key, Kind, Lookup};
use lsm_core::log::{LogKind, LogReader, LogTail, LogWriter};
use lsm_core::manifest::{read_manifest, CompactPointer, DeletedFile, FileMeta, VersionEdit};
use lsm_core::memtable::MemTable;
use lsm_core::merge::{MergingIter, UserIter};
use lsm_core::snappy;
use lsm_core::table::{
    build_table, BlockHandle, Compression, Table, TableOptions, BLOCK_TRAILER_LEN,
    COMPRESSION_NONE, COMPRESSION_SNAPPY,
};
use lsm_core::wal::read_wal;
use lsm_core::KvIter;
use serde_json::Value;

const FILES: [&str; 8] = [
    "vectors.json",
    "000003.log",
    "000004.sst",
    "000005.sst",
    "MANIFEST-000002",
    "CURRENT",
    "snappy.json",
    "logs.json",
];

/// `test/vectors/` of the repository, or `LSM_VECTORS_DIR` when set (lets a
/// developer check vectors generated elsewhere).
fn vectors_dir() -> PathBuf {
    match std::env::var_os("LSM_VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/vectors"),
    }
}

fn read(name: &str) -> Vec<u8> {
    let path = vectors_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "golden vector file {} is missing or unreadable ({e}). Generate the vectors with \
             `npx tsx scripts/gen-vectors.ts` from the repository root; this test never skips.",
            path.display()
        )
    })
}

fn json() -> Value {
    for f in FILES {
        read(f);
    }
    serde_json::from_slice(&read("vectors.json")).expect("vectors.json is not valid JSON")
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn num(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a non-negative integer, got {v}"))
}

/// One entry of the input: (user key, seq, kind, value).
type Entry = (Vec<u8>, u64, Kind, Vec<u8>);

fn entries(j: &Value) -> Vec<Vec<Entry>> {
    let groups = j["groups"].as_array().expect("groups");
    groups
        .iter()
        .map(|g| {
            let first = num(&g["firstSeq"]);
            let es = g["entries"].as_array().expect("entries");
            es.iter()
                .enumerate()
                .map(|(i, e)| {
                    let kind = if num(&e["kind"]) == 1 {
                        Kind::Put
                    } else {
                        Kind::Delete
                    };
                    let value = if kind == Kind::Put {
                        hex(&e["value"])
                    } else {
                        vec![]
                    };
                    (hex(&e["key"]), first + i as u64, kind, value)
                })
                .collect()
        })
        .collect()
}

fn sorted_internal(groups: &[Vec<Entry>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut all: Vec<(Vec<u8>, Vec<u8>)> = groups
        .iter()
        .flatten()
        .map(|(k, s, kind, v)| (make_internal_key(k, *s, *kind), v.clone()))
        .collect();
    all.sort_by(|a, b| compare_internal(&a.0, &b.0));
    all
}

#[test]
fn crc32c_vectors() {
    let j = json();
    let cases = j["crc32c"].as_array().expect("crc32c cases");
    assert!(!cases.is_empty());
    for c in cases {
        let data = hex(&c["data"]);
        assert_eq!(
            u64::from(crc32c(&data)),
            num(&c["crc"]),
            "crc32c of {}",
            c["data"]
        );
        assert_eq!(
            u64::from(mask(crc32c(&data))),
            num(&c["masked"]),
            "masked crc of {}",
            c["data"]
        );
    }
}

#[test]
fn bloom_vector() {
    let j = json();
    let b = &j["bloom"];
    let keys: Vec<Vec<u8>> = b["keys"]
        .as_array()
        .expect("bloom keys")
        .iter()
        .map(hex)
        .collect();
    let filter = build_filter(&keys, num(&b["bitsPerKey"]) as u32).unwrap();
    assert_eq!(
        hex::encode(&filter),
        b["filter"].as_str().unwrap(),
        "bloom filter bytes"
    );
    assert!(keys.iter().all(|k| may_contain(&filter, k)));
}

#[test]
fn wal_vector() {
    let j = json();
    let groups = entries(&j);
    let file_number = num(&j["wal"]["fileNumber"]);
    let name = format!("{file_number:06}.log");
    let golden = read(&name);

    let mut w = LogWriter::create(Vec::new(), LogKind::Wal, file_number).unwrap();
    for g in &groups {
        let mut b = WriteGroupBuilder::new(g[0].1).unwrap();
        for (k, _, kind, v) in g {
            match kind {
                Kind::Put => b.put(k, v).unwrap(),
                Kind::Delete => b.delete(k).unwrap(),
            };
        }
        w.add_record(&b.finish().unwrap()).unwrap();
    }
    let built = w.into_inner();
    assert_eq!(built.len(), golden.len(), "WAL length");
    assert!(built == golden, "WAL bytes differ from {name}");

    let wal = read_wal(&golden, file_number, Some(&name)).unwrap();
    assert_eq!(wal.tail, LogTail::Clean);
    assert_eq!(wal.groups.len(), groups.len());
    for ((_, got), want) in wal.groups.iter().zip(&groups) {
        let got: Vec<Entry> = got
            .entries
            .iter()
            .map(|e| (e.key.to_vec(), e.seq, e.kind, e.value.to_vec()))
            .collect();
        assert_eq!(&got, want);
    }
}

fn table_options(sst: &Value) -> TableOptions {
    TableOptions {
        block_size: num(&sst["blockSize"]) as usize,
        restart_interval: num(&sst["restartInterval"]) as usize,
        bits_per_key: num(&sst["bitsPerKey"]) as u32,
        compression: Compression::parse(sst["compression"].as_str().expect("compression"))
            .expect("known compression"),
    }
}

#[test]
fn sst_vector() {
    let j = json();
    let groups = entries(&j);
    let sst = &j["sst"];
    let name = format!("{:06}.sst", num(&sst["fileNumber"]));
    let golden = read(&name);
    let opts = table_options(sst);
    let sorted = sorted_internal(&groups);
    let built = build_table(opts, &sorted).unwrap();
    assert_eq!(built.len(), golden.len(), "table length");
    assert!(built == golden, "table bytes differ from {name}");

    let table = Table::open(golden, Some(&name)).unwrap();
    let props = table.properties();
    assert_eq!(props.entry_count, sorted.len() as u64);
    assert!(
        props.data_block_count > 1,
        "blockSize 256 must give several data blocks"
    );
    assert_eq!(props.smallest, sorted[0].0);
    assert_eq!(props.largest, sorted[sorted.len() - 1].0);

    let mut it = table.iter();
    it.seek_to_first().unwrap();
    assert_eq!(collect_forward(&mut it).unwrap(), sorted);
    it.seek_to_last().unwrap();
    let mut back = collect_backward(&mut it).unwrap();
    back.reverse();
    assert_eq!(back, sorted);

    // Point reads at every snapshot agree with a model built from the input.
    let last_seq = groups.iter().flatten().map(|e| e.1).max().unwrap();
    let flat: Vec<&Entry> = groups.iter().flatten().collect();
    for snapshot in [0, 1, 3, 4, 40, 63, 64, 66, 67, last_seq] {
        let mut model: BTreeMap<&[u8], Lookup> = BTreeMap::new();
        for (k, s, kind, v) in flat.iter().filter(|e| e.1 <= snapshot) {
            let l = match kind {
                Kind::Put => Lookup::Put {
                    seq: *s,
                    value: v.clone(),
                },
                Kind::Delete => Lookup::Delete { seq: *s },
            };
            model.insert(k, l);
        }
        for (k, _, _, _) in &flat {
            assert_eq!(
                table.get(k, snapshot).unwrap(),
                model.get(k.as_slice()).cloned(),
                "get at {snapshot}"
            );
        }
    }
}

/// `000005.sst`: the same entries as `000004.sst`, with Snappy-compressed data
/// blocks. Rust must write the same bytes (same cut, same compressor, same
/// 1/8 rule) and read back what the uncompressed table holds.
#[test]
fn compressed_sst_vector() {
    let j = json();
    let groups = entries(&j);
    let sst = &j["compressedSst"];
    assert_eq!(sst["compression"], "snappy");
    let name = format!("{:06}.sst", num(&sst["fileNumber"]));
    let golden = read(&name);
    let sorted = sorted_internal(&groups);
    let built = build_table(table_options(sst), &sorted).unwrap();
    assert_eq!(built.len(), golden.len(), "table length");
    assert!(built == golden, "table bytes differ from {name}");

    let plain = read("000004.sst");
    assert!(
        golden.len() < plain.len(),
        "compression made the table smaller"
    );
    // Both block types occur, and only in data blocks.
    let table = Table::open(golden.clone(), Some(&name)).unwrap();
    let footer = *table.footer();
    let mut types = Vec::new();
    let mut offset = 0u64;
    while offset < footer.filter.offset {
        let size = data_block_size_at(&golden, &table, offset);
        types.push(golden[(offset + size) as usize]);
        offset += size + BLOCK_TRAILER_LEN as u64;
    }
    assert!(types.contains(&COMPRESSION_SNAPPY), "{types:?}");
    assert!(types.contains(&COMPRESSION_NONE), "{types:?}");
    for meta in [footer.filter, footer.properties, footer.index] {
        assert_eq!(golden[(meta.offset + meta.size) as usize], COMPRESSION_NONE);
    }
    let plain_table = Table::open(plain, Some("000004.sst")).unwrap();
    assert_eq!(
        table.properties().entry_count,
        plain_table.properties().entry_count
    );
    assert_eq!(
        table.properties().data_block_count,
        plain_table.properties().data_block_count,
        "the cut is made on uncompressed sizes"
    );
    assert_eq!(table.properties().data_bytes, footer.filter.offset);
    let (mut a, mut b) = (table.iter(), plain_table.iter());
    a.seek_to_first().unwrap();
    b.seek_to_first().unwrap();
    assert_eq!(collect_forward(&mut a).unwrap(), sorted);
    assert_eq!(collect_forward(&mut b).unwrap(), sorted);
    a.seek_to_last().unwrap();
    let mut back = collect_backward(&mut a).unwrap();
    back.reverse();
    assert_eq!(back, sorted);
    for (k, _, _, _) in groups.iter().flatten() {
        for snapshot in [2, 63, 66, 86] {
            assert_eq!(
                table.get(k, snapshot).unwrap(),
                plain_table.get(k, snapshot).unwrap()
            );
        }
    }
}

/// Stored size of the data block at `offset`, found through the index.
fn data_block_size_at(file: &[u8], table: &Table, offset: u64) -> u64 {
    let footer = table.footer();
    let index = lsm_core::block::Block::new(
        Arc::from(file.to_vec()),
        footer.index.offset as usize..(footer.index.offset + footer.index.size) as usize,
    )
    .unwrap();
    let mut it = index.iter();
    it.seek_to_first().unwrap();
    while it.valid() {
        let h = BlockHandle::decode(it.value()).unwrap();
        if h.offset == offset {
            return h.size;
        }
        it.next().unwrap();
    }
    panic!("no data block at {offset}");
}

/// `snappy.json`: both engines' compressors write exactly these bytes, our
/// decompressor and the `snap` crate's read them back.
#[test]
fn snappy_vectors() {
    json();
    let j: Value =
        serde_json::from_slice(&read("snappy.json")).expect("snappy.json is not valid JSON");
    let cases = j["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let input = hex(&c["input"]);
        let expected = hex(&c["compressed"]);
        let mut ours = Vec::new();
        snappy::compress(&input, &mut ours);
        assert!(ours == expected, "{name}: compressed bytes differ");
        assert_eq!(snappy::decompress(&expected).unwrap(), input, "{name}");
        assert_eq!(
            snap::raw::Decoder::new().decompress_vec(&expected).unwrap(),
            input,
            "{name}: snap reads the vector"
        );
    }
}

#[test]
fn manifest_and_current_vectors() {
    let j = json();
    let m = &j["manifest"];
    let number = num(&m["fileNumber"]);
    let name = manifest_file_name(number);
    let golden = read(&name);

    let edits: Vec<VersionEdit> = m["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .map(edit_from_json)
        .collect();
    let mut w = LogWriter::create(Vec::new(), LogKind::Manifest, number).unwrap();
    for e in &edits {
        w.add_record(&e.encode().unwrap()).unwrap();
    }
    let built = w.into_inner();
    assert_eq!(built.len(), golden.len(), "MANIFEST length");
    assert!(built == golden, "MANIFEST bytes differ from {name}");

    let (read_back, tail) = read_manifest(&golden, number, Some(&name)).unwrap();
    assert_eq!(tail, LogTail::Clean);
    assert_eq!(read_back, edits);
    // The table the MANIFEST adds has the size of the golden table.
    let sst_len = read("000004.sst").len() as u64;
    assert!(edits
        .iter()
        .flat_map(|e| &e.added_files)
        .all(|f| f.file_number != 4 || f.file_size == sst_len));

    let current = read("CURRENT");
    assert_eq!(encode_current(&name), current, "CURRENT bytes");
    assert_eq!(parse_current(&current).unwrap(), (name, number));
}

fn edit_from_json(e: &Value) -> VersionEdit {
    let opt = |k: &str| e.get(k).map(num);
    let list = |k: &str| {
        e.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    VersionEdit {
        log_number: opt("logNumber"),
        next_file_number: opt("nextFileNumber"),
        last_sequence: opt("lastSequence"),
        compact_pointers: list("compactPointers")
            .iter()
            .map(|p| CompactPointer {
                level: num(&p["level"]) as u32,
                key: hex(&p["key"]),
            })
            .collect(),
        deleted_files: list("deletedFiles")
            .iter()
            .map(|d| DeletedFile {
                level: num(&d["level"]) as u32,
                file_number: num(&d["fileNumber"]),
            })
            .collect(),
        added_files: list("addedFiles")
            .iter()
            .map(|f| FileMeta {
                level: num(&f["level"]) as u32,
                file_number: num(&f["fileNumber"]),
                file_size: num(&f["fileSize"]),
                min_seq: num(&f["minSeq"]),
                max_seq: num(&f["maxSeq"]),
                smallest: hex(&f["smallest"]),
                largest: hex(&f["largest"]),
            })
            .collect(),
    }
}

/// The memtable fed from the golden WAL and the golden table hold the same
/// entries, and a user view over both agrees with a user view over either.
#[test]
fn memtable_from_wal_matches_table() {
    json();
    let wal_bytes = read("000003.log");
    let wal = read_wal(&wal_bytes, 3, Some("000003.log")).unwrap();
    let mem = Arc::new(MemTable::new());
    for (_, g) in &wal.groups {
        mem.apply_group(g).unwrap();
    }
    let table = Table::open(read("000004.sst"), Some("000004.sst")).unwrap();
    let mut m = mem.iter();
    m.seek_to_first().unwrap();
    let mut t = table.iter();
    t.seek_to_first().unwrap();
    assert_eq!(
        collect_forward(&mut m).unwrap(),
        collect_forward(&mut t).unwrap()
    );

    for snapshot in [2, 63, 66, mem.last_seq()] {
        let mut only_table = UserIter::new(table.iter(), snapshot);
        only_table.seek_to_first().unwrap();
        let expected = collect_forward(&mut only_table).unwrap();
        let merged = MergingIter::new(vec![Box::new(mem.iter()), Box::new(table.iter())]);
        let mut both = UserIter::new(merged, snapshot);
        both.seek_to_first().unwrap();
        assert_eq!(
            collect_forward(&mut both).unwrap(),
            expected,
            "snapshot {snapshot}"
        );
        both.seek_to_last().unwrap();
        let mut back = collect_backward(&mut both).unwrap();
        back.reverse();
        assert_eq!(back, expected, "snapshot {snapshot} backward");
    }
}

/// `logs.json`: the Rust log reader makes of each log what the TypeScript one
/// does (FORMAT.md §3): the records kept, where the good part ends and the
/// torn bytes counted for the newest WAL, and whether an older WAL is whole.
#[test]
fn log_vectors() {
    json();
    let j: Value = serde_json::from_slice(&read("logs.json")).expect("logs.json is not valid JSON");
    let cases = j["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let bytes = hex(&c["bytes"]);
        let got = LogReader::new(&bytes, LogKind::Wal, num(&c["fileNumber"]), None)
            .and_then(|r| r.read_all());
        let newest = &c["newest"];
        if newest.as_str() == Some("corruption") {
            assert!(
                matches!(&got, Err(e) if e.is_corruption()),
                "{name}: expected corruption, got {got:?}"
            );
            assert_eq!(c["older"].as_str(), Some("corruption"), "{name}");
            continue;
        }
        let (records, tail) = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        let (good, torn) = match tail {
            LogTail::Clean => (bytes.len() as u64, 0),
            LogTail::Torn { offset, discarded } => (offset, discarded),
        };
        assert_eq!(
            records.len() as u64,
            num(&newest["records"]),
            "{name}: records"
        );
        assert_eq!(good, num(&newest["goodLength"]), "{name}: good length");
        assert_eq!(torn, num(&newest["tornBytes"]), "{name}: torn bytes");
        // An older WAL must end exactly after its last record.
        assert_eq!(
            tail == LogTail::Clean,
            c["older"].as_str() != Some("corruption"),
            "{name}: as an older WAL"
        );
    }
}
