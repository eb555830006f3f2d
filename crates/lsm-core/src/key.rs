//! Internal keys (`docs/FORMAT.md` §2.1): `user key ‖ fixed64(seq × 256 + kind)`.
//!
//! Every sorted structure of the engine (memtable, blocks, index, tables,
//! merges) orders internal keys the same way: user key ascending, then the
//! trailer descending. Descending trailers put the newest version of a user key
//! first, so "newest version visible at snapshot s" is one seek to
//! `k ‖ fixed64(s × 256 + 1)` followed by one user-key comparison.

use std::cmp::Ordering;

use crate::coding::get_fixed64;
use crate::error::{Error, Result};

/// Length of the trailer that follows the user key.
pub const TRAILER_LEN: usize = 8;
/// Largest sequence number: `seq × 256 + kind` must stay an exact JS number.
pub const MAX_SEQUENCE: u64 = (1 << 45) - 1;
/// Longest user key the format allows.
pub const MAX_USER_KEY_LEN: usize = 65_536;

/// Entry kinds. Values are stored on disk: never renumber, only add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Kind {
    /// Tombstone: the key is absent as of this sequence.
    Delete = 0,
    /// The key holds the entry's value as of this sequence.
    Put = 1,
}

impl Kind {
    /// The kind stored as `b`, or `None` for an unknown value.
    pub fn from_u8(b: u8) -> Option<Kind> {
        match b {
            0 => Some(Kind::Delete),
            1 => Some(Kind::Put),
            _ => None,
        }
    }
}

/// The answer of a point read in one source (memtable or table): the newest
/// version visible at the snapshot. A `Delete` hides older sources, so the
/// read path must stop on it just as on a `Put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Put { seq: u64, value: Vec<u8> },
    Delete { seq: u64 },
}

impl Lookup {
    /// The owned answer for a found entry (a `Delete`'s value is ignored).
    pub fn from_entry(seq: u64, kind: Kind, value: &[u8]) -> Lookup {
        match kind {
            Kind::Put => Lookup::Put {
                seq,
                value: value.to_vec(),
            },
            Kind::Delete => Lookup::Delete { seq },
        }
    }
}

/// The outcome of a point read that hands the found entry to a visitor
/// instead of copying it out (so a caller can copy the value exactly once,
/// straight into its own buffer): `Found` with the visitor's result, or
/// `Missing` giving the unused visitor back for the next source.
pub enum Probe<R, F> {
    Found(R),
    Missing(F),
}

impl<R, F> Probe<R, F> {
    /// The visitor's result, if the entry was found.
    pub fn found(self) -> Option<R> {
        match self {
            Probe::Found(r) => Some(r),
            Probe::Missing(_) => None,
        }
    }
}

/// The three parts of an internal key, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    pub user_key: &'a [u8],
    pub seq: u64,
    pub kind: Kind,
}

/// `seq × 256 + kind`.
pub fn pack_trailer(seq: u64, kind: Kind) -> u64 {
    (seq << 8) | kind as u64
}

/// Appends the internal key for `(user_key, seq, kind)` to `out`.
///
/// Panics if `seq > MAX_SEQUENCE`: sequence numbers are assigned by the engine
/// and checked where they enter it (write groups), so a larger one here is a bug.
pub fn append_internal_key(out: &mut Vec<u8>, user_key: &[u8], seq: u64, kind: Kind) {
    assert!(seq <= MAX_SEQUENCE, "sequence {seq} exceeds 2^45 - 1");
    out.reserve(user_key.len() + TRAILER_LEN);
    out.extend_from_slice(user_key);
    out.extend_from_slice(&pack_trailer(seq, kind).to_le_bytes());
}

/// The internal key for `(user_key, seq, kind)`.
pub fn make_internal_key(user_key: &[u8], seq: u64, kind: Kind) -> Vec<u8> {
    let mut out = Vec::with_capacity(user_key.len() + TRAILER_LEN);
    append_internal_key(&mut out, user_key, seq, kind);
    out
}

/// The position to seek to for the newest version of `user_key` visible at
/// snapshot `snapshot` (§2.1): it sorts before every version with
/// `seq ≤ snapshot` and after every newer one.
pub fn lookup_key(user_key: &[u8], snapshot: u64) -> Vec<u8> {
    make_internal_key(user_key, snapshot.min(MAX_SEQUENCE), Kind::Put)
}

/// User keys up to this long make a [`LookupKey`] without allocating.
const LOOKUP_INLINE: usize = 56;

/// [`lookup_key`] built on the stack for keys of up to 56 bytes (on the heap
/// beyond): a point read makes one, and a heap allocation and free per read
/// was ~3% of a read served from the block cache.
pub struct LookupKey {
    inline: [u8; LOOKUP_INLINE + TRAILER_LEN],
    len: usize,
    heap: Vec<u8>,
}

