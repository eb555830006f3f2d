//! Merges any number of sorted sources into one sorted stream, forward and
//! backward.
//!
//! A handful of sources (a read: memtable, immutable memtables, L0 tables,
//! one iterator per deeper level) are scanned linearly for the smallest (or
//! largest) key: that beats a heap's bookkeeping and keeps direction changes
//! simple. From [`HEAP_FROM`] sources on (an L0 compaction merges every L0
//! table), forward steps keep the sources in a binary min-heap instead, so a
//! step costs about log2(n) key comparisons rather than n − 1. Going backward
//! always scans.
//!
//! Ties between sources with the same internal key go to the lower index,
//! so callers list sources newest first. (Internal keys are unique per
//! sequence number, so a tie means the same entry seen twice, e.g. a memtable
//! and the table flushed from it; either copy is correct.)

use std::cmp::Ordering;

use crate::error::Result;
use crate::iter::KvIter;
use crate::key::compare_internal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Reverse,
}

/// From this many children on, forward steps use a heap.
pub const HEAP_FROM: usize = 6;

/// A [`KvIter`] over the union of its children, in internal-key order.
pub struct MergingIter {
    children: Vec<Box<dyn KvIter>>,
    current: Option<usize>,
    direction: Direction,
    /// With [`HEAP_FROM`] or more children and moving forward: the valid
    /// children as a binary min-heap on (key, index); `heap[0]` is `current`.
    heap: Vec<usize>,
}

impl MergingIter {
    /// Merges `children`; list them newest first.
    pub fn new(children: Vec<Box<dyn KvIter>>) -> Self {
        MergingIter {
            children,
            current: None,
            direction: Direction::Forward,
            heap: Vec::new(),
        }
    }

    fn use_heap(&self) -> bool {
        self.children.len() >= HEAP_FROM
    }

    /// Heap order: smaller key first, ties to the lower index (as the scan).
    fn before(&self, a: usize, b: usize) -> bool {
        match compare_internal(self.children[a].key(), self.children[b].key()) {
            Ordering::Less => true,
            Ordering::Equal => a < b,
            Ordering::Greater => false,
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                return;
            }
            let r = l + 1;
            let c = if r < n && self.before(self.heap[r], self.heap[l]) {
                r
            } else {
                l
            };
            if !self.before(self.heap[c], self.heap[i]) {
                return;
            }
            self.heap.swap(i, c);
            i = c;
        }
    }

    /// Rebuilds the heap from every valid child (after a seek).
    fn build_heap(&mut self) {
        self.heap.clear();
        self.heap
            .extend((0..self.children.len()).filter(|&i| self.children[i].valid()));
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
        self.current = self.heap.first().copied();
    }

    /// Picks the valid child with the smallest key (ties: lowest index).
    fn find_smallest(&mut self) {
        if self.use_heap() {
            self.build_heap();
            return;
        }
        let mut best: Option<usize> = None;
        for (i, child) in self.children.iter().enumerate() {
            if !child.valid() {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => compare_internal(child.key(), self.children[b].key()) == Ordering::Less,
            };
            if better {
                best = Some(i);
            }
        }
        self.current = best;
    }

    /// Picks the valid child with the largest key (ties: lowest index).
    fn find_largest(&mut self) {
        self.heap.clear();
        let mut best: Option<usize> = None;
        for (i, child) in self.children.iter().enumerate() {
            if !child.valid() {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => {
                    compare_internal(child.key(), self.children[b].key()) == Ordering::Greater
                }
            };
            if better {
                best = Some(i);
            }
        }
        self.current = best;
    }

    /// Runs `op`; on error the merge is left invalid.
    fn guarded(&mut self, op: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let r = op(self);
        if r.is_err() {
            self.current = None;
        }
        r
    }
}

