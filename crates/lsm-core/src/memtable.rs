//! The memtable: the newest writes, sorted by internal key, in memory until a
//! flush turns them into a table.
//!
//! Concurrency: one writer (the write-group leader applies one group at a
//! time) and any number of readers (point reads, iterators, a flush) at once.
//! The storage is an arena skiplist ([`crate::skiplist`], after LevelDB's):
//! keys and values are copied into large arena chunks that never move, nodes
//! are published with release stores and followed with acquire loads, so
//! readers never wait for the writer and an iterator stays valid while entries
//! are inserted around it. Writers are serialized by a mutex taken once per
//! group (uncontended under the one-writer rule). A `RwLock<BTreeMap>` would
//! make every read wait for an in-flight insert and could not keep a
//! long-lived iterator (a JS iterator held across calls) without holding the
//! lock.
//!
//! Visibility of a half-applied group is handled by sequence numbers, not
//! locking: readers use a snapshot ≤ the last *published* sequence, and the
//! engine publishes a group's sequences only after `apply` returns.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

use crate::batch::{decode_write_group, WriteGroup};
use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::key::{pack_trailer, parse_internal_key, Kind, Lookup, LookupKey, Probe};
use crate::skiplist::{self, SkipList};

/// Bytes charged per entry on top of key and value: skiplist node, tower and
/// allocation headers. An estimate; it only steers when to flush.
const ENTRY_OVERHEAD: usize = 48;

/// A sorted, concurrently readable map of internal keys to values.
pub struct MemTable {
    // An `Arc` of its own so iterators can share the list without the rest.
    list: Arc<SkipList>,
    approximate_size: AtomicUsize,
    last_seq: AtomicU64,
}

impl Default for MemTable {
    fn default() -> Self {
        MemTable {
            list: Arc::new(SkipList::new()),
            approximate_size: AtomicUsize::new(0),
            last_seq: AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for MemTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemTable")
            .field("len", &self.len())
            .field("approximate_size", &self.approximate_size())
            .field("last_seq", &self.last_seq())
            .finish()
    }
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
        // Taking the writer lock first makes check-and-insert atomic even if
        // two callers ever raced (they would serialize, not interleave).
        let mut inserter = self.list.inserter();
        let last = self.last_seq.load(AtomicOrdering::Acquire);
        if group.first_seq <= last {
            return Err(Error::invalid(format!(
                "write group starting at sequence {} does not follow {last}",
                group.first_seq
            )));
        }
        let charge: usize = group
            .entries
            .iter()
            .map(|e| e.key.len() + 8 + e.value.len() + ENTRY_OVERHEAD)
            .sum();
        inserter.insert_all(
            group
                .entries
                .iter()
                .map(|e| (e.key, pack_trailer(e.seq, e.kind), e.value)),
        );
        self.approximate_size
            .fetch_add(charge, AtomicOrdering::Relaxed);
        self.last_seq
            .store(group.last_seq(), AtomicOrdering::Release);
        Ok(group.last_seq())
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
        self.get_at(
            user_key,
            LookupKey::new(user_key, snapshot).as_bytes(),
            visit,
        )
    }

    /// [`MemTable::get_with`] for a caller that built the lookup key
    /// (`lookup_key(user_key, snapshot)`) already.
    pub fn get_at<R, F: FnOnce(u64, Kind, &[u8]) -> R>(
        &self,
        user_key: &[u8],
        target: &[u8],
        visit: F,
    ) -> Probe<R, F> {
        let Some((key, value)) = self.list.seek_ge(target) else {
            return Probe::Missing(visit);
        };
        // Keys in the list were built by `apply_group`, so they always parse.
        match parse_internal_key(key) {
            Ok(p) if p.user_key == user_key => Probe::Found(visit(p.seq, p.kind, value)),
            _ => Probe::Missing(visit),
        }
    }

