//! Compaction against a model: the drop rules restated per version ("is
//! there a newer version with seq ≤ S?"), cut points, and that every reader
//! at a snapshot ≥ S sees the same data before and after.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::iter::collect_forward;
use crate::key::{compare_internal, make_internal_key, Kind};
use crate::table::build_table;
use crate::testutil::{Rng, TempDir};
use crate::view::{CursorOptions, ReadView};

type Entry = (Vec<u8>, Vec<u8>);

/// Random versions spread over `n_inputs` tables (an internal key appears in
/// one table only, as in a real LSM).
fn random_inputs(rng: &mut Rng, n_inputs: usize) -> (Vec<Vec<Entry>>, u64) {
    let mut inputs = vec![Vec::new(); n_inputs];
    let mut seq = 0;
    for _ in 0..1 + rng.below(400) {
        seq += 1;
        let k = format!("k{:02}", rng.below(40)).into_bytes();
        let (kind, v) = if rng.one_in(4) {
            (Kind::Delete, vec![])
        } else {
            (Kind::Put, vec![b'v'; rng.below(50) as usize])
        };
        let t = rng.below(n_inputs as u64) as usize;
        inputs[t].push((make_internal_key(&k, seq, kind), v));
    }
    for t in &mut inputs {
        t.sort_by(|a, b| compare_internal(&a.0, &b.0));
    }
    (inputs, seq)
}

/// The drop rules, restated per version (and the last level's sequence 0).
fn model(all: &[Entry], s: u64, drop_deletes: bool) -> Vec<Entry> {
    let mut by_key: BTreeMap<Vec<u8>, Vec<&Entry>> = BTreeMap::new();
    for e in all {
        by_key.entry(user_key(&e.0).to_vec()).or_default().push(e);
    }
    let mut out = Vec::new();
    for versions in by_key.values() {
        for (i, e) in versions.iter().enumerate() {
            let p = parse_internal_key(&e.0).unwrap();
            let newer_visible = versions[..i]
                .iter()
                .any(|n| parse_internal_key(&n.0).unwrap().seq <= s);
            let dead_delete = p.kind == Kind::Delete && p.seq <= s && drop_deletes;
            if newer_visible || dead_delete {
                continue;
            }
            if drop_deletes && p.kind == Kind::Put && p.seq <= s {
                // The last level's copy of the version every reader sees.
                out.push((make_internal_key(p.user_key, 0, Kind::Put), e.1.clone()));
            } else {
                out.push((*e).clone());
            }
        }
    }
    out
}

fn write_inputs(dir: &TempDir, inputs: &[Vec<Entry>]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for (i, es) in inputs.iter().enumerate().filter(|(_, es)| !es.is_empty()) {
        let p = dir.join(&format!("in{i}.sst"));
        let opts = TableOptions {
            block_size: 128,
            ..TableOptions::default()
        };
        std::fs::write(&p, build_table(opts, es).unwrap()).unwrap();
        paths.push(p);
    }
    paths
}

/// Dead files for a job to write over (none for a quarter of the seeds), of
/// random sizes around a small output's, holding junk no reader may see.
fn recycled_files(rng: &mut Rng, dir: &TempDir) -> Vec<PathBuf> {
    let n = [0, 1, 3, 40][rng.below(4) as usize];
    (0..n)
        .map(|i| {
            let p = dir.join(&format!("{i:06}.recycle"));
            std::fs::write(&p, vec![0xA5u8; rng.below(4000) as usize]).unwrap();
            p
        })
        .collect()
}

fn visible(view: &ReadView, snapshot: u64) -> Vec<Entry> {
    let mut c = view.cursor(CursorOptions {
        snapshot,
        ..CursorOptions::default()
    });
    let mut out: Vec<Entry> = Vec::new();
    while !c.next_chunk(7, usize::MAX, &mut out).unwrap() {}
    out
}

