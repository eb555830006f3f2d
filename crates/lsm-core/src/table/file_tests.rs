//! File-backed tables: they must answer exactly like the same bytes held in
//! memory, read through the block cache, and name the file on corruption.

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use crate::cache::BlockCache;
use crate::file_pool::FilePool;
use crate::iter::{collect_backward, collect_forward, KvIter};
use crate::key::{make_internal_key, Kind};
use crate::mmap::MapBudget;
use crate::table::{build_table, Compression, Table, TableCaches, TableOptions, FOOTER_LEN};
use crate::testutil::TempDir;

fn caches(blocks: Arc<BlockCache>) -> TableCaches {
    TableCaches {
        blocks: Some(blocks),
        files: None,
        maps: None,
    }
}

fn entries(n: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let k = format!("key{:05}", i / 2);
            // Two versions per user key: newer put, older put or delete.
            let (seq, kind) = if i % 2 == 0 {
                (n + i, Kind::Put)
            } else if i % 6 == 1 {
                (i, Kind::Delete)
            } else {
                (i, Kind::Put)
            };
            let v = match kind {
                Kind::Put => format!("value-{i}-{}", "x".repeat((i % 30) as usize)).into_bytes(),
                Kind::Delete => vec![],
            };
            (make_internal_key(k.as_bytes(), seq, kind), v)
        })
        .collect()
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn sample_bytes() -> Vec<u8> {
    let opts = TableOptions {
        block_size: 256,
        ..TableOptions::default()
    };
    build_table(opts, &entries(600)).unwrap()
}

#[test]
fn file_table_reads_like_the_memory_table() {
    let dir = TempDir::new("table");
    let bytes = sample_bytes();
    let path = write(&dir, "000007.sst", &bytes);
    let cache = Arc::new(BlockCache::new(1 << 20));
    let file = Table::open_file(&path, Some(&caches(cache.clone()))).unwrap();
    let mem = Table::open(bytes.clone(), Some("000007.sst")).unwrap();
    assert_eq!(file.file_size(), bytes.len());
    assert_eq!(file.properties(), mem.properties());
    assert_eq!(file.file_name(), Some("000007.sst"));
    assert_eq!(file.smallest_user_key(), b"key00000");
    assert_eq!(file.largest_user_key(), b"key00299");
    assert!(file.covers(b"key00100") && !file.covers(b"key3") && !file.covers(b"a"));

    let (mut a, mut b) = (file.iter(), mem.iter());
    a.seek_to_first().unwrap();
    b.seek_to_first().unwrap();
    assert_eq!(
        collect_forward(&mut a).unwrap(),
        collect_forward(&mut b).unwrap()
    );
    a.seek_to_last().unwrap();
    b.seek_to_last().unwrap();
    assert_eq!(
        collect_backward(&mut a).unwrap(),
        collect_backward(&mut b).unwrap()
    );
    for i in 0..300u64 {
        let k = format!("key{i:05}");
        for snap in [0, 1, i * 2, i * 2 + 1, 600 + i * 2, u64::MAX] {
            assert_eq!(
                file.get(k.as_bytes(), snap).unwrap(),
                mem.get(k.as_bytes(), snap).unwrap()
            );
        }
    }
    let (hits, misses) = cache.stats();
    assert!(
        hits > misses,
        "repeated reads hit the cache: {hits} / {misses}"
    );
    assert!(cache.usage() > 0);
}

