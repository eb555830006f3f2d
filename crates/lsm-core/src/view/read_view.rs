//! A read view: the sources one read consults, newest first — the memtable,
//! the immutable memtables, L0 tables newest first (they may overlap, so all
//! are searched), then L1..Ln (each sorted with no overlap, so at most one
//! table per level can hold a key).
//!
//! A view is immutable: TypeScript builds a new one whenever the version or
//! the memtable set changes, and old views stay valid for the iterators and
//! snapshots still using them (sources are reference-counted).

use std::sync::Arc;

use crate::bloom::bloom_hash;
use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::key::{compare_bytes, Kind, Lookup, LookupKey, Probe};
use crate::memtable::MemTable;
use crate::merge::{MergingIter, UserIter};
use crate::table::Table;
use crate::view::cursor::{Cursor, CursorOptions};
use crate::view::level_iter::LevelIter;

/// Memtables and table levels, newest first.
///
/// Levels are shared slices: a cursor's level iterators take a reference to
/// their level instead of copying its list of tables, so creating a cursor
/// costs O(sources), not O(tables).
#[derive(Clone, Debug, Default)]
pub struct ReadView {
    memtables: Vec<Arc<MemTable>>,
    levels: Vec<Arc<[Table]>>,
}

/// The table of a sorted level whose user-key range holds `user_key`.
fn find_in_level<'a>(level: &'a [Table], user_key: &[u8]) -> Option<&'a Table> {
    let i = level.partition_point(|t| compare_bytes(t.largest_user_key(), user_key).is_lt());
    level
        .get(i)
        .filter(|t| compare_bytes(t.smallest_user_key(), user_key).is_le())
}

impl ReadView {
    /// `memtables` newest first; `levels[0]` the L0 tables newest first;
    /// `levels[i ≥ 1]` sorted by key without overlap, which is checked: a
    /// level out of order would make binary search silently miss keys.
    pub fn new(memtables: Vec<Arc<MemTable>>, levels: Vec<Vec<Table>>) -> Result<ReadView> {
        for (i, level) in levels.iter().enumerate().skip(1) {
            for pair in level.windows(2) {
                if pair[0].largest_user_key() >= pair[1].smallest_user_key() {
                    return Err(Error::invalid(format!(
                        "level {i} tables overlap or are out of order"
                    )));
                }
            }
        }
        let levels = levels.into_iter().map(Arc::from).collect();
        Ok(ReadView { memtables, levels })
    }

    pub fn memtables(&self) -> &[Arc<MemTable>] {
        &self.memtables
    }

    pub fn levels(&self) -> &[Arc<[Table]>] {
        &self.levels
    }

    /// The newest version of `user_key` with sequence ≤ `snapshot` across all
    /// sources; a `Delete` means the key is absent (older sources are not
    /// consulted). `None` when no source holds a visible version.
    pub fn get(&self, user_key: &[u8], snapshot: u64) -> Result<Option<Lookup>> {
        self.get_with(user_key, snapshot, Lookup::from_entry)
    }

    /// [`ReadView::get`] that hands `(seq, kind, value)` of the entry found to
    /// `visit` without copying the value out of its memtable or block.
    pub fn get_with<R, F: FnOnce(u64, Kind, &[u8]) -> R>(
        &self,
        user_key: &[u8],
        snapshot: u64,
        visit: F,
    ) -> Result<Option<R>> {
        let mut visit = visit;
        // One lookup key serves every memtable and table probed.
        let lookup = LookupKey::new(user_key, snapshot);
        let lookup = lookup.as_bytes();
        for m in &self.memtables {
            visit = match m.get_at(user_key, lookup, visit) {
                Probe::Found(r) => return Ok(Some(r)),
                Probe::Missing(v) => v,
            };
        }
        let l0 = self
            .levels
            .first()
            .into_iter()
            .flat_map(|l| l.iter())
            .filter(|t| t.covers(user_key));
        let deeper = self
            .levels
            .iter()
            .skip(1)
            .filter_map(|level| find_in_level(level, user_key));
        // One filter hash serves every table probed.
        let hash = bloom_hash(user_key);
        for t in l0.chain(deeper) {
            visit = match t.probe(user_key, lookup, hash, visit)? {
                Probe::Found(r) => return Ok(Some(r)),
                Probe::Missing(v) => v,
            };
        }
        Ok(None)
    }

    /// The merged internal-key stream of every source: one child per
    /// memtable and per L0 table, one per deeper level.
    pub fn merged(&self) -> MergingIter {
        let mut children: Vec<Box<dyn KvIter>> = Vec::new();
        for m in &self.memtables {
            children.push(Box::new(m.iter()));
        }
        if let Some(l0) = self.levels.first() {
            for t in l0.iter() {
                children.push(Box::new(t.iter()));
            }
        }
        for level in self.levels.iter().skip(1) {
            if !level.is_empty() {
                children.push(Box::new(LevelIter::new(Arc::clone(level))));
            }
        }
        MergingIter::new(children)
    }

    /// A user-level cursor at `options.snapshot`.
    pub fn cursor(&self, options: CursorOptions) -> Cursor {
        let it = UserIter::new(self.merged(), options.snapshot);
        Cursor::new(it, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, Kind};
    use crate::table::{build_table, TableOptions};

    fn table(keys: &[&str]) -> Table {
        let es: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                (
                    make_internal_key(k.as_bytes(), i as u64 + 1, Kind::Put),
                    vec![],
                )
            })
            .collect();
        Table::open(build_table(TableOptions::default(), &es).unwrap(), None).unwrap()
    }

    #[test]
    fn level_search_finds_the_covering_table() {
        let level = vec![table(&["b", "d"]), table(&["f", "h"]), table(&["j"])];
        let at =
            |k: &str| find_in_level(&level, k.as_bytes()).map(|t| t.smallest_user_key().to_vec());
        assert_eq!(at("a"), None);
        assert_eq!(at("b"), Some(b"b".to_vec()));
        assert_eq!(at("c"), Some(b"b".to_vec()));
        assert_eq!(at("e"), None);
        assert_eq!(at("h"), Some(b"f".to_vec()));
        assert_eq!(at("j"), Some(b"j".to_vec()));
        assert_eq!(at("k"), None);
    }

    #[test]
    fn overlapping_deep_levels_are_refused() {
        let ok = ReadView::new(
            vec![],
            vec![
                vec![table(&["a", "z"]), table(&["a"])],
                vec![table(&["a", "c"]), table(&["d"])],
            ],
        );
        assert!(ok.is_ok(), "L0 may overlap");
        let bad = ReadView::new(
            vec![],
            vec![vec![], vec![table(&["a", "c"]), table(&["c", "d"])]],
        );
        assert!(matches!(bad, Err(Error::InvalidArgument(_))));
        let unsorted = ReadView::new(vec![], vec![vec![], vec![table(&["x"]), table(&["a"])]]);
        assert!(unsorted.is_err());
    }
}
