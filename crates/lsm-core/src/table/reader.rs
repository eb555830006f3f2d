//! Opens a table held in memory and answers point reads (§4).
//!
//! `open` validates the footer and loads the properties, index and filter
//! (each checksummed) once; data blocks are verified each time they are read.
//! A point read goes bloom → index → one data block, so a miss usually costs
//! one hash and a few bit tests.
//!
//! `Table` is a cheap handle (`Arc` inside): iterators own a clone, so they can
//! outlive the caller's reference and move across threads.

use std::ops::Range;
use std::sync::Arc;

use crate::block::Block;
use crate::bloom::may_contain;
use crate::error::Result;
use crate::iter::KvIter;
use crate::key::{lookup_key, parse_internal_key, Kind, Lookup};
use crate::table::format::{check_block, BlockHandle, Footer, Properties};
use crate::table::iter::TableIter;

/// An open table.
#[derive(Clone, Debug)]
pub struct Table {
    inner: Arc<TableInner>,
}

#[derive(Debug)]
struct TableInner {
    data: Arc<[u8]>,
    file_name: Option<String>,
    footer: Footer,
    properties: Properties,
    index: Block,
    filter: Option<Range<usize>>,
}

impl Table {
    /// Opens a whole table file. `file_name` is used in corruption reports.
    pub fn open(data: impl Into<Arc<[u8]>>, file_name: Option<&str>) -> Result<Table> {
        let data: Arc<[u8]> = data.into();
        Table::open_inner(data, file_name).map_err(|e| e.in_file(file_name))
    }

    fn open_inner(data: Arc<[u8]>, file_name: Option<&str>) -> Result<Table> {
        let footer = Footer::decode(&data)?;
        let props_range =
            check_block(&data, footer.properties).map_err(|e| e.context("properties block"))?;
        let properties =
            Properties::decode(&data[props_range]).map_err(|e| e.context("properties block"))?;
        let index_range = check_block(&data, footer.index).map_err(|e| e.context("index block"))?;
        let index = Block::new(data.clone(), index_range).map_err(|e| e.context("index block"))?;
        let filter = if footer.filter.size == 0 {
            None
        } else {
            Some(check_block(&data, footer.filter).map_err(|e| e.context("filter block"))?)
        };
        let inner = TableInner {
            data,
            file_name: file_name.map(str::to_string),
            footer,
            properties,
            index,
            filter,
        };
        Ok(Table {
            inner: Arc::new(inner),
        })
    }

    pub fn properties(&self) -> &Properties {
        &self.inner.properties
    }

    pub fn footer(&self) -> &Footer {
        &self.inner.footer
    }

    pub fn file_size(&self) -> usize {
        self.inner.data.len()
    }

    pub fn file_name(&self) -> Option<&str> {
        self.inner.file_name.as_deref()
    }

    /// The filter block's contents, if the table has one.
    pub fn filter(&self) -> Option<&[u8]> {
        self.inner.filter.clone().map(|r| &self.inner.data[r])
    }

