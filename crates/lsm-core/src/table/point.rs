//! A table's index, decoded once into flat arrays when the table opens: a
//! point read is a binary search with no varint decoding, then one data
//! block seek, and a table iterator's upper cursor is a position in it. The
//! index block itself is not kept: these arrays are all of the index a
//! table holds in memory (per data block, its separator plus 28 bytes).
//!
//! The search runs first over one `u64` per separator: the 8 bytes of its
//! user key that follow the prefix all separators share (big-endian,
//! zero-padded), so most steps compare two integers in one compact array
//! instead of following offsets into the key bytes (a cache miss or two each:
//! ~10% of a random read). Only separators whose 8 bytes equal the target's
//! are compared whole.

use std::cmp::Ordering;

use crate::block::Block;
use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::key::{compare_internal, TRAILER_LEN};
use crate::table::format::BlockHandle;

/// Every index entry of a table: separator keys back to back, where each ends,
/// and the data block handle each points to.
#[derive(Debug, Default)]
pub(crate) struct PointIndex {
    keys: Vec<u8>,
    /// Where each separator ends in `keys` (u32: half the memory of usize;
    /// `build` rejects an index of 4 GiB or more of keys).
    ends: Vec<u32>,
    handles: Vec<BlockHandle>,
    /// The bytes every separator's user key starts with.
    common: Vec<u8>,
    /// Per separator, [`prefix8`] of its user key after `common`. Empty when
    /// some separator is too short to be an internal key (then every step
    /// compares whole keys).
    prefixes: Vec<u64>,
}

/// The first 8 bytes of `b`, big-endian, zero-padded: ordered like `b` itself
/// (`a < b` implies `prefix8(a) <= prefix8(b)`).
#[inline]
fn prefix8(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(w)
}

/// The user-key part of an internal key.
#[inline]
fn user_part(k: &[u8]) -> &[u8] {
    &k[..k.len() - TRAILER_LEN]
}

impl PointIndex {
    /// Decodes every entry of `index` (already validated as a block; entries
    /// and handles are checked here as the table iterator would).
    pub(crate) fn build(index: &Block) -> Result<PointIndex> {
        let mut p = PointIndex::default();
        let mut it = index.iter();
        it.seek_to_first()?;
        while it.valid() {
            p.keys.extend_from_slice(it.key());
            let end = u32::try_from(p.keys.len())
                .map_err(|_| Error::corruption("index block keys exceed 4 GiB"))?;
            p.ends.push(end);
            p.handles
                .push(BlockHandle::decode(it.value()).map_err(|e| e.context("index entry"))?);
            it.next()?;
        }
        p.build_prefixes();
        Ok(p)
    }

    fn build_prefixes(&mut self) {
        let n = self.handles.len();
        if n == 0 || (0..n).any(|i| self.key(i).len() < TRAILER_LEN) {
            return;
        }
        // The keys are sorted, so what the first and last share, all share.
        let (first, last) = (user_part(self.key(0)), user_part(self.key(n - 1)));
        let c = first.iter().zip(last).take_while(|(a, b)| a == b).count();
        self.common = first[..c].to_vec();
        self.prefixes = (0..n)
            .map(|i| prefix8(&user_part(self.key(i))[c..]))
            .collect();
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.keys[start..self.ends[i] as usize]
    }

    /// The number of data blocks.
    pub(crate) fn len(&self) -> usize {
        self.handles.len()
    }

    /// The block that holds the first entry ≥ `target` if any does: the first
    /// whose separator is ≥ `target` (§4.3: a separator is ≥ every key of its
    /// block and < every key of the next).
    /// The first block whose separator is ≥ `target` (an internal key), or
    /// the number of blocks when there is none.
    pub(crate) fn find(&self, target: &[u8]) -> usize {
        let n = self.handles.len();
        if self.prefixes.is_empty() || target.len() < TRAILER_LEN {
            return self.search(0, n, target);
        }
        let user = user_part(target);
        let c = self.common.len();
        let m = c.min(user.len());
        match user[..m].cmp(&self.common[..m]) {
            Ordering::Less => return 0,
            Ordering::Greater => return n,
            // A proper prefix of `common` sorts before every separator.
            Ordering::Equal if user.len() < c => return 0,
            Ordering::Equal => {}
        }
        // Separators with smaller 8 bytes have smaller user keys (so are
        // below the target), those with larger ones larger (so above it).
        let p = prefix8(&user[c..]);
        let lo = self.prefixes.partition_point(|&x| x < p);
        let hi = lo + self.prefixes[lo..].partition_point(|&x| x == p);
        self.search(lo, hi, target)
    }

