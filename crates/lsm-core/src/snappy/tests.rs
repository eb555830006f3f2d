//! Tests of the Snappy codec: round trips, conformance with the `snap` crate
//! (an independent implementation, dev-dependency only) in both directions,
//! every malformed-input case, and a throughput measurement (`#[ignore]`d).

// Tag bytes are written as `0b<offset high>_<length>_<kind>`: the groups are the fields.
#![allow(clippy::unusual_byte_groupings)]

use super::*;
use crate::testutil::Rng;

fn ours(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    compress(input, &mut out);
    out
}

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next() as u8).collect()
}

/// Inputs of many shapes: random, runs, short periods, small alphabets,
/// the bench's half-random values, long repeats, near the 64 KiB window.
fn structured_input(rng: &mut Rng, case: u64) -> Vec<u8> {
    let n = match rng.below(10) {
        0 => rng.below(16) as usize,
        1..=6 => rng.below(5000) as usize,
        7 | 8 => rng.below(40_000) as usize,
        _ => 60_000 + rng.below(80_000) as usize,
    };
    let mut v = Vec::with_capacity(n);
    match case % 7 {
        0 => v = random_bytes(rng, n),
        1 => {
            // Runs of one byte of random lengths.
            while v.len() < n {
                let b = rng.next() as u8;
                let len = 1 + rng.below(200) as usize;
                v.extend(std::iter::repeat(b).take(len.min(n - v.len())));
            }
        }
        2 => {
            // A short pattern repeated (overlapping copies of every period).
            let period = 1 + rng.below(80) as usize;
            let pat = random_bytes(rng, period);
            v.extend(pat.iter().cycle().take(n));
        }
        3 => {
            // Text-like: words from a small alphabet.
            while v.len() < n {
                let w = 1 + rng.below(8);
                for _ in 0..w {
                    v.push(b'a' + rng.below(6) as u8);
                }
                v.push(b' ');
            }
            v.truncate(n);
        }
        4 => {
            // The bench's values: 16-byte key, 50 random bytes, 50 repeated bytes.
            let mut i = 0u64;
            while v.len() < n {
                v.extend_from_slice(format!("key{i:013}").as_bytes());
                v.extend(random_bytes(rng, 50));
                v.extend(std::iter::repeat(b'x').take(50));
                i += 1;
            }
            v.truncate(n);
        }
        5 => {
            // Random chunks copied from earlier, at near and far distances.
            while v.len() < n {
                if v.len() > 8 && rng.one_in(2) {
                    let back = 1 + rng.below(v.len().min(100_000) as u64) as usize;
                    let len = 1 + rng.below(300) as usize;
                    let start = v.len() - back;
                    for k in 0..len {
                        let b = v[start + k];
                        v.push(b);
                    }
                } else {
                    let len = 1 + rng.below(100) as usize;
                    v.extend(random_bytes(rng, len));
                }
            }
            v.truncate(n);
        }
        _ => {
            // Mostly zeros with sparse noise.
            v.resize(n, 0);
            for _ in 0..n / 50 {
                let at = rng.below(n as u64) as usize;
                v[at] = rng.next() as u8;
            }
        }
    }
    v
}

#[test]
fn small_inputs_round_trip() {
    for n in 0..300usize {
        for fill in [0u8, 0xab] {
            let a: Vec<u8> = vec![fill; n];
            let b: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            for input in [a, b] {
                let c = ours(&input);
                assert_eq!(decompressed_len(&c).unwrap(), n);
                assert_eq!(decompress(&c).unwrap(), input, "n = {n}");
                assert!(c.len() <= max_compressed_len(n));
            }
        }
    }
    assert_eq!(ours(b""), [0]);
    assert_eq!(ours(b"abc"), [3, 2 << 2, b'a', b'b', b'c']);
}

#[test]
fn compresses_what_repeats() {
    let run = vec![7u8; 10_000];
    assert!(ours(&run).len() < 500, "{}", ours(&run).len());
    let mut rng = Rng::new(5);
    let noise = random_bytes(&mut rng, 10_000);
    let c = ours(&noise);
    assert!(c.len() <= 10_000 + 10_000 / 6 + 32);
    assert_eq!(decompress(&c).unwrap(), noise);
}

