//! The user's view of an internal-key stream at a snapshot: one entry per
//! user key, holding its newest version with sequence ≤ the snapshot, and
//! nothing for keys whose newest visible version is a tombstone.
//!
//! Forward, the inner cursor rests on the entry being shown, so key and value
//! are read straight from it. Backward, the newest visible version of a user
//! key is the *last* one met, so the view walks past all of a key's versions
//! and keeps the chosen key and value in its own buffers; the inner cursor
//! then rests just before that key's entries. Changing direction repositions
//! the inner cursor accordingly (the LevelDB `DBIter` design).

use std::cmp::Ordering;

use crate::error::Result;
use crate::iter::{seek_for_prev_internal, KvIter};
use crate::key::{lookup_key, make_internal_key, parse_internal_key, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Inner cursor is on the current entry.
    Forward,
    /// Inner cursor is before all entries of the current user key; the entry
    /// shown is in `saved_key` / `saved_value`.
    Reverse,
}

/// Iterates user keys and values visible at a snapshot. Seek targets are user
/// keys.
pub struct UserIter<I: KvIter> {
    inner: I,
    snapshot: u64,
    direction: Direction,
    valid: bool,
    saved_key: Vec<u8>,
    saved_value: Vec<u8>,
}

impl<I: KvIter> UserIter<I> {
    /// A view of `inner` (sorted by internal key) at sequence `snapshot`.
    pub fn new(inner: I, snapshot: u64) -> Self {
        UserIter {
            inner,
            snapshot,
            direction: Direction::Forward,
            valid: false,
            saved_key: Vec::new(),
            saved_value: Vec::new(),
        }
    }

    pub fn snapshot(&self) -> u64 {
        self.snapshot
    }

    /// Moves to the last visible user key ≤ `target` (the start of a reverse
    /// scan with an upper bound). `target ‖ (seq 0, DELETE)` is the smallest
    /// trailer, so it sorts after every version of `target` itself.
    pub fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.guarded(|s| {
            s.direction = Direction::Reverse;
            s.saved_value.clear();
            seek_for_prev_internal(&mut s.inner, &make_internal_key(target, 0, Kind::Delete))?;
            s.find_prev_user_entry()
        })
    }

    /// Gives back the inner iterator.
    pub fn into_inner(self) -> I {
        self.inner
    }

    /// From the inner position forward, finds the newest visible version of
    /// the next user key that is not deleted. With `skipping`, entries of user
    /// keys ≤ `saved_key` are hidden (already shown, or shadowed by a newer
    /// tombstone).
    fn find_next_user_entry(&mut self, mut skipping: bool) -> Result<()> {
        while self.inner.valid() {
            let k = parse_internal_key(self.inner.key())?;
            if k.seq <= self.snapshot {
                match k.kind {
                    Kind::Delete => {
                        // Hide this key's older versions.
                        self.saved_key.clear();
                        self.saved_key.extend_from_slice(k.user_key);
                        skipping = true;
                    }
                    Kind::Put => {
                        if !(skipping && k.user_key <= self.saved_key.as_slice()) {
                            self.valid = true;
                            self.saved_key.clear();
                            return Ok(());
                        }
                    }
                }
            }
            self.inner.next()?;
        }
        self.valid = false;
        self.saved_key.clear();
        Ok(())
    }

    /// From the inner position backward, finds the previous user key's newest
    /// visible version and saves it, leaving the inner cursor before its entries.
    fn find_prev_user_entry(&mut self) -> Result<()> {
        let mut kind = Kind::Delete;
        while self.inner.valid() {
            let k = parse_internal_key(self.inner.key())?;
            if k.seq <= self.snapshot {
                if kind != Kind::Delete && k.user_key < self.saved_key.as_slice() {
                    // Met the previous user key: the saved entry is final.
                    break;
                }
                kind = k.kind;
                self.saved_key.clear();
                self.saved_value.clear();
                if kind == Kind::Put {
                    self.saved_key.extend_from_slice(k.user_key);
                    self.saved_value.extend_from_slice(self.inner.value());
                }
            }
            self.inner.prev()?;
        }
        if kind == Kind::Delete {
            // Ran off the front without a visible live entry.
            self.valid = false;
            self.saved_key.clear();
            self.saved_value.clear();
            self.direction = Direction::Forward;
        } else {
            self.valid = true;
        }
        Ok(())
    }

    fn guarded(&mut self, op: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let r = op(self);
        if r.is_err() {
            self.valid = false;
            self.saved_key.clear();
            self.saved_value.clear();
        }
        r
    }

    fn current_user_key(&self) -> &[u8] {
        crate::key::user_key(self.inner.key())
    }
}