    /// The first `i` in `lo..hi` whose separator is ≥ `target`, or `hi`.
    fn search(&self, mut lo: usize, mut hi: usize, target: &[u8]) -> usize {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if compare_internal(self.key(mid), target) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The handle of block `i`, if there is one.
    pub(crate) fn handle(&self, i: usize) -> Option<BlockHandle> {
        self.handles.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{lookup_key, make_internal_key, Kind, Lookup};
    use crate::table::builder::{build_table, TableOptions};
    use crate::table::Table;

    #[test]
    fn finds_the_block_of_every_key_and_nothing_past_the_end() {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..2000u32)
            .map(|i| {
                (
                    make_internal_key(format!("k{i:06}").as_bytes(), 5, Kind::Put),
                    vec![b'v'; 40],
                )
            })
            .collect();
        let opts = TableOptions {
            block_size: 256,
            ..TableOptions::default()
        };
        let data = build_table(opts, &entries).unwrap();
        let table = Table::open(data, Some("t.sst")).unwrap();
        for i in (0..2000u32).step_by(7) {
            let k = format!("k{i:06}");
            let got = table.get(k.as_bytes(), 9).unwrap().expect("present");
            assert!(matches!(got, Lookup::Put { seq: 5, .. }));
            // Between keys and before the first: found as absent, never wrong.
            assert!(table.get(format!("{k}x").as_bytes(), 9).unwrap().is_none());
        }
        assert!(table.get(b"a", 9).unwrap().is_none());
        assert!(table.get(b"z", 9).unwrap().is_none());
        // Invisible at an older snapshot.
        assert!(table.get(b"k000007", 4).unwrap().is_none());
        let idx = table.point_index();
        assert!(idx.handle(idx.find(&lookup_key(b"z", 9))).is_none());
    }

    /// A user key from a small alphabet that makes shared prefixes, zero
    /// bytes (the padding of `prefix8`), equal 8-byte windows and keys longer
    /// than the window likely.
    fn small_key(rng: &mut crate::testutil::Rng) -> Vec<u8> {
        let len = rng.below(14) as usize;
        let mut k = b"pre".to_vec();
        if rng.one_in(5) {
            k.truncate(rng.below(4) as usize);
        }
        for _ in 0..len {
            k.push([0u8, 1, b'a', b'b', 255][rng.below(5) as usize]);
        }
        k
    }

    #[test]
    fn property_prefix_search_finds_what_a_whole_key_search_finds() {
        let mut rng = crate::testutil::Rng::new(17);
        for case in 0..400 {
            let mut seps: Vec<Vec<u8>> = (0..1 + rng.below(40))
                .map(|_| make_internal_key(&small_key(&mut rng), rng.below(50), Kind::Put))
                .collect();
            seps.sort_by(|a, b| compare_internal(a, b));
            seps.dedup();
            let mut idx = PointIndex::default();
            for k in &seps {
                idx.keys.extend_from_slice(k);
                idx.ends.push(idx.keys.len() as u32);
                idx.handles.push(BlockHandle { offset: 0, size: 0 });
            }
            idx.build_prefixes();
            assert!(!idx.prefixes.is_empty());
            for _ in 0..60 {
                let target = if rng.one_in(3) {
                    let s = &seps[rng.below(seps.len() as u64) as usize];
                    make_internal_key(&s[..s.len() - TRAILER_LEN], rng.below(50), Kind::Put)
                } else {
                    make_internal_key(&small_key(&mut rng), rng.below(50), Kind::Put)
                };
                let want = seps
                    .iter()
                    .position(|s| compare_internal(s, &target) != Ordering::Less)
                    .unwrap_or(seps.len());
                assert_eq!(
                    idx.find(&target),
                    want,
                    "case {case}: {target:?} in {seps:?}"
                );
            }
        }
    }

    #[test]
    fn versions_of_one_key_spread_over_blocks_are_found_at_every_snapshot() {
        // 300 versions of "k" (seq 600, 598, … 2) in blocks of a few entries
        // each: a snapshot between two versions must find the newer-or-equal
        // visible one even when it opens the next block.
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = (1..=300u64)
            .rev()
            .map(|i| {
                (
                    make_internal_key(b"k", 2 * i, Kind::Put),
                    i.to_le_bytes().to_vec(),
                )
            })
            .collect();
        entries.push((make_internal_key(b"l", 1, Kind::Put), vec![1]));
        let opts = TableOptions {
            block_size: 64,
            ..TableOptions::default()
        };
        let table = Table::open(build_table(opts, &entries).unwrap(), Some("t.sst")).unwrap();
        for snap in 1..=601u64 {
            let got = table.get(b"k", snap).unwrap();
            let want = (snap / 2).min(300);
            match got {
                None => assert_eq!(want, 0, "snapshot {snap}"),
                Some(Lookup::Put { seq, value }) => {
                    assert_eq!(seq, 2 * want, "snapshot {snap}");
                    assert_eq!(value, want.to_le_bytes().to_vec());
                }
                Some(other) => panic!("unexpected {other:?}"),
            }
        }
    }
}