#[test]
fn exact_encodings_of_each_element() {
    // Literal lengths at the encoding boundaries: 60 (1 tag byte), 61 and 256
    // (60: one length byte), 257 and 65536 (61: two), 65537 (62: three).
    for (len, header) in [
        (60usize, vec![59 << 2]),
        (61, vec![60 << 2, 60]),
        (256, vec![60 << 2, 255]),
        (257, vec![61 << 2, 0, 1]),
        (65_536, vec![61 << 2, 255, 255]),
        (65_537, vec![62 << 2, 0, 0, 1]),
    ] {
        let mut out = Vec::new();
        let lit: Vec<u8> = (0..len).map(|i| i as u8).collect();
        emit_literal(&mut out, &lit);
        assert_eq!(&out[..header.len()], &header[..], "literal {len}");
        assert_eq!(out.len(), header.len() + len);
        // The fast path's writer gives the same bytes.
        let mut fast = vec![0u8; len + 5];
        // SAFETY: `fast` has room for the literal and its longest header.
        let used =
            unsafe { put_literal(fast.as_mut_ptr(), lit.as_ptr(), len).offset_from(fast.as_ptr()) };
        assert_eq!(&fast[..used as usize], &out[..], "fast literal {len}");
    }
    let copy = |off: usize, len: usize| {
        let mut out = vec![0u8; 3 * len.div_ceil(60) + 3];
        // SAFETY: room for 3 bytes per 60 of length, and more.
        let used = unsafe { put_copy(out.as_mut_ptr(), off, len).offset_from(out.as_ptr()) };
        out.truncate(used as usize);
        out
    };
    assert_eq!(copy(1, 4), [0b000_000_01, 1]);
    assert_eq!(copy(2047, 11), [0b111_111_01, 0xff]);
    assert_eq!(copy(2048, 11), [(10 << 2) | 2, 0x00, 0x08]);
    assert_eq!(copy(5, 12), [(11 << 2) | 2, 5, 0]);
    assert_eq!(copy(65_535, 64), [(63 << 2) | 2, 0xff, 0xff]);
    // 65..67 split as 60 + 5..7; 68 as 64 + 4.
    assert_eq!(copy(3, 66), [(59 << 2) | 2, 3, 0, 0b000_010_01, 3]);
    assert_eq!(copy(3, 68), [(63 << 2) | 2, 3, 0, 0b000_000_01, 3]);
    assert_eq!(copy(3, 200).len(), 3 + 3 + 3 + 2);
}

#[test]
fn structured_inputs_round_trip_and_match_snap_in_both_directions() {
    let mut rng = Rng::new(0x5eed_c0de);
    let mut saved = 0usize;
    for case in 0..700u64 {
        let input = structured_input(&mut rng, case);
        let c = ours(&input);
        assert!(c.len() <= max_compressed_len(input.len()));
        assert_eq!(
            decompress(&c).unwrap(),
            input,
            "case {case}: our round trip"
        );
        // (a) The reference decoder reads our output.
        let theirs = snap::raw::Decoder::new()
            .decompress_vec(&c)
            .unwrap_or_else(|e| panic!("case {case}: snap rejects our output: {e}"));
        assert_eq!(theirs, input, "case {case}: snap decodes our output");
        assert_eq!(
            snap::raw::decompress_len(&c).unwrap(),
            decompressed_len(&c).unwrap()
        );
        // (b) We read the reference encoder's output.
        let reference = snap::raw::Encoder::new().compress_vec(&input).unwrap();
        assert_eq!(
            decompress(&reference).unwrap(),
            input,
            "case {case}: we decode snap's output"
        );
        saved += input.len().saturating_sub(c.len());
    }
    assert!(saved > 0);
}

#[test]
fn random_inputs_match_snap() {
    let mut rng = Rng::new(77);
    for _ in 0..2000 {
        let n = rng.below(600) as usize;
        // Random bytes over a small alphabet, so that matches happen.
        let k = 1 + rng.below(255);
        let input: Vec<u8> = (0..n).map(|_| rng.below(k) as u8).collect();
        let c = ours(&input);
        assert_eq!(snap::raw::Decoder::new().decompress_vec(&c).unwrap(), input);
        let reference = snap::raw::Encoder::new().compress_vec(&input).unwrap();
        assert_eq!(decompress(&reference).unwrap(), input);
    }
}

