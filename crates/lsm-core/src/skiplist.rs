//! An arena skiplist of internal keys, after LevelDB's: one writer, any number
//! of concurrent readers, no reader locks, no per-entry heap allocations.
//!
//! # Layout
//!
//! Every node is one piece of an [`Arena`], written once before it becomes
//! reachable and never changed afterwards except for its tower links:
//!
//! ```text
//! offset 0   key_len: u32      length of the internal key
//! offset 4   height: u32       number of tower links (1..=MAX_HEIGHT)
//! offset 8   value_len: usize
//! offset 16  tower: [AtomicPtr<u8>; height]   next node per level, null = end
//! then       key bytes (user key + 8-byte trailer), value bytes
//! ```
//!
//! The head node has a full tower and an empty key; it is never returned.
//!
//! # Concurrency
//!
//! The writer holds the `writer` mutex for the whole of an insert (so even a
//! caller that breaks the one-writer rule only serializes, never corrupts).
//! A new node is completely written (header, key, value, its own tower) and
//! then linked bottom-up with `Release` stores into its predecessors' towers;
//! readers follow links with `Acquire` loads, so whoever reaches a node also
//! sees everything written into it before. Nodes are never unlinked, moved or
//! freed while the list lives (the arena's chunks never move), so a reader can
//! keep a node pointer for as long as it keeps the list alive. `max_height` is
//! a hint and may be read stale: a level that is still empty just makes the
//! search descend.
//!
//! Inserts search for their predecessors from the head (O(log n)), except
//! that a key greater than every key in the list takes the writer's cached
//! rightmost path directly, so ascending fills cost O(1) per insert. A write
//! group's entries go in through `Inserter::insert_all`, which runs up to 32
//! searches interleaved with prefetches so their cache misses overlap.
//!
//! Keys are ordered by [`compare_internal`]: user key ascending, then
//! sequence and kind descending. Keys are unique (sequences are), so an
//! insert never meets an equal key.

use std::cmp::Ordering;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::arena::Arena;
use crate::key::compare_internal;

/// Tallest tower.
pub(crate) const MAX_HEIGHT: usize = 12;
/// A node reaches level `n + 1` with probability 1/BRANCHING given level `n`.
const BRANCHING: u64 = 4;
/// Seed of the height generator (deterministic, like LevelDB's).
const SEED: u64 = 0xdead_beef_cafe_f00d;

const KEY_LEN_OFFSET: usize = 0;
const HEIGHT_OFFSET: usize = 4;
const VALUE_LEN_OFFSET: usize = 8;
const TOWER_OFFSET: usize = 16;
const LINK: usize = std::mem::size_of::<AtomicPtr<u8>>();

/// The address of a node in this list's arena.
///
/// Invariant: a `NodePtr` is only ever made (in this module) from the head
/// node or from a pointer read out of a tower of the *same* list, so it points
/// at a fully initialized node that lives as long as the list. It is private
/// to this module and only dereferenced by `SkipList` methods of that list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct NodePtr(NonNull<u8>);

// SAFETY: a `NodePtr` is an address only; all access to the node goes through
// `SkipList` methods, whose reads are of immutable bytes or atomics (see the
// module comment), so handing the address to another thread is harmless.
unsafe impl Send for NodePtr {}
// SAFETY: as for `Send`: `&NodePtr` only lets one copy the address.
unsafe impl Sync for NodePtr {}

impl NodePtr {
    fn from_raw(p: *mut u8) -> Option<NodePtr> {
        NonNull::new(p).map(NodePtr)
    }
}

/// State only the writer touches.
struct Writer {
    arena: Arena,
    rng: u64,
    /// The last node on each level (the head where a level is empty): the
    /// insert path of any key greater than every key in the list, which makes
    /// ascending inserts (sequential fills) O(1) instead of a search.
    rightmost: [NodePtr; MAX_HEIGHT],
}

impl Writer {
    /// A height in `1..=MAX_HEIGHT`, each extra level with probability 1/4.
    fn random_height(&mut self) -> usize {
        let mut height = 1;
        while height < MAX_HEIGHT && self.next_random() % BRANCHING == 0 {
            height += 1;
        }
        height
    }

    /// xorshift64*.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32
    }
}

