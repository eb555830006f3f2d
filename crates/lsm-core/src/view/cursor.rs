//! A user-level cursor with bounds, handing out entries in chunks.
//!
//! This is `TsCursor` of `ts/core/ts-core.ts` step for step, because both
//! engines must answer every iterator call identically: positioning is lazy
//! (the first chunk after creation or `seek` positions), a bound is applied
//! once at positioning and then checked on every entry, and a chunk ends after
//! `max_entries` entries or once `max_bytes` of keys and values is reached.
//!
//! Chunks exist so that a JS iterator crosses into Rust once per few hundred
//! entries rather than once per entry; a [`ChunkSink`] receives each entry so
//! the binding can copy it straight into its output buffer.

use std::cmp::Ordering;

use crate::error::Result;
use crate::iter::KvIter;
use crate::merge::{MergingIter, UserIter};

/// Range, snapshot and direction of a cursor. Bounds are user keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CursorOptions {
    pub snapshot: u64,
    /// Inclusive unless `lower_exclusive`.
    pub lower: Option<Vec<u8>>,
    pub lower_exclusive: bool,
    /// Exclusive unless `upper_inclusive`.
    pub upper: Option<Vec<u8>>,
    pub upper_inclusive: bool,
    pub reverse: bool,
}

/// Receives the entries of a chunk, in iteration order.
pub trait ChunkSink {
    fn push(&mut self, key: &[u8], value: &[u8]);
}

impl ChunkSink for Vec<(Vec<u8>, Vec<u8>)> {
    fn push(&mut self, key: &[u8], value: &[u8]) {
        Vec::push(self, (key.to_vec(), value.to_vec()));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Below,
    In,
    Above,
}

/// Chunked, bounded iteration over a read view at a snapshot.
pub struct Cursor {
    it: UserIter<MergingIter>,
    o: CursorOptions,
    started: bool,
    pending_seek: Option<Vec<u8>>,
}

impl Cursor {
    pub(crate) fn new(it: UserIter<MergingIter>, o: CursorOptions) -> Self {
        Cursor {
            it,
            o,
            started: false,
            pending_seek: None,
        }
    }

    pub fn options(&self) -> &CursorOptions {
        &self.o
    }

    /// Repositions: the next chunk starts at the first key ≥ `user_key`
    /// (≤ when reverse), within the bounds.
    pub fn seek(&mut self, user_key: &[u8]) {
        self.pending_seek = Some(user_key.to_vec());
        self.started = false;
    }

    fn in_bounds(&self, k: &[u8]) -> Where {
        let o = &self.o;
        if let Some(lower) = &o.lower {
            match k.cmp(lower) {
                Ordering::Less => return Where::Below,
                Ordering::Equal if o.lower_exclusive => return Where::Below,
                _ => {}
            }
        }
        if let Some(upper) = &o.upper {
            match k.cmp(upper) {
                Ordering::Greater => return Where::Above,
                Ordering::Equal if !o.upper_inclusive => return Where::Above,
                _ => {}
            }
        }
        Where::In
    }

    fn position(&mut self) -> Result<()> {
        let target = self.pending_seek.take();
        let (it, o) = (&mut self.it, &self.o);
        if !o.reverse {
            // Start at the larger of the lower bound and the seek target.
            let start = match (&o.lower, &target) {
                (Some(l), Some(t)) if t > l => Some(t),
                (Some(l), _) => Some(l),
                (None, t) => t.as_ref(),
            };
            match start {
                None => it.seek_to_first()?,
                Some(s) => it.seek(s)?,
            }
            if let (true, Some(lower)) = (o.lower_exclusive, &o.lower) {
                if it.valid() && it.key() == lower.as_slice() {
                    it.next()?;
                }
            }
        } else {
            // Start at the smaller of the upper bound and the seek target; only
            // when starting from the bound itself is an exclusive bound stepped over.
            let (start, from_upper) = match (&o.upper, &target) {
                (Some(u), Some(t)) if t < u => (Some(t), false),
                (Some(u), _) => (Some(u), true),
                (None, Some(t)) => (Some(t), false),
                (None, None) => (None, false),
            };
            match start {
                None => it.seek_to_last()?,
                Some(s) => it.seek_for_prev(s)?,
            }
            if let (true, false, Some(upper)) = (from_upper, o.upper_inclusive, &o.upper) {
                if it.valid() && it.key() == upper.as_slice() {
                    it.prev()?;
                }
            }
        }
        Ok(())
    }

    /// Emits up to `max_entries` entries into `sink` (fewer once `max_bytes`
    /// of keys and values is reached). Returns true when the cursor is
    /// exhausted: no entry follows this chunk.
    pub fn next_chunk(
        &mut self,
        max_entries: usize,
        max_bytes: usize,
        sink: &mut dyn ChunkSink,
    ) -> Result<bool> {
        if !self.started {
            self.position()?;
            self.started = true;
        }
        let stop = if self.o.reverse {
            Where::Below
        } else {
            Where::Above
        };
        let (mut count, mut bytes) = (0usize, 0usize);
        while self.it.valid() && count < max_entries && bytes < max_bytes {
            let k = self.it.key();
            let at = self.in_bounds(k);
            if at == stop {
                break;
            }
            if at == Where::In {
                let v = self.it.value();
                sink.push(k, v);
                count += 1;
                bytes = bytes.saturating_add(k.len() + v.len());
            }
            if self.o.reverse {
                self.it.prev()?;
            } else {
                self.it.next()?;
            }
        }
        Ok(!self.it.valid() || self.in_bounds(self.it.key()) == stop)
    }
}