/// The compressor's algorithm (module docs, steps 1–4) written plainly,
/// with checked slices and `Vec` pushes: what the fast `compress_body` must
/// match byte for byte (the TypeScript compressor writes the same bytes).
fn reference_compress(input: &[u8]) -> Vec<u8> {
    fn load32(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
    }
    fn copy2(out: &mut Vec<u8>, offset: usize, len: usize) {
        out.extend_from_slice(&[
            (((len - 1) as u8) << 2) | 2,
            offset as u8,
            (offset >> 8) as u8,
        ]);
    }
    let n = input.len();
    let mut out = Vec::new();
    crate::coding::put_varint32(&mut out, n as u32);
    if n < 4 {
        if n > 0 {
            emit_literal(&mut out, input);
        }
        return out;
    }
    let mut bits = 8;
    while bits < 14 && (1usize << bits) < n {
        bits += 1;
    }
    let mut table = vec![0usize; 1 << bits];
    let (mut ip, mut lit, mut skip) = (0usize, 0usize, 32usize);
    while ip + 4 <= n {
        let v = load32(input, ip);
        let h = (v.wrapping_mul(0x1E35_A7BD) >> (32 - bits)) as usize;
        let c = table[h];
        table[h] = ip;
        if c < ip && ip - c <= 65_535 && load32(input, c) == v {
            let mut len = 0;
            while ip + len < n && input[c + len] == input[ip + len] {
                len += 1;
            }
            if lit < ip {
                emit_literal(&mut out, &input[lit..ip]);
            }
            let (off, mut l) = (ip - c, len);
            while l >= 68 {
                copy2(&mut out, off, 64);
                l -= 64;
            }
            if l > 64 {
                copy2(&mut out, off, 60);
                l -= 60;
            }
            if l <= 11 && off < 2048 {
                out.extend_from_slice(&[
                    (((off >> 8) as u8) << 5) | (((l - 4) as u8) << 2) | 1,
                    off as u8,
                ]);
            } else {
                copy2(&mut out, off, l);
            }
            ip += len;
            lit = ip;
            skip = 32;
        } else {
            ip += skip >> 5;
            skip += 1;
        }
    }
    if lit < n {
        emit_literal(&mut out, &input[lit..]);
    }
    out
}

#[test]
fn fast_compressor_writes_the_reference_bytes() {
    let mut rng = Rng::new(0xfa57);
    for case in 0..700u64 {
        let input = structured_input(&mut rng, case);
        assert_eq!(ours(&input), reference_compress(&input), "case {case}");
    }
    for n in 0..300 {
        let k = 1 + rng.below(255);
        let input: Vec<u8> = (0..n).map(|_| rng.below(k) as u8).collect();
        assert_eq!(ours(&input), reference_compress(&input), "length {n}");
    }
}

#[test]
fn compression_is_deterministic() {
    let mut rng = Rng::new(9);
    for case in 0..50 {
        let input = structured_input(&mut rng, case);
        let mut a = vec![0xee];
        compress(&input, &mut a);
        assert_eq!(&a[1..], &ours(&input)[..], "appends after existing bytes");
    }
}

fn corrupt(input: &[u8]) -> String {
    match decompress(input) {
        Err(e @ Error::Corruption { .. }) => e.to_string(),
        other => panic!("{input:02x?}: expected corruption, got {other:?}"),
    }
}

#[test]
fn malformed_preambles() {
    assert!(corrupt(&[]).contains("preamble"));
    assert!(corrupt(&[0x80]).contains("preamble"), "truncated varint");
    assert!(
        corrupt(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).contains("preamble"),
        "6-byte varint"
    );
    assert!(
        corrupt(&[0xff, 0xff, 0xff, 0xff, 0x1f]).contains("preamble"),
        "varint32 overflow"
    );
    // Above the limit: rejected before looking at (or allocating for) the rest.
    let mut big = Vec::new();
    put_varint32(&mut big, (MAX_DECOMPRESSED_LEN + 1) as u32);
    big.extend(std::iter::repeat(0).take(1000));
    assert!(corrupt(&big).contains("limit"));
    assert!(decompressed_len(&big).is_err());
    // More output than the rest of the input could possibly encode (≤ 64/3 per byte).
    assert!(corrupt(&[100]).contains("can encode"));
    assert!(corrupt(&[43, 0b000_000_00, b'a']).contains("can encode"));
    let mut ok = vec![64];
    ok.extend_from_slice(&[0, b'a', (62 << 2) | 2, 1, 0, 0, 0, 0]);
    assert!(decompressed_len(&ok).is_ok());
}

