//! Reads a block (§4.2): validates the restart array up front, decodes entries
//! lazily, and checks every entry's lengths as it decodes it.
//!
//! The block shares its bytes (`Arc<[u8]>` plus a range) with whoever loaded
//! them, so a table held in memory or a cached block is never copied per
//! iterator.

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;

use crate::coding::{get_fixed32, get_varint32};
use crate::error::{Error, Result};
use crate::iter::KvIter;
use crate::key::compare_internal;

/// Key order a block is sorted by. Data and index blocks both hold internal keys.
pub type Comparator = fn(&[u8], &[u8]) -> Ordering;

/// A validated block: its entry area and restart array.
#[derive(Clone)]
pub struct Block {
    data: Arc<[u8]>,
    /// Absolute start of the block contents in `data`.
    start: usize,
    /// Length of the entry area (restart array starts here, relative to `start`).
    limit: usize,
    num_restarts: usize,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("start", &self.start)
            .field("limit", &self.limit)
            .field("restarts", &self.num_restarts)
            .finish()
    }
}

impl Block {
    /// Wraps `data[range]` as a block after checking its restart array: count
    /// ≥ 1 and fitting, first offset 0, offsets strictly ascending and inside
    /// the entry area.
    pub fn new(data: Arc<[u8]>, range: Range<usize>) -> Result<Block> {
        let contents = data
            .get(range.clone())
            .ok_or_else(|| Error::corruption(format!("block {range:?} lies outside its buffer")))?;
        let len = contents.len();
        let count = len
            .checked_sub(4)
            .and_then(|at| get_fixed32(&contents[at..]))
            .ok_or_else(|| Error::corruption("block shorter than its restart count"))?
            as usize;
        if count == 0 || count > (len - 4) / 4 {
            return Err(Error::corruption(format!(
                "block restart count {count} does not fit in {len} bytes"
            )));
        }
        let limit = len - 4 - 4 * count;
        let mut prev = 0usize;
        for i in 0..count {
            let r = get_fixed32(&contents[limit + 4 * i..]).unwrap_or(u32::MAX) as usize;
            let ok = if i == 0 {
                r == 0
            } else {
                r > prev && r < limit
            };
            if !ok {
                return Err(Error::corruption(format!(
                    "block restart {i} at {r} is out of order or range"
                )));
            }
            prev = r;
        }
        Ok(Block {
            data,
            start: range.start,
            limit,
            num_restarts: count,
        })
    }

    /// A block that owns `contents` (used by tests and by callers that read a
    /// block into its own buffer).
    pub fn from_vec(contents: Vec<u8>) -> Result<Block> {
        let len = contents.len();
        Block::new(Arc::from(contents), 0..len)
    }

    /// Size of the block contents (entries + restart array + count).
    pub fn size(&self) -> usize {
        self.limit + 4 * self.num_restarts + 4
    }

    pub fn num_restarts(&self) -> usize {
        self.num_restarts
    }

    /// The block contents: entries, restart array and count.
    pub fn contents(&self) -> &[u8] {
        &self.data[self.start..self.start + self.size()]
    }

    /// Offset of restart `i`; validated by `new`, so the fallback never shows.
    fn restart_point(&self, i: usize) -> usize {
        get_fixed32(&self.contents()[self.limit + 4 * i..]).map_or(self.limit, |r| r as usize)
    }

    /// An iterator in internal-key order.
    pub fn iter(&self) -> BlockIter {
        self.iter_with(compare_internal)
    }

    /// An iterator for blocks sorted by another order (tests use bytewise keys).
    pub fn iter_with(&self, cmp: Comparator) -> BlockIter {
        self.iter_reusing(cmp, Vec::new())
    }

