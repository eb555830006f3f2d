//! Builds a table file in memory (§4): data blocks, filter, properties, index,
//! footer.
//!
//! Both engines must produce the same bytes from the same entries, so the one
//! decision with freedom in it — where a data block ends — follows §4.2
//! exactly: after each entry, finish the block once its estimated size
//! `entryBytes + 4 × R + 4` reaches `blockSize`. That estimate is of the
//! uncompressed block; compression (§4.1) happens after the cut, and is kept
//! only when it saves at least an eighth, so both engines also agree on which
//! blocks are stored compressed (their compressors are the same algorithm).
//!
//! The builder keeps only one hash per distinct user key for the filter (the
//! probes depend on nothing else), so memory stays small even for big tables.

use std::cmp::Ordering;

use crate::block::{BlockBuilder, DATA_RESTART_INTERVAL, INDEX_RESTART_INTERVAL};
use crate::bloom::{bloom_hash, build_from_hashes};
use crate::error::{Error, Result};
use crate::key::{compare_internal, parse_internal_key, user_key, Kind};
use crate::snappy;
use crate::table::format::{
    append_block, append_stored_block, BlockHandle, Footer, Properties, BLOCK_TRAILER_LEN,
    COMPRESSION_SNAPPY, FOOTER_LEN,
};

/// Largest block size accepted: restart offsets are `fixed32`, and a block is
/// cut at `blockSize`, so this keeps every offset far below 2^32.
pub const MAX_BLOCK_SIZE: usize = 1 << 30;

/// How data blocks are stored (`docs/FORMAT.md` §4.1). Index, filter and
/// properties blocks are always stored uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Every block is stored as it is (type 0).
    None,
    /// A data block is stored Snappy-compressed (type 1) when that saves at
    /// least an eighth of its size, else as it is.
    #[default]
    Snappy,
}

impl Compression {
    /// The option's name as the TypeScript side spells it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Snappy => "snappy",
        }
    }

    /// Parses `"none"` or `"snappy"`.
    pub fn parse(name: &str) -> Result<Compression> {
        match name {
            "none" => Ok(Compression::None),
            "snappy" => Ok(Compression::Snappy),
            other => Err(Error::invalid(format!(
                "compression must be 'snappy' or 'none', got '{other}'"
            ))),
        }
    }
}

/// How a table is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Target data block size (default 2048), measured on the uncompressed
    /// block.
    pub block_size: usize,
    /// Restart interval of data blocks (default 16).
    pub restart_interval: usize,
    /// Bloom bits per distinct user key (default 10); 0 writes no filter.
    pub bits_per_key: u32,
    /// Compression of data blocks (default Snappy).
    pub compression: Compression,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 2048,
            restart_interval: DATA_RESTART_INTERVAL,
            bits_per_key: 10,
            compression: Compression::Snappy,
        }
    }
}

/// True when a compressed block of `compressed` bytes is worth keeping for a
/// block of `raw` bytes: it must save at least an eighth (FORMAT.md §4.1).
pub fn worth_compressing(raw: usize, compressed: usize) -> bool {
    compressed < raw - raw / 8
}

impl TableOptions {
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_BLOCK_SIZE).contains(&self.block_size) {
            return Err(Error::invalid(format!(
                "blockSize {} must be in 1..2^30",
                self.block_size
            )));
        }
        if !(1..=u32::MAX as usize).contains(&self.restart_interval) {
            return Err(Error::invalid(format!(
                "restartInterval {} must be at least 1",
                self.restart_interval
            )));
        }
        if self.bits_per_key > 64 {
            return Err(Error::invalid(format!(
                "bitsPerKey {} must be in 0..64",
                self.bits_per_key
            )));
        }
        Ok(())
    }
}

/// Accumulates sorted entries and produces the table bytes.
#[derive(Debug)]
pub struct TableBuilder {
    opts: TableOptions,
    out: Vec<u8>,
    data: BlockBuilder,
    index: BlockBuilder,
    last_key: Vec<u8>,
    /// One bloom hash per distinct user key, in key order.
    hashes: Vec<u32>,
    props: Properties,
    /// Reused output buffer of the block compressor.
    compressed: Vec<u8>,
}

