//! Merges any number of sorted sources into one sorted stream, forward and
//! backward.
//!
//! Sources are scanned linearly for the smallest (or largest) key instead of
//! kept in a heap: a read merges a handful of sources (memtable, immutable
//! memtables, L0 tables, one iterator per deeper level), where a linear scan
//! beats a heap's bookkeeping and makes direction changes simple.
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

/// A [`KvIter`] over the union of its children, in internal-key order.
pub struct MergingIter {
    children: Vec<Box<dyn KvIter>>,
    current: Option<usize>,
    direction: Direction,
}

impl MergingIter {
    /// Merges `children`; list them newest first.
    pub fn new(children: Vec<Box<dyn KvIter>>) -> Self {
        MergingIter {
            children,
            current: None,
            direction: Direction::Forward,
        }
    }

    /// Picks the valid child with the smallest key (ties: lowest index).
    fn find_smallest(&mut self) {
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
            s.find_smallest();
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

    #[test]
    fn direction_changes_match_a_reference() {
        let (srcs, all) = sources();
        let mut m = merged(&srcs);
        let mut r = VecIter::new(all);
        let mut rng = 0x9e37_79b9u64;
        for step in 0..5000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            match rng % 7 {
                0 => {
                    let t =
                        make_internal_key(&[b'a' + (rng % 7) as u8], (rng >> 8) % 10, Kind::Put);
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
                3 | 4 if m.valid() => {
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