/// A sorted set of internal keys with values.
pub(crate) struct SkipList {
    head: NodePtr,
    /// Height of the tallest tower linked so far (a hint for readers).
    max_height: AtomicUsize,
    len: AtomicUsize,
    writer: Mutex<Writer>,
}

impl SkipList {
    pub(crate) fn new() -> SkipList {
        let mut arena = Arena::new();
        let size = TOWER_OFFSET + MAX_HEIGHT * LINK;
        let head = arena.alloc(size).as_ptr();
        // SAFETY: `head` is a fresh, 8-aligned arena piece of `size` bytes,
        // so every write below is in bounds and aligned for its type; nobody
        // else can see the piece yet.
        unsafe {
            head.add(KEY_LEN_OFFSET).cast::<u32>().write(0);
            head.add(HEIGHT_OFFSET)
                .cast::<u32>()
                .write(MAX_HEIGHT as u32);
            head.add(VALUE_LEN_OFFSET).cast::<usize>().write(0);
            for level in 0..MAX_HEIGHT {
                head.add(TOWER_OFFSET + level * LINK)
                    .cast::<AtomicPtr<u8>>()
                    .write(AtomicPtr::new(std::ptr::null_mut()));
            }
        }
        let head_ptr = NodePtr::from_raw(head).expect("arena pieces are not null");
        SkipList {
            head: head_ptr,
            max_height: AtomicUsize::new(1),
            len: AtomicUsize::new(0),
            writer: Mutex::new(Writer {
                arena,
                rng: SEED,
                rightmost: [head_ptr; MAX_HEIGHT],
            }),
        }
    }

    /// Entries inserted (and linked) so far.
    pub(crate) fn len(&self) -> usize {
        self.len.load(AtomicOrdering::Acquire)
    }