    /// [`Block::iter_with`] that builds its keys in `key_buf` (emptied
    /// first), memory a caller got back from [`BlockIter::into_key_buf`]: a
    /// point read then allocates nothing for the key it decodes.
    pub fn iter_reusing(&self, cmp: Comparator, mut key_buf: Vec<u8>) -> BlockIter {
        key_buf.clear();
        BlockIter {
            block: self.clone(),
            cmp,
            current: self.limit,
            next_offset: self.limit,
            restart_index: 0,
            key: key_buf,
            value: 0..0,
            prev_cache: PrevCache::default(),
        }
    }
}

/// Entries of one restart interval decoded once for backward steps.
///
/// A block stores keys as deltas from the previous key, so the entry before
/// the current one can only be found by decoding forward from a restart
/// point: a plain `prev` costs half a restart interval of decodes (8 with
/// the data blocks' 16). The first `prev` into an interval keeps every entry
/// it decoded on the way (offset, whole key, value range), so the next steps
/// back through the same interval are a lookup and a key copy.
#[derive(Default)]
struct PrevCache {
    /// Entries in offset order, all inside restart interval `restart`.
    entries: Vec<CachedEntry>,
    /// The entries' whole keys, back to back.
    keys: Vec<u8>,
    restart: usize,
    /// Index in `entries` of the iterator's current entry, when it is one of them.
    pos: usize,
}

struct CachedEntry {
    offset: usize,
    key_end: usize,
    value: Range<usize>,
    next_offset: usize,
}

/// A cursor over one block.
pub struct BlockIter {
    block: Block,
    cmp: Comparator,
    /// Offset of the current entry; `limit` when invalid.
    current: usize,
    next_offset: usize,
    /// Restart point at or before `current`.
    restart_index: usize,
    key: Vec<u8>,
    value: Range<usize>,
    prev_cache: PrevCache,
}

impl BlockIter {
    /// The memory the iterator built its keys in, for [`Block::iter_reusing`].
    pub fn into_key_buf(self) -> Vec<u8> {
        self.key
    }

    fn invalidate(&mut self) {
        self.current = self.block.limit;
        self.next_offset = self.block.limit;
        self.key.clear();
        self.value = 0..0;
    }

    fn seek_to_restart(&mut self, i: usize) {
        self.restart_index = i;
        self.next_offset = self.block.restart_point(i);
        self.key.clear();
    }

    /// Decodes the entry at `next_offset` and makes it current. `Ok(false)` at
    /// the end of the entries.
    fn parse_next(&mut self) -> Result<bool> {
        let at = self.next_offset;
        if at >= self.block.limit {
            self.invalidate();
            return Ok(false);
        }
        match self.decode_at(at) {
            Ok(()) => Ok(true),
            Err(e) => {
                self.invalidate();
                Err(e.context(format!("block entry at {at}")))
            }
        }
    }

    fn decode_at(&mut self, at: usize) -> Result<()> {
        let block = &self.block;
        let entries = &block.contents()[..block.limit];
        let mut p = at;
        let mut field = || -> Result<usize> {
            let (v, n) = get_varint32(&entries[p..])?;
            p += n;
            Ok(v as usize)
        };
        let (shared, unshared, value_len) = (field()?, field()?, field()?);
        if shared > self.key.len() {
            return Err(Error::corruption(format!(
                "shares {shared} bytes of a {}-byte key",
                self.key.len()
            )));
        }
        let key_end = p.checked_add(unshared).filter(|&e| e <= block.limit);
        let value_end = key_end
            .and_then(|k| k.checked_add(value_len))
            .filter(|&e| e <= block.limit);
        let (Some(key_end), Some(value_end)) = (key_end, value_end) else {
            return Err(Error::corruption("entry runs past the entry area"));
        };
        self.key.truncate(shared);
        self.key.extend_from_slice(&entries[p..key_end]);
        self.value = key_end..value_end;
        self.current = at;
        self.next_offset = value_end;
        while self.restart_index + 1 < block.num_restarts
            && block.restart_point(self.restart_index + 1) <= at
        {
            self.restart_index += 1;
        }
        Ok(())
    }