#[test]
fn reads_work_without_a_cache_and_across_threads() {
    let dir = TempDir::new("table");
    let path = write(&dir, "t.sst", &sample_bytes());
    let t = Table::open_file(&path, None).unwrap();
    let threads: Vec<_> = (0..3)
        .map(|n| {
            let t = t.clone();
            std::thread::spawn(move || {
                for i in (n..300u64).step_by(3) {
                    let k = format!("key{i:05}");
                    assert!(t.get(k.as_bytes(), u64::MAX).unwrap().is_some());
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
}

#[test]
fn damaged_files_are_corruption_naming_the_file() {
    let dir = TempDir::new("table");
    let good = sample_bytes();
    // Too short, bad footer, bad meta blocks: refused at open.
    let short = write(&dir, "000001.sst", &good[..FOOTER_LEN - 1]);
    let e = Table::open_file(&short, None).unwrap_err();
    assert!(e.to_string().starts_with("CORRUPTION: 000001.sst: "), "{e}");
    let table = Table::open(good.clone(), None).unwrap();
    let footer = *table.footer();
    for (i, at) in [
        good.len() - 1,
        footer.index.offset as usize,
        footer.properties.offset as usize,
        footer.filter.offset as usize,
    ]
    .into_iter()
    .enumerate()
    {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        let name = format!("00001{i}.sst");
        let p = write(&dir, &name, &bad);
        let e = Table::open_file(&p, None).unwrap_err();
        assert!(e.is_corruption(), "{e}");
        assert!(e.to_string().contains(&name), "{e}");
    }
    // A damaged data block opens fine and fails when read.
    let mut bad = good.clone();
    bad[20] ^= 1;
    let p = write(&dir, "000020.sst", &bad);
    let t = Table::open_file(&p, Some(&caches(Arc::new(BlockCache::new(1 << 20))))).unwrap();
    let e = t.get(b"key00000", u64::MAX).unwrap_err();
    assert!(e.to_string().starts_with("CORRUPTION: 000020.sst: "), "{e}");
    // ... every time: a failed block never enters the cache.
    assert!(t.get(b"key00000", u64::MAX).is_err());
    assert!(t.get(b"key00299", u64::MAX).unwrap().is_some());
}

#[test]
fn a_file_truncated_after_open_is_corruption_and_missing_files_are_io_errors() {
    let dir = TempDir::new("table");
    let p = write(&dir, "000030.sst", &sample_bytes());
    let t = Table::open_file(&p, None).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(100)
        .unwrap();
    let e = t.get(b"key00299", u64::MAX).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    let e = Table::open_file(&dir.join("absent.sst"), None).unwrap_err();
    assert_eq!(e.code(), "IO_ERROR");
    assert!(e.to_string().contains("absent.sst"), "{e}");
    // Overwriting bytes under an open table is caught by the checksums.
    let p = write(&dir, "000031.sst", &sample_bytes());
    let t = Table::open_file(&p, None).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.write_all_at(b"garbage", 0).unwrap();
    assert!(t.get(b"key00000", u64::MAX).unwrap_err().is_corruption());
}

#[test]
fn pooled_tables_share_a_bounded_set_of_descriptors() {
    let dir = TempDir::new("table");
    let bytes = sample_bytes();
    let pool = Arc::new(FilePool::new(2));
    let blocks = Arc::new(BlockCache::new(1 << 20));
    let c = TableCaches {
        blocks: Some(blocks.clone()),
        files: Some(pool.clone()),
        maps: None,
    };
    let tables: Vec<Table> = (0..6)
        .map(|i| Table::open_file(&write(&dir, &format!("{i}.sst"), &bytes), Some(&c)).unwrap())
        .collect();
    assert!(pool.open_count() <= 2);
    for round in 0..2 {
        for (i, t) in tables.iter().enumerate() {
            let k = format!("key{:05}", 7 * i + round);
            assert!(t.get(k.as_bytes(), u64::MAX).unwrap().is_some());
            assert!(pool.open_count() <= 2);
        }
    }
    // Dropping a table releases its descriptor and its cached blocks.
    let usage = blocks.usage();
    assert!(usage > 0);
    drop(tables);
    assert_eq!(pool.open_count(), 0);
    assert_eq!(blocks.usage(), 0);
    // A damaged file refused at open leaves nothing in the pool.
    let p = write(&dir, "bad.sst", &bytes[..100]);
    assert!(Table::open_file(&p, Some(&c)).unwrap_err().is_corruption());
    assert_eq!(pool.open_count(), 0);
}

#[test]
fn mapped_tables_read_like_pread_ones_within_their_budget() {
    let dir = TempDir::new("table");
    let bytes = sample_bytes();
    let pool = Arc::new(FilePool::new(10));
    let budget = Arc::new(MapBudget::new(2));
    let blocks = Arc::new(BlockCache::new(1 << 20));
    let c = TableCaches {
        blocks: Some(blocks.clone()),
        files: Some(pool.clone()),
        maps: Some(budget.clone()),
    };
    let tables: Vec<Table> = (0..5)
        .map(|i| Table::open_file(&write(&dir, &format!("{i}.sst"), &bytes), Some(&c)).unwrap())
        .collect();
    // Two mapped (no descriptor kept), three read through the pool.
    assert_eq!(budget.used(), 2);
    assert_eq!(pool.open_count(), 3);
    let mem = Table::open(bytes.clone(), None).unwrap();
    let want = {
        let mut it = mem.iter();
        it.seek_to_first().unwrap();
        collect_forward(&mut it).unwrap()
    };
    for t in &tables {
        let mut it = t.iter();
        it.seek_to_first().unwrap();
        assert_eq!(collect_forward(&mut it).unwrap(), want);
        for i in (0..300u64).step_by(7) {
            let k = format!("key{i:05}");
            assert_eq!(
                t.get(k.as_bytes(), u64::MAX).unwrap(),
                mem.get(k.as_bytes(), u64::MAX).unwrap()
            );
        }
    }
    // Closing a mapped table frees its slot for the next table opened.
    let mut tables = tables;
    tables.remove(0);
    assert_eq!(budget.used(), 1);
    let t = Table::open_file(&write(&dir, "9.sst", &bytes), Some(&c)).unwrap();
    assert_eq!(budget.used(), 2);
    assert_eq!(
        t.get(b"key00007", u64::MAX).unwrap(),
        mem.get(b"key00007", u64::MAX).unwrap()
    );
    drop(t);
    drop(tables);
    assert_eq!((budget.used(), pool.open_count()), (0, 0));
    // Damage is still caught by the checksums: refused at open (the slot is
    // given back), or reported when a damaged data block is read.
    let short = write(&dir, "000001.sst", &bytes[..FOOTER_LEN - 1]);
    assert!(Table::open_file(&short, Some(&c))
        .unwrap_err()
        .is_corruption());
    let mut bad = bytes.clone();
    let at = Table::open(bytes.clone(), None)
        .unwrap()
        .footer()
        .index
        .offset as usize;
    bad[at] ^= 0x40;
    assert!(Table::open_file(&write(&dir, "000002.sst", &bad), Some(&c))
        .unwrap_err()
        .is_corruption());
    assert_eq!(budget.used(), 0);
    let mut bad = bytes.clone();
    bad[20] ^= 1;
    let t = Table::open_file(&write(&dir, "000003.sst", &bad), Some(&c)).unwrap();
    assert_eq!(budget.used(), 1);
    let e = t.get(b"key00000", u64::MAX).unwrap_err();
    assert!(e.to_string().starts_with("CORRUPTION: 000003.sst: "), "{e}");
    assert!(t.get(b"key00299", u64::MAX).unwrap().is_some());
    // An empty file is not mapped (mmap refuses length 0): corruption.
    let empty = write(&dir, "000004.sst", &[]);
    assert!(Table::open_file(&empty, Some(&c))
        .unwrap_err()
        .is_corruption());
    assert_eq!(budget.used(), 1);
}

#[test]
fn the_block_cache_holds_blocks_decompressed() {
    let dir = TempDir::new("table");
    let bytes = sample_bytes();
    let plain = build_table(
        TableOptions {
            block_size: 256,
            compression: Compression::None,
            ..TableOptions::default()
        },
        &entries(600),
    )
    .unwrap();
    assert!(bytes.len() < plain.len(), "the sample compresses");
    let mut usage = Vec::new();
    for (name, b) in [("packed.sst", &bytes), ("plain.sst", &plain)] {
        let cache = Arc::new(BlockCache::new(8 << 20));
        let t = Table::open_file(&write(&dir, name, b), Some(&caches(cache.clone()))).unwrap();
        let mut it = t.iter();
        it.seek_to_first().unwrap();
        let all = collect_forward(&mut it).unwrap();
        assert_eq!(all, entries(600));
        usage.push(cache.usage());
        // A second walk is served from the cache: decompressed blocks in it.
        let (_, misses) = cache.stats();
        it.seek_to_first().unwrap();
        collect_forward(&mut it).unwrap();
        assert_eq!(cache.stats().1, misses);
    }
    // Every block is charged at its uncompressed size in both tables.
    assert_eq!(usage[0], usage[1]);
}