#[test]
fn outputs_match_the_model_and_readers_see_no_difference() {
    for seed in 1..=60u64 {
        let mut rng = Rng::new(seed);
        let dir = TempDir::new("compact");
        let n_inputs = 1 + rng.below(4) as usize;
        let (inputs, last_seq) = random_inputs(&mut rng, n_inputs);
        let paths = write_inputs(&dir, &inputs);
        let s = rng.below(last_seq + 2);
        let drop_deletes = rng.one_in(2);
        let target = [1u64, 200, 600, 5000, 1 << 30][rng.below(5) as usize];
        let job = CompactionJob {
            inputs: paths.clone(),
            outputs: (0..500).map(|i| dir.join(&format!("out{i}.sst"))).collect(),
            smallest_snapshot: s,
            drop_deletes,
            target_file_size: target,
            table_options: TableOptions {
                block_size: 100,
                ..TableOptions::default()
            },
            start: None,
            end: None,
            recycle: recycled_files(&mut rng, &dir),
        };
        let outs = run_compaction(&job).unwrap();
        // Recycled files the job reached became outputs; the rest stay.
        for (i, r) in job.recycle.iter().enumerate() {
            assert_eq!(r.exists(), i >= outs.len(), "seed {seed} recycle {i}");
        }
        let mut all: Vec<Entry> = inputs.concat();
        all.sort_by(|a, b| compare_internal(&a.0, &b.0));
        let expected = model(&all, s, drop_deletes);

        let tables: Vec<Table> = outs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                assert_eq!(o.path, job.outputs[i], "outputs used in order");
                let t = Table::open_file(&o.path, None).unwrap();
                assert_eq!(t.properties(), &o.table.properties);
                assert_eq!(t.file_size() as u64, o.table.file_size);
                t
            })
            .collect();
        let mut got = Vec::new();
        for t in &tables {
            let mut it = t.iter();
            it.seek_to_first().unwrap();
            got.extend(collect_forward(&mut it).unwrap());
        }
        assert_eq!(got, expected, "seed {seed}");
        // Cut only between user keys, and only once the target was reached.
        for pair in tables.windows(2) {
            assert!(pair[0].largest_user_key() < pair[1].smallest_user_key());
        }
        if target == 1 {
            let keys: std::collections::BTreeSet<_> =
                expected.iter().map(|e| user_key(&e.0).to_vec()).collect();
            assert_eq!(
                tables.len(),
                keys.len(),
                "target 1 gives one table per user key"
            );
        }
        // Every snapshot ≥ S reads the same before and after.
        let before = ReadView::new(
            vec![],
            vec![paths
                .iter()
                .map(|p| Table::open_file(p, None).unwrap())
                .collect()],
        )
        .unwrap();
        let after = ReadView::new(vec![], vec![vec![], tables]).unwrap();
        for snap in [s, s + 1, last_seq, u64::MAX] {
            assert_eq!(
                visible(&after, snap),
                visible(&before, snap),
                "seed {seed} snapshot {snap}"
            );
        }
    }
}

#[test]
fn everything_dropped_writes_nothing() {
    let dir = TempDir::new("compact");
    let es = vec![
        (make_internal_key(b"a", 3, Kind::Delete), vec![]),
        (make_internal_key(b"a", 1, Kind::Put), b"x".to_vec()),
    ];
    let paths = write_inputs(&dir, &[es]);
    let job = CompactionJob {
        inputs: paths,
        outputs: vec![dir.join("out.sst")],
        smallest_snapshot: 10,
        drop_deletes: true,
        target_file_size: 1 << 20,
        table_options: TableOptions::default(),
        start: None,
        end: None,
        recycle: Vec::new(),
    };
    assert_eq!(run_compaction(&job).unwrap(), vec![]);
    assert!(!dir.join("out.sst").exists());
}

#[test]
fn running_out_of_outputs_fails_and_removes_what_was_written() {
    let dir = TempDir::new("compact");
    let es: Vec<Entry> = (0..50u64)
        .map(|i| {
            (
                make_internal_key(format!("k{i:03}").as_bytes(), i + 1, Kind::Put),
                vec![1; 40],
            )
        })
        .collect();
    let paths = write_inputs(&dir, &[es]);
    let outputs: Vec<PathBuf> = (0..2).map(|i| dir.join(&format!("out{i}.sst"))).collect();
    let job = CompactionJob {
        inputs: paths,
        outputs: outputs.clone(),
        smallest_snapshot: 0,
        drop_deletes: false,
        target_file_size: 300,
        table_options: TableOptions::default(),
        start: None,
        end: None,
        recycle: Vec::new(),
    };
    let e = run_compaction(&job).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(outputs.iter().all(|p| !p.exists()));
}

#[test]
fn a_corrupt_input_is_reported_with_its_name() {
    let dir = TempDir::new("compact");
    let es: Vec<Entry> = (0..50u64)
        .map(|i| {
            (
                make_internal_key(format!("k{i:03}").as_bytes(), i + 1, Kind::Put),
                vec![1; 40],
            )
        })
        .collect();
    let paths = write_inputs(&dir, &[es]);
    let mut bytes = std::fs::read(&paths[0]).unwrap();
    bytes[30] ^= 0xff;
    std::fs::write(&paths[0], bytes).unwrap();
    let job = CompactionJob {
        inputs: paths,
        outputs: vec![dir.join("out.sst")],
        smallest_snapshot: 0,
        drop_deletes: false,
        target_file_size: 1 << 20,
        table_options: TableOptions::default(),
        start: None,
        end: None,
        recycle: Vec::new(),
    };
    let e = run_compaction(&job).unwrap_err();
    assert!(
        e.is_corruption() && e.to_string().contains("in0.sst"),
        "{e}"
    );
    // A missing input is an I/O error.
    let missing = CompactionJob {
        inputs: vec![dir.join("absent.sst")],
        ..job
    };
    assert_eq!(run_compaction(&missing).unwrap_err().code(), "IO_ERROR");
}

