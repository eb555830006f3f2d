//! Iterates a table: a two-level cursor, a position in the table's decoded
//! index on top choosing the data block, a block iterator below walking it.
//!
//! Because each index key is the *last* key of its block (or above it),
//! `seek(t)` on the index lands on the first block that can hold a key ≥ `t`.
//! Data blocks are loaded (and checksum-verified) only when the cursor enters
//! them.

use crate::block::BlockIter;
use crate::error::Result;
use crate::iter::KvIter;
use crate::table::reader::Table;

/// A cursor over all entries of a [`Table`], in internal-key order.
pub struct TableIter {
    table: Table,
    /// The data block under the cursor, as an index position; the number of
    /// blocks when the index cursor is exhausted (either end).
    block: usize,
    /// The block under the cursor; `None` when invalid.
    data: Option<BlockIter>,
}

impl TableIter {
    pub(crate) fn new(table: Table) -> Self {
        let block = table.point_index().len();
        TableIter {
            table,
            block,
            data: None,
        }
    }

    /// The table being iterated.
    pub fn table(&self) -> &Table {
        &self.table
    }

    fn blocks(&self) -> usize {
        self.table.point_index().len()
    }

    /// Loads the block the index cursor points at, or clears `data` when the
    /// index is exhausted. Returns whether a block is loaded.
    fn load_block(&mut self) -> Result<bool> {
        self.data = None;
        let Some(handle) = self.table.point_index().handle(self.block) else {
            return Ok(false);
        };
        let block = self.table.read_block_at(handle)?;
        self.data = Some(block.iter());
        Ok(true)
    }

    fn data_valid(&self) -> bool {
        self.data.as_ref().is_some_and(|d| d.valid())
    }

    /// Moves forward past blocks with nothing left (normally only the end of
    /// one block, but a block with no entries must not stop the walk).
    fn skip_forward(&mut self) -> Result<()> {
        while !self.data_valid() && self.block < self.blocks() {
            self.block += 1;
            if self.load_block()? {
                if let Some(d) = self.data.as_mut() {
                    d.seek_to_first()?;
                }
            }
        }
        Ok(())
    }

    fn skip_backward(&mut self) -> Result<()> {
        while !self.data_valid() && self.block < self.blocks() {
            // Before the first block the cursor is exhausted, as past the last.
            self.block = self.block.checked_sub(1).unwrap_or(self.blocks());
            if self.load_block()? {
                if let Some(d) = self.data.as_mut() {
                    d.seek_to_last()?;
                }
            }
        }
        Ok(())
    }

    /// Runs a movement; on error leaves the iterator invalid and names the file.
    fn guarded(&mut self, op: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let r = op(self);
        if let Err(e) = r {
            self.data = None;
            return Err(self.table.annotate(e));
        }
        if !self.data_valid() {
            self.data = None;
        }
        Ok(())
    }
}