impl TableBuilder {
    pub fn new(opts: TableOptions) -> Result<Self> {
        opts.validate()?;
        Ok(TableBuilder {
            opts,
            out: Vec::new(),
            data: BlockBuilder::new(opts.restart_interval),
            index: BlockBuilder::new(INDEX_RESTART_INTERVAL),
            last_key: Vec::new(),
            hashes: Vec::new(),
            props: Properties {
                min_seq: u64::MAX,
                ..Properties::default()
            },
            compressed: Vec::new(),
        })
    }

    /// Entries added so far.
    pub fn entry_count(&self) -> u64 {
        self.props.entry_count
    }

    /// Approximate size of the finished file, for callers that split outputs
    /// (a compaction cuts a new table near a target size).
    pub fn estimated_size(&self) -> usize {
        let filter = self.hashes.len() * self.opts.bits_per_key as usize / 8 + 1;
        self.out.len()
            + self.data.estimated_size()
            + self.index.estimated_size()
            + filter
            + FOOTER_LEN
    }

    /// Appends one entry. Internal keys must be valid and strictly ascending; a
    /// `DELETE` carries an empty value.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let parsed = parse_internal_key(key)
            .map_err(|e| Error::invalid(format!("bad internal key: {e}")))?;
        if self.props.entry_count > 0 && compare_internal(&self.last_key, key) != Ordering::Less {
            return Err(Error::invalid(
                "table keys must be added in strictly ascending order",
            ));
        }
        if parsed.kind == Kind::Delete && !value.is_empty() {
            return Err(Error::invalid("a DELETE entry has an empty value"));
        }
        if u32::try_from(value.len()).is_err() {
            return Err(Error::invalid(format!(
                "value of {} bytes is too large",
                value.len()
            )));
        }
        let new_user_key =
            self.props.entry_count == 0 || user_key(&self.last_key) != parsed.user_key;
        if new_user_key {
            self.hashes.push(bloom_hash(parsed.user_key));
        }
        let p = &mut self.props;
        if p.entry_count == 0 {
            p.smallest = key.to_vec();
        }
        p.entry_count += 1;
        p.deletion_count += u64::from(parsed.kind == Kind::Delete);
        p.raw_key_bytes += parsed.user_key.len() as u64;
        p.raw_value_bytes += value.len() as u64;
        p.min_seq = p.min_seq.min(parsed.seq);
        p.max_seq = p.max_seq.max(parsed.seq);

        self.data.add(key, value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        if self.data.estimated_size() >= self.opts.block_size {
            self.flush_data_block();
        }
        Ok(())
    }

    /// Writes the current data block (compressed when the options ask for it
    /// and it saves an eighth) and its index entry (keyed by the block's last
    /// internal key, so a seek lands on the first block that can hold the
    /// target).
    fn flush_data_block(&mut self) {
        let contents = self.data.finish();
        let mut handle = None;
        if self.opts.compression == Compression::Snappy
            && contents.len() <= snappy::MAX_DECOMPRESSED_LEN
        {
            self.compressed.clear();
            snappy::compress(&contents, &mut self.compressed);
            if worth_compressing(contents.len(), self.compressed.len()) {
                handle = Some(append_stored_block(
                    &mut self.out,
                    &self.compressed,
                    COMPRESSION_SNAPPY,
                ));
            }
        }
        let handle = handle.unwrap_or_else(|| append_block(&mut self.out, &contents));
        self.data.recycle(contents);
        self.index.add(&self.last_key, &handle.encode());
        self.props.data_block_count += 1;
        self.props.data_bytes += handle.size + BLOCK_TRAILER_LEN as u64;
    }

    /// The size measure that decides where a compaction cuts its outputs:
    /// bytes of finished data blocks, plus the open block's estimate, plus two
    /// bytes per distinct user key when the table has a filter. Both engines
    /// cut with exactly this number (the TypeScript `TableBuilder.estimatedSize`)
    /// so that their compactions write byte-identical tables.
    pub fn cut_size(&self) -> usize {
        let filter = if self.opts.bits_per_key > 0 {
            2 * self.hashes.len()
        } else {
            0
        };
        self.out.len() + self.data.estimated_size() + filter
    }