/// Inputs shaped like a real compaction: some overlapping tables (L0) and a
/// sorted, non-overlapping run cut from one key range (the next level), so
/// the merge walks runs of several tables as one child.
fn level_shaped_inputs(rng: &mut Rng) -> (Vec<Vec<Entry>>, u64) {
    let mut seq = 0;
    let mut inputs: Vec<Vec<Entry>> = Vec::new();
    // The older level: keys split into consecutive disjoint tables.
    let mut level: Vec<Entry> = Vec::new();
    for k in 0..rng.below(300) {
        if rng.one_in(3) {
            continue;
        }
        seq += 1;
        level.push((
            make_internal_key(format!("k{k:04}").as_bytes(), seq, Kind::Put),
            vec![b'o'; 20],
        ));
    }
    let pieces = 1 + rng.below(6) as usize;
    let per = level.len().div_ceil(pieces).max(1);
    for chunk in level.chunks(per) {
        inputs.push(chunk.to_vec());
    }
    // Newer, overlapping tables over the same range.
    for _ in 0..rng.below(4) {
        let mut t = Vec::new();
        for _ in 0..rng.below(60) {
            seq += 1;
            let k = format!("k{:04}", rng.below(320));
            let (kind, v) = if rng.one_in(5) {
                (Kind::Delete, vec![])
            } else {
                (Kind::Put, vec![b'n'; 10])
            };
            t.push((make_internal_key(k.as_bytes(), seq, kind), v));
        }
        t.sort_by(|a, b| compare_internal(&a.0, &b.0));
        inputs.push(t);
    }
    (inputs, seq)
}

#[test]
fn level_shaped_inputs_merge_like_the_model() {
    for seed in 1..=40u64 {
        let mut rng = Rng::new(seed);
        let dir = TempDir::new("compact-runs");
        let (inputs, last_seq) = level_shaped_inputs(&mut rng);
        let paths = write_inputs(&dir, &inputs);
        if paths.is_empty() {
            continue;
        }
        let s = rng.below(last_seq + 2);
        let drop_deletes = rng.one_in(2);
        let job = CompactionJob {
            inputs: paths,
            outputs: (0..500).map(|i| dir.join(&format!("out{i}.sst"))).collect(),
            smallest_snapshot: s,
            drop_deletes,
            target_file_size: [300u64, 5000, 1 << 30][rng.below(3) as usize],
            table_options: TableOptions::default(),
            start: None,
            end: None,
            recycle: Vec::new(),
        };
        let outs = run_compaction(&job).unwrap();
        let mut all: Vec<Entry> = inputs.concat();
        all.sort_by(|a, b| compare_internal(&a.0, &b.0));
        let mut got = Vec::new();
        for o in &outs {
            let t = Table::open_file(&o.path, None).unwrap();
            let mut it = t.iter();
            it.seek_to_first().unwrap();
            got.extend(collect_forward(&mut it).unwrap());
        }
        assert_eq!(got, model(&all, s, drop_deletes), "seed {seed}");
    }
}

#[test]
fn disjoint_runs_chain_non_overlapping_tables_and_keep_every_table() {
    let dir = TempDir::new("runs");
    let table = |name: &str, keys: &[&str]| {
        let es: Vec<Entry> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                (
                    make_internal_key(k.as_bytes(), 100 - i as u64, Kind::Put),
                    b"v".to_vec(),
                )
            })
            .collect();
        let p = dir.join(name);
        std::fs::write(&p, build_table(TableOptions::default(), &es).unwrap()).unwrap();
        Table::open_file(&p, None).unwrap()
    };
    // Two levels' worth of disjoint tables and one table overlapping them all.
    let tables = vec![
        table("c", &["e", "f"]),
        table("a", &["a", "b"]),
        table("x", &["a", "z"]),
        table("b", &["c", "d"]),
        table("d", &["g"]),
    ];
    let runs = disjoint_runs(tables);
    let names: Vec<Vec<Vec<u8>>> = runs
        .iter()
        .map(|r| r.iter().map(|t| t.smallest_user_key().to_vec()).collect())
        .collect();
    assert_eq!(
        names,
        vec![
            vec![b"a".to_vec(), b"c".to_vec(), b"e".to_vec(), b"g".to_vec()],
            vec![b"a".to_vec()],
        ]
    );
    for run in &runs {
        for pair in run.windows(2) {
            assert_eq!(
                compare_internal(
                    &pair[0].properties().largest,
                    &pair[1].properties().smallest
                ),
                Ordering::Less
            );
        }
    }
}