impl<I: KvIter> KvIter for UserIter<I> {
    fn valid(&self) -> bool {
        self.valid
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|s| {
            s.direction = Direction::Forward;
            s.saved_value.clear();
            s.inner.seek_to_first()?;
            s.find_next_user_entry(false)
        })
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.guarded(|s| {
            s.direction = Direction::Reverse;
            s.saved_value.clear();
            s.inner.seek_to_last()?;
            s.find_prev_user_entry()
        })
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guarded(|s| {
            s.direction = Direction::Forward;
            s.saved_value.clear();
            s.inner.seek(&lookup_key(target, s.snapshot))?;
            s.find_next_user_entry(false)
        })
    }

    fn next(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        self.guarded(|s| {
            if s.direction == Direction::Reverse {
                // Inner sits before the current key's entries: step into them;
                // `saved_key` already holds the current key, so they get skipped.
                s.direction = Direction::Forward;
                if s.inner.valid() {
                    s.inner.next()?;
                } else {
                    s.inner.seek_to_first()?;
                }
            } else {
                let key = s.current_user_key().to_vec();
                s.saved_key = key;
                s.inner.next()?;
            }
            s.find_next_user_entry(true)
        })
    }

    fn prev(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        self.guarded(|s| {
            if s.direction == Direction::Forward {
                // Walk back past every entry of the current user key.
                s.saved_key = s.current_user_key().to_vec();
                loop {
                    s.inner.prev()?;
                    if !s.inner.valid() {
                        s.valid = false;
                        s.saved_key.clear();
                        s.saved_value.clear();
                        return Ok(());
                    }
                    if s.current_user_key().cmp(&s.saved_key) == Ordering::Less {
                        break;
                    }
                }
                s.direction = Direction::Reverse;
            }
            s.find_prev_user_entry()
        })
    }

    fn key(&self) -> &[u8] {
        match (self.valid, self.direction) {
            (false, _) => &[],
            (true, Direction::Forward) => self.current_user_key(),
            (true, Direction::Reverse) => &self.saved_key,
        }
    }

    fn value(&self) -> &[u8] {
        match (self.valid, self.direction) {
            (false, _) => &[],
            (true, Direction::Forward) => self.inner.value(),
            (true, Direction::Reverse) => &self.saved_value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iter::testing::VecIter;
    use crate::iter::{collect_backward, collect_forward};
    use crate::key::make_internal_key;
    use std::collections::BTreeMap;

    /// (user key, seq, Some(value) = put / None = delete)
    type Op = (&'static str, u64, Option<&'static str>);

    fn view(ops: &[Op], snapshot: u64) -> UserIter<VecIter> {
        let entries = ops
            .iter()
            .map(|&(k, s, v)| match v {
                Some(v) => (
                    make_internal_key(k.as_bytes(), s, Kind::Put),
                    v.as_bytes().to_vec(),
                ),
                None => (make_internal_key(k.as_bytes(), s, Kind::Delete), vec![]),
            })
            .collect();
        UserIter::new(VecIter::new(entries), snapshot)
    }

    /// What a user should see: apply ops with seq ≤ snapshot in order to a map.
    fn model(ops: &[Op], snapshot: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut sorted = ops.to_vec();
        sorted.sort_by_key(|o| o.1);
        let mut m = BTreeMap::new();
        for (k, s, v) in sorted {
            if s > snapshot {
                continue;
            }
            match v {
                Some(v) => m.insert(k.as_bytes().to_vec(), v.as_bytes().to_vec()),
                None => m.remove(k.as_bytes()),
            };
        }
        m.into_iter().collect()
    }

    const OPS: &[Op] = &[
        ("a", 1, Some("a1")),
        ("a", 4, Some("a4")),
        ("b", 2, Some("b2")),
        ("b", 5, None),
        ("c", 3, None),
        ("d", 6, Some("d6")),
        ("d", 7, None),
        ("d", 8, Some("d8")),
        ("e", 9, Some("e9")),
    ];

    #[test]
    fn scans_match_the_model_at_every_snapshot() {
        for snap in 0..=10 {
            let expected = model(OPS, snap);
            let mut it = view(OPS, snap);
            it.seek_to_first().unwrap();
            assert_eq!(
                collect_forward(&mut it).unwrap(),
                expected,
                "forward at {snap}"
            );
            it.seek_to_last().unwrap();
            let mut back = collect_backward(&mut it).unwrap();
            back.reverse();
            assert_eq!(back, expected, "backward at {snap}");
        }
    }

    #[test]
    fn seek_and_direction_changes_match_the_model() {
        for snap in 0..=10 {
            let expected = model(OPS, snap);
            let mut it = view(OPS, snap);
            let mut pos: Option<usize> = None;
            let mut rng = 0x1234_5678u64 + snap;
            for step in 0..400 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                match rng % 5 {
                    0 => {
                        let target = [b'a' + (rng % 6) as u8];
                        it.seek(&target).unwrap();
                        pos = expected
                            .iter()
                            .position(|(k, _)| k.as_slice() >= &target[..]);
                    }
                    1 => {
                        it.seek_to_last().unwrap();
                        pos = expected.len().checked_sub(1);
                    }
                    2 if pos.is_some() => {
                        it.next().unwrap();
                        pos = pos.map(|p| p + 1).filter(|&p| p < expected.len());
                    }
                    3 if pos.is_some() => {
                        it.prev().unwrap();
                        pos = pos.and_then(|p| p.checked_sub(1));
                    }
                    _ => {
                        it.seek_to_first().unwrap();
                        pos = if expected.is_empty() { None } else { Some(0) };
                    }
                }
                let got = it.valid().then(|| (it.key().to_vec(), it.value().to_vec()));
                assert_eq!(
                    got,
                    pos.map(|p| expected[p].clone()),
                    "snapshot {snap} step {step}"
                );
            }
        }
    }

    #[test]
    fn seek_for_prev_matches_the_model() {
        for snap in 0..=10 {
            let expected = model(OPS, snap);
            let mut it = view(OPS, snap);
            for t in [&b""[..], b"a", b"b", b"bb", b"c", b"d", b"e", b"f"] {
                it.seek_for_prev(t).unwrap();
                let want = expected.iter().rev().find(|(k, _)| k.as_slice() <= t);
                let got = it.valid().then(|| (it.key().to_vec(), it.value().to_vec()));
                assert_eq!(got.as_ref(), want, "snapshot {snap} target {t:?}");
                // Walking on backward from there yields the rest in reverse.
                let mut back = collect_backward(&mut it).unwrap();
                back.reverse();
                let n = expected.iter().filter(|(k, _)| k.as_slice() <= t).count();
                assert_eq!(back, expected[..n].to_vec());
            }
        }
    }

    #[test]
    fn everything_deleted_is_empty_both_ways() {
        let ops: &[Op] = &[("a", 1, Some("x")), ("a", 2, None), ("b", 3, None)];
        let mut it = view(ops, 10);
        it.seek_to_first().unwrap();
        assert!(!it.valid());
        it.seek_to_last().unwrap();
        assert!(!it.valid());
        it.seek(b"a").unwrap();
        assert!(!it.valid());
        assert_eq!((it.key(), it.value()), (&b""[..], &b""[..]));
        assert_eq!(it.snapshot(), 10);
    }

    #[test]
    fn corrupt_inner_key_is_reported() {
        let inner = VecIter::new(vec![(b"short".to_vec(), vec![])]);
        let mut it = UserIter::new(inner, 5);
        assert!(it.seek_to_first().unwrap_err().is_corruption());
        assert!(!it.valid());
        let _inner: VecIter = it.into_inner();
    }
}
