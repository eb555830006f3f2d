//! Bloom filter over user keys (`docs/FORMAT.md` §4.3).
//!
//! One filter per table lets a point read that misses skip the table's index
//! and data blocks entirely. Probes use double hashing from a single 32-bit
//! MurmurHash3: `h, h+δ, h+2δ, …` with `δ = rotr(h, 17)`. One hash per key is
//! cheap, and the false-positive rate stays near the theoretical ≈0.8 % at
//! 10 bits/key (measured by a test below).
//!
//! Because probing depends only on `h`, a table builder can keep one `u32` per
//! distinct user key instead of the keys themselves ([`build_from_hashes`]).

use crate::error::{Error, Result};

/// Seed of the MurmurHash3 used for filters. Never change: it is part of the format.
pub const BLOOM_SEED: u32 = 0xBC9F_1D34;
/// Largest number of probes the format allows.
pub const MAX_PROBES: u32 = 30;

/// MurmurHash3, x86 32-bit variant.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mix = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        h ^= mix(k);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut k = 0u32;
        for (i, &b) in rest.iter().enumerate() {
            k |= u32::from(b) << (8 * i);
        }
        h ^= mix(k);
    }
    // The length is folded in mod 2^32, as the reference implementation does.
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The filter hash of a user key.
pub fn bloom_hash(key: &[u8]) -> u32 {
    murmur3_32(key, BLOOM_SEED)
}

/// `k = min(30, max(1, ⌊bitsPerKey × 0.69⌋))`; 0.69 ≈ ln 2 minimises the
/// false-positive rate for a given number of bits.
pub fn probes(bits_per_key: u32) -> u32 {
    // ⌊b × 0.69⌋ in integers: exact for every u32 (no float rounding).
    let k = (u64::from(bits_per_key) * 69 / 100) as u32;
    k.clamp(1, MAX_PROBES)
}

fn check_bits_per_key(bits_per_key: u32) -> Result<()> {
    if !(1..=64).contains(&bits_per_key) {
        return Err(Error::invalid(format!(
            "bitsPerKey {bits_per_key} must be in 1..64"
        )));
    }
    Ok(())
}

/// Builds a filter from the hashes of `n` distinct keys: `m` bytes of bits
/// (`m = ⌈max(64, n × bitsPerKey) / 8⌉`) then the probe count byte.
pub fn build_from_hashes(hashes: &[u32], bits_per_key: u32) -> Result<Vec<u8>> {
    check_bits_per_key(bits_per_key)?;
    let k = probes(bits_per_key);
    let bits = (hashes.len() as u64)
        .saturating_mul(u64::from(bits_per_key))
        .max(64);
    let bytes = bits.div_ceil(8);
    let total_bits = bytes * 8;
    let bytes = usize::try_from(bytes).map_err(|_| Error::invalid("bloom filter too large"))?;
    let mut out = vec![0u8; bytes + 1];
    for &hash in hashes {
        let mut h = hash;
        let delta = h.rotate_right(17);
        for _ in 0..k {
            let b = (u64::from(h) % total_bits) as usize;
            out[b / 8] |= 1 << (b % 8);
            h = h.wrapping_add(delta);
        }
    }
    out[bytes] = k as u8;
    Ok(out)
}

/// Builds a filter from keys, removing duplicates first: the format sizes the
/// filter by the number of *distinct* keys, so repeated keys must not grow it.
pub fn build_filter<K: AsRef<[u8]>>(keys: &[K], bits_per_key: u32) -> Result<Vec<u8>> {
    let mut distinct: Vec<&[u8]> = keys.iter().map(AsRef::as_ref).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let hashes: Vec<u32> = distinct.iter().map(|k| bloom_hash(k)).collect();
    build_from_hashes(&hashes, bits_per_key)
}

/// False only when `key` is certainly not in the set the filter was built from.
pub fn may_contain(filter: &[u8], key: &[u8]) -> bool {
    may_contain_hash(filter, bloom_hash(key))
}