    /// Bytes the arena has reserved.
    #[cfg(test)]
    pub(crate) fn arena_bytes(&self) -> usize {
        self.lock().arena.reserved()
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic while inserting cannot leave the list inconsistent (every
        // link is a single atomic store of a complete node), so ignore poison.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a run of inserts; the list stays locked for writers until the
    /// returned inserter is dropped. Readers are never blocked.
    pub(crate) fn inserter(&self) -> Inserter<'_> {
        Inserter {
            list: self,
            writer: self.lock(),
        }
    }

    // ----- node access (the only place that dereferences a NodePtr) -----

    fn header_u32(&self, n: NodePtr, offset: usize) -> u32 {
        // SAFETY: by the `NodePtr` invariant `n` is a node of this list, alive
        // while `&self` is; header fields are 8-aligned offsets inside the
        // node, written before the node became reachable (ordered before this
        // read by the Acquire load that produced `n`, or by program order for
        // the writer) and never written again.
        unsafe { n.0.as_ptr().add(offset).cast::<u32>().read() }
    }

    fn height(&self, n: NodePtr) -> usize {
        self.header_u32(n, HEIGHT_OFFSET) as usize
    }

    fn key_len(&self, n: NodePtr) -> usize {
        self.header_u32(n, KEY_LEN_OFFSET) as usize
    }

    fn value_len(&self, n: NodePtr) -> usize {
        // SAFETY: as in `header_u32`; offset 8 is aligned for `usize`.
        unsafe { n.0.as_ptr().add(VALUE_LEN_OFFSET).cast::<usize>().read() }
    }

    fn link(&self, n: NodePtr, level: usize) -> &AtomicPtr<u8> {
        assert!(level < self.height(n), "level beyond the node's tower");
        // SAFETY: `n` is a live node of this list (NodePtr invariant) whose
        // tower has `height` initialized `AtomicPtr`s starting at the 8-aligned
        // `TOWER_OFFSET`; `level < height` keeps us inside it. All concurrent
        // access to tower slots is atomic, so a shared reference is fine, and
        // the node outlives the `&self` borrow the result is tied to.
        unsafe {
            &*n.0
                .as_ptr()
                .add(TOWER_OFFSET + level * LINK)
                .cast::<AtomicPtr<u8>>()
        }
    }

    fn next(&self, n: NodePtr, level: usize) -> Option<NodePtr> {
        NodePtr::from_raw(self.link(n, level).load(AtomicOrdering::Acquire))
    }

    fn data_offset(&self, n: NodePtr) -> usize {
        TOWER_OFFSET + self.height(n) * LINK
    }

    fn key(&self, n: NodePtr) -> &[u8] {
        let start = self.data_offset(n);
        // SAFETY: the key's `key_len` bytes follow the tower inside the node's
        // arena piece; they were written before the node was published (see
        // `header_u32` for the ordering) and are never modified, and the
        // arena keeps them in place while `&self` lives.
        unsafe { std::slice::from_raw_parts(n.0.as_ptr().add(start), self.key_len(n)) }
    }

    fn value(&self, n: NodePtr) -> &[u8] {
        let start = self.data_offset(n) + self.key_len(n);
        // SAFETY: as for `key`: the value bytes follow the key in the same piece.
        unsafe { std::slice::from_raw_parts(n.0.as_ptr().add(start), self.value_len(n)) }
    }

    // ----- searches -----

    /// The first node with key ≥ `target`; fills `prev[level]` with the last
    /// node before it on each level below the current max height.
    fn find_ge(
        &self,
        target: &[u8],
        mut prev: Option<&mut [NodePtr; MAX_HEIGHT]>,
    ) -> Option<NodePtr> {
        let mut x = self.head;
        let mut level = self.max_height.load(AtomicOrdering::Relaxed) - 1;
        // The node compared last on the level above: a lower level reaching
        // the same node needs no second comparison.
        let mut known_ge: Option<NodePtr> = None;
        loop {
            let next = self.next(x, level);
            match next {
                Some(n)
                    if Some(n) != known_ge
                        && compare_internal(self.key(n), target) == Ordering::Less =>
                {
                    x = n;
                }
                _ => {
                    if let Some(p) = prev.as_deref_mut() {
                        p[level] = x;
                    }
                    if level == 0 {
                        return next;
                    }
                    known_ge = next;
                    level -= 1;
                }
            }
        }
    }

    /// The last node with key < `target`, or `None` if there is none.
    fn find_lt(&self, target: &[u8]) -> Option<NodePtr> {
        let mut x = self.head;
        let mut level = self.max_height.load(AtomicOrdering::Relaxed) - 1;
        loop {
            match self.next(x, level) {
                Some(n) if compare_internal(self.key(n), target) == Ordering::Less => x = n,
                _ => {
                    if level == 0 {
                        return (x != self.head).then_some(x);
                    }
                    level -= 1;
                }
            }
        }
    }

    /// The last node, or `None` when the list is empty.
    fn find_last(&self) -> Option<NodePtr> {
        let mut x = self.head;
        let mut level = self.max_height.load(AtomicOrdering::Relaxed) - 1;
        loop {
            match self.next(x, level) {
                Some(n) => x = n,
                None => {
                    if level == 0 {
                        return (x != self.head).then_some(x);
                    }
                    level -= 1;
                }
            }
        }
    }

    /// Key and value of the first entry with key ≥ `target`.
    pub(crate) fn seek_ge(&self, target: &[u8]) -> Option<(&[u8], &[u8])> {
        self.find_ge(target, None)
            .map(|n| (self.key(n), self.value(n)))
    }

    /// A cursor that keeps the list alive.
    pub(crate) fn iter(self: &Arc<Self>) -> Iter {
        Iter {
            list: Arc::clone(self),
            node: None,
        }
    }
}

/// The writer's handle: holds the writer lock.
pub(crate) struct Inserter<'a> {
    list: &'a SkipList,
    writer: MutexGuard<'a, Writer>,
}

