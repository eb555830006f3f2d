//! Builds one block (§4.2). The table builder owns one for data and one for the
//! index and decides where blocks end; this type only lays out bytes.

use crate::coding::{put_fixed32, put_varint32};

/// Accumulates entries of one block. Keys must be added in strictly ascending
/// order; the table builder checks that, so this hot path does not.
#[derive(Debug, Clone)]
pub struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    /// Entries since the last restart point.
    counter: usize,
    entries: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    /// A builder that starts a restart point every `restart_interval` entries.
    ///
    /// Panics on 0: options are validated before a builder is made, so 0 here
    /// is a bug.
    pub fn new(restart_interval: usize) -> Self {
        assert!(restart_interval >= 1, "restart interval must be at least 1");
        BlockBuilder {
            buf: Vec::new(),
            restarts: vec![0],
            restart_interval,
            counter: 0,
            entries: 0,
            last_key: Vec::new(),
        }
    }

    /// True when no entry has been added since the last `finish`.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Entries added since the last `finish`.
    pub fn entry_count(&self) -> usize {
        self.entries
    }

    /// The last key added (empty before the first).
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Size the finished block would have: `entryBytes + 4 × R + 4`. This exact
    /// formula decides where data blocks end, so both engines must use it.
    pub fn estimated_size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// Appends one entry, sharing a prefix with the previous key unless this
    /// entry starts a new restart point.
    ///
    /// Key and value lengths are written as `varint32`; callers keep them below
    /// 2^32 (user keys ≤ 65536 bytes, values come from write groups whose
    /// lengths are `varint32` too).
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let shared = if self.counter < self.restart_interval {
            self.last_key
                .iter()
                .zip(key)
                .take_while(|(a, b)| a == b)
                .count()
        } else {
            // Restart offsets are fixed32: a block never reaches 4 GiB because the
            // table builder cuts it at `blockSize`.
            self.restarts.push(self.buf.len() as u32);
            self.counter = 0;
            0
        };
        put_varint32(&mut self.buf, shared as u32);
        put_varint32(&mut self.buf, (key.len() - shared) as u32);
        put_varint32(&mut self.buf, value.len() as u32);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&key[shared..]);
        self.counter += 1;
        self.entries += 1;
    }

    /// Appends the restart array and its count, returns the block contents and
    /// resets the builder for the next block.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        out.reserve(4 * self.restarts.len() + 4);
        for &r in &self.restarts {
            put_fixed32(&mut out, r);
        }
        put_fixed32(&mut out, self.restarts.len() as u32);
        self.restarts.clear();
        self.restarts.push(0);
        self.counter = 0;
        self.entries = 0;
        self.last_key.clear();
        out
    }

    /// Hands a finished block's buffer back for the next block to fill: a
    /// table builder finishes a block every ~4 KiB, and a fresh buffer
    /// regrew through ten reallocations each time.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.buf.is_empty() && buf.capacity() > self.buf.capacity() {
            buf.clear();
            self.buf = buf;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_compression_and_restarts() {
        let mut b = BlockBuilder::new(2);
        b.add(b"apple", b"1");
        b.add(b"apply", b"22");
        b.add(b"banana", b"");
        let block = b.finish();
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 5, 1]);
        expected.extend_from_slice(b"apple1");
        expected.extend_from_slice(&[4, 1, 2]);
        expected.extend_from_slice(b"y22");
        // Third entry is a restart point: shared = 0.
        let restart = expected.len() as u32;
        expected.extend_from_slice(&[0, 6, 0]);
        expected.extend_from_slice(b"banana");
        expected.extend_from_slice(&0u32.to_le_bytes());
        expected.extend_from_slice(&restart.to_le_bytes());
        expected.extend_from_slice(&2u32.to_le_bytes());
        assert_eq!(block, expected);
    }

    #[test]
    fn estimate_matches_finished_size() {
        let mut b = BlockBuilder::new(16);
        assert_eq!(b.estimated_size(), 8, "empty block: one restart + count");
        for i in 0..40u32 {
            b.add(format!("key{i:04}").as_bytes(), &i.to_le_bytes());
            let est = b.estimated_size();
            assert_eq!(b.clone().finish().len(), est);
        }
        assert_eq!(b.entry_count(), 40);
        assert_eq!(b.last_key(), b"key0039");
    }

    #[test]
    fn finish_resets_for_reuse() {
        let mut b = BlockBuilder::new(16);
        b.add(b"k1", b"v");
        let first = b.finish();
        assert!(b.is_empty());
        assert_eq!(b.last_key(), b"");
        b.add(b"k1", b"v");
        assert_eq!(
            b.finish(),
            first,
            "a reset builder does not share with the old last key"
        );
    }

    #[test]
    fn interval_one_stores_every_key_whole() {
        let mut b = BlockBuilder::new(1);
        b.add(b"aaaa", b"");
        b.add(b"aaab", b"");
        let block = b.finish();
        assert_eq!(&block[..3], &[0, 4, 0]);
        assert_eq!(&block[7..10], &[0, 4, 0]);
        assert_eq!(&block[block.len() - 4..], &2u32.to_le_bytes());
    }

    #[test]
    #[should_panic(expected = "restart interval")]
    fn zero_interval_is_a_bug() {
        BlockBuilder::new(0);
    }
}