/// [`may_contain`] for a precomputed [`bloom_hash`]. A filter with no bit
/// bytes or a probe count outside 1..30 answers "may contain": a damaged or
/// future filter must never cause a false negative.
pub fn may_contain_hash(filter: &[u8], hash: u32) -> bool {
    let Some((&k, bits)) = filter.split_last() else {
        return true;
    };
    if bits.is_empty() || !(1..=MAX_PROBES as u8).contains(&k) {
        return true;
    }
    let total_bits = bits.len() as u64 * 8;
    let mut h = hash;
    let delta = h.rotate_right(17);
    if let Ok(m) = u32::try_from(total_bits) {
        // The same positions as below (h < 2^32, so h mod m is equal either
        // way), with a 32-bit division: a read probes up to 30 bits per table.
        for _ in 0..k {
            let b = (h % m) as usize;
            if bits[b / 8] & (1 << (b % 8)) == 0 {
                return false;
            }
            h = h.wrapping_add(delta);
        }
        return true;
    }
    for _ in 0..k {
        let b = (u64::from(h) % total_bits) as usize;
        if bits[b / 8] & (1 << (b % 8)) == 0 {
            return false;
        }
        h = h.wrapping_add(delta);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_reference_values() {
        // Published MurmurHash3_x86_32 test values.
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514E_28B7);
        assert_eq!(murmur3_32(b"", 0xffff_ffff), 0x81F1_6F39);
        assert_eq!(murmur3_32(&[0, 0, 0, 0], 0), 0x2362_F9DE);
        assert_eq!(murmur3_32(b"aaaa", 0x9747_b28c), 0x5A97_808A);
        assert_eq!(murmur3_32(b"abc", 0), 0xB3DD_93FA);
        assert_eq!(murmur3_32(b"Hello, world!", 0x9747_b28c), 0x2488_4CBA);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog", 0x9747_b28c),
            0x2FA8_26CD
        );
    }

    #[test]
    fn probe_count_and_size() {
        assert_eq!(probes(10), 6);
        assert_eq!(probes(1), 1);
        assert_eq!(probes(2), 1);
        assert_eq!(probes(64), 30);
        let f = build_from_hashes(&[], 10).unwrap();
        assert_eq!(f.len(), 8 + 1, "at least 64 bits");
        assert_eq!(f[8], 6);
        let f = build_from_hashes(&[0u32; 100], 10).unwrap();
        assert_eq!(f.len(), 125 + 1);
        let f = build_from_hashes(&[0u32; 7], 9).unwrap();
        assert_eq!(f.len(), 8 + 1, "63 bits rounds up to the 64-bit minimum");
        assert!(build_from_hashes(&[], 0).is_err());
        assert!(build_from_hashes(&[], 65).is_err());
    }

    #[test]
    fn no_false_negatives_and_duplicates_do_not_grow() {
        let keys: Vec<Vec<u8>> = (0..500u32)
            .map(|i| format!("key{i}").into_bytes())
            .collect();
        let f = build_filter(&keys, 10).unwrap();
        assert!(keys.iter().all(|k| may_contain(&f, k)));
        let mut doubled = keys.clone();
        doubled.extend(keys.iter().cloned());
        assert_eq!(build_filter(&doubled, 10).unwrap(), f);
    }

    #[test]
    fn bit_positions_follow_the_spec() {
        // One key, 64 bits: every probe bit is set, LSB-first within bytes.
        let h = bloom_hash(b"x");
        let f = build_from_hashes(&[h], 10).unwrap();
        let mut expected = vec![0u8; 9];
        let mut p = h;
        for _ in 0..6 {
            let b = (p % 64) as usize;
            expected[b >> 3] |= 1 << (b & 7);
            p = p.wrapping_add(h.rotate_right(17));
        }
        expected[8] = 6;
        assert_eq!(f, expected);
    }

    #[test]
    fn malformed_filters_may_contain_everything() {
        assert!(may_contain(&[], b"a"));
        assert!(may_contain(&[6], b"a"));
        assert!(may_contain(&[0, 0, 0, 0, 0, 0, 0, 0, 0], b"a"), "k = 0");
        assert!(may_contain(&[0, 0, 0, 0, 0, 0, 0, 0, 31], b"a"), "k = 31");
        assert!(
            !may_contain(&[0, 0, 0, 0, 0, 0, 0, 0, 6], b"a"),
            "all-zero bits, valid k"
        );
    }

    #[test]
    fn false_positive_rate_at_10_bits_per_key() {
        let present: Vec<Vec<u8>> = (0..10_000u32)
            .map(|i| format!("present-{i:08}").into_bytes())
            .collect();
        let f = build_filter(&present, 10).unwrap();
        assert!(present.iter().all(|k| may_contain(&f, k)));
        let absent = 100_000u32;
        let hits = (0..absent)
            .filter(|i| may_contain(&f, format!("absent-{i:08}").as_bytes()))
            .count();
        let rate = hits as f64 / f64::from(absent);
        assert!(rate <= 0.015, "false-positive rate {rate:.4} above 1.5%");
    }
}