impl Inserter<'_> {
    /// Inserts the internal key `user_key ‖ trailer` (trailer little-endian,
    /// FORMAT.md §2.1) with `value`. The key must not be in the list yet.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, user_key: &[u8], trailer: u64, value: &[u8]) {
        let list = self.list;
        let (node, height) = self.alloc_node(user_key, trailer, value);
        let prev = if self.goes_last(node) {
            self.writer.rightmost
        } else {
            let mut prev = [list.head; MAX_HEIGHT];
            let found = list.find_ge(list.key(node), Some(&mut prev));
            debug_assert!(
                found.map_or(true, |f| compare_internal(list.key(f), list.key(node))
                    != Ordering::Equal),
                "duplicate internal key"
            );
            prev
        };
        self.link(node, height, &prev);
    }

    /// Inserts every `(user_key, trailer, value)` of `entries` as
    /// [`Inserter::insert`] would, in chunks of [`GROUP_CHUNK`]: each chunk's
    /// nodes are written first, then their searches run interleaved, each
    /// prefetching the node it must compare next and yielding to the next
    /// search, so the cache misses of a chunk overlap instead of following
    /// one another; then the nodes are linked in order, each fixing up the
    /// path its search found past the chunk's nodes linked before it.
    pub(crate) fn insert_all<'e, I>(&mut self, entries: I)
    where
        I: IntoIterator<Item = (&'e [u8], u64, &'e [u8])>,
    {
        let list = self.list;
        let mut entries = entries.into_iter().peekable();
        let mut nodes: [(NodePtr, usize); GROUP_CHUNK] = [(list.head, 0); GROUP_CHUNK];
        let mut searches: [Search; GROUP_CHUNK] = [Search::new(list.head, 0); GROUP_CHUNK];
        while entries.peek().is_some() {
            // 1. Write the chunk's nodes; those after the current tail need no search.
            let right = self.writer.rightmost;
            let max_height = list.max_height.load(AtomicOrdering::Relaxed);
            let mut count = 0;
            let mut searching = 0;
            while count < GROUP_CHUNK {
                let Some((user_key, trailer, value)) = entries.next() else {
                    break;
                };
                let (node, height) = self.alloc_node(user_key, trailer, value);
                nodes[count] = (node, height);
                searches[count] = if self.goes_last(node) {
                    Search::done_at(right)
                } else {
                    searching += 1;
                    Search::new(list.head, max_height)
                };
                count += 1;
            }
            // 2. Run the searches round-robin until each has its path.
            while searching > 0 {
                for (s, &(node, _)) in searches[..count].iter_mut().zip(&nodes[..count]) {
                    if !s.done && list.search_step(s, list.key(node)) {
                        s.done = true;
                        searching -= 1;
                    }
                }
            }
            // 3. Link in order. A path found before this chunk's earlier nodes
            //    were linked is still a path of keys below the node, so walking
            //    it forward on each level makes it exact.
            for (s, &(node, height)) in searches[..count].iter_mut().zip(&nodes[..count]) {
                if self.goes_last(node) {
                    let right = self.writer.rightmost;
                    self.link(node, height, &right);
                    continue;
                }
                let key = list.key(node);
                for level in 0..height {
                    let before = &mut s.prev[level];
                    while let Some(n) = list.next(*before, level) {
                        match compare_internal(list.key(n), key) {
                            Ordering::Less => *before = n,
                            order => {
                                debug_assert!(order != Ordering::Equal, "duplicate internal key");
                                break;
                            }
                        }
                    }
                }
                self.link(node, height, &s.prev);
            }
        }
    }

    /// True when `node` sorts after every linked node, so the writer's
    /// rightmost path is its insert path.
    fn goes_last(&self, node: NodePtr) -> bool {
        let list = self.list;
        let tail = self.writer.rightmost[0];
        tail == list.head || compare_internal(list.key(tail), list.key(node)) == Ordering::Less
    }

    /// Writes a node (not yet reachable) for `user_key ‖ trailer` and `value`;
    /// returns it and its height.
    fn alloc_node(&mut self, user_key: &[u8], trailer: u64, value: &[u8]) -> (NodePtr, usize) {
        let height = self.writer.random_height();
        let key_len = user_key.len() + 8;
        let data = TOWER_OFFSET + height * LINK;
        let size = data + key_len + value.len();
        let key_len32 = u32::try_from(key_len).expect("internal key over 4 GiB");
        let p = self.writer.arena.alloc(size).as_ptr();
        // SAFETY: `p` is a fresh, 8-aligned arena piece of `size` bytes that no
        // other thread can reach yet, so these plain writes race with nothing;
        // each stays inside the piece (offsets from the layout above) and is
        // aligned for its type. The sources do not overlap the fresh piece.
        unsafe {
            p.add(KEY_LEN_OFFSET).cast::<u32>().write(key_len32);
            p.add(HEIGHT_OFFSET).cast::<u32>().write(height as u32);
            p.add(VALUE_LEN_OFFSET).cast::<usize>().write(value.len());
            for level in 0..height {
                p.add(TOWER_OFFSET + level * LINK)
                    .cast::<AtomicPtr<u8>>()
                    .write(AtomicPtr::new(std::ptr::null_mut()));
            }
            let k = p.add(data);
            std::ptr::copy_nonoverlapping(user_key.as_ptr(), k, user_key.len());
            std::ptr::copy_nonoverlapping(trailer.to_le_bytes().as_ptr(), k.add(user_key.len()), 8);
            std::ptr::copy_nonoverlapping(value.as_ptr(), k.add(key_len), value.len());
        }
        (
            NodePtr::from_raw(p).expect("arena pieces are not null"),
            height,
        )
    }

    /// Links `node` after `prev[level]` on each of its `height` levels,
    /// bottom-up, and counts it. `prev[level]` must be the last node on that
    /// level with a key below the node's.
    fn link(&mut self, node: NodePtr, height: usize, prev: &[NodePtr; MAX_HEIGHT]) {
        let list = self.list;
        let max = list.max_height.load(AtomicOrdering::Relaxed);
        if height > max {
            // `prev` holds the head for the new levels. Readers that see the
            // new height early find null links there and descend.
            list.max_height.store(height, AtomicOrdering::Relaxed);
        }
        for (level, before) in prev.iter().enumerate().take(height) {
            // The node is not reachable yet on this level, so a relaxed store
            // suffices; the Release store below publishes it.
            let after = list.link(*before, level).load(AtomicOrdering::Relaxed);
            list.link(node, level).store(after, AtomicOrdering::Relaxed);
            list.link(*before, level)
                .store(node.0.as_ptr(), AtomicOrdering::Release);
            if after.is_null() {
                self.writer.rightmost[level] = node;
            }
        }
        list.len.fetch_add(1, AtomicOrdering::Release);
    }
}