    /// Finishes the table and returns its bytes. Tables are never empty.
    pub fn finish(self) -> Result<Vec<u8>> {
        self.finish_with_properties().map(|(bytes, _)| bytes)
    }

    /// Finishes the table and returns its bytes and the properties written
    /// into it.
    pub fn finish_with_properties(mut self) -> Result<(Vec<u8>, Properties)> {
        if self.props.entry_count == 0 {
            return Err(Error::invalid("a table needs at least one entry"));
        }
        if !self.data.is_empty() {
            self.flush_data_block();
        }
        let filter = if self.opts.bits_per_key > 0 {
            let bits = build_from_hashes(&self.hashes, self.opts.bits_per_key)?;
            append_block(&mut self.out, &bits)
        } else {
            // No filter: an all-zero handle (FORMAT.md §4.5, size 0 = none).
            BlockHandle::default()
        };
        self.props.largest = std::mem::take(&mut self.last_key);
        let properties = append_block(&mut self.out, &self.props.encode()?);
        let index_contents = self.index.finish();
        let index = append_block(&mut self.out, &index_contents);
        self.out.extend_from_slice(
            &Footer {
                filter,
                properties,
                index,
            }
            .encode(),
        );
        Ok((self.out, self.props))
    }
}

/// Builds a table from entries already sorted in internal-key order.
pub fn build_table<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    opts: TableOptions,
    entries: &[(K, V)],
) -> Result<Vec<u8>> {
    let mut b = TableBuilder::new(opts)?;
    for (k, v) in entries {
        b.add(k.as_ref(), v.as_ref())?;
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Block;
    use crate::coding::get_fixed64;
    use crate::iter::KvIter;
    use crate::key::make_internal_key;
    use crate::table::format::{
        check_block, check_block_typed, uncompress_block, COMPRESSION_NONE,
    };
    use std::sync::Arc;

    fn put(k: &str, seq: u64) -> (Vec<u8>, Vec<u8>) {
        (
            make_internal_key(k.as_bytes(), seq, Kind::Put),
            format!("value-of-{k}-{seq}").into_bytes(),
        )
    }

    #[test]
    fn rejects_bad_input() {
        let mut b = TableBuilder::new(TableOptions::default()).unwrap();
        assert!(matches!(
            b.add(b"short", b""),
            Err(Error::InvalidArgument(_))
        ));
        b.add(&make_internal_key(b"b", 5, Kind::Put), b"v").unwrap();
        assert!(
            b.add(&make_internal_key(b"a", 5, Kind::Put), b"v").is_err(),
            "descending"
        );
        assert!(
            b.add(&make_internal_key(b"b", 5, Kind::Put), b"v").is_err(),
            "duplicate"
        );
        assert!(
            b.add(&make_internal_key(b"b", 6, Kind::Put), b"v").is_err(),
            "newer after older"
        );
        assert!(
            b.add(&make_internal_key(b"c", 1, Kind::Delete), b"x")
                .is_err(),
            "delete with value"
        );
        b.add(&make_internal_key(b"b", 4, Kind::Delete), b"")
            .unwrap();
        assert!(
            TableBuilder::new(TableOptions::default())
                .unwrap()
                .finish()
                .is_err(),
            "empty table"
        );
        for bad in [
            TableOptions {
                block_size: 0,
                ..TableOptions::default()
            },
            TableOptions {
                restart_interval: 0,
                ..TableOptions::default()
            },
            TableOptions {
                bits_per_key: 65,
                ..TableOptions::default()
            },
        ] {
            assert!(TableBuilder::new(bad).is_err());
        }
    }

    #[test]
    fn blocks_are_cut_by_the_estimate_rule() {
        let opts = TableOptions {
            block_size: 256,
            compression: Compression::None,
            ..TableOptions::default()
        };
        let entries: Vec<_> = (0..200)
            .map(|i| put(&format!("key{i:04}"), 1000 - i))
            .collect();
        let table = build_table(opts, &entries).unwrap();
        let footer = Footer::decode(&table).unwrap();
        let data = Arc::<[u8]>::from(table.clone());
        let range = check_block(&table, footer.index).unwrap();
        let index = Block::new(data.clone(), range).unwrap();
        let mut it = index.iter();
        it.seek_to_first().unwrap();
        // Replay the rule with a fresh builder and compare each block's size.
        let mut replay = BlockBuilder::new(16);
        let mut expected_sizes = Vec::new();
        for (k, v) in &entries {
            replay.add(k, v);
            if replay.estimated_size() >= 256 {
                expected_sizes.push(replay.finish().len() as u64);
            }
        }
        if !replay.is_empty() {
            expected_sizes.push(replay.finish().len() as u64);
        }
        let mut sizes = Vec::new();
        let mut prev_end = 0;
        while it.valid() {
            let h = BlockHandle::decode(it.value()).unwrap();
            assert_eq!(h.offset, prev_end, "blocks are contiguous from offset 0");
            prev_end = h.offset + h.size + BLOCK_TRAILER_LEN as u64;
            sizes.push(h.size);
            it.next().unwrap();
        }
        assert_eq!(sizes, expected_sizes);
        assert!(sizes.len() > 5);
        // Every block but the last reached the target.
        assert!(sizes[..sizes.len() - 1].iter().all(|&s| s >= 256));
        assert_eq!(
            footer.filter.offset, prev_end,
            "filter follows the data blocks"
        );
    }

    /// The data blocks of `table` as (type, stored size, contents after
    /// decompression), in file order, each checked to be contiguous.
    fn data_blocks(table: &[u8]) -> Vec<(u8, u64, Vec<u8>)> {
        let footer = Footer::decode(table).unwrap();
        let data = Arc::<[u8]>::from(table.to_vec());
        let index = Block::new(data, check_block(table, footer.index).unwrap()).unwrap();
        let mut it = index.iter();
        it.seek_to_first().unwrap();
        let mut out = Vec::new();
        let mut prev_end = 0;
        while it.valid() {
            let h = BlockHandle::decode(it.value()).unwrap();
            assert_eq!(h.offset, prev_end);
            prev_end = h.offset + h.size + BLOCK_TRAILER_LEN as u64;
            let (range, ty) = check_block_typed(table, h).unwrap();
            let stored = &table[range];
            let contents = match uncompress_block(stored, ty, h).unwrap() {
                Some(c) => c.to_vec(),
                None => stored.to_vec(),
            };
            out.push((ty, h.size, contents));
            it.next().unwrap();
        }
        assert_eq!(prev_end, footer.filter.offset);
        out
    }

    #[test]
    fn compression_keeps_the_cut_and_stores_blocks_that_shrink_by_an_eighth() {
        // Values alternate between compressible and random so that both
        // block types occur.
        let mut rng = crate::testutil::Rng::new(42);
        let entries: Vec<_> = (0..400u64)
            .map(|i| {
                let k = make_internal_key(format!("key{i:05}").as_bytes(), 5000 - i, Kind::Put);
                let v: Vec<u8> = if (i / 20) % 2 == 0 {
                    vec![b'a' + (i % 3) as u8; 40]
                } else {
                    (0..40).map(|_| rng.next() as u8).collect()
                };
                (k, v)
            })
            .collect();
        let base = TableOptions {
            block_size: 512,
            ..TableOptions::default()
        };
        assert_eq!(base.compression, Compression::Snappy, "the default");
        let plain = build_table(
            TableOptions {
                compression: Compression::None,
                ..base
            },
            &entries,
        )
        .unwrap();
        let packed = build_table(base, &entries).unwrap();
        assert!(packed.len() < plain.len());
        let (pb, cb) = (data_blocks(&plain), data_blocks(&packed));
        // The same cut: the same blocks once decompressed.
        assert_eq!(pb.len(), cb.len());
        for ((pt, ps, pc), (ct, cs, cc)) in pb.iter().zip(&cb) {
            assert_eq!(*pt, COMPRESSION_NONE);
            assert_eq!(pc, cc);
            assert_eq!(*ps as usize, pc.len());
            let mut z = Vec::new();
            snappy::compress(pc, &mut z);
            if worth_compressing(pc.len(), z.len()) {
                assert_eq!((*ct, *cs as usize), (COMPRESSION_SNAPPY, z.len()));
            } else {
                assert_eq!((*ct, *cs as usize), (COMPRESSION_NONE, pc.len()));
            }
        }
        assert!(cb.iter().any(|b| b.0 == COMPRESSION_SNAPPY));
        assert!(cb.iter().any(|b| b.0 == COMPRESSION_NONE));
        // dataBytes counts stored blocks with their trailers; the meta blocks
        // stay uncompressed.
        let footer = Footer::decode(&packed).unwrap();
        let (props_range, props_ty) = check_block_typed(&packed, footer.properties).unwrap();
        assert_eq!(props_ty, COMPRESSION_NONE);
        assert_eq!(
            check_block_typed(&packed, footer.index).unwrap().1,
            COMPRESSION_NONE
        );
        assert_eq!(
            check_block_typed(&packed, footer.filter).unwrap().1,
            COMPRESSION_NONE
        );
        let props = Properties::decode(&packed[props_range]).unwrap();
        assert_eq!(props.data_bytes, footer.filter.offset);
        assert_eq!(
            props.data_bytes,
            cb.iter()
                .map(|b| b.1 + BLOCK_TRAILER_LEN as u64)
                .sum::<u64>()
        );
        assert_eq!(props.data_block_count, cb.len() as u64);
    }

    #[test]
    fn the_eighth_rule() {
        assert!(worth_compressing(800, 699));
        assert!(!worth_compressing(800, 700));
        assert!(worth_compressing(7, 6), "7/8 rounds down to 0");
        assert!(!worth_compressing(7, 7));
        assert!(!worth_compressing(9, 8), "9 - 1 = 8 is not saved enough");
        assert_eq!(Compression::parse("none").unwrap(), Compression::None);
        assert_eq!(Compression::parse("snappy").unwrap(), Compression::Snappy);
        assert!(matches!(
            Compression::parse("zstd"),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(Compression::Snappy.name(), "snappy");
    }

    #[test]
    fn properties_describe_the_entries() {
        let mut entries = vec![put("a", 7), put("a", 3), put("b", 9)];
        entries.push((make_internal_key(b"c", 2, Kind::Delete), vec![]));
        let table = build_table(TableOptions::default(), &entries).unwrap();
        let footer = Footer::decode(&table).unwrap();
        let props =
            Properties::decode(&table[check_block(&table, footer.properties).unwrap()]).unwrap();
        assert_eq!(props.entry_count, 4);
        assert_eq!(props.deletion_count, 1);
        assert_eq!(props.data_block_count, 1);
        assert_eq!(props.raw_key_bytes, 4);
        assert_eq!(
            props.raw_value_bytes,
            entries.iter().map(|e| e.1.len() as u64).sum::<u64>()
        );
        assert_eq!(props.data_bytes, footer.filter.offset);
        assert_eq!((props.min_seq, props.max_seq), (2, 9));
        assert_eq!(props.smallest, entries[0].0);
        assert_eq!(props.largest, entries[3].0);
        // Filter sized by 3 distinct user keys: max(64, 30) bits = 8 bytes + k.
        assert_eq!(footer.filter.size, 9);
    }

    #[test]
    fn no_filter_when_bits_per_key_is_zero() {
        let opts = TableOptions {
            bits_per_key: 0,
            ..TableOptions::default()
        };
        let table = build_table(opts, &[put("a", 1)]).unwrap();
        let footer = Footer::decode(&table).unwrap();
        assert_eq!(footer.filter, BlockHandle::default());
        let f = &table[table.len() - FOOTER_LEN..];
        assert_eq!(get_fixed64(&f[8..]), Some(0));
        assert!(TableBuilder::new(opts).unwrap().estimated_size() >= FOOTER_LEN);
    }
}
