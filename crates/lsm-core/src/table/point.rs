//! The point-read path of a table: the index decoded once into flat arrays,
//! so a lookup is a binary search over key slices with no varint decoding,
//! then one data block seek. Iterators keep using the index block itself.

use std::cmp::Ordering;

use crate::block::Block;
use crate::error::Result;
use crate::iter::KvIter;
use crate::key::compare_internal;
use crate::table::format::BlockHandle;

/// Every index entry of a table: separator keys back to back, where each ends,
/// and the data block handle each points to.
#[derive(Debug, Default)]
pub(crate) struct PointIndex {
    keys: Vec<u8>,
    ends: Vec<usize>,
    handles: Vec<BlockHandle>,
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
            p.ends.push(p.keys.len());
            p.handles
                .push(BlockHandle::decode(it.value()).map_err(|e| e.context("index entry"))?);
            it.next()?;
        }
        Ok(p)
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.keys[start..self.ends[i]]
    }

    /// The block that holds the first entry ≥ `target` if any does: the first
    /// whose separator is ≥ `target` (§4.3: a separator is ≥ every key of its
    /// block and < every key of the next).
    pub(crate) fn find(&self, target: &[u8]) -> usize {
        let (mut lo, mut hi) = (0usize, self.handles.len());
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
        let idx = PointIndex::build(table.index_block()).unwrap();
        assert!(idx.handle(idx.find(&lookup_key(b"z", 9))).is_none());
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
