//! Iterates one sorted level (L1 and deeper): tables ordered by key with no
//! overlap, walked as one concatenated run.
//!
//! A merge over N sources compares N keys per step, so giving a deep level one
//! merge child instead of one per table keeps a scan's cost independent of
//! how many files the level has. A seek binary-searches the tables' largest
//! keys and touches only the one table that can hold the target.

use std::sync::Arc;

use crate::error::Result;
use crate::iter::KvIter;
use crate::key::compare_internal;
use crate::table::{Table, TableIter};

/// A [`KvIter`] over the tables of a sorted, non-overlapping level.
pub struct LevelIter {
    tables: Arc<[Table]>,
    /// Index of the table `current` iterates.
    index: usize,
    current: Option<TableIter>,
}

impl LevelIter {
    /// `tables` must be sorted by key and must not overlap.
    pub fn new(tables: impl Into<Arc<[Table]>>) -> Self {
        LevelIter {
            tables: tables.into(),
            index: 0,
            current: None,
        }
    }

    fn open(&mut self, i: usize) -> Option<&mut TableIter> {
        self.index = i;
        self.current = self.tables.get(i).map(Table::iter);
        self.current.as_mut()
    }

    fn current_valid(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.valid())
    }

    /// Moves into the following tables until one has an entry.
    fn skip_forward(&mut self) -> Result<()> {
        while !self.current_valid() {
            let next = self.index + 1;
            match self.open(next) {
                Some(it) => it.seek_to_first()?,
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// Moves into the preceding tables until one has an entry.
    fn skip_backward(&mut self) -> Result<()> {
        while !self.current_valid() {
            if self.index == 0 {
                self.current = None;
                return Ok(());
            }
            let prev = self.index - 1;
            if let Some(it) = self.open(prev) {
                it.seek_to_last()?;
            }
        }
        Ok(())
    }

    /// On error, leave the iterator invalid.
    fn guarded(&mut self, op: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let r = op(self);
        if r.is_err() {
            self.current = None;
        }
        r
    }
}

impl KvIter for LevelIter {
    fn valid(&self) -> bool {
        self.current_valid()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|s| {
            if let Some(it) = s.open(0) {
                it.seek_to_first()?;
            }
            s.skip_forward()
        })
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.guarded(|s| {
            let Some(last) = s.tables.len().checked_sub(1) else {
                s.current = None;
                return Ok(());
            };
            if let Some(it) = s.open(last) {
                it.seek_to_last()?;
            }
            s.skip_backward()
        })
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guarded(|s| {
            // First table whose largest key is ≥ target: the only one that can
            // hold the first entry ≥ target.
            let i = s
                .tables
                .partition_point(|t| compare_internal(&t.properties().largest, target).is_lt());
            match s.open(i) {
                Some(it) => it.seek(target)?,
                None => return Ok(()),
            }
            s.skip_forward()
        })
    }

    fn next(&mut self) -> Result<()> {
        self.guarded(|s| {
            if let Some(it) = s.current.as_mut() {
                it.next()?;
            }
            s.skip_forward()
        })
    }

    fn prev(&mut self) -> Result<()> {
        self.guarded(|s| {
            if let Some(it) = s.current.as_mut() {
                it.prev()?;
            }
            s.skip_backward()
        })
    }

    fn key(&self) -> &[u8] {
        match &self.current {
            Some(it) if it.valid() => it.key(),
            _ => &[],
        }
    }

    fn value(&self) -> &[u8] {
        match &self.current {
            Some(it) if it.valid() => it.value(),
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iter::testing::VecIter;
    use crate::iter::{collect_backward, collect_forward};
    use crate::key::{make_internal_key, Kind};
    use crate::table::{build_table, TableOptions};
    use crate::testutil::Rng;

    type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    /// A level of `n` tables holding consecutive key ranges.
    fn level(n: usize) -> (Vec<Table>, Entries) {
        let mut all = Vec::new();
        let mut tables = Vec::new();
        for t in 0..n {
            let es: Entries = (0..20)
                .flat_map(|i| {
                    let k = format!("k{:03}", t * 20 + i);
                    [9u64, 4].map(|s| {
                        (
                            make_internal_key(k.as_bytes(), s, Kind::Put),
                            k.clone().into_bytes(),
                        )
                    })
                })
                .collect();
            let opts = TableOptions {
                block_size: 64,
                ..TableOptions::default()
            };
            tables.push(Table::open(build_table(opts, &es).unwrap(), None).unwrap());
            all.extend(es);
        }
        (tables, all)
    }

    #[test]
    fn scans_the_concatenation_both_ways() {
        for n in [0, 1, 4] {
            let (tables, all) = level(n);
            let mut it = LevelIter::new(tables);
            assert!(!it.valid());
            it.seek_to_first().unwrap();
            assert_eq!(collect_forward(&mut it).unwrap(), all);
            it.seek_to_last().unwrap();
            let mut back = collect_backward(&mut it).unwrap();
            back.reverse();
            assert_eq!(back, all);
        }
    }

    #[test]
    fn random_moves_match_a_reference() {
        let (tables, all) = level(5);
        let mut it = LevelIter::new(tables);
        let mut r = VecIter::new(all);
        let mut rng = Rng::new(77);
        for step in 0..4000 {
            match rng.below(6) {
                0 => {
                    let t = make_internal_key(
                        format!("k{:03}", rng.below(110)).as_bytes(),
                        rng.below(12),
                        Kind::Put,
                    );
                    it.seek(&t).unwrap();
                    r.seek(&t).unwrap();
                }
                1 => {
                    it.seek_to_first().unwrap();
                    r.seek_to_first().unwrap();
                }
                2 => {
                    it.seek_to_last().unwrap();
                    r.seek_to_last().unwrap();
                }
                3 | 4 if it.valid() => {
                    it.next().unwrap();
                    r.next().unwrap();
                }
                _ if it.valid() => {
                    it.prev().unwrap();
                    r.prev().unwrap();
                }
                _ => {}
            }
            assert_eq!(it.valid(), r.valid(), "step {step}");
            assert_eq!((it.key(), it.value()), (r.key(), r.value()), "step {step}");
        }
    }
}