impl LookupKey {
    pub fn new(user_key: &[u8], snapshot: u64) -> LookupKey {
        let mut k = LookupKey {
            inline: [0; LOOKUP_INLINE + TRAILER_LEN],
            len: 0,
            heap: Vec::new(),
        };
        if user_key.len() <= LOOKUP_INLINE {
            let trailer = pack_trailer(snapshot.min(MAX_SEQUENCE), Kind::Put).to_le_bytes();
            k.inline[..user_key.len()].copy_from_slice(user_key);
            k.inline[user_key.len()..user_key.len() + TRAILER_LEN].copy_from_slice(&trailer);
            k.len = user_key.len() + TRAILER_LEN;
        } else {
            k.heap = lookup_key(user_key, snapshot);
        }
        k
    }

    /// The internal key: exactly `lookup_key(user_key, snapshot)`.
    pub fn as_bytes(&self) -> &[u8] {
        if self.len > 0 {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

/// Splits and validates an internal key read from disk or from a caller.
pub fn parse_internal_key(ikey: &[u8]) -> Result<ParsedKey<'_>> {
    if ikey.len() < TRAILER_LEN {
        return Err(Error::corruption(format!(
            "internal key of {} bytes is shorter than 8",
            ikey.len()
        )));
    }
    let split = ikey.len() - TRAILER_LEN;
    if split > MAX_USER_KEY_LEN {
        return Err(Error::corruption(format!(
            "user key of {split} bytes exceeds {MAX_USER_KEY_LEN}"
        )));
    }
    let trailer = get_fixed64(&ikey[split..]).ok_or_else(|| Error::corruption("short trailer"))?;
    let kind = Kind::from_u8((trailer & 0xff) as u8)
        .ok_or_else(|| Error::corruption(format!("unknown entry kind {}", trailer & 0xff)))?;
    let seq = trailer >> 8;
    if seq > MAX_SEQUENCE {
        return Err(Error::corruption(format!(
            "sequence {seq} exceeds 2^45 - 1"
        )));
    }
    Ok(ParsedKey {
        user_key: &ikey[..split],
        seq,
        kind,
    })
}

/// The user-key part of an internal key. Lenient: a key shorter than the
/// trailer has an empty user key, so comparisons never panic on bad input (the
/// decoders that need a valid key call [`parse_internal_key`]).
pub fn user_key(ikey: &[u8]) -> &[u8] {
    &ikey[..ikey.len().saturating_sub(TRAILER_LEN)]
}

/// The trailer of an internal key, or 0 for a key shorter than 8 bytes.
pub fn trailer(ikey: &[u8]) -> u64 {
    ikey.len()
        .checked_sub(TRAILER_LEN)
        .and_then(|split| get_fixed64(&ikey[split..]))
        .unwrap_or(0)
}

/// Bytewise unsigned comparison, shorter first on a common prefix: the same
/// order as `a.cmp(b)`. Short keys (the common case) are compared 8 bytes at a
/// time as big-endian words, inline: a `memcmp` call per comparison was ~10%
/// of the memtable insert and the compaction merge. Long keys go to `memcmp`.
#[inline]
pub fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    if n > 64 {
        return a.cmp(b);
    }
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_be_bytes(a[i..i + 8].try_into().unwrap_or([0; 8]));
        let y = u64::from_be_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

/// The total order on internal keys (§2.1): user key ascending (bytewise,
/// unsigned, prefix first), then trailer descending, i.e. newer first.
pub fn compare_internal(a: &[u8], b: &[u8]) -> Ordering {
    match compare_bytes(user_key(a), user_key(b)) {
        Ordering::Equal => trailer(b).cmp(&trailer(a)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_bytes_is_slice_order() {
        let mut rng = crate::testutil::Rng::new(11);
        let mut keys: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0xff], vec![0; 8], vec![0; 9]];
        for _ in 0..400 {
            let len = rng.below(80) as usize;
            // Few distinct byte values, so long common prefixes are frequent.
            keys.push((0..len).map(|_| (rng.below(3) as u8) * 0x7f).collect());
        }
        for a in &keys {
            for b in &keys {
                assert_eq!(compare_bytes(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn layout_is_user_key_then_le_trailer() {
        let k = make_internal_key(b"abc", 5, Kind::Put);
        assert_eq!(k, [b'a', b'b', b'c', 0x01, 0x05, 0, 0, 0, 0, 0, 0]);
        let p = parse_internal_key(&k).unwrap();
        assert_eq!(
            p,
            ParsedKey {
                user_key: b"abc",
                seq: 5,
                kind: Kind::Put
            }
        );
        let dk = make_internal_key(b"", MAX_SEQUENCE, Kind::Delete);
        let d = parse_internal_key(&dk).unwrap();
        assert_eq!(
            (d.user_key, d.seq, d.kind),
            (&b""[..], MAX_SEQUENCE, Kind::Delete)
        );
    }

    #[test]
    fn parse_rejects_bad_keys() {
        assert!(parse_internal_key(b"short").unwrap_err().is_corruption());
        let mut k = make_internal_key(b"a", 1, Kind::Put);
        k[1] = 2; // kind 2 is unknown
        assert!(parse_internal_key(&k).is_err());
        let mut big = b"a".to_vec();
        big.extend_from_slice(&((MAX_SEQUENCE + 1) << 8 | 1).to_le_bytes());
        assert!(parse_internal_key(&big).is_err());
        let long = make_internal_key(&vec![0u8; MAX_USER_KEY_LEN + 1], 1, Kind::Put);
        assert!(parse_internal_key(&long).is_err());
        assert!(parse_internal_key(&make_internal_key(
            &vec![0u8; MAX_USER_KEY_LEN],
            1,
            Kind::Put
        ))
        .is_ok());
    }

    #[test]
    fn lookup_key_on_the_stack_equals_the_heap_one() {
        // Both sides of the inline limit, and snapshots past MAX_SEQUENCE.
        for len in [
            0,
            1,
            16,
            LOOKUP_INLINE - 1,
            LOOKUP_INLINE,
            LOOKUP_INLINE + 1,
            300,
        ] {
            let user: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            for snapshot in [0, 1, 0x1234_5678, MAX_SEQUENCE, MAX_SEQUENCE + 1, u64::MAX] {
                let k = LookupKey::new(&user, snapshot);
                assert_eq!(
                    k.as_bytes(),
                    lookup_key(&user, snapshot).as_slice(),
                    "{len} {snapshot}"
                );
            }
        }
    }

    #[test]
    fn ordering_user_key_then_newest_first() {
        let mut keys = [
            make_internal_key(b"b", 1, Kind::Put),
            make_internal_key(b"a", 1, Kind::Put),
            make_internal_key(b"a", 9, Kind::Delete),
            make_internal_key(b"ab", 3, Kind::Put),
            make_internal_key(b"a", 9, Kind::Put),
            make_internal_key(b"", 2, Kind::Put),
            make_internal_key(&[0xff], 1, Kind::Put),
        ];
        keys.sort_by(|a, b| compare_internal(a, b));
        let parsed: Vec<(Vec<u8>, u64, Kind)> = keys
            .iter()
            .map(|k| {
                let p = parse_internal_key(k).unwrap();
                (p.user_key.to_vec(), p.seq, p.kind)
            })
            .collect();
        assert_eq!(
            parsed,
            vec![
                (b"".to_vec(), 2, Kind::Put),
                (b"a".to_vec(), 9, Kind::Put),
                (b"a".to_vec(), 9, Kind::Delete),
                (b"a".to_vec(), 1, Kind::Put),
                (b"ab".to_vec(), 3, Kind::Put),
                (b"b".to_vec(), 1, Kind::Put),
                (vec![0xff], 1, Kind::Put),
            ]
        );
    }

    #[test]
    fn lookup_key_sits_between_newer_and_visible_versions() {
        let target = lookup_key(b"k", 5);
        assert_eq!(
            compare_internal(&make_internal_key(b"k", 6, Kind::Delete), &target),
            Ordering::Less
        );
        assert_eq!(
            compare_internal(&make_internal_key(b"k", 5, Kind::Put), &target),
            Ordering::Equal
        );
        assert_eq!(
            compare_internal(&make_internal_key(b"k", 5, Kind::Delete), &target),
            Ordering::Greater
        );
        assert_eq!(
            compare_internal(&make_internal_key(b"k", 4, Kind::Put), &target),
            Ordering::Greater
        );
        // A snapshot above the limit is clamped rather than panicking.
        assert_eq!(
            lookup_key(b"k", u64::MAX),
            make_internal_key(b"k", MAX_SEQUENCE, Kind::Put)
        );
    }

    #[test]
    fn lenient_helpers_never_panic() {
        assert_eq!(user_key(b"abc"), b"");
        assert_eq!(trailer(b"abc"), 0);
        assert_eq!(compare_internal(b"", b"x"), Ordering::Equal);
        let k = make_internal_key(b"xy", 7, Kind::Delete);
        assert_eq!(user_key(&k), b"xy");
        assert_eq!(trailer(&k), pack_trailer(7, Kind::Delete));
    }

    #[test]
    #[should_panic(expected = "exceeds 2^45 - 1")]
    fn make_refuses_oversized_sequence() {
        make_internal_key(b"k", MAX_SEQUENCE + 1, Kind::Put);
    }
}
