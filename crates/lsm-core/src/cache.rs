//! The block cache: verified data blocks of file-backed tables, bounded in
//! bytes, shared by the tables of one database (one cache per `newCaches`).
//!
//! Why a cache at all: a point read costs one data block, and without a cache
//! that is a `pread` plus a CRC over ~4 KiB each time. Hot blocks stay here
//! already verified and parsed (a [`Block`] is an `Arc` over its bytes), so a
//! hit costs a hash lookup and a reference-count increment.
//!
//! Why sharded: point reads can run on several threads (the JS main thread
//! today, worker threads tomorrow); one mutex per shard keeps contention low
//! while each shard is a plain LRU list, simpler than a lock-free design.
//! Each shard holds an equal share of the capacity, so a small cache uses
//! fewer shards (at least [`MIN_SHARD_BYTES`] each): a share smaller than a
//! block would cache nothing.
//!
//! Admission: once a shard is full, caching a block means evicting others, and
//! for reads spread evenly over far more blocks than fit (a uniform random
//! read of a large database, a scan, a compaction's inputs) that insert, the
//! eviction and the `free` of the evicted block cost more than the few hits
//! the cache then serves: the 1M-key bench read 12–18% faster with no cache
//! at all than with an 8 MiB LRU. So a full shard admits a block only on its
//! second miss among the ones it recently turned away (an exact set of keys,
//! emptied when it reaches one entry per 4 KiB of the shard: 128 per shard of
//! the default cache; in the spirit of TinyLFU's doorkeeper). A block read
//! once is not cached; one read again soon is. A shard with room admits every
//! block.
//!
//! Keys are `(table id, block offset)`. Table ids come from a process-wide
//! counter ([`next_table_id`]) and are never reused, so a block of a closed
//! table can never be served for another file; such entries simply age out.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::block::Block;

/// Default capacity of the process-wide cache.
pub const DEFAULT_CAPACITY: usize = 8 << 20;
/// Bytes charged per entry on top of the block: map slot, list node, `Arc` header.
const ENTRY_OVERHEAD: usize = 64;
/// Most shards a cache uses.
const MAX_SHARDS: usize = 16;
/// Smallest capacity share per shard when there is more than one.
pub const MIN_SHARD_BYTES: usize = 256 << 10;
const NIL: usize = usize::MAX;

/// Shards for a capacity: a power of two, 1..=16, each share ≥ `MIN_SHARD_BYTES`.
fn shards_for(capacity: usize) -> usize {
    let mut n = MAX_SHARDS;
    while n > 1 && capacity / n < MIN_SHARD_BYTES {
        n /= 2;
    }
    n
}

/// `(table id, block offset)`.
pub type CacheKey = (u64, u64);

/// A fresh, process-unique table id.
pub fn next_table_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Mixes a key into 64 well-spread bits (a multiply-xorshift finaliser): the
/// keys are small integers, so SipHash's DoS resistance buys nothing here.
fn mix(key: CacheKey) -> u64 {
    let mut h = key.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ key.1;
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^ (h >> 29)
}

/// Hasher for [`CacheKey`] maps: collects the two `u64`s, then [`mix`]es them.
#[derive(Default)]
struct KeyHasher {
    parts: [u64; 2],
    n: usize,
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.parts[self.n & 1] ^= v;
        self.n += 1;
    }
    fn finish(&self) -> u64 {
        mix((self.parts[0], self.parts[1]))
    }
}

struct Node {
    key: CacheKey,
    block: Option<Block>,
    charge: usize,
    prev: usize,
    next: usize,
}

/// Blocks per key remembered by a full shard's doorkeeper: one per this many bytes.
const SEEN_BYTES_PER_KEY: usize = 4096;
/// Fewest keys a doorkeeper remembers.
const MIN_SEEN: usize = 8;

/// One LRU list: nodes in a `Vec` linked by index (most recent at `head`).
struct Shard {
    map: HashMap<CacheKey, usize, BuildHasherDefault<KeyHasher>>,
    /// Keys turned away while the shard was full (see the module comment).
    seen: HashSet<CacheKey, BuildHasherDefault<KeyHasher>>,
    nodes: Vec<Node>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    usage: usize,
    capacity: usize,
}

