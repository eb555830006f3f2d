//! The one iterator interface everything composes from: block, table,
//! memtable, merging and user-view iterators all implement [`KvIter`].
//!
//! The shape follows LevelDB's: a cursor with explicit positioning instead of
//! Rust's `Iterator`, because a sorted store needs `seek`, `prev` and
//! repositioning, and because a merge must look at a child's key without
//! consuming it.
//!
//! Movement returns `Result` because table iterators read and verify blocks as
//! they go; a checksum failure surfaces at the step that met it, and the
//! iterator is left invalid. `key`/`value` are only meaningful while
//! `valid()`; they return empty slices otherwise rather than panicking.

use crate::error::Result;

/// A positioned cursor over entries sorted by some key order.
///
/// `Send` is a supertrait so iterators can move to a worker thread (napi async
/// tasks, compactions).
pub trait KvIter: Send {
    /// True when positioned on an entry.
    fn valid(&self) -> bool;
    /// Moves to the first entry (invalid if there is none).
    fn seek_to_first(&mut self) -> Result<()>;
    /// Moves to the last entry (invalid if there is none).
    fn seek_to_last(&mut self) -> Result<()>;
    /// Moves to the first entry whose key is ≥ `target`.
    fn seek(&mut self, target: &[u8]) -> Result<()>;
    /// Moves to the following entry; requires `valid()`.
    fn next(&mut self) -> Result<()>;
    /// Moves to the preceding entry; requires `valid()`.
    fn prev(&mut self) -> Result<()>;
    /// Current key (empty when invalid).
    fn key(&self) -> &[u8];
    /// Current value (empty when invalid).
    fn value(&self) -> &[u8];
}

impl<T: KvIter + ?Sized> KvIter for Box<T> {
    fn valid(&self) -> bool {
        (**self).valid()
    }
    fn seek_to_first(&mut self) -> Result<()> {
        (**self).seek_to_first()
    }
    fn seek_to_last(&mut self) -> Result<()> {
        (**self).seek_to_last()
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        (**self).seek(target)
    }
    fn next(&mut self) -> Result<()> {
        (**self).next()
    }
    fn prev(&mut self) -> Result<()> {
        (**self).prev()
    }
    fn key(&self) -> &[u8] {
        (**self).key()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
}

/// Positions `it`, an iterator in internal-key order, on the last entry whose
/// key is ≤ `target` (invalid if there is none): a seek, then at most one
/// step back. Reverse user iteration starts here.
pub fn seek_for_prev_internal<I: KvIter + ?Sized>(it: &mut I, target: &[u8]) -> Result<()> {
    it.seek(target)?;
    if !it.valid() {
        it.seek_to_last()
    } else if crate::key::compare_internal(it.key(), target).is_gt() {
        it.prev()
    } else {
        Ok(())
    }
}

/// Collects every `(key, value)` from the current position forward; a test
/// and debugging helper.
pub fn collect_forward<I: KvIter + ?Sized>(it: &mut I) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next()?;
    }
    Ok(out)
}

/// Collects every `(key, value)` from the current position backward.
pub fn collect_backward<I: KvIter + ?Sized>(it: &mut I) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.prev()?;
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod testing {
    //! A reference iterator over a sorted `Vec`, used to check the real ones.
    use super::*;
    use crate::key::compare_internal;

    /// Entries sorted by internal-key order; positions by index.
    pub struct VecIter {
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        pos: usize,
    }

    impl VecIter {
        pub fn new(mut entries: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
            entries.sort_by(|a, b| compare_internal(&a.0, &b.0));
            let pos = entries.len();
            VecIter { entries, pos }
        }
    }

    impl KvIter for VecIter {
        fn valid(&self) -> bool {
            self.pos < self.entries.len()
        }
        fn seek_to_first(&mut self) -> Result<()> {
            self.pos = 0;
            Ok(())
        }
        fn seek_to_last(&mut self) -> Result<()> {
            self.pos = if self.entries.is_empty() {
                0
            } else {
                self.entries.len() - 1
            };
            Ok(())
        }
        fn seek(&mut self, target: &[u8]) -> Result<()> {
            self.pos = self
                .entries
                .partition_point(|(k, _)| compare_internal(k, target).is_lt());
            Ok(())
        }
        fn next(&mut self) -> Result<()> {
            self.pos += 1;
            Ok(())
        }
        fn prev(&mut self) -> Result<()> {
            self.pos = if self.pos == 0 {
                self.entries.len()
            } else {
                self.pos - 1
            };
            Ok(())
        }
        fn key(&self) -> &[u8] {
            self.entries.get(self.pos).map_or(&[], |e| &e.0)
        }
        fn value(&self) -> &[u8] {
            self.entries.get(self.pos).map_or(&[], |e| &e.1)
        }
    }

    #[test]
    fn vec_iter_walks_both_ways() {
        use crate::key::{make_internal_key, Kind};
        let e = |k: &[u8], s| (make_internal_key(k, s, Kind::Put), k.to_vec());
        let mut it = VecIter::new(vec![e(b"b", 1), e(b"a", 1), e(b"a", 2)]);
        assert!(!it.valid());
        it.seek_to_first().unwrap();
        let fwd = collect_forward(&mut it).unwrap();
        assert_eq!(fwd.len(), 3);
        assert_eq!(fwd[0].0, make_internal_key(b"a", 2, Kind::Put));
        it.seek_to_last().unwrap();
        let back = collect_backward(&mut it).unwrap();
        assert_eq!(back.iter().rev().cloned().collect::<Vec<_>>(), fwd);
        assert_eq!(it.key(), b"");
    }

    #[test]
    fn seek_for_prev_lands_on_the_last_key_at_or_before() {
        use crate::key::{make_internal_key, Kind};
        let e = |k: &[u8], s| (make_internal_key(k, s, Kind::Put), vec![]);
        let mut it = VecIter::new(vec![e(b"b", 5), e(b"b", 3), e(b"d", 1)]);
        let at = |it: &VecIter| crate::key::parse_internal_key(it.key()).unwrap().seq;
        seek_for_prev_internal(&mut it, &make_internal_key(b"b", 4, Kind::Put)).unwrap();
        assert_eq!(at(&it), 5);
        seek_for_prev_internal(&mut it, &make_internal_key(b"b", 3, Kind::Put)).unwrap();
        assert_eq!(at(&it), 3);
        seek_for_prev_internal(&mut it, &make_internal_key(b"z", 0, Kind::Delete)).unwrap();
        assert_eq!(at(&it), 1);
        seek_for_prev_internal(&mut it, &make_internal_key(b"a", 0, Kind::Delete)).unwrap();
        assert!(!it.valid());
    }
}