/// Searches [`Inserter::insert_all`] runs interleaved.
const GROUP_CHUNK: usize = 32;

/// One insert path search, advanced a node at a time by [`SkipList::search_step`].
#[derive(Clone, Copy)]
struct Search {
    /// The last node known to sort below the target on `level`.
    x: NodePtr,
    level: usize,
    /// The node to compare with the target next (prefetched), if any.
    pending: Option<NodePtr>,
    /// The node compared last on the level above (known ≥ the target).
    known_ge: Option<NodePtr>,
    /// The path: on each level, the last node sorting below the target.
    prev: [NodePtr; MAX_HEIGHT],
    done: bool,
}

impl Search {
    /// A search from the head down from the list's current `max_height`.
    fn new(head: NodePtr, max_height: usize) -> Search {
        Search {
            x: head,
            level: max_height.saturating_sub(1),
            pending: None,
            known_ge: None,
            prev: [head; MAX_HEIGHT],
            done: false,
        }
    }

    /// A finished search whose path is `prev`.
    fn done_at(prev: [NodePtr; MAX_HEIGHT]) -> Search {
        Search {
            x: prev[0],
            level: 0,
            pending: None,
            known_ge: None,
            prev,
            done: true,
        }
    }
}

impl SkipList {
    /// Advances `s` (a search for `target`) until it needs a node that is
    /// not known to be cached: prefetches that node and returns false; or
    /// returns true when the path is complete (`prev` filled on every level
    /// up to the height the search started at).
    fn search_step(&self, s: &mut Search, target: &[u8]) -> bool {
        if let Some(n) = s.pending.take() {
            if compare_internal(self.key(n), target) == Ordering::Less {
                s.x = n;
            } else {
                s.prev[s.level] = s.x;
                if s.level == 0 {
                    return true;
                }
                s.known_ge = Some(n);
                s.level -= 1;
            }
        }
        loop {
            let next = self.next(s.x, s.level);
            match next {
                Some(n) if Some(n) != s.known_ge => {
                    prefetch(n);
                    s.pending = Some(n);
                    return false;
                }
                _ => {
                    s.prev[s.level] = s.x;
                    if s.level == 0 {
                        return true;
                    }
                    s.known_ge = next;
                    s.level -= 1;
                }
            }
        }
    }
}

/// Asks the CPU to bring the start of node `n` (its header, the low tower
/// levels and, for short towers, the key) into the cache.
#[inline(always)]
fn prefetch(n: NodePtr) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = n.0.as_ptr().cast_const().cast::<i8>();
        // SAFETY: prefetching is a hint that never faults and reads nothing
        // observable; `p` and `p + 64` are addresses inside or just past a
        // live arena piece. SSE is part of the x86_64 baseline.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = n;
}

