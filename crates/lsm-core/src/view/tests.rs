//! Read views against a model: random writes spread over an L1 level (built
//! by compaction), L0 tables (built by flush) and memtables; every `get` and
//! every cursor (bounds, direction, seeks, chunk limits) must answer like a
//! `BTreeMap` of the writes visible at the snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::batch::WriteGroupBuilder;
use crate::jobs::{flush_memtable, run_compaction, CompactionJob};
use crate::key::Lookup;
use crate::memtable::MemTable;
use crate::table::{Table, TableCaches, TableOptions};
use crate::testutil::{Rng, TempDir};

/// user key → versions (seq, Some(value) | None for a delete).
type Model = BTreeMap<Vec<u8>, Vec<(u64, Option<Vec<u8>>)>>;

fn model_get(m: &Model, k: &[u8], snap: u64) -> Option<(u64, Option<Vec<u8>>)> {
    m.get(k)?
        .iter()
        .filter(|v| v.0 <= snap)
        .max_by_key(|v| v.0)
        .cloned()
}

fn model_scan(m: &Model, snap: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    m.keys()
        .filter_map(|k| match model_get(m, k, snap) {
            Some((_, Some(v))) => Some((k.clone(), v)),
            _ => None,
        })
        .collect()
}

fn key(rng: &mut Rng) -> Vec<u8> {
    // Short keys over a tiny alphabet: many versions per key, shared prefixes,
    // and the empty key.
    (0..rng.below(3))
        .map(|_| b'a' + rng.below(4) as u8)
        .collect()
}

struct World {
    _dir: TempDir,
    view: ReadView,
    model: Model,
    last_seq: u64,
}

fn world(seed: u64) -> World {
    let mut rng = Rng::new(seed);
    let dir = TempDir::new("view");
    let mut model = Model::new();
    let n_groups = 1 + rng.below(30);
    let (to_l1, to_l0) = (rng.below(n_groups + 1), rng.below(n_groups + 1));
    let (to_l1, to_l0) = (to_l1.min(to_l0), to_l1.max(to_l0));
    let mut seq = 1;
    let mut l1_inputs = Vec::new();
    let mut l0 = Vec::new();
    let mut memtables = Vec::new();
    let opts = TableOptions {
        block_size: 64,
        ..TableOptions::default()
    };
    let mut file_no = 0;
    for g in 0..n_groups {
        let mut b = WriteGroupBuilder::new(seq).unwrap();
        for _ in 0..1 + rng.below(8) {
            let k = key(&mut rng);
            let v = if rng.one_in(3) {
                b.delete(&k).unwrap();
                None
            } else {
                let v = format!("v{seq}-{}", b.count()).into_bytes();
                b.put(&k, &v).unwrap();
                Some(v)
            };
            model
                .entry(k)
                .or_default()
                .push((seq + u64::from(b.count()) - 1, v));
        }
        seq += u64::from(b.count());
        let mem = Arc::new(MemTable::new());
        mem.apply(&b.finish().unwrap()).unwrap();
        if g < to_l0 {
            file_no += 1;
            let path = dir.join(&format!("{file_no:06}.sst"));
            flush_memtable(&mem, &path, opts, true).unwrap();
            if g < to_l1 {
                l1_inputs.push(path);
            } else {
                l0.insert(0, Table::open_file(&path, None).unwrap());
            }
        } else {
            memtables.insert(0, mem);
        }
    }
    let mut l1 = Vec::new();
    let caches = TableCaches {
        blocks: Some(Arc::new(crate::cache::BlockCache::new(64 << 10))),
        files: Some(Arc::new(crate::file_pool::FilePool::new(3))),
        // Some tables mapped, the rest read through the pool.
        maps: Some(Arc::new(crate::mmap::MapBudget::new(2))),
    };
    if !l1_inputs.is_empty() {
        let job = CompactionJob {
            inputs: l1_inputs,
            outputs: (0..100).map(|i| dir.join(&format!("l1-{i}.sst"))).collect(),
            smallest_snapshot: 0,
            drop_deletes: false,
            target_file_size: 150,
            table_options: opts,
            start: None,
            end: None,
            recycle: Vec::new(),
        };
        for o in run_compaction(&job).unwrap() {
            l1.push(Table::open_file(&o.path, Some(&caches)).unwrap());
        }
    }
    let view = ReadView::new(memtables, vec![l0, l1]).unwrap();
    World {
        _dir: dir,
        view,
        model,
        last_seq: seq - 1,
    }
}