    /// False when the filter proves `user_key` is absent; true otherwise
    /// (including for tables without a filter).
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.filter().map_or(true, |f| may_contain(f, user_key))
    }

    pub(crate) fn index_block(&self) -> &Block {
        &self.inner.index
    }

    /// Reads and verifies the data block an index entry points to.
    pub(crate) fn read_block(&self, handle_bytes: &[u8]) -> Result<Block> {
        let handle = BlockHandle::decode(handle_bytes).map_err(|e| e.context("index entry"))?;
        let range = check_block(&self.inner.data, handle)?;
        Block::new(self.inner.data.clone(), range)
            .map_err(|e| e.context(format!("data block at {}", handle.offset)))
    }

    /// Attaches this table's name to a corruption error.
    pub(crate) fn annotate(&self, e: crate::Error) -> crate::Error {
        e.in_file(self.file_name())
    }

    /// An iterator over every entry, in internal-key order.
    pub fn iter(&self) -> TableIter {
        TableIter::new(self.clone())
    }

    /// The newest version of `user_key` with sequence ≤ `snapshot`, or `None`
    /// when this table holds no visible version.
    pub fn get(&self, user_key: &[u8], snapshot: u64) -> Result<Option<Lookup>> {
        if !self.may_contain(user_key) {
            return Ok(None);
        }
        let mut it = self.iter();
        it.seek(&lookup_key(user_key, snapshot))?;
        if !it.valid() {
            return Ok(None);
        }
        let parsed =
            parse_internal_key(it.key()).map_err(|e| self.annotate(e.context("data block key")))?;
        if parsed.user_key != user_key {
            return Ok(None);
        }
        Ok(Some(match parsed.kind {
            Kind::Put => Lookup::Put {
                seq: parsed.seq,
                value: it.value().to_vec(),
            },
            Kind::Delete => Lookup::Delete { seq: parsed.seq },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::make_internal_key;
    use crate::table::builder::{build_table, TableOptions};
    use crate::table::format::FOOTER_LEN;

    fn sample() -> Vec<u8> {
        let mut entries = Vec::new();
        for i in 0..300u64 {
            let k = format!("user{i:04}");
            // Three versions for every key: 3i+3 (put), 3i+2 (delete on odd keys), 3i+1 (put).
            entries.push((
                make_internal_key(k.as_bytes(), 3 * i + 3, Kind::Put),
                format!("new{i}").into_bytes(),
            ));
            if i % 2 == 1 {
                entries.push((
                    make_internal_key(k.as_bytes(), 3 * i + 2, Kind::Delete),
                    vec![],
                ));
            }
            entries.push((
                make_internal_key(k.as_bytes(), 3 * i + 1, Kind::Put),
                format!("old{i}").into_bytes(),
            ));
        }
        build_table(
            TableOptions {
                block_size: 512,
                ..TableOptions::default()
            },
            &entries,
        )
        .unwrap()
    }

    #[test]
    fn get_honours_snapshots() {
        let table = Table::open(sample(), Some("000004.sst")).unwrap();
        assert!(table.properties().data_block_count > 10);
        for i in [0u64, 1, 2, 150, 299] {
            let k = format!("user{i:04}");
            let k = k.as_bytes();
            assert_eq!(
                table.get(k, 3 * i).unwrap(),
                None,
                "before the first version"
            );
            assert_eq!(
                table.get(k, 3 * i + 1).unwrap(),
                Some(Lookup::Put {
                    seq: 3 * i + 1,
                    value: format!("old{i}").into_bytes()
                })
            );
            let mid = table.get(k, 3 * i + 2).unwrap();
            if i % 2 == 1 {
                assert_eq!(mid, Some(Lookup::Delete { seq: 3 * i + 2 }));
            } else {
                assert_eq!(
                    mid,
                    Some(Lookup::Put {
                        seq: 3 * i + 1,
                        value: format!("old{i}").into_bytes()
                    })
                );
            }
            let latest = Some(Lookup::Put {
                seq: 3 * i + 3,
                value: format!("new{i}").into_bytes(),
            });
            assert_eq!(table.get(k, u64::MAX).unwrap(), latest);
        }
        assert_eq!(table.get(b"user0000x", u64::MAX).unwrap(), None);
        assert_eq!(table.get(b"zzz", u64::MAX).unwrap(), None);
        assert_eq!(table.get(b"", u64::MAX).unwrap(), None);
    }

    #[test]
    fn filter_rejects_most_absent_keys() {
        let table = Table::open(sample(), None).unwrap();
        assert!(table.filter().is_some());
        let misses = (0..1000)
            .filter(|i| !table.may_contain(format!("absent{i}").as_bytes()))
            .count();
        assert!(misses > 950, "{misses}");
        assert!((0..300).all(|i| table.may_contain(format!("user{i:04}").as_bytes())));
    }

    #[test]
    fn open_reports_damage_with_the_file_name() {
        let good = sample();
        assert!(Table::open(good[..FOOTER_LEN - 1].to_vec(), Some("x.sst")).is_err());
        let footer = Footer::decode(&good).unwrap();
        for (name, h) in [
            ("properties", footer.properties),
            ("index", footer.index),
            ("filter", footer.filter),
        ] {
            let mut bad = good.clone();
            bad[h.offset as usize] ^= 0x55;
            let e = Table::open(bad, Some("000004.sst")).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.starts_with("CORRUPTION: 000004.sst: ") && msg.contains(name),
                "{msg}"
            );
        }
    }

    #[test]
    fn damaged_data_block_is_reported_on_read() {
        let mut bad = sample();
        bad[10] ^= 0x01; // inside the first data block
        let table = Table::open(bad, Some("000004.sst")).unwrap();
        let e = table.get(b"user0000", u64::MAX).unwrap_err();
        assert!(e.to_string().starts_with("CORRUPTION: 000004.sst: "), "{e}");
        // Other blocks stay readable.
        assert!(table.get(b"user0299", u64::MAX).unwrap().is_some());
    }

    #[test]
    fn every_single_byte_flip_is_detected_or_harmless() {
        let good = sample();
        for i in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            let Ok(table) = Table::open(bad, None) else {
                continue;
            };
            // Opening succeeded: the flip hit a data block, which must fail its crc.
            let mut it = table.iter();
            let walk = it.seek_to_first().and_then(|()| {
                while it.valid() {
                    it.next()?;
                }
                Ok(())
            });
            assert!(
                walk.unwrap_err().is_corruption(),
                "flip at {i} went unnoticed"
            );
        }
    }
}