#[test]
fn malformed_elements() {
    // Literal of 3 with only 2 bytes present.
    assert!(corrupt(&[3, 2 << 2, b'a', b'b']).contains("truncated"));
    // Literal length bytes missing (tag 61 needs two).
    assert!(corrupt(&[3, 61 << 2, 0]).contains("truncated"));
    assert!(corrupt(&[3, 60 << 2]).contains("truncated"));
    // Copies with their offset bytes cut off.
    assert!(corrupt(&[5, 0, b'a', 0b01]).contains("truncated"));
    assert!(corrupt(&[5, 0, b'a', 0b10, 1]).contains("truncated"));
    assert!(corrupt(&[5, 0, b'a', 0b11, 1, 0, 0]).contains("truncated"));
    // Offset 0, in each copy form.
    assert!(corrupt(&[5, 0, b'a', 0b01, 0]).contains("offset 0"));
    assert!(corrupt(&[5, 0, b'a', (3 << 2) | 2, 0, 0]).contains("offset 0"));
    assert!(corrupt(&[5, 0, b'a', (3 << 2) | 3, 0, 0, 0, 0]).contains("offset 0"));
    // Reaching before the start of the output (also: a copy first).
    assert!(corrupt(&[5, 0, b'a', 0b01, 2]).contains("back"));
    assert!(corrupt(&[4, 0b01, 1]).contains("back"));
    assert!(corrupt(&[5, 0, b'a', (3 << 2) | 3, 0, 0, 0, 1]).contains("back"));
    // Output longer than declared: by a literal, by a copy, by trailing elements.
    assert!(corrupt(&[2, 2 << 2, b'a', b'b', b'c']).contains("exceeds"));
    assert!(corrupt(&[4, 0, b'a', 0b01, 1]).contains("exceeds"));
    assert!(corrupt(&[1, 0, b'a', 0, b'b']).contains("exceeds"));
    // Shorter than declared.
    assert!(corrupt(&[5, 2 << 2, b'a', b'b', b'c']).contains("shorter"));
    assert!(corrupt(&[10, 0, b'a']).contains("shorter"));
    // The well-formed neighbours decode.
    assert_eq!(decompress(&[5, 0, b'a', 0b01, 1]).unwrap(), b"aaaaa");
    assert_eq!(decompress(&[0]).unwrap(), b"");
    assert_eq!(
        decompress(&[7, 2 << 2, b'a', b'b', b'c', (3 << 2) | 3, 2, 0, 0, 0]).unwrap(),
        b"abcbcbc"
    );
    // A wrong-sized output buffer is the caller's mistake, not corruption.
    let mut small = [0u8; 4];
    assert!(matches!(
        decompress_into(&[5, 0, b'a', 0b01, 1], &mut small),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn every_truncation_and_random_damage_is_an_error_never_a_panic() {
    let mut rng = Rng::new(3);
    for case in 0..60 {
        let mut input = structured_input(&mut rng, case);
        input.truncate(3000);
        let c = ours(&input);
        for cut in 0..c.len() {
            assert!(
                decompress(&c[..cut]).unwrap_err().is_corruption(),
                "cut {cut}"
            );
        }
        for _ in 0..200 {
            let mut bad = c.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bad.len() as u64) as usize;
                bad[at] = rng.next() as u8;
            }
            if let Ok(out) = decompress(&bad) {
                assert_eq!(out.len(), decompressed_len(&bad).unwrap());
            }
        }
    }
    for _ in 0..20_000 {
        let n = rng.below(40) as usize;
        let junk = random_bytes(&mut rng, n);
        let _ = decompress(&junk);
    }
}

/// `cargo test --release -p lsm-core snappy_throughput -- --ignored --nocapture`
///
/// Real data blocks of the bench's data: 16-byte decimal keys (as internal
/// keys), 100-byte values of 50 random bytes then one byte repeated 50 times,
/// cut at 2 KiB like a table's data blocks.
#[test]
#[ignore]
fn snappy_throughput() {
    use crate::block::BlockBuilder;
    use crate::key::{make_internal_key, Kind};
    use std::time::Instant;
    let mut rng = Rng::new(1);
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut b = BlockBuilder::new(16);
    for i in 0..400_000u64 {
        let key = make_internal_key(format!("{i:016}").as_bytes(), i + 1, Kind::Put);
        let mut value = random_bytes(&mut rng, 50);
        let fill = b'a' + rng.below(26) as u8;
        value.extend(std::iter::repeat(fill).take(50));
        b.add(&key, &value);
        if b.estimated_size() >= 2048 {
            blocks.push(b.finish());
        }
    }
    let raw: usize = blocks.iter().map(Vec::len).sum();
    let mb = raw as f64 / 1e6;
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let mut out = Vec::new();
    let mut stored = 0usize;
    let compressed: Vec<Vec<u8>> = blocks
        .iter()
        .map(|b| {
            let mut c = Vec::new();
            compress(b, &mut c);
            stored += if crate::table::worth_compressing(b.len(), c.len()) {
                c.len()
            } else {
                b.len()
            };
            c
        })
        .collect();
    let c = best(&mut || {
        for b in &blocks {
            out.clear();
            compress(b, &mut out);
            std::hint::black_box(&out);
        }
    });
    let d = best(&mut || {
        for c in &compressed {
            std::hint::black_box(decompress(c).unwrap());
        }
    });
    let mut enc = snap::raw::Encoder::new();
    let mut dec = snap::raw::Decoder::new();
    let theirs: Vec<Vec<u8>> = blocks
        .iter()
        .map(|b| enc.compress_vec(b).unwrap())
        .collect();
    let sc = best(&mut || {
        for b in &blocks {
            std::hint::black_box(enc.compress_vec(b).unwrap());
        }
    });
    let sd = best(&mut || {
        for c in &theirs {
            std::hint::black_box(dec.decompress_vec(c).unwrap());
        }
    });
    let theirs_len: usize = theirs.iter().map(Vec::len).sum();
    println!(
        "{} data blocks, {mb:.1} MB: stored/raw {:.3} (ours, with the 1/8 rule), {:.3} (snap crate, all blocks)",
        blocks.len(),
        stored as f64 / raw as f64,
        theirs_len as f64 / raw as f64
    );
    println!(
        "ours: compress {:.0} MB/s, decompress {:.0} MB/s; snap crate: compress {:.0} MB/s, decompress {:.0} MB/s",
        mb / c,
        mb / d,
        mb / sc,
        mb / sd
    );
}

/// Copies and runs taken by the wide (64-byte) paths of the decoder, with
/// room after them: an overlapping copy (offset 20, length 50) must repeat
/// its period exactly, and a run (offset 1) must repeat its byte.
#[test]
fn wide_copies_repeat_their_period() {
    let tail: Vec<u8> = (100..170).collect();
    let literal70 = |s: &mut Vec<u8>| {
        s.extend_from_slice(&[60 << 2, 69]);
        s.extend_from_slice(&tail);
    };
    // 20-byte literal, copy(offset 20, len 50), 70-byte literal.
    let mut s = vec![140, 1, 19 << 2];
    s.extend(0u8..20);
    s.extend_from_slice(&[(49 << 2) | 2, 20, 0]);
    literal70(&mut s);
    let mut want: Vec<u8> = (0..70).map(|i| (i % 20) as u8).collect();
    want.extend_from_slice(&tail);
    assert_eq!(decompress(&s).unwrap(), want);
    // 1-byte literal, copy(offset 1, len 40), 70-byte literal.
    let mut s = vec![111, 0, b'x', (39 << 2) | 2, 1, 0];
    literal70(&mut s);
    let mut want = vec![b'x'; 41];
    want.extend_from_slice(&tail);
    assert_eq!(decompress(&s).unwrap(), want);
    // A 50-byte literal then a copy of it (offset 50, len 64).
    let mut s = vec![0, 49 << 2];
    let lit: Vec<u8> = (0..50).map(|i| (i * 7) as u8).collect();
    s.extend_from_slice(&lit);
    s.extend_from_slice(&[(63 << 2) | 2, 50, 0]);
    literal70(&mut s);
    let n = 50 + 64 + 70;
    s[0] = (n & 0x7f) as u8 | 0x80;
    s.insert(1, (n >> 7) as u8);
    let mut want = lit.clone();
    want.extend((0..64).map(|i| lit[i % 50]));
    want.extend_from_slice(&tail);
    assert_eq!(decompress(&s).unwrap(), want);
}

/// Copies with a short period (offsets 1 to 17) of every length, once with
/// room after them (the decoder's 16-byte moves) and once at the very end of
/// the output (its exact path): each must repeat its period exactly.
#[test]
fn short_period_copies_repeat_their_period() {
    let tail: Vec<u8> = (100..170).collect();
    for offset in 1..=17usize {
        for len in 4..=64usize {
            for room in [true, false] {
                let lit: Vec<u8> = (0..offset).map(|i| (i * 37 + 11) as u8).collect();
                let n = offset + len + if room { tail.len() } else { 0 };
                let mut s = Vec::new();
                let mut m = n;
                while m >= 0x80 {
                    s.push((m & 0x7f) as u8 | 0x80);
                    m >>= 7;
                }
                s.push(m as u8);
                s.push(((offset - 1) << 2) as u8);
                s.extend_from_slice(&lit);
                s.extend_from_slice(&[(((len - 1) << 2) | 2) as u8, offset as u8, 0]);
                if room {
                    s.extend_from_slice(&[60 << 2, (tail.len() - 1) as u8]);
                    s.extend_from_slice(&tail);
                }
                let mut want = lit.clone();
                want.extend((0..len).map(|i| lit[i % offset]));
                if room {
                    want.extend_from_slice(&tail);
                }
                assert_eq!(
                    decompress(&s).unwrap(),
                    want,
                    "offset {offset}, len {len}, room {room}"
                );
            }
        }
    }
}