#[test]
fn get_matches_the_model() {
    for seed in 1..=80 {
        let w = world(seed);
        let mut rng = Rng::new(seed * 31);
        for _ in 0..200 {
            let k = key(&mut rng);
            let snap = rng.below(w.last_seq + 2);
            let got = w.view.get(&k, snap).unwrap();
            let want = model_get(&w.model, &k, snap).map(|(seq, v)| match v {
                Some(value) => Lookup::Put { seq, value },
                None => Lookup::Delete { seq },
            });
            assert_eq!(got, want, "seed {seed} key {k:?} snapshot {snap}");
        }
    }
}

fn drain(c: &mut Cursor, rng: &mut Rng, out: &mut Vec<(Vec<u8>, Vec<u8>)>) {
    loop {
        let max_entries = 1 + rng.below(5) as usize;
        let max_bytes = if rng.one_in(2) {
            usize::MAX
        } else {
            1 + rng.below(20) as usize
        };
        let before = out.len();
        let done = c.next_chunk(max_entries, max_bytes, out).unwrap();
        assert!(out.len() - before <= max_entries);
        if done {
            return;
        }
        assert!(out.len() > before, "a chunk that is not done holds entries");
    }
}

#[test]
fn cursors_match_the_model() {
    for seed in 1..=80 {
        let w = world(seed);
        let mut rng = Rng::new(seed * 77);
        for _ in 0..40 {
            let snap = rng.below(w.last_seq + 2);
            let o = CursorOptions {
                snapshot: snap,
                lower: rng.one_in(2).then(|| key(&mut rng)),
                lower_exclusive: rng.one_in(2),
                upper: rng.one_in(2).then(|| key(&mut rng)),
                upper_inclusive: rng.one_in(2),
                reverse: rng.one_in(2),
            };
            let seek = rng.one_in(3).then(|| key(&mut rng));
            let in_bounds = |k: &[u8]| {
                o.lower.as_ref().map_or(true, |l| {
                    k > l.as_slice() || (k == l.as_slice() && !o.lower_exclusive)
                }) && o.upper.as_ref().map_or(true, |u| {
                    k < u.as_slice() || (k == u.as_slice() && o.upper_inclusive)
                }) && seek.as_ref().map_or(true, |t| {
                    if o.reverse {
                        k <= t.as_slice()
                    } else {
                        k >= t.as_slice()
                    }
                })
            };
            let mut want: Vec<_> = model_scan(&w.model, snap)
                .into_iter()
                .filter(|(k, _)| in_bounds(k))
                .collect();
            if o.reverse {
                want.reverse();
            }
            let mut c = w.view.cursor(o.clone());
            let mut got = Vec::new();
            if let Some(t) = &seek {
                // Read a little first: a seek repositions whatever came before.
                let mut scratch = Vec::new();
                c.next_chunk(2, usize::MAX, &mut scratch).unwrap();
                c.seek(t);
            }
            drain(&mut c, &mut rng, &mut got);
            assert_eq!(got, want, "seed {seed} options {o:?} seek {seek:?}");
            // Exhausted stays exhausted.
            let mut more = Vec::new();
            assert!(c.next_chunk(10, usize::MAX, &mut more).unwrap());
            assert!(more.is_empty());
        }
    }
}

#[test]
fn zero_limits_return_empty_chunks_without_moving() {
    let w = world(5);
    let all = model_scan(&w.model, u64::MAX);
    let mut c = w.view.cursor(CursorOptions {
        snapshot: u64::MAX,
        ..CursorOptions::default()
    });
    let mut out = Vec::new();
    let done = c.next_chunk(0, usize::MAX, &mut out).unwrap();
    assert!(out.is_empty());
    assert_eq!(done, all.is_empty());
    let mut rng = Rng::new(1);
    drain(&mut c, &mut rng, &mut out);
    assert_eq!(out, all);
}
