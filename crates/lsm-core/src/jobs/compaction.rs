//! Compaction: merges input tables into new tables, dropping the versions no
//! reader can see any more.
//!
//! The drop rules (documented on `CompactionJob` in `ts/core/core.ts`),
//! applied per user key while walking versions newest first:
//! - a version is dropped when a newer version of the same user key has a
//!   sequence ≤ `smallest_snapshot`: every reader sees that newer one instead;
//! - with `drop_deletes` (the output level is the last that can hold the key),
//!   a DELETE with sequence ≤ `smallest_snapshot` is dropped too; the older
//!   versions it hides go by the first rule;
//! - with `drop_deletes`, a surviving PUT with sequence ≤ `smallest_snapshot`
//!   is written with sequence 0: no reader can tell it from its original
//!   sequence, and eight constant bytes per entry compress well.
//!
//! Outputs are cut only between two user keys, once the open table's
//! [`TableBuilder::cut_size`] reaches `target_file_size`, so the versions of
//! one key never span two tables (a deeper level's binary search relies on
//! it). The TypeScript core cuts at exactly the same places, so both write
//! the same bytes.

use std::cmp::Ordering;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::jobs::{write_table_file, WrittenTable};
use crate::key::{
    append_internal_key, compare_bytes, compare_internal, lookup_key, parse_internal_key, user_key,
    Kind, MAX_SEQUENCE,
};
use crate::merge::MergingIter;
use crate::table::{Table, TableBuilder, TableOptions};
use crate::view::LevelIter;

/// One compaction, as TypeScript describes it.
#[derive(Debug, Clone)]
pub struct CompactionJob {
    pub inputs: Vec<PathBuf>,
    /// Used in order; the job fails if it needs more.
    pub outputs: Vec<PathBuf>,
    pub smallest_snapshot: u64,
    pub drop_deletes: bool,
    pub target_file_size: u64,
    pub table_options: TableOptions,
    /// Merge only user keys ≥ this one (all of them when `None`). A
    /// compaction split into sub-ranges runs one job per range, each over the
    /// inputs that overlap it; the bounds fall between user keys, so the
    /// versions of one key are always in one job.
    pub start: Option<Vec<u8>>,
    /// Merge only user keys < this one (all of them when `None`).
    pub end: Option<Vec<u8>>,
    /// Dead table files the job may reuse, in order: output `i` is written
    /// over `recycle[i]` (renamed to its output path) when there is one.
    /// Those it does not reach stay where they are.
    pub recycle: Vec<PathBuf>,
}

/// One table the compaction wrote (fsynced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionOutput {
    pub path: PathBuf,
    pub table: WrittenTable,
}

/// The output side: the open builder and the tables finished so far.
struct Outputs<'a> {
    job: &'a CompactionJob,
    builder: Option<TableBuilder>,
    done: Vec<CompactionOutput>,
}

impl Outputs<'_> {
    fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let builder = match &mut self.builder {
            Some(b) => b,
            None => self
                .builder
                .insert(TableBuilder::new(self.job.table_options)?),
        };
        builder.add(key, value)
    }

    fn cut_size(&self) -> Option<usize> {
        self.builder.as_ref().map(TableBuilder::cut_size)
    }

    /// Finishes the open table (if any) into the next output path.
    fn finish(&mut self) -> Result<()> {
        let Some(builder) = self.builder.take() else {
            return Ok(());
        };
        let n = self.done.len();
        let path = self.job.outputs.get(n).ok_or_else(|| {
            Error::invalid(format!("compaction needs more than {n} output files"))
        })?;
        let (bytes, properties) = builder.finish_with_properties()?;
        let recycle = self.job.recycle.get(n).map(PathBuf::as_path);
        write_table_file(path, &bytes, true, recycle)?;
        self.done.push(CompactionOutput {
            path: path.clone(),
            table: WrittenTable {
                file_size: bytes.len() as u64,
                properties,
            },
        });
        Ok(())
    }
}