/// A cursor over a [`SkipList`] that owns a share of it. Sees entries linked
/// after it was created when it moves onto them.
pub(crate) struct Iter {
    list: Arc<SkipList>,
    node: Option<NodePtr>,
}

impl Iter {
    pub(crate) fn valid(&self) -> bool {
        self.node.is_some()
    }

    pub(crate) fn seek_to_first(&mut self) {
        self.node = self.list.next(self.list.head, 0);
    }

    pub(crate) fn seek_to_last(&mut self) {
        self.node = self.list.find_last();
    }

    pub(crate) fn seek(&mut self, target: &[u8]) {
        self.node = self.list.find_ge(target, None);
    }

    /// Moves to the following entry (stays invalid when invalid).
    pub(crate) fn next(&mut self) {
        self.node = self.node.and_then(|n| self.list.next(n, 0));
    }

    /// Moves to the preceding entry by searching for the last key before the
    /// current one (O(log n); stays invalid when invalid).
    pub(crate) fn prev(&mut self) {
        self.node = self.node.and_then(|n| self.list.find_lt(self.list.key(n)));
    }

    pub(crate) fn key(&self) -> &[u8] {
        self.node.map_or(&[], |n| self.list.key(n))
    }

    pub(crate) fn value(&self) -> &[u8] {
        self.node.map_or(&[], |n| self.list.value(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{make_internal_key, pack_trailer, Kind};
    use std::collections::BTreeMap;

    /// Internal key wrapper so a `BTreeMap` sorts like the list.
    #[derive(Clone, PartialEq, Eq, Debug)]
    struct IKey(Vec<u8>);
    impl Ord for IKey {
        fn cmp(&self, o: &Self) -> Ordering {
            compare_internal(&self.0, &o.0)
        }
    }
    impl PartialOrd for IKey {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn forward(list: &Arc<SkipList>) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut it = list.iter();
        it.seek_to_first();
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.value().to_vec()));
            it.next();
        }
        out
    }

    #[test]
    fn empty_list() {
        let list = Arc::new(SkipList::new());
        assert_eq!(list.len(), 0);
        assert_eq!(list.seek_ge(b""), None);
        let mut it = list.iter();
        it.seek_to_first();
        assert!(!it.valid());
        it.seek_to_last();
        assert!(!it.valid());
        it.seek(b"abcdefghij");
        assert!(!it.valid());
        it.next();
        it.prev();
        assert!(!it.valid());
        assert_eq!((it.key(), it.value()), (&b""[..], &b""[..]));
    }

    #[test]
    fn heights_follow_the_branching_factor() {
        let list = SkipList::new();
        let mut w = list.lock();
        let mut counts = [0usize; MAX_HEIGHT + 1];
        for _ in 0..400_000 {
            counts[w.random_height()] += 1;
        }
        // P(height ≥ 2) = 1/4, P(height ≥ 3) = 1/16.
        let ge2: usize = counts[2..].iter().sum();
        let ge3: usize = counts[3..].iter().sum();
        assert!((90_000..110_000).contains(&ge2), "{ge2}");
        assert!((21_000..29_000).contains(&ge3), "{ge3}");
        assert_eq!(counts[0], 0);
    }

    #[test]
    fn model_against_btreemap() {
        model_check(false);
    }

    /// The same model with every group inserted by `insert_all`, in groups
    /// of up to 100 (so they span chunks), including runs of neighbouring
    /// keys in descending and ascending order inside the list (round 5),
    /// where a chunk's searches all find paths its earlier nodes outdate.
    #[test]
    fn group_inserts_match_the_model() {
        model_check(true);
    }

