//! The memtable: the newest writes, sorted by internal key, in memory until a
//! flush turns them into a table.
//!
//! Concurrency: one writer (the write-group leader applies one group at a
//! time) and any number of readers (point reads, iterators, a flush) at once.
//! A `crossbeam_skiplist::SkipMap` fits that exactly: inserts and lookups are
//! lock-free, so readers never wait for the writer, and an iterator stays
//! valid while entries are inserted around it. A `RwLock<BTreeMap>` would make
//! every read wait for an in-flight insert and could not keep a long-lived
//! iterator (a JS iterator held across calls) without holding the lock.
//!
//! Visibility of a half-applied group is handled by sequence numbers, not
//! locking: readers use a snapshot ≤ the last *published* sequence, and the
//! engine publishes a group's sequences only after `apply` returns.

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

use crossbeam_skiplist::map::Entry;
use crossbeam_skiplist::SkipMap;

use crate::batch::{decode_write_group, WriteGroup};
use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::key::{
    compare_internal, lookup_key, make_internal_key, parse_internal_key, Kind, Lookup, Probe,
};

/// Bytes charged per entry on top of key and value: skiplist node, tower and
/// allocation headers. An estimate; it only steers when to flush.
const ENTRY_OVERHEAD: usize = 48;

/// An internal key ordered by [`compare_internal`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct IKey(Box<[u8]>);

impl Ord for IKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        compare_internal(&self.0, &other.0)
    }
}

impl PartialOrd for IKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

type Map = SkipMap<IKey, Box<[u8]>>;

/// A sorted, concurrently readable map of internal keys to values.
#[derive(Debug, Default)]
pub struct MemTable {
    map: Map,
    approximate_size: AtomicUsize,
    last_seq: AtomicU64,
}

impl MemTable {
    pub fn new() -> Self {
        MemTable::default()
    }

    /// Decodes a write group (§2.2) and inserts all its entries. Groups must
    /// arrive in sequence order; a group that does not start after the last
    /// applied sequence is refused (it would be a replay or a bug). The bytes
    /// come from the caller, not from disk, so a malformed group is
    /// `InvalidArgument` (WAL replay decodes groups itself and reports
    /// corruption with the file name).
    pub fn apply(&self, group: &[u8]) -> Result<u64> {
        let group = decode_write_group(group).map_err(|e| match e {
            Error::Corruption { msg, .. } => {
                Error::invalid(format!("malformed write group: {msg}"))
            }
            other => other,
        })?;
        self.apply_group(&group)
    }

    /// [`MemTable::apply`] for an already decoded group; returns its last sequence.
    pub fn apply_group(&self, group: &WriteGroup<'_>) -> Result<u64> {
        let last = self.last_seq.load(AtomicOrdering::Acquire);
        if group.first_seq <= last {
            return Err(Error::invalid(format!(
                "write group starting at sequence {} does not follow {last}",
                group.first_seq
            )));
        }
        for e in &group.entries {
            self.insert(e.key, e.seq, e.kind, e.value);
        }
        self.last_seq
            .store(group.last_seq(), AtomicOrdering::Release);
        Ok(group.last_seq())
    }

    fn insert(&self, user_key: &[u8], seq: u64, kind: Kind, value: &[u8]) {
        let key = make_internal_key(user_key, seq, kind).into_boxed_slice();
        let charge = key.len() + value.len() + ENTRY_OVERHEAD;
        self.map.insert(IKey(key), value.into());
        self.approximate_size
            .fetch_add(charge, AtomicOrdering::Relaxed);
    }

    /// The newest version of `user_key` with sequence ≤ `snapshot`.
    pub fn get(&self, user_key: &[u8], snapshot: u64) -> Option<Lookup> {
        self.get_with(user_key, snapshot, Lookup::from_entry)
            .found()
    }