#[test]
fn sub_ranges_together_write_what_one_whole_job_writes() {
    for seed in 1..=40u64 {
        let mut rng = Rng::new(seed);
        let dir = TempDir::new("compact-ranges");
        let n_inputs = 1 + rng.below(4) as usize;
        let (inputs, last_seq) = random_inputs(&mut rng, n_inputs);
        let paths = write_inputs(&dir, &inputs);
        let s = rng.below(last_seq + 2);
        let drop_deletes = rng.one_in(2);
        // 1–3 distinct split keys; some are user keys of the inputs, some fall between them.
        let mut splits: Vec<Vec<u8>> = (0..1 + rng.below(3))
            .map(|_| {
                let k = format!("k{:02}", rng.below(42));
                if rng.one_in(2) {
                    k.into_bytes()
                } else {
                    format!("{k}5").into_bytes()
                }
            })
            .collect();
        splits.sort();
        splits.dedup();
        let mut bounds: Vec<Option<Vec<u8>>> = vec![None];
        bounds.extend(splits.into_iter().map(Some));
        bounds.push(None);
        let mut got = Vec::new();
        for (n, w) in bounds.windows(2).enumerate() {
            let job = CompactionJob {
                inputs: paths.clone(),
                outputs: (0..50)
                    .map(|i| dir.join(&format!("r{n}-{i}.sst")))
                    .collect(),
                smallest_snapshot: s,
                drop_deletes,
                target_file_size: 300,
                table_options: TableOptions::default(),
                start: w[0].clone(),
                end: w[1].clone(),
                recycle: Vec::new(),
            };
            for o in run_compaction(&job).unwrap() {
                let t = Table::open_file(&o.path, None).unwrap();
                if let Some(start) = &w[0] {
                    assert!(t.smallest_user_key() >= start.as_slice(), "seed {seed}");
                }
                if let Some(end) = &w[1] {
                    assert!(t.largest_user_key() < end.as_slice(), "seed {seed}");
                }
                let mut it = t.iter();
                it.seek_to_first().unwrap();
                got.extend(collect_forward(&mut it).unwrap());
            }
        }
        let mut all: Vec<Entry> = inputs.concat();
        all.sort_by(|a, b| compare_internal(&a.0, &b.0));
        assert_eq!(got, model(&all, s, drop_deletes), "seed {seed}");
    }
}

#[test]
fn an_empty_or_reversed_range_is_refused() {
    let dir = TempDir::new("compact-ranges");
    for (start, end) in [
        (b"b".to_vec(), b"b".to_vec()),
        (b"c".to_vec(), b"b".to_vec()),
    ] {
        let job = CompactionJob {
            inputs: vec![],
            outputs: vec![dir.join("out.sst")],
            smallest_snapshot: 0,
            drop_deletes: false,
            target_file_size: 300,
            table_options: TableOptions::default(),
            start: Some(start),
            end: Some(end),
            recycle: Vec::new(),
        };
        let e = run_compaction(&job).unwrap_err();
        assert!(e.to_string().contains("range"), "{e}");
    }
}

#[test]
fn a_recycled_file_is_renamed_overwritten_and_cut() {
    use crate::jobs::write_table_file;
    let dir = TempDir::new("recycle");
    let old = dir.join("old.recycle");
    // Longer than what replaces it: the tail must go.
    std::fs::write(&old, vec![7u8; 10_000]).unwrap();
    let out = dir.join("new.sst");
    write_table_file(&out, b"fresh bytes", true, Some(&old)).unwrap();
    assert!(!old.exists());
    assert_eq!(std::fs::read(&out).unwrap(), b"fresh bytes");
    // Shorter than what replaces it.
    std::fs::write(&old, b"xy").unwrap();
    let out2 = dir.join("new2.sst");
    write_table_file(&out2, &[9u8; 5000], true, Some(&old)).unwrap();
    assert_eq!(std::fs::read(&out2).unwrap(), vec![9u8; 5000]);
    // A recycle file that is gone: a new file instead.
    let out3 = dir.join("new3.sst");
    write_table_file(&out3, b"abc", true, Some(&old)).unwrap();
    assert_eq!(std::fs::read(&out3).unwrap(), b"abc");
    // An output that exists is never replaced, recycled or not.
    std::fs::write(&old, b"junk").unwrap();
    assert!(write_table_file(&out3, b"other", true, Some(&old)).is_err());
    assert_eq!(std::fs::read(&out3).unwrap(), b"abc");
    assert!(old.exists());
}