/// Runs `job`. On failure the output files it already wrote are removed, so
/// a failed job leaves nothing behind for the caller to clean up.
pub fn run_compaction(job: &CompactionJob) -> Result<Vec<CompactionOutput>> {
    if let (Some(start), Some(end)) = (&job.start, &job.end) {
        if compare_bytes(start, end) != Ordering::Less {
            return Err(Error::invalid(
                "compaction range start must sort before its end",
            ));
        }
    }
    let mut outputs = Outputs {
        job,
        builder: None,
        done: Vec::new(),
    };
    match merge_into(job, &mut outputs) {
        Ok(()) => Ok(outputs.done),
        Err(e) => {
            for o in &outputs.done {
                let _ = std::fs::remove_file(&o.path);
            }
            Err(e)
        }
    }
}

/// Groups tables into as few runs as possible, each a key-ordered sequence of
/// tables that do not overlap, so a run merges as one child. The merge compares
/// every child's key per entry: an L1→L2 compaction of 1 + 10 tables merges 2
/// children instead of 11, an L0 compaction its L0 tables plus one L1 run.
/// (The inputs do not say which level each came from; their key ranges do.)
fn disjoint_runs(mut tables: Vec<Table>) -> Vec<Vec<Table>> {
    tables.sort_by(|a, b| compare_internal(&a.properties().smallest, &b.properties().smallest));
    let mut runs: Vec<Vec<Table>> = Vec::new();
    for t in tables {
        // Every table added so far starts at or before `t`: `t` may extend the
        // first run whose last table ends before `t` begins.
        let fits = runs.iter_mut().find(|run| {
            run.last().is_some_and(|last| {
                compare_internal(&last.properties().largest, &t.properties().smallest)
                    == Ordering::Less
            })
        });
        match fits {
            Some(run) => run.push(t),
            None => runs.push(vec![t]),
        }
    }
    runs
}

fn merge_into(job: &CompactionJob, out: &mut Outputs<'_>) -> Result<()> {
    // Inputs are read once, front to back: going through the shared block
    // cache would only evict the blocks that point reads are using.
    let tables = job
        .inputs
        .iter()
        .map(|p| Table::open_file(p, None))
        .collect::<Result<Vec<_>>>()?;
    let children = disjoint_runs(tables)
        .into_iter()
        .map(|run| match <[Table; 1]>::try_from(run) {
            Ok([table]) => Box::new(table.iter()) as Box<dyn KvIter>,
            Err(run) => Box::new(LevelIter::new(run)) as Box<dyn KvIter>,
        })
        .collect();
    let mut it = MergingIter::new(children);
    let target = usize::try_from(job.target_file_size).unwrap_or(usize::MAX);
    // The previous entry's internal key; empty before the first entry.
    let mut prev_key: Vec<u8> = Vec::new();
    // Sequence of the previous (newer) version of the current user key.
    let mut newer_seq: Option<u64> = None;
    // Scratch for a key whose sequence is written as 0.
    let mut zeroed: Vec<u8> = Vec::new();
    match &job.start {
        // Before every version of `start`.
        Some(start) => it.seek(&lookup_key(start, MAX_SEQUENCE))?,
        None => it.seek_to_first()?,
    }
    while it.valid() {
        let key = it.key();
        let parsed = parse_internal_key(key).map_err(|e| e.context("compaction input"))?;
        if job
            .end
            .as_deref()
            .is_some_and(|end| compare_bytes(parsed.user_key, end) != Ordering::Less)
        {
            break;
        }
        if prev_key.is_empty() || user_key(&prev_key) != parsed.user_key {
            newer_seq = None;
            if out.cut_size().is_some_and(|size| size >= target) {
                out.finish()?;
            }
        }
        let hidden = newer_seq.is_some_and(|s| s <= job.smallest_snapshot);
        let dead_delete =
            parsed.kind == Kind::Delete && parsed.seq <= job.smallest_snapshot && job.drop_deletes;
        newer_seq = Some(parsed.seq);
        prev_key.clear();
        prev_key.extend_from_slice(key);
        if !(hidden || dead_delete) {
            if job.drop_deletes && parsed.kind == Kind::Put && parsed.seq <= job.smallest_snapshot {
                // The only version every reader sees, in the last level that
                // can hold the key: its sequence no longer orders it against
                // anything, so it is written as 0, which compresses well.
                zeroed.clear();
                append_internal_key(&mut zeroed, parsed.user_key, 0, Kind::Put);
                out.add(&zeroed, it.value())?;
            } else {
                out.add(key, it.value())?;
            }
        }
        it.next()?;
    }
    out.finish()
}

#[cfg(test)]
#[path = "compaction_tests.rs"]
mod tests;