    /// [`MemTable::get`] that hands `(seq, kind, value)` of the entry found to
    /// `visit` without copying the value.
    pub fn get_with<R, F: FnOnce(u64, Kind, &[u8]) -> R>(
        &self,
        user_key: &[u8],
        snapshot: u64,
        visit: F,
    ) -> Probe<R, F> {
        let target = IKey(lookup_key(user_key, snapshot).into_boxed_slice());
        let Some(entry) = self.map.lower_bound(Bound::Included(&target)) else {
            return Probe::Missing(visit);
        };
        // Keys in the map were built by `insert`, so they always parse.
        match parse_internal_key(&entry.key().0) {
            Ok(p) if p.user_key == user_key => Probe::Found(visit(p.seq, p.kind, entry.value())),
            _ => Probe::Missing(visit),
        }
    }

    /// Bytes used, approximately (keys, values and per-entry overhead).
    pub fn approximate_size(&self) -> usize {
        self.approximate_size.load(AtomicOrdering::Relaxed)
    }

    /// Entries (versions, not distinct user keys).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Last sequence applied (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(AtomicOrdering::Acquire)
    }

    /// An iterator that shares ownership of the memtable, so it can outlive the
    /// caller's borrow (e.g. live inside a JS iterator object).
    pub fn iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter {
            current: None,
            table: Arc::clone(self),
        }
    }
}

/// A cursor over a memtable. Sees entries inserted after it was created when
/// it moves onto them; snapshot filtering happens in the user view above it.
pub struct MemTableIter {
    // Declared before `table` so it is dropped first: the entry points into the
    // skiplist that `table` keeps alive.
    current: Option<Entry<'static, IKey, Box<[u8]>>>,
    table: Arc<MemTable>,
}

impl MemTableIter {
    /// Stores an entry borrowed from `self.table` as `'static`.
    fn set(&mut self, entry: Option<Entry<'_, IKey, Box<[u8]>>>) {
        // SAFETY: the entry borrows the `SkipMap` inside `self.table`, an `Arc`
        // allocation whose address never changes and which lives at least as
        // long as `self` (we hold a strong count). The `'static` lifetime never
        // escapes: `key()`/`value()` reborrow through `&self`, and the field
        // order above drops the entry before the `Arc`. The transmute changes
        // only a lifetime parameter, not the layout.
        self.current = entry.map(|e| unsafe {
            std::mem::transmute::<Entry<'_, IKey, Box<[u8]>>, Entry<'static, IKey, Box<[u8]>>>(e)
        });
    }
}

