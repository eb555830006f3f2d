//! A bump allocator of large chunks for the memtable skiplist.
//!
//! Memory is handed out in 8-byte-aligned pieces carved from chunks of
//! [`CHUNK_SIZE`] bytes; a request larger than a quarter chunk gets a chunk of
//! its own so that big values do not waste the tail of the current chunk.
//! Chunks are raw heap allocations that are **never moved, resized or freed
//! before the arena is dropped**, so a pointer returned by [`Arena::alloc`]
//! stays valid (and keeps its address) for the arena's whole life. That is
//! what lets readers on other threads hold pointers into the arena while the
//! single writer keeps allocating.
//!
//! The arena itself is not synchronized: it has one owner (the skiplist keeps
//! it behind the writer's mutex). It never reads the memory it hands out and
//! never runs destructors, so it only suits plain data.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// Size of an ordinary chunk.
pub(crate) const CHUNK_SIZE: usize = 256 * 1024;
/// Alignment of every allocation (enough for `u64`, `usize` and pointers).
pub(crate) const ALIGN: usize = 8;

/// One heap allocation owned by the arena.
struct Chunk {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: `ptr` was returned by `alloc(self.layout)` in `Chunk::new`
        // and is freed only here, once, when the owning arena drops its chunk
        // list (after which no pointer into it may be used: the arena's users
        // tie every access to the arena's lifetime).
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

impl Chunk {
    fn new(size: usize) -> Chunk {
        let layout =
            Layout::from_size_align(size.max(ALIGN), ALIGN).expect("arena chunk too large");
        // SAFETY: `layout` has a non-zero size (at least `ALIGN`), as `alloc`
        // requires. A null result is handled right below.
        let raw = unsafe { alloc(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| handle_alloc_error(layout));
        Chunk { ptr, layout }
    }
}

/// A bump allocator over chunks that never move.
pub(crate) struct Arena {
    chunks: Vec<Chunk>,
    /// Next free byte of the current chunk (meaningless when `remaining == 0`).
    cursor: *mut u8,
    /// Free bytes left in the current chunk.
    remaining: usize,
}

// SAFETY: the arena exclusively owns its chunks (plain heap memory with no
// thread affinity); `cursor` only points into the current chunk. Moving the
// arena to another thread moves that ownership, like moving a `Vec<u8>`.
unsafe impl Send for Arena {}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

impl Arena {
    pub(crate) fn new() -> Arena {
        Arena {
            chunks: Vec::new(),
            cursor: std::ptr::null_mut(),
            remaining: 0,
        }
    }

    /// Returns `size` bytes (uninitialized, aligned to [`ALIGN`]) that stay
    /// valid and in place until the arena is dropped.
    pub(crate) fn alloc(&mut self, size: usize) -> NonNull<u8> {
        let size = size
            .checked_add(ALIGN - 1)
            .expect("arena allocation too large")
            & !(ALIGN - 1);
        if size > CHUNK_SIZE / 4 {
            // Large piece: a chunk of its own; the current chunk stays current.
            return self.new_chunk(size);
        }
        if size > self.remaining {
            self.cursor = self.new_chunk(CHUNK_SIZE).as_ptr();
            self.remaining = CHUNK_SIZE;
        }
        let out = self.cursor;
        // SAFETY: `size <= remaining`, so `cursor + size` is within (or one
        // past the end of) the current chunk's allocation, as `add` requires.
        self.cursor = unsafe { out.add(size) };
        self.remaining -= size;
        // `out` points into a live chunk, so it is not null.
        NonNull::new(out).expect("arena cursor is never null here")
    }

    fn new_chunk(&mut self, size: usize) -> NonNull<u8> {
        let chunk = Chunk::new(size);
        let ptr = chunk.ptr;
        self.chunks.push(chunk);
        ptr
    }

    /// Bytes reserved from the system (all chunks, used or not).
    #[cfg(test)]
    pub(crate) fn reserved(&self) -> usize {
        self.chunks.iter().map(|c| c.layout.size()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_aligned_disjoint_and_stable() {
        let mut a = Arena::new();
        let mut pieces: Vec<(NonNull<u8>, usize, u8)> = Vec::new();
        let sizes = [
            1usize,
            7,
            8,
            9,
            100,
            4096,
            CHUNK_SIZE / 4 + 1,
            3,
            CHUNK_SIZE,
            17,
        ];
        for round in 0..200usize {
            let size = sizes[round % sizes.len()];
            let p = a.alloc(size);
            assert_eq!(p.as_ptr() as usize % ALIGN, 0);
            let fill = round as u8;
            // SAFETY (test): `p` is a fresh allocation of at least `size` bytes.
            unsafe { std::ptr::write_bytes(p.as_ptr(), fill, size) };
            pieces.push((p, size, fill));
        }
        // Every piece still holds its own fill: nothing overlapped or moved.
        for (p, size, fill) in &pieces {
            // SAFETY (test): each piece was fully written above and the arena is alive.
            let s = unsafe { std::slice::from_raw_parts(p.as_ptr(), *size) };
            assert!(s.iter().all(|b| b == fill));
        }
        assert!(a.reserved() >= CHUNK_SIZE);
    }

    #[test]
    fn large_requests_do_not_abandon_the_current_chunk() {
        let mut a = Arena::new();
        let first = a.alloc(16).as_ptr() as usize;
        let _big = a.alloc(CHUNK_SIZE * 2);
        let second = a.alloc(16).as_ptr() as usize;
        assert_eq!(second, first + 16);
        assert_eq!(a.reserved(), CHUNK_SIZE + CHUNK_SIZE * 2);
    }
}