    fn model_check(grouped: bool) {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        // Rounds 0–3: random keys; round 4: mostly ascending (the tail fast
        // path) with some random keys mixed in; round 5: runs of adjacent keys.
        let mut ascending = 0u64;
        let rounds = if grouped { 6 } else { 5 };
        for round in 0..rounds {
            let list = Arc::new(SkipList::new());
            let mut model: BTreeMap<IKey, Vec<u8>> = BTreeMap::new();
            let mut seq = 1u64;
            let key_space = [4u64, 50, 1000, 20, 100, 100_000][round];
            for _ in 0..if grouped { 400 } else { 3000 } {
                let mut ins = list.inserter();
                let mut group: Vec<(Vec<u8>, u64, Vec<u8>)> = Vec::new();
                let run_start = rng.below(key_space);
                let run_down = rng.below(2) == 0;
                let size = rng.below(if grouped { 100 } else { 8 }) + 1;
                for i in 0..size {
                    let uk = if round == 5 {
                        let k = if run_down {
                            run_start + size - i
                        } else {
                            run_start + i
                        };
                        format!("k{k:08}").into_bytes()
                    } else if round == 4 && rng.below(8) != 0 {
                        ascending += rng.below(3);
                        format!("k{ascending:08}").into_bytes()
                    } else {
                        format!("k{}", rng.below(key_space)).into_bytes()
                    };
                    let uk = if rng.below(10) == 0 { Vec::new() } else { uk };
                    let kind = if rng.below(4) == 0 {
                        Kind::Delete
                    } else {
                        Kind::Put
                    };
                    let value: Vec<u8> = match kind {
                        Kind::Delete => Vec::new(),
                        _ => vec![b'a' + (seq % 26) as u8; rng.below(40) as usize],
                    };
                    if !grouped {
                        ins.insert(&uk, pack_trailer(seq, kind), &value);
                    }
                    model.insert(IKey(make_internal_key(&uk, seq, kind)), value.clone());
                    group.push((uk, pack_trailer(seq, kind), value));
                    seq += 1;
                }
                if grouped {
                    ins.insert_all(group.iter().map(|(k, t, v)| (&k[..], *t, &v[..])));
                }
            }
            assert_eq!(list.len(), model.len());
            let expected: Vec<(Vec<u8>, Vec<u8>)> = model
                .iter()
                .map(|(k, v)| (k.0.clone(), v.clone()))
                .collect();
            assert_eq!(forward(&list), expected);

            // Backward from the end.
            let mut it = list.iter();
            it.seek_to_last();
            let mut back = Vec::new();
            while it.valid() {
                back.push((it.key().to_vec(), it.value().to_vec()));
                it.prev();
            }
            back.reverse();
            assert_eq!(back, expected);

            // Random seeks, then a few random steps, against the model.
            for _ in 0..2000 {
                let uk = format!("k{}", rng.below(key_space + 2)).into_bytes();
                let target = make_internal_key(&uk, rng.below(seq + 2), Kind::Put);
                let mut pos = expected
                    .partition_point(|(k, _)| compare_internal(k, &target) == Ordering::Less);
                let mut it = list.iter();
                it.seek(&target);
                assert_eq!(
                    list.seek_ge(&target).map(|(k, v)| (k.to_vec(), v.to_vec())),
                    expected.get(pos).cloned()
                );
                for _ in 0..6 {
                    match expected.get(pos) {
                        None => {
                            assert!(!it.valid());
                            break;
                        }
                        Some((k, v)) => {
                            assert_eq!((it.key(), it.value()), (&k[..], &v[..]));
                        }
                    }
                    if rng.below(2) == 0 {
                        it.next();
                        pos += 1;
                    } else {
                        it.prev();
                        if pos == 0 {
                            assert!(!it.valid());
                            break;
                        }
                        pos -= 1;
                    }
                }
            }
        }
    }

    #[test]
    fn large_values_and_keys_round_trip() {
        let list = Arc::new(SkipList::new());
        let big = vec![7u8; crate::arena::CHUNK_SIZE * 3];
        let long_key = vec![b'x'; 70_000];
        {
            let mut ins = list.inserter();
            ins.insert(b"a", pack_trailer(1, Kind::Put), b"small");
            ins.insert(b"b", pack_trailer(2, Kind::Put), &big);
            ins.insert(&long_key, pack_trailer(3, Kind::Put), b"");
            ins.insert(b"c", pack_trailer(4, Kind::Put), b"after");
        }
        let all = forward(&list);
        assert_eq!(all.len(), 4);
        // Order: "a", "b", "c", then the long run of 'x'.
        assert!(all[1].1 == big);
        assert_eq!(all[2].1, b"after");
        assert!(all[3].0 == make_internal_key(&long_key, 3, Kind::Put));
        assert!(list.arena_bytes() >= big.len());
    }