impl KvIter for MemTableIter {
    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        let table = Arc::clone(&self.table);
        self.set(table.map.front());
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        let table = Arc::clone(&self.table);
        self.set(table.map.back());
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let table = Arc::clone(&self.table);
        let target = IKey(target.into());
        self.set(table.map.lower_bound(Bound::Included(&target)));
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        let next = self.current.as_ref().and_then(|e| e.next());
        self.current = next;
        Ok(())
    }

    fn prev(&mut self) -> Result<()> {
        let prev = self.current.as_ref().and_then(|e| e.prev());
        self.current = prev;
        Ok(())
    }

    fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |e| &e.key().0)
    }

    fn value(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |e| e.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteGroupBuilder;
    use crate::iter::{collect_backward, collect_forward};

    fn group(first_seq: u64, ops: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut b = WriteGroupBuilder::new(first_seq).unwrap();
        for (k, v) in ops {
            match v {
                Some(v) => b.put(k.as_bytes(), v.as_bytes()).unwrap(),
                None => b.delete(k.as_bytes()).unwrap(),
            };
        }
        b.finish().unwrap()
    }

    #[test]
    fn get_sees_the_newest_visible_version() {
        let m = MemTable::new();
        assert_eq!(
            m.apply(&group(1, &[("a", Some("1")), ("b", Some("2"))]))
                .unwrap(),
            2
        );
        m.apply(&group(3, &[("a", None)])).unwrap();
        m.apply(&group(4, &[("a", Some("3"))])).unwrap();
        assert_eq!(m.get(b"a", 0), None);
        assert_eq!(
            m.get(b"a", 1),
            Some(Lookup::Put {
                seq: 1,
                value: b"1".to_vec()
            })
        );
        assert_eq!(
            m.get(b"a", 2),
            Some(Lookup::Put {
                seq: 1,
                value: b"1".to_vec()
            })
        );
        assert_eq!(m.get(b"a", 3), Some(Lookup::Delete { seq: 3 }));
        assert_eq!(
            m.get(b"a", u64::MAX),
            Some(Lookup::Put {
                seq: 4,
                value: b"3".to_vec()
            })
        );
        assert_eq!(
            m.get(b"b", 10),
            Some(Lookup::Put {
                seq: 2,
                value: b"2".to_vec()
            })
        );
        assert_eq!(m.get(b"", 10), None);
        assert_eq!(m.get(b"aa", 10), None);
        assert_eq!((m.len(), m.last_seq()), (4, 4));
    }

    #[test]
    fn apply_refuses_bad_or_stale_groups() {
        let m = MemTable::new();
        m.apply(&group(5, &[("a", Some("1"))])).unwrap();
        assert!(matches!(
            m.apply(&group(5, &[("b", Some("1"))])),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            m.apply(&[1, 2, 3]),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn size_grows_with_entries() {
        let m = MemTable::new();
        assert!(m.is_empty());
        m.apply(&group(1, &[("key", Some("value"))])).unwrap();
        assert_eq!(m.approximate_size(), 3 + 8 + 5 + ENTRY_OVERHEAD);
    }

    #[test]
    fn iterator_walks_internal_key_order() {
        let m = Arc::new(MemTable::new());
        m.apply(&group(1, &[("b", Some("b1")), ("a", Some("a1"))]))
            .unwrap();
        m.apply(&group(3, &[("b", None), ("c", Some("c3"))]))
            .unwrap();
        let mut it = m.iter();
        it.seek_to_first().unwrap();
        let fwd = collect_forward(&mut it).unwrap();
        let expected = vec![
            (make_internal_key(b"a", 2, Kind::Put), b"a1".to_vec()),
            (make_internal_key(b"b", 3, Kind::Delete), vec![]),
            (make_internal_key(b"b", 1, Kind::Put), b"b1".to_vec()),
            (make_internal_key(b"c", 4, Kind::Put), b"c3".to_vec()),
        ];
        assert_eq!(fwd, expected);
        it.seek_to_last().unwrap();
        let mut back = collect_backward(&mut it).unwrap();
        back.reverse();
        assert_eq!(back, expected);
        it.seek(&lookup_key(b"b", 2)).unwrap();
        assert_eq!(it.key(), &expected[2].0[..]);
        it.prev().unwrap();
        assert_eq!(it.key(), &expected[1].0[..]);
        it.seek(b"zzzzzzzzz").unwrap();
        assert!(!it.valid());
        assert_eq!((it.key(), it.value()), (&b""[..], &b""[..]));
    }

    #[test]
    fn iterator_outlives_the_callers_handle_and_sees_later_inserts() {
        let m = Arc::new(MemTable::new());
        m.apply(&group(1, &[("a", Some("1"))])).unwrap();
        let mut it = m.iter();
        it.seek_to_first().unwrap();
        m.apply(&group(2, &[("b", Some("2"))])).unwrap();
        drop(m);
        it.next().unwrap();
        assert_eq!(crate::key::user_key(it.key()), b"b");
    }

    #[test]
    fn concurrent_readers_with_one_writer() {
        let m = Arc::new(MemTable::new());
        let writer = {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                for i in 1..=2000u64 {
                    let k = format!("k{:05}", i % 500);
                    m.apply(&group(i, &[(&k, Some(&i.to_string()))])).unwrap();
                }
            })
        };
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let m = Arc::clone(&m);
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let mut it = m.iter();
                        it.seek_to_first().unwrap();
                        let mut prev: Option<Vec<u8>> = None;
                        while it.valid() {
                            if let Some(p) = &prev {
                                assert!(compare_internal(p, it.key()).is_lt());
                            }
                            prev = Some(it.key().to_vec());
                            it.next().unwrap();
                        }
                    }
                })
            })
            .collect();
        writer.join().unwrap();
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(m.len(), 2000);
        assert_eq!(
            m.get(b"k00000", u64::MAX),
            Some(Lookup::Put {
                seq: 2000,
                value: b"2000".to_vec()
            })
        );
    }

    #[test]
    fn iterators_are_send() {
        fn assert_send<T: Send>() {}
        assert_send::<MemTableIter>();
        assert_send::<Arc<MemTable>>();
    }
}