impl KvIter for MergingIter {
    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|s| {
            for c in &mut s.children {
                c.seek_to_first()?;
            }
            s.direction = Direction::Forward;
            s.find_smallest();
            Ok(())
        })
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.guarded(|s| {
            for c in &mut s.children {
                c.seek_to_last()?;
            }
            s.direction = Direction::Reverse;
            s.find_largest();
            Ok(())
        })
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guarded(|s| {
            for c in &mut s.children {
                c.seek(target)?;
            }
            s.direction = Direction::Forward;
            s.find_smallest();
            Ok(())
        })
    }

    fn next(&mut self) -> Result<()> {
        let Some(cur) = self.current else {
            return Ok(());
        };
        self.guarded(|s| {
            if s.direction != Direction::Forward {
                // The other children sit at or before the current key; move each
                // to the first entry after it so all of them lead forward.
                let key = s.children[cur].key().to_vec();
                for (i, c) in s.children.iter_mut().enumerate() {
                    if i == cur {
                        continue;
                    }
                    c.seek(&key)?;
                    if c.valid() && compare_internal(&key, c.key()) == Ordering::Equal {
                        c.next()?;
                    }
                }
                s.direction = Direction::Forward;
            }
            s.children[cur].next()?;
            if s.use_heap() && s.heap.first() == Some(&cur) {
                // The heap is current: only the top moved.
                if !s.children[cur].valid() {
                    let last = s.heap.pop().unwrap_or(cur);
                    if !s.heap.is_empty() {
                        s.heap[0] = last;
                    }
                }
                s.sift_down(0);
                s.current = s.heap.first().copied();
            } else {
                s.find_smallest();
            }
            Ok(())
        })
    }

    fn prev(&mut self) -> Result<()> {
        let Some(cur) = self.current else {
            return Ok(());
        };
        self.guarded(|s| {
            if s.direction != Direction::Reverse {
                // The other children sit after the current key; move each to the
                // last entry before it.
                let key = s.children[cur].key().to_vec();
                for (i, c) in s.children.iter_mut().enumerate() {
                    if i == cur {
                        continue;
                    }
                    c.seek(&key)?;
                    if c.valid() {
                        c.prev()?;
                    } else {
                        c.seek_to_last()?;
                    }
                }
                s.direction = Direction::Reverse;
            }
            s.children[cur].prev()?;
            s.find_largest();
            Ok(())
        })
    }

    fn key(&self) -> &[u8] {
        self.current.map_or(&[], |i| self.children[i].key())
    }

    fn value(&self) -> &[u8] {
        self.current.map_or(&[], |i| self.children[i].value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iter::testing::VecIter;
    use crate::iter::{collect_backward, collect_forward};
    use crate::key::{make_internal_key, Kind};

    type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    fn e(k: &str, seq: u64) -> (Vec<u8>, Vec<u8>) {
        (
            make_internal_key(k.as_bytes(), seq, Kind::Put),
            format!("{k}@{seq}").into_bytes(),
        )
    }

    fn sources() -> (Vec<Entries>, Entries) {
        let a = vec![e("a", 9), e("c", 8), e("e", 7)];
        let b = vec![e("a", 3), e("b", 2), e("e", 1), e("f", 4)];
        let c = vec![];
        let d = vec![e("d", 5)];
        let mut all: Vec<_> = [a.clone(), b.clone(), c.clone(), d.clone()].concat();
        all.sort_by(|x, y| compare_internal(&x.0, &y.0));
        (vec![a, b, c, d], all)
    }

    fn merged(srcs: &[Entries]) -> MergingIter {
        MergingIter::new(
            srcs.iter()
                .map(|s| Box::new(VecIter::new(s.clone())) as Box<dyn KvIter>)
                .collect(),
        )
    }

    #[test]
    fn forward_and_backward_yield_the_union() {
        let (srcs, all) = sources();
        let mut m = merged(&srcs);
        m.seek_to_first().unwrap();
        assert_eq!(collect_forward(&mut m).unwrap(), all);
        m.seek_to_last().unwrap();
        let mut back = collect_backward(&mut m).unwrap();
        back.reverse();
        assert_eq!(back, all);
        assert!(MergingIter::new(vec![]).seek_to_first().is_ok());
    }

    /// xorshift64 from `seed`.
    fn rng(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// Random seeks (to `target(random)`), ends and steps both ways on `m`
    /// and on the reference `r` over the same entries, comparing after each.
    fn walk_matches_reference(
        m: &mut MergingIter,
        r: &mut VecIter,
        rand: &mut impl FnMut() -> u64,
        target: impl Fn(u64) -> Vec<u8>,
    ) {
        for step in 0..5000 {
            match rand() % 9 {
                0 => {
                    let t = target(rand());
                    m.seek(&t).unwrap();
                    r.seek(&t).unwrap();
                }
                1 => {
                    m.seek_to_first().unwrap();
                    r.seek_to_first().unwrap();
                }
                2 => {
                    m.seek_to_last().unwrap();
                    r.seek_to_last().unwrap();
                }
                3..=6 if m.valid() => {
                    m.next().unwrap();
                    r.next().unwrap();
                }
                _ if m.valid() => {
                    m.prev().unwrap();
                    r.prev().unwrap();
                }
                _ => {}
            }
            assert_eq!(m.valid(), r.valid(), "step {step}");
            assert_eq!((m.key(), m.value()), (r.key(), r.value()), "step {step}");
        }
    }

    #[test]
    fn direction_changes_match_a_reference() {
        let (srcs, all) = sources();
        let mut m = merged(&srcs);
        let mut r = VecIter::new(all);
        walk_matches_reference(&mut m, &mut r, &mut rng(0x9e37_79b9), |x| {
            make_internal_key(&[b'a' + (x % 7) as u8], (x >> 8) % 10, Kind::Put)
        });
    }

    /// Ten sources (the heap path), forward, backward and mixed, against a
    /// reference; duplicates across sources must come out lowest index first.
    #[test]
    fn many_sources_use_the_heap_and_match_a_reference() {
        let mut step = rng(0x2545_f491);
        let mut srcs: Vec<Entries> = Vec::new();
        for s in 0..10u64 {
            let mut v: Entries = (0..60)
                .map(|_| {
                    let r = step();
                    let k = format!("k{:02}", r % 40);
                    // Sequences unique per source (s + 10 × a small number),
                    // except in source 9, which repeats entries of source 3.
                    let seq = if s == 9 {
                        3 + 10 * ((r >> 8) % 5)
                    } else {
                        s + 10 * ((r >> 8) % 5)
                    };
                    (
                        make_internal_key(k.as_bytes(), seq, Kind::Put),
                        format!("{k}/{s}").into_bytes(),
                    )
                })
                .collect();
            v.sort_by(|x, y| compare_internal(&x.0, &y.0));
            v.dedup_by(|x, y| x.0 == y.0);
            srcs.push(v);
        }
        // Forward: a stable sort keeps equal keys in source order, and the
        // merge must yield duplicates the same way (lowest index first).
        let mut all: Entries = srcs.concat();
        all.sort_by(|x, y| compare_internal(&x.0, &y.0));
        let mut m = merged(&srcs);
        assert!(m.use_heap());
        m.seek_to_first().unwrap();
        assert_eq!(collect_forward(&mut m).unwrap(), all);
        // Mixed directions, without the duplicates (their order backward is
        // not a stable sort's).
        srcs.pop();
        let mut all: Entries = srcs.concat();
        all.sort_by(|x, y| compare_internal(&x.0, &y.0));
        let mut m = merged(&srcs);
        assert!(m.use_heap());
        let mut r = VecIter::new(all);
        walk_matches_reference(&mut m, &mut r, &mut step, |x| {
            make_internal_key(
                format!("k{:02}", x % 42).as_bytes(),
                (x >> 8) % 6,
                Kind::Put,
            )
        });
    }

    #[test]
    fn duplicate_entries_across_sources_prefer_the_first() {
        let newer = vec![(make_internal_key(b"k", 5, Kind::Put), b"mem".to_vec())];
        let older = vec![(make_internal_key(b"k", 5, Kind::Put), b"sst".to_vec())];
        let mut m = merged(&[newer, older]);
        m.seek_to_first().unwrap();
        assert_eq!(m.value(), b"mem");
        m.next().unwrap();
        assert_eq!(m.value(), b"sst");
        m.next().unwrap();
        assert!(!m.valid());
    }
}