    #[test]
    fn concurrent_readers_see_a_sorted_growing_prefix() {
        concurrent_readers(false);
    }

    #[test]
    fn concurrent_readers_with_ascending_appends() {
        concurrent_readers(true);
    }

    #[test]
    fn concurrent_readers_with_group_inserts() {
        concurrent_readers_of(false, true);
    }

    fn concurrent_readers(ascending: bool) {
        concurrent_readers_of(ascending, false);
    }

    fn concurrent_readers_of(ascending: bool, grouped: bool) {
        const N: u64 = 20_000;
        let list = Arc::new(SkipList::new());
        let writer = {
            let list = Arc::clone(&list);
            std::thread::spawn(move || {
                let mut rng = Rng(99);
                let mut group = Vec::new();
                for seq in 1..=N {
                    let uk = if ascending && seq % 16 != 0 {
                        format!("{seq:08}")
                    } else {
                        format!("{:08}", rng.below(5000))
                    };
                    // Value derived from the key so readers can check it.
                    let value = format!("{uk}/{seq}");
                    if !grouped {
                        list.inserter().insert(
                            uk.as_bytes(),
                            pack_trailer(seq, Kind::Put),
                            value.as_bytes(),
                        );
                        continue;
                    }
                    group.push((uk, seq, value));
                    if group.len() == 50 || seq == N {
                        list.inserter().insert_all(group.iter().map(|(k, s, v)| {
                            (k.as_bytes(), pack_trailer(*s, Kind::Put), v.as_bytes())
                        }));
                        group.clear();
                    }
                }
            })
        };
        let readers: Vec<_> = (0..3)
            .map(|r| {
                let list = Arc::clone(&list);
                std::thread::spawn(move || {
                    let mut rng = Rng(1000 + r);
                    let mut last_len = 0;
                    loop {
                        let done = list.len() as u64 == N;
                        let len_before = list.len();
                        assert!(len_before >= last_len);
                        last_len = len_before;
                        // Forward scan: strictly ordered, intact entries, at
                        // least as many as were counted before it started.
                        let mut it = list.iter();
                        it.seek_to_first();
                        let mut count = 0;
                        let mut prev: Option<Vec<u8>> = None;
                        while it.valid() {
                            let k = it.key();
                            if let Some(p) = &prev {
                                assert_eq!(compare_internal(p, k), Ordering::Less);
                            }
                            let uk = &k[..k.len() - 8];
                            let seq = crate::key::trailer(k) >> 8;
                            assert_eq!(
                                it.value(),
                                format!("{}/{seq}", std::str::from_utf8(uk).unwrap()).as_bytes()
                            );
                            prev = Some(k.to_vec());
                            count += 1;
                            it.next();
                        }
                        assert!(count >= len_before);
                        // Point seeks and a short backward walk.
                        for _ in 0..50 {
                            let uk = format!("{:08}", rng.below(5000));
                            let target = crate::key::lookup_key(uk.as_bytes(), u64::MAX);
                            let mut it = list.iter();
                            it.seek(&target);
                            if let Some((k, _)) = list.seek_ge(&target) {
                                assert!(compare_internal(k, &target) != Ordering::Less);
                            }
                            let mut prev: Option<Vec<u8>> = None;
                            for _ in 0..5 {
                                if !it.valid() {
                                    break;
                                }
                                if let Some(p) = &prev {
                                    assert_eq!(compare_internal(it.key(), p), Ordering::Less);
                                }
                                prev = Some(it.key().to_vec());
                                it.prev();
                            }
                        }
                        if done {
                            assert_eq!(count as u64, N);
                            break;
                        }
                    }
                })
            })
            .collect();
        writer.join().unwrap();
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(list.len() as u64, N);
    }

    #[test]
    fn iterator_keeps_the_list_alive() {
        let list = Arc::new(SkipList::new());
        list.inserter()
            .insert(b"a", pack_trailer(1, Kind::Put), b"1");
        let mut it = list.iter();
        drop(list);
        it.seek_to_first();
        assert_eq!(it.value(), b"1");
    }

    #[test]
    fn list_and_iterator_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<SkipList>();
        send::<Iter>();
    }
}