impl Shard {
    fn new(capacity: usize) -> Self {
        Shard {
            map: HashMap::default(),
            seen: HashSet::default(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            usage: 0,
            capacity,
        }
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.nodes[i].prev, self.nodes[i].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NIL;
        self.nodes[i].next = self.head;
        if self.head != NIL {
            self.nodes[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    fn get(&mut self, key: CacheKey) -> Option<Block> {
        let i = *self.map.get(&key)?;
        self.unlink(i);
        self.push_front(i);
        self.nodes[i].block.clone()
    }

    fn remove_node(&mut self, i: usize) {
        self.unlink(i);
        let node = &mut self.nodes[i];
        self.map.remove(&node.key);
        self.usage -= node.charge;
        node.block = None;
        self.free.push(i);
    }

    fn evict_to(&mut self, limit: usize) {
        while self.usage > limit && self.tail != NIL {
            self.remove_node(self.tail);
        }
    }

    /// Whether a block that would evict others may enter: only on its second
    /// miss since the doorkeeper was last emptied.
    fn admit(&mut self, key: CacheKey) -> bool {
        if self.seen.remove(&key) {
            return true;
        }
        if self.seen.len() >= (self.capacity / SEEN_BYTES_PER_KEY).max(MIN_SEEN) {
            self.seen.clear();
        }
        self.seen.insert(key);
        false
    }

    /// Whether a missed block of about `charge` bytes should be read into
    /// the cache: yes while it fits without evicting; else [`Shard::admit`].
    fn admit_miss(&mut self, key: CacheKey, charge: usize) -> bool {
        charge <= self.capacity && (self.usage + charge <= self.capacity || self.admit(key))
    }

    /// Stores `block`; `admitted` skips the admission check (the caller
    /// made it with [`Shard::admit_miss`] before reading the block).
    fn insert(&mut self, key: CacheKey, block: Block, charge: usize, admitted: bool) {
        let resident = match self.map.get(&key) {
            Some(&i) => {
                self.remove_node(i);
                true
            }
            None => false,
        };
        if charge > self.capacity {
            return; // would evict everything and still not fit
        }
        if !admitted && self.usage + charge > self.capacity && !resident && !self.admit(key) {
            return;
        }
        self.evict_to(self.capacity - charge);
        let node = Node {
            key,
            block: Some(block),
            charge,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        self.map.insert(key, i);
        self.push_front(i);
        self.usage += charge;
    }
}

/// A sharded LRU cache of blocks, bounded by the bytes it holds.
pub struct BlockCache {
    /// Always `MAX_SHARDS` long; only the first `active` are used.
    shards: Box<[Mutex<Shard>]>,
    active: AtomicUsize,
    capacity: AtomicUsize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("capacity", &self.capacity())
            .field("usage", &self.usage())
            .finish()
    }
}

impl BlockCache {
    /// A cache holding at most about `capacity` bytes (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        let active = shards_for(capacity);
        BlockCache {
            shards: (0..MAX_SHARDS)
                .map(|i| Mutex::new(Shard::new(if i < active { capacity / active } else { 0 })))
                .collect(),
            active: AtomicUsize::new(active),
            capacity: AtomicUsize::new(capacity),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Locks a shard. A panic while holding the lock cannot leave the list
    /// half-linked in a way that matters more than losing cached blocks, so a
    /// poisoned shard is cleared and reused rather than failing every read.
    fn shard(&self, key: CacheKey) -> MutexGuard<'_, Shard> {
        let active = self.active.load(Ordering::Relaxed);
        let m = &self.shards[(mix(key) >> 32) as usize % active];
        m.lock().unwrap_or_else(|poisoned| {
            let mut s = poisoned.into_inner();
            let capacity = s.capacity;
            *s = Shard::new(capacity);
            s
        })
    }

    /// The cached block for `key`, marking it most recently used.
    pub fn get(&self, key: CacheKey) -> Option<Block> {
        let found = self.shard(key).get(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Caches `block`, evicting least recently used blocks of its shard; a
    /// full shard admits it only on its second miss (see the module comment).
    pub fn insert(&self, key: CacheKey, block: Block) {
        let charge = block.size() + ENTRY_OVERHEAD;
        self.shard(key).insert(key, block, charge, false);
    }

    /// Decides, before a missed block is read, whether it will be cached: a
    /// shard with room for about `size` more bytes takes it; a full one only
    /// on its second miss (see the module comment). A point read told no
    /// decodes just what it needs of the block, into scratch memory.
    pub fn admit_miss(&self, key: CacheKey, size: usize) -> bool {
        self.shard(key)
            .admit_miss(key, size.saturating_add(ENTRY_OVERHEAD))
    }

    /// Caches a block that [`BlockCache::admit_miss`] admitted, evicting
    /// least recently used blocks of its shard to make room.
    pub fn insert_admitted(&self, key: CacheKey, block: Block) {
        let charge = block.size() + ENTRY_OVERHEAD;
        self.shard(key).insert(key, block, charge, true);
    }

    /// Drops every block of table `id` (the table is closed).
    pub fn erase_table(&self, id: u64) {
        for m in self.shards.iter() {
            let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
            let doomed: Vec<usize> = s
                .map
                .iter()
                .filter(|(k, _)| k.0 == id)
                .map(|(_, &i)| i)
                .collect();
            for i in doomed {
                s.remove_node(i);
            }
        }
    }

    /// Changes the capacity; shrinking evicts at once. When the number of
    /// shards changes, keys map to other shards, so the cache starts empty (a
    /// rare, deliberate operation).
    pub fn set_capacity(&self, capacity: usize) {
        let active = shards_for(capacity);
        let reshard = self.active.swap(active, Ordering::Relaxed) != active;
        self.capacity.store(capacity, Ordering::Relaxed);
        for (i, m) in self.shards.iter().enumerate() {
            let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
            s.capacity = if i < active { capacity / active } else { 0 };
            let limit = if reshard { 0 } else { s.capacity };
            s.evict_to(limit);
            if reshard {
                s.seen.clear();
            }
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Relaxed)
    }

    /// Bytes currently charged (blocks plus per-entry overhead).
    pub fn usage(&self) -> usize {
        self.shards
            .iter()
            .map(|m| m.lock().map_or(0, |s| s.usage))
            .sum()
    }

    /// `(hits, misses)` since creation.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: usize) -> Block {
        // Entry area of n - 8 zero bytes is not parsed by the cache; a valid
        // restart array (one restart at 0) is all `Block::new` needs.
        let mut v = vec![0u8; n - 8];
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        Block::from_vec(v).unwrap()
    }

    const BIG: usize = MAX_SHARDS * MIN_SHARD_BYTES;

    fn shard_index(c: &BlockCache, k: CacheKey) -> usize {
        (mix(k) >> 32) as usize % c.active.load(Ordering::Relaxed)
    }

    #[test]
    fn shard_count_follows_capacity() {
        assert_eq!(shards_for(0), 1);
        assert_eq!(shards_for(64 << 10), 1);
        assert_eq!(shards_for(2 * MIN_SHARD_BYTES), 2);
        assert_eq!(shards_for(3 * MIN_SHARD_BYTES), 2);
        assert_eq!(shards_for(DEFAULT_CAPACITY), 16);
        assert_eq!(shards_for(usize::MAX), 16);
        // A small cache still caches blocks bigger than a sixteenth of it.
        let c = BlockCache::new(64 << 10);
        c.insert((1, 0), block(8000));
        assert!(c.get((1, 0)).is_some());
        c.set_capacity(BIG);
        assert!(c.get((1, 0)).is_none(), "resharding starts empty");
        c.insert((1, 0), block(8000));
        c.set_capacity(BIG + 1);
        assert!(c.get((1, 0)).is_some(), "same shard count keeps entries");
    }

    #[test]
    fn hits_misses_and_recency() {
        let c = BlockCache::new(BIG);
        assert!(c.get((1, 0)).is_none());
        c.insert((1, 0), block(100));
        assert_eq!(c.get((1, 0)).unwrap().size(), 100);
        assert_eq!(c.stats(), (1, 1));
        assert_eq!(c.usage(), 100 + ENTRY_OVERHEAD);
        // Re-inserting replaces without double charging.
        c.insert((1, 0), block(200));
        assert_eq!(c.usage(), 200 + ENTRY_OVERHEAD);
    }

    #[test]
    fn usage_stays_within_capacity_and_lru_goes_first() {
        // One shard of 1000 bytes, to watch its LRU order.
        let c = BlockCache::new(1000);
        assert_eq!(c.active.load(Ordering::Relaxed), 1);
        let keys: Vec<CacheKey> = (0..5).map(|o| (7, o * 4096)).collect();
        for &k in &keys[..3] {
            c.insert(k, block(236)); // 300 bytes charged each
        }
        c.get(keys[0]); // keys[1] is now the least recent
                        // The shard is full: a block's first miss does not evict anything ...
        c.insert(keys[3], block(236));
        assert!(
            c.get(keys[3]).is_none(),
            "first miss of a full shard is not admitted"
        );
        assert!(keys[..3].iter().all(|&k| c.get(k).is_some()));
        c.get(keys[0]);
        c.get(keys[2]); // keys[1] is the least recent again
                        // ... its second one does.
        c.insert(keys[3], block(236));
        assert!(c.get(keys[3]).is_some(), "second miss is admitted");
        assert!(c.get(keys[1]).is_none(), "least recently used was evicted");
        assert!(c.get(keys[0]).is_some() && c.get(keys[2]).is_some());
        assert!(c.usage() <= 1000);
        // A block bigger than a shard is not cached at all.
        c.insert(keys[4], block(2000));
        assert!(c.get(keys[4]).is_none());
        let c = BlockCache::new(BIG);
        for i in 0..50_000u64 {
            c.insert((i, i), block(64 + (i as usize % 500)));
        }
        assert!(c.usage() <= c.capacity());
        assert!(c.usage() > c.capacity() / 2, "shards fill up evenly");
        c.set_capacity(0);
        assert_eq!(c.usage(), 0);
        c.insert((1, 1), block(64));
        assert!(c.get((1, 1)).is_none(), "capacity 0 caches nothing");
    }

    #[test]
    fn model_against_a_reference_lru() {
        // Keys of one shard against a Vec-based LRU.
        let c = BlockCache::new(BIG);
        let keys: Vec<CacheKey> = (0..100_000u64)
            .map(|o| (3, o))
            .filter(|&k| shard_index(&c, k) == 0)
            .take(200) // more than the doorkeeper holds: it gets emptied
            .collect();
        let share = MIN_SHARD_BYTES;
        let mut reference: Vec<(CacheKey, usize)> = Vec::new(); // most recent last
                                                                // The doorkeeper: keys turned away while the shard was full.
        let mut seen: Vec<CacheKey> = Vec::new();
        let window = (share / SEEN_BYTES_PER_KEY).max(MIN_SEEN);
        let (mut rejected, mut emptied) = (0, 0);
        let mut rng = 0x1234_5678_9abc_def0u64;
        for _ in 0..5000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let k = keys[((rng >> 32) % keys.len() as u64) as usize];
            if rng % 3 == 0 {
                let size = 16 + (rng >> 20) as usize % 40_000;
                c.insert(k, block(size));
                let resident = reference.iter().any(|e| e.0 == k);
                reference.retain(|e| e.0 != k);
                let used = reference.iter().map(|e| e.1).sum::<usize>();
                if size + ENTRY_OVERHEAD > share {
                    continue;
                }
                if used + size + ENTRY_OVERHEAD > share && !resident {
                    if let Some(p) = seen.iter().position(|&s| s == k) {
                        seen.remove(p);
                    } else {
                        if seen.len() >= window {
                            seen.clear();
                            emptied += 1;
                        }
                        seen.push(k);
                        rejected += 1;
                        continue;
                    }
                }
                reference.push((k, size + ENTRY_OVERHEAD));
                while reference.iter().map(|e| e.1).sum::<usize>() > share {
                    reference.remove(0);
                }
            } else {
                let got = c.get(k).map(|b| b.size() + ENTRY_OVERHEAD);
                let pos = reference.iter().position(|e| e.0 == k);
                assert_eq!(got, pos.map(|p| reference[p].1));
                if let Some(p) = pos {
                    let e = reference.remove(p);
                    reference.push(e);
                }
            }
        }
        assert!(
            rejected > 100 && emptied > 0,
            "the model exercised admission: {rejected} turned away, doorkeeper emptied {emptied}×"
        );
    }

    #[test]
    fn one_off_blocks_do_not_push_out_reused_ones() {
        // One shard of 64 KiB: 16 reused blocks fill it, then a scan of
        // 10,000 blocks read once each passes through.
        let c = BlockCache::new(16 * (4032 + ENTRY_OVERHEAD));
        assert_eq!(c.active.load(Ordering::Relaxed), 1);
        let hot: Vec<CacheKey> = (0..16).map(|o| (1, o * 4096)).collect();
        for &k in &hot {
            c.insert(k, block(4032));
        }
        for o in 0..10_000u64 {
            let k = (2, o * 4096);
            assert!(c.get(k).is_none());
            c.insert(k, block(4032));
        }
        assert!(
            hot.iter().all(|&k| c.get(k).is_some()),
            "the scan evicted nothing"
        );
        // A block the scan reads again soon is one that is reused: it gets in.
        c.insert((2, 0), block(4032));
        c.insert((2, 0), block(4032));
        assert!(c.get((2, 0)).is_some());
    }

    #[test]
    fn erase_table_drops_only_that_tables_blocks() {
        let c = BlockCache::new(BIG);
        for o in 0..100u64 {
            c.insert((1, o), block(100));
            c.insert((2, o), block(100));
        }
        c.erase_table(1);
        assert!((0..100).all(|o| c.get((1, o)).is_none()));
        assert!((0..100).all(|o| c.get((2, o)).is_some()));
        assert_eq!(c.usage(), 100 * (100 + ENTRY_OVERHEAD));
    }

    #[test]
    fn table_ids_are_unique() {
        let a = next_table_id();
        let b = next_table_id();
        assert_ne!(a, b);
    }
}
