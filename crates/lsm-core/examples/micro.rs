//! CPU micro-benchmark of the core's hot loops, without Node in the way
//! (development aid; figures in docs/PERFORMANCE.md):
//!
//! 1. memtable inserts: N keys of the bench's shape (16-digit decimal keys,
//!    100-byte values, half compressible) in random order, in write groups of
//!    64, a new memtable every 4 MiB;
//! 2. flushes of those memtables to tables (block building, Snappy, bloom);
//! 3. one compaction merging all those tables (they overlap: random keys).
//!
//! `cargo run --release -p lsm-core --example micro [N] [rounds]`; every phase
//! prints its best round, in ns per entry.

use std::sync::Arc;

use lsm_core::jobs::{flush_memtable, run_compaction, CompactionJob};
use lsm_core::memtable::MemTable;
use lsm_core::table::TableOptions;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn key(i: u64) -> [u8; 16] {
    let mut k = [b'0'; 16];
    let mut v = i;
    for p in (0..16).rev() {
        k[p] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    k
}

fn value(rng: &mut Rng) -> Vec<u8> {
    let mut v: Vec<u8> = (0..50).map(|_| rng.next() as u8).collect();
    let fill = b'a' + (rng.next() % 26) as u8;
    v.resize(100, fill);
    v
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass and nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn best(rounds: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..rounds).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut order: Vec<u64> = (0..n).collect();
    for i in (1..order.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let values: Vec<Vec<u8>> = (0..1024).map(|_| value(&mut rng)).collect();
    // Write groups of 64 puts, encoded as the WAL carries them (§2.2).
    let mut groups: Vec<Vec<u8>> = Vec::new();
    for (g, chunk) in order.chunks(64).enumerate() {
        let mut buf = Vec::with_capacity(12 + 64 * 120);
        buf.extend_from_slice(&(1 + g as u64 * 64).to_le_bytes());
        buf.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        for (j, &i) in chunk.iter().enumerate() {
            buf.push(1); // put
            varint(&mut buf, 16);
            buf.extend_from_slice(&key(i));
            let v = &values[(g * 64 + j) % values.len()];
            varint(&mut buf, v.len() as u64);
            buf.extend_from_slice(v);
        }
        groups.push(buf);
    }
    // Thread CPU time, not wall time: the flush and compaction fsyncs would
    // otherwise dominate the spread.
    let per = |t: u128| (cpu_ns() - t) as f64 / n as f64;

    let mut mems: Vec<Arc<MemTable>> = Vec::new();
    let insert = best(rounds, || {
        mems.clear();
        let t = cpu_ns();
        let mut mem = Arc::new(MemTable::new());
        for g in &groups {
            if mem.approximate_size() >= 4 << 20 {
                mems.push(std::mem::replace(&mut mem, Arc::new(MemTable::new())));
            }
            mem.apply(g).expect("apply");
        }
        mems.push(mem);
        per(t)
    });
    println!(
        "memtable insert  {insert:7.1} ns/entry ({} memtables)",
        mems.len()
    );
    if std::env::var_os("MICRO_INSERT_ONLY").is_some() {
        return;
    }

    // Point reads of random keys in one full memtable (most are not in it: the
    // path every read takes through the memtables before the tables).
    let last = mems.last().expect("a memtable");
    let mut found = 0usize;
    let get = best(rounds, || {
        let t = cpu_ns();
        for &i in &order {
            found += last
                .get_with(&key(i), u64::MAX, |_, _, v| v.len())
                .found()
                .is_some() as usize;
        }
        per(t)
    });
    println!(
        "memtable get     {get:7.1} ns/read ({} found per round)",
        found / rounds
    );

    // Snappy on data blocks shaped like the flushed ones: ~4 KiB of entries
    // (3 varint bytes, an 8-byte key suffix, an 8-byte trailer, a value).
    let blocks: Vec<Vec<u8>> = (0..256)
        .map(|b| {
            let mut blk = Vec::with_capacity(4200);
            let mut i = 0;
            while blk.len() < 4096 {
                blk.extend_from_slice(&[8, 16, 100]);
                blk.extend_from_slice(&key(order[(b * 40 + i) % order.len()])[8..]);
                blk.extend_from_slice(&(rng.next() & 0xff_ffff).to_le_bytes());
                blk.extend_from_slice(&values[(b * 40 + i) % values.len()]);
                i += 1;
            }
            blk
        })
        .collect();
    let mut out = Vec::new();
    let block_bytes: usize = blocks.iter().map(Vec::len).sum();
    let snappy = best(
        if std::env::var_os("MICRO_FLUSH_ONLY").is_some() {
            0
        } else {
            rounds
        },
        || {
            let t = cpu_ns();
            for _ in 0..20 {
                for b in &blocks {
                    out.clear();
                    lsm_core::snappy::compress(b, &mut out);
                }
            }
            (cpu_ns() - t) as f64 / (20 * block_bytes) as f64
        },
    );
    println!(
        "snappy compress  {snappy:7.2} ns/byte ({:.0} MB/s)",
        1e3 / snappy
    );
    let compressed: Vec<Vec<u8>> = blocks
        .iter()
        .map(|b| {
            let mut c = Vec::new();
            lsm_core::snappy::compress(b, &mut c);
            c
        })
        .collect();
    let mut plain = vec![0u8; 8192];
    let unsnappy = best(rounds, || {
        let t = cpu_ns();
        for _ in 0..20 {
            for c in &compressed {
                let n = lsm_core::snappy::decompressed_len(c).expect("length");
                lsm_core::snappy::decompress_into(c, &mut plain[..n]).expect("decompress");
            }
        }
        (cpu_ns() - t) as f64 / (20 * block_bytes) as f64
    });
    println!(
        "snappy decompress {unsnappy:6.2} ns/byte ({:.0} MB/s)",
        1e3 / unsnappy
    );

    let dir = std::env::temp_dir().join(format!("lsm-micro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let tables: Vec<_> = (0..mems.len())
        .map(|i| dir.join(format!("{:06}.sst", i + 1)))
        .collect();
    let flush = best(rounds, || {
        for p in &tables {
            let _ = std::fs::remove_file(p);
        }
        let t = cpu_ns();
        for (m, p) in mems.iter().zip(&tables) {
            flush_memtable(m, p, TableOptions::default(), false).expect("flush");
        }
        per(t)
    });
    println!("flush            {flush:7.1} ns/entry");
    if std::env::var_os("MICRO_FLUSH_ONLY").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    let outputs: Vec<_> = (0..400)
        .map(|i| dir.join(format!("{:06}.sst", 1000 + i)))
        .collect();
    // All tables (every key once), then 8 of them: an L0 compaction's shape.
    for inputs in [&tables[..], &tables[..8.min(tables.len())]] {
        let entries: u64 = inputs.len() as u64 * n / tables.len() as u64;
        let compact = best(rounds, || {
            for o in &outputs {
                let _ = std::fs::remove_file(o);
            }
            let t = cpu_ns();
            let job = CompactionJob {
                inputs: inputs.to_vec(),
                outputs: outputs.clone(),
                smallest_snapshot: u64::MAX >> 20,
                drop_deletes: true,
                target_file_size: 2 << 20,
                table_options: TableOptions::default(),
                start: None,
                end: None,
                recycle: Vec::new(),
            };
            run_compaction(&job).expect("compaction");
            (cpu_ns() - t) as f64 / entries as f64
        });
        println!(
            "compaction       {compact:7.1} ns/entry ({} inputs)",
            inputs.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
