//! Model-based test: random writes go through the real path (write group →
//! memtable → flushed tables), and every read — point lookups and iteration
//! in both directions at random snapshots — is compared with a plain
//! `BTreeMap` replay of the same operations.

use std::collections::BTreeMap;
use std::sync::Arc;

use lsm_core::batch::WriteGroupBuilder;
use lsm_core::key::Lookup;
use lsm_core::memtable::MemTable;
use lsm_core::merge::{MergingIter, UserIter};
use lsm_core::table::{build_table, Compression, Table, TableOptions};
use lsm_core::KvIter;

/// xorshift64*: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (seq, key, Some(value) | None for delete)
type Op = (u64, Vec<u8>, Option<Vec<u8>>);

fn model_at(ops: &[Op], snapshot: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut m = BTreeMap::new();
    for (_, k, v) in ops.iter().filter(|o| o.0 <= snapshot) {
        match v {
            Some(v) => m.insert(k.clone(), v.clone()),
            None => m.remove(k),
        };
    }
    m
}

#[test]
fn random_operations_match_a_btreemap() {
    for seed in 1..=6u64 {
        run(seed);
    }
}

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let opts = TableOptions {
        block_size: 64 + rng.below(512) as usize,
        restart_interval: 1 + rng.below(16) as usize,
        bits_per_key: 10,
        // Odd seeds store data blocks compressed where that pays.
        compression: if seed % 2 == 0 {
            Compression::None
        } else {
            Compression::Snappy
        },
    };
    let mut ops: Vec<Op> = Vec::new();
    let mut tables: Vec<Table> = Vec::new(); // oldest first
    let mut mem = Arc::new(MemTable::new());
    let mut seq = 1u64;
    for _round in 0..8 {
        // A few write groups into the memtable.
        for _ in 0..(5 + rng.below(20)) {
            let mut b = WriteGroupBuilder::new(seq).unwrap();
            for _ in 0..(1 + rng.below(6)) {
                let key = format!("k{:03}", rng.below(80)).into_bytes();
                if rng.below(4) == 0 {
                    b.delete(&key).unwrap();
                    ops.push((seq, key, None));
                } else {
                    let value =
                        format!("v{seq}-{}", "x".repeat(rng.below(30) as usize)).into_bytes();
                    b.put(&key, &value).unwrap();
                    ops.push((seq, key, Some(value)));
                }
                seq += 1;
            }
            let last = mem.apply(&b.finish().unwrap()).unwrap();
            assert_eq!(last, seq - 1);
        }
        // Flush most rounds: the memtable's entries become a table.
        if rng.below(3) != 0 {
            let mut it = mem.iter();
            it.seek_to_first().unwrap();
            let entries = lsm_core::iter::collect_forward(&mut it).unwrap();
            let bytes = build_table(opts, &entries).unwrap();
            tables.push(Table::open(bytes, Some("flushed.sst")).unwrap());
            mem = Arc::new(MemTable::new());
        }
        check(&mut rng, &ops, &mem, &tables, seq - 1);
    }
}

fn point_read(mem: &MemTable, tables: &[Table], key: &[u8], snapshot: u64) -> Option<Vec<u8>> {
    let found = match mem.get(key, snapshot) {
        Some(l) => Some(l),
        None => tables
            .iter()
            .rev()
            .find_map(|t| t.get(key, snapshot).unwrap()),
    };
    match found {
        Some(Lookup::Put { value, .. }) => Some(value),
        Some(Lookup::Delete { .. }) | None => None,
    }
}

fn view(mem: &Arc<MemTable>, tables: &[Table], snapshot: u64) -> UserIter<MergingIter> {
    let mut sources: Vec<Box<dyn KvIter>> = vec![Box::new(mem.iter())];
    sources.extend(
        tables
            .iter()
            .rev()
            .map(|t| Box::new(t.iter()) as Box<dyn KvIter>),
    );
    UserIter::new(MergingIter::new(sources), snapshot)
}

fn check(rng: &mut Rng, ops: &[Op], mem: &Arc<MemTable>, tables: &[Table], last_seq: u64) {
    for _ in 0..4 {
        let snapshot = rng.below(last_seq + 2);
        let model = model_at(ops, snapshot);
        for i in 0..80 {
            let key = format!("k{i:03}").into_bytes();
            assert_eq!(
                point_read(mem, tables, &key, snapshot),
                model.get(&key).cloned(),
                "get {i} at {snapshot}"
            );
        }
        let expected: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
        let mut it = view(mem, tables, snapshot);
        it.seek_to_first().unwrap();
        assert_eq!(lsm_core::iter::collect_forward(&mut it).unwrap(), expected);
        it.seek_to_last().unwrap();
        let mut back = lsm_core::iter::collect_backward(&mut it).unwrap();
        back.reverse();
        assert_eq!(back, expected);

        // Random walk with seeks and direction changes.
        let mut pos: Option<usize> = None;
        for step in 0..300 {
            match rng.below(6) {
                0 => {
                    let target = format!("k{:03}", rng.below(85)).into_bytes();
                    it.seek(&target).unwrap();
                    pos = expected.iter().position(|(k, _)| *k >= target);
                }
                1 => {
                    it.seek_to_first().unwrap();
                    pos = (!expected.is_empty()).then_some(0);
                }
                2 => {
                    it.seek_to_last().unwrap();
                    pos = expected.len().checked_sub(1);
                }
                3 | 4 if pos.is_some() => {
                    it.next().unwrap();
                    pos = pos.map(|p| p + 1).filter(|&p| p < expected.len());
                }
                _ if pos.is_some() => {
                    it.prev().unwrap();
                    pos = pos.and_then(|p| p.checked_sub(1));
                }
                _ => {}
            }
            let got = it.valid().then(|| (it.key().to_vec(), it.value().to_vec()));
            assert_eq!(
                got,
                pos.map(|p| expected[p].clone()),
                "snapshot {snapshot} step {step}"
            );
        }
    }
}