    /// Bytes used, approximately (keys, values and per-entry overhead).
    pub fn approximate_size(&self) -> usize {
        self.approximate_size.load(AtomicOrdering::Relaxed)
    }

    /// Entries (versions, not distinct user keys).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Last sequence applied (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(AtomicOrdering::Acquire)
    }

    /// An iterator that shares ownership of the memtable, so it can outlive the
    /// caller's borrow (e.g. live inside a JS iterator object).
    pub fn iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter {
            inner: self.list.iter(),
            _table: Arc::clone(self),
        }
    }
}

/// A cursor over a memtable. Sees entries inserted after it was created when
/// it moves onto them; snapshot filtering happens in the user view above it.
pub struct MemTableIter {
    inner: skiplist::Iter,
    // Keeps the whole memtable alive as before (the cursor itself only needs
    // the list, which it shares).
    _table: Arc<MemTable>,
}

impl KvIter for MemTableIter {
    fn valid(&self) -> bool {
        self.inner.valid()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.inner.seek_to_first();
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.inner.seek_to_last();
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.inner.seek(target);
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        self.inner.next();
        Ok(())
    }

    fn prev(&mut self) -> Result<()> {
        self.inner.prev();
        Ok(())
    }

    fn key(&self) -> &[u8] {
        self.inner.key()
    }

    fn value(&self) -> &[u8] {
        self.inner.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteGroupBuilder;
    use crate::iter::{collect_backward, collect_forward};
    use crate::key::{compare_internal, make_internal_key};

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
        it.seek(&crate::key::lookup_key(b"b", 2)).unwrap();
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

    /// `cargo test -p lsm-core --release --lib -- --ignored --nocapture bench_fill`
    /// (random 16-byte keys; `BENCH_ASCENDING=1` for ascending keys as in fillbatch).
    #[test]
    #[ignore]
    fn bench_fill() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let n: u64 = std::env::var("BENCH_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let n = n / 1000 * 1000;
        let value = [b'v'; 100];
        let ascending = std::env::var_os("BENCH_ASCENDING").is_some();
        let mut counter = 0u64;
        let mut keys = Vec::with_capacity(n as usize);
        let mut groups = Vec::new();
        for g in 0..n / 1000 {
            let mut b = WriteGroupBuilder::new(g * 1000 + 1).unwrap();
            for _ in 0..1000 {
                let mut k = [0u8; 16];
                if ascending {
                    counter += 1;
                    k[8..].copy_from_slice(&counter.to_be_bytes());
                } else {
                    k[..8].copy_from_slice(&next().to_be_bytes());
                    k[8..].copy_from_slice(&next().to_be_bytes());
                }
                b.put(&k, &value).unwrap();
                keys.push(k);
            }
            groups.push(b.finish().unwrap());
        }
        for round in 0..3 {
            let m = Arc::new(MemTable::new());
            let t = std::time::Instant::now();
            for g in &groups {
                m.apply(g).unwrap();
            }
            let fill = t.elapsed();
            let t = std::time::Instant::now();
            let mut found = 0;
            for k in &keys {
                found += m.get_with(k, u64::MAX, |_, _, v| v.len()).found().is_some() as usize;
            }
            let get = t.elapsed();
            assert_eq!(found, n as usize);
            let t = std::time::Instant::now();
            let mut it = m.iter();
            it.seek_to_first().unwrap();
            let mut count = 0;
            while it.valid() {
                count += 1;
                it.next().unwrap();
            }
            let scan = t.elapsed();
            assert_eq!(count, n);
            println!(
                "round {round}: fill {:.0} inserts/s ({:.0} ns/op), get {:.0} ns/op, scan {:.1} ns/entry",
                n as f64 / fill.as_secs_f64(),
                fill.as_nanos() as f64 / n as f64,
                get.as_nanos() as f64 / n as f64,
                scan.as_nanos() as f64 / n as f64,
            );
        }
    }
}