impl KvIter for TableIter {
    fn valid(&self) -> bool {
        self.data_valid()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|s| {
            s.block = 0;
            if s.load_block()? {
                if let Some(d) = s.data.as_mut() {
                    d.seek_to_first()?;
                }
            }
            s.skip_forward()
        })
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.guarded(|s| {
            s.block = s.blocks().saturating_sub(1);
            if s.load_block()? {
                if let Some(d) = s.data.as_mut() {
                    d.seek_to_last()?;
                }
            }
            s.skip_backward()
        })
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guarded(|s| {
            s.block = s.table.point_index().find(target);
            if s.load_block()? {
                if let Some(d) = s.data.as_mut() {
                    d.seek(target)?;
                }
            }
            s.skip_forward()
        })
    }

    fn next(&mut self) -> Result<()> {
        self.guarded(|s| {
            if let Some(d) = s.data.as_mut() {
                d.next()?;
            }
            s.skip_forward()
        })
    }

    fn prev(&mut self) -> Result<()> {
        self.guarded(|s| {
            if let Some(d) = s.data.as_mut() {
                d.prev()?;
            }
            s.skip_backward()
        })
    }

    fn key(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.key())
    }

    fn value(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iter::testing::VecIter;
    use crate::iter::{collect_backward, collect_forward};
    use crate::key::{make_internal_key, Kind};
    use crate::table::builder::{build_table, TableOptions};

    fn entries(n: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let kind = if i % 5 == 0 { Kind::Delete } else { Kind::Put };
                let value = if kind == Kind::Put {
                    vec![b'v'; (i % 40) as usize]
                } else {
                    vec![]
                };
                (
                    make_internal_key(format!("k{:05}", i * 3).as_bytes(), i + 1, kind),
                    value,
                )
            })
            .collect()
    }

    fn table(es: &[(Vec<u8>, Vec<u8>)], block_size: usize) -> Table {
        let bytes = build_table(
            TableOptions {
                block_size,
                ..TableOptions::default()
            },
            es,
        )
        .unwrap();
        Table::open(bytes, Some("t.sst")).unwrap()
    }

    #[test]
    fn full_scans_both_ways() {
        for (n, bs) in [(1u64, 4096usize), (10, 1), (500, 128), (500, 4096)] {
            let es = entries(n);
            let t = table(&es, bs);
            let mut it = t.iter();
            assert!(!it.valid());
            it.seek_to_first().unwrap();
            assert_eq!(collect_forward(&mut it).unwrap(), es);
            it.seek_to_last().unwrap();
            let mut back = collect_backward(&mut it).unwrap();
            back.reverse();
            assert_eq!(back, es, "n {n} block size {bs}");
        }
    }

    #[test]
    fn seeks_and_direction_changes_match_a_reference() {
        let es = entries(400);
        let t = table(&es, 200);
        let mut it = t.iter();
        let mut reference = VecIter::new(es.clone());
        let mut rng = 0x2545_f491u64;
        for step in 0..3000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            match rng % 6 {
                0 => {
                    let target = make_internal_key(
                        format!("k{:05}", rng % 1300).as_bytes(),
                        rng % 500,
                        Kind::Put,
                    );
                    it.seek(&target).unwrap();
                    reference.seek(&target).unwrap();
                }
                1 => {
                    it.seek_to_first().unwrap();
                    reference.seek_to_first().unwrap();
                }
                2 => {
                    it.seek_to_last().unwrap();
                    reference.seek_to_last().unwrap();
                }
                3 | 4 if it.valid() => {
                    it.next().unwrap();
                    reference.next().unwrap();
                }
                _ if it.valid() => {
                    it.prev().unwrap();
                    reference.prev().unwrap();
                }
                _ => {}
            }
            assert_eq!(it.valid(), reference.valid(), "step {step}");
            assert_eq!(
                (it.key(), it.value()),
                (reference.key(), reference.value()),
                "step {step}"
            );
        }
    }

    #[test]
    fn seek_past_the_end_and_before_the_start() {
        let es = entries(50);
        let t = table(&es, 100);
        let mut it = t.iter();
        it.seek(&make_internal_key(b"z", 1, Kind::Put)).unwrap();
        assert!(!it.valid());
        it.seek(&make_internal_key(b"", 1, Kind::Put)).unwrap();
        assert_eq!(it.key(), &es[0].0[..]);
        it.prev().unwrap();
        assert!(!it.valid());
        assert_eq!(it.key(), b"");
        assert_eq!(it.table().file_name(), Some("t.sst"));
    }

    #[test]
    fn corruption_leaves_the_iterator_invalid() {
        let es = entries(200);
        let mut bytes = build_table(
            TableOptions {
                block_size: 256,
                ..TableOptions::default()
            },
            &es,
        )
        .unwrap();
        let last_block_byte = Table::open(bytes.clone(), None)
            .unwrap()
            .footer()
            .filter
            .offset as usize
            - 6;
        bytes[last_block_byte] ^= 0xff;
        let t = Table::open(bytes, Some("bad.sst")).unwrap();
        let mut it = t.iter();
        it.seek_to_first().unwrap();
        let err = loop {
            match it.next() {
                Ok(()) => assert!(it.valid(), "reached the end without noticing"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("bad.sst"), "{err}");
        assert!(!it.valid());
        assert!(it.seek_to_last().is_err());
    }
}