    /// The whole key stored at restart `i` (restart entries share nothing).
    fn restart_key(&self, i: usize) -> Result<&[u8]> {
        let at = self.block.restart_point(i);
        let entries = &self.block.contents()[..self.block.limit];
        let bad = |msg: &str| Error::corruption(format!("restart entry {i} at {at}: {msg}"));
        let (shared, n1) = get_varint32(&entries[at..]).map_err(|_| bad("bad header"))?;
        let (unshared, n2) = get_varint32(&entries[at + n1..]).map_err(|_| bad("bad header"))?;
        let (_, n3) = get_varint32(&entries[at + n1 + n2..]).map_err(|_| bad("bad header"))?;
        if shared != 0 {
            return Err(bad("does not store its whole key"));
        }
        let start = at + n1 + n2 + n3;
        entries
            .get(start..start + unshared as usize)
            .ok_or_else(|| bad("key runs past the entry area"))
    }
}

impl KvIter for BlockIter {
    fn valid(&self) -> bool {
        self.current < self.block.limit
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.seek_to_restart(0);
        self.parse_next().map(drop)
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.seek_to_restart(self.block.num_restarts - 1);
        while self.parse_next()? && self.next_offset < self.block.limit {}
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        // Binary search for the last restart whose key is < target: the first
        // key ≥ target lies at or after it (or at restart 0).
        let (mut lo, mut hi) = (0usize, self.block.num_restarts - 1);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let key = match self.restart_key(mid) {
                Ok(k) => k,
                Err(e) => {
                    self.invalidate();
                    return Err(e);
                }
            };
            if (self.cmp)(key, target) == Ordering::Less {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        self.seek_to_restart(lo);
        while self.parse_next()? {
            if (self.cmp)(&self.key, target) != Ordering::Less {
                break;
            }
        }
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        self.parse_next().map(drop)
    }

    fn prev(&mut self) -> Result<()> {
        if !self.valid() {
            return Ok(());
        }
        let original = self.current;
        let c = &self.prev_cache;
        if c.pos > 0 && c.pos < c.entries.len() && c.entries[c.pos].offset == original {
            // The entry before is cached: no decoding.
            let pos = c.pos - 1;
            let e = &c.entries[pos];
            let key_start = if pos == 0 {
                0
            } else {
                c.entries[pos - 1].key_end
            };
            self.key.clear();
            self.key.extend_from_slice(&c.keys[key_start..e.key_end]);
            self.value = e.value.clone();
            self.current = e.offset;
            self.next_offset = e.next_offset;
            self.restart_index = c.restart;
            self.prev_cache.pos = pos;
            return Ok(());
        }
        // Back up to the last restart strictly before the current entry, then
        // scan forward to the entry that ends where the current one starts,
        // keeping every entry decoded on the way for the next steps back.
        while self.block.restart_point(self.restart_index) >= original {
            if self.restart_index == 0 {
                self.invalidate();
                return Ok(());
            }
            self.restart_index -= 1;
        }
        self.seek_to_restart(self.restart_index);
        let mut cache = std::mem::take(&mut self.prev_cache);
        cache.entries.clear();
        cache.keys.clear();
        cache.restart = self.restart_index;
        let result = (|| {
            while self.parse_next()? {
                cache.keys.extend_from_slice(&self.key);
                cache.entries.push(CachedEntry {
                    offset: self.current,
                    key_end: cache.keys.len(),
                    value: self.value.clone(),
                    next_offset: self.next_offset,
                });
                if self.next_offset >= original {
                    break;
                }
            }
            Ok(())
        })();
        cache.pos = cache.entries.len().saturating_sub(1);
        if result.is_err() || !self.valid() {
            cache.entries.clear();
        }
        self.prev_cache = cache;
        result
    }

    fn key(&self) -> &[u8] {
        if self.valid() {
            &self.key
        } else {
            &[]
        }
    }

    fn value(&self) -> &[u8] {
        if self.valid() {
            &self.block.contents()[self.value.clone()]
        } else {
            &[]
        }
    }
}
