//! Tests of block building and reading together: round trips, seeks, and
//! damaged blocks that must yield corruption rather than panics.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{Block, BlockBuilder, BlockIter};
use crate::error::Result;
use crate::iter::{collect_backward, collect_forward, KvIter};
use crate::key::{compare_internal, make_internal_key, Kind};

fn entries(n: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                make_internal_key(format!("key{:05}", i * 2).as_bytes(), 100, Kind::Put),
                format!("v{i}").into_bytes(),
            )
        })
        .collect()
}

fn build(entries: &[(Vec<u8>, Vec<u8>)], interval: usize) -> Block {
    let mut b = BlockBuilder::new(interval);
    for (k, v) in entries {
        b.add(k, v);
    }
    Block::from_vec(b.finish()).unwrap()
}

#[test]
fn forward_and_backward_return_everything() {
    for interval in [1, 2, 3, 16] {
        for n in [1u32, 2, 15, 16, 17, 100] {
            let es = entries(n);
            let block = build(&es, interval);
            let mut it = block.iter();
            it.seek_to_first().unwrap();
            assert_eq!(collect_forward(&mut it).unwrap(), es);
            it.seek_to_last().unwrap();
            let mut back = collect_backward(&mut it).unwrap();
            back.reverse();
            assert_eq!(back, es, "interval {interval} n {n}");
        }
    }
}

#[test]
fn seek_finds_first_key_at_or_after_target() {
    let es = entries(50);
    let block = build(&es, 4);
    let mut it = block.iter();
    for i in 0..=100u32 {
        let target = make_internal_key(format!("key{i:05}").as_bytes(), 100, Kind::Put);
        it.seek(&target).unwrap();
        let expected = es
            .iter()
            .find(|(k, _)| compare_internal(k, &target) != Ordering::Less);
        match expected {
            Some((k, v)) => {
                assert_eq!((it.key(), it.value()), (&k[..], &v[..]), "target {i}");
            }
            None => assert!(!it.valid()),
        }
    }
    // Seek then step both ways.
    it.seek(&es[10].0).unwrap();
    it.prev().unwrap();
    assert_eq!(it.key(), &es[9].0[..]);
    it.next().unwrap();
    it.next().unwrap();
    assert_eq!(it.key(), &es[11].0[..]);
    it.seek(&es[0].0).unwrap();
    it.prev().unwrap();
    assert!(!it.valid());
    assert_eq!((it.key(), it.value()), (&b""[..], &b""[..]));
}

#[test]
fn restart_array_validation() {
    let good = build(&entries(20), 4);
    let bytes = good.contents().to_vec();
    assert!(Block::from_vec(vec![]).is_err());
    assert!(Block::from_vec(vec![0, 0, 0, 0]).is_err(), "count 0");
    // An empty entry area is well-formed and holds nothing.
    let empty = Block::from_vec(vec![0, 0, 0, 0, 1, 0, 0, 0]).unwrap();
    let mut it = empty.iter();
    it.seek_to_first().unwrap();
    assert!(!it.valid());
    it.seek_to_last().unwrap();
    assert!(!it.valid());
    it.seek(b"anything").unwrap();
    assert!(!it.valid());
    let n = bytes.len();
    let mut too_many = bytes.clone();
    too_many[n - 4..].copy_from_slice(&1000u32.to_le_bytes());
    assert!(Block::from_vec(too_many).is_err());
    let mut first_nonzero = bytes.clone();
    let first_at = n - 4 - 4 * good.num_restarts();
    first_nonzero[first_at] = 1;
    assert!(Block::from_vec(first_nonzero).is_err());
    let mut unordered = bytes.clone();
    unordered[first_at + 4..first_at + 8].copy_from_slice(&0u32.to_le_bytes());
    assert!(Block::from_vec(unordered).is_err());
    assert!(Block::new(Arc::from(bytes.clone()), 0..n + 1).is_err());
}

#[test]
fn damaged_entries_are_corruption_not_panics() {
    let es = entries(40);
    let good = build(&es, 4).contents().to_vec();
    let restarts_at = good.len() - 4 - 4 * 10;
    // Flip every byte of the entry area in turn; nothing may panic, and any
    // error must be corruption.
    for i in 0..restarts_at {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            let Ok(block) = Block::from_vec(bad) else {
                continue;
            };
            let mut it = block.iter();
            let walk = |it: &mut BlockIter| -> Result<()> {
                it.seek_to_first()?;
                collect_forward(it)?;
                it.seek_to_last()?;
                collect_backward(it)?;
                it.seek(&es[17].0)?;
                Ok(())
            };
            if let Err(e) = walk(&mut it) {
                assert!(e.is_corruption());
                assert!(!it.valid());
            }
        }
    }
}

#[test]
fn shared_longer_than_previous_key_is_corruption() {
    // First entry claims to share 3 bytes with an empty key.
    let mut raw = vec![3, 1, 0, b'x'];
    raw.extend_from_slice(&0u32.to_le_bytes());
    raw.extend_from_slice(&1u32.to_le_bytes());
    let block = Block::from_vec(raw).unwrap();
    let mut it = block.iter_with(|a, b| a.cmp(b));
    let e = it.seek_to_first().unwrap_err();
    assert!(e.to_string().contains("block entry at 0"), "{e}");
    assert!(it.seek(b"x").is_err());
}

#[test]
fn bytewise_comparator_for_plain_keys() {
    let mut b = BlockBuilder::new(2);
    for k in ["a", "b", "c", "d", "e"] {
        b.add(k.as_bytes(), k.as_bytes());
    }
    let block = Block::from_vec(b.finish()).unwrap();
    let mut it = block.iter_with(|a, b| a.cmp(b));
    it.seek(b"bb").unwrap();
    assert_eq!(it.key(), b"c");
    it.seek(b"z").unwrap();
    assert!(!it.valid());
    it.seek_to_last().unwrap();
    assert_eq!(it.value(), b"e");
}

/// Random walks of `next`, `prev` and seeks against the entry list: backward
/// steps served from the decoded-interval cache must match plain decoding,
/// also after changes of direction and seeks into other intervals.
#[test]
fn random_walks_match_the_entry_list() {
    let mut rng = crate::testutil::Rng::new(7);
    for interval in [1, 2, 3, 5, 16] {
        for n in [1u32, 2, 16, 17, 40] {
            let es = entries(n);
            let block = build(&es, interval);
            let mut it = block.iter();
            let mut at: Option<usize> = None;
            for step in 0..400 {
                match rng.below(10) {
                    0 => {
                        it.seek_to_first().unwrap();
                        at = Some(0);
                    }
                    1 => {
                        it.seek_to_last().unwrap();
                        at = Some(es.len() - 1);
                    }
                    2 => {
                        let i = rng.below(u64::from(n)) as usize;
                        it.seek(&es[i].0).unwrap();
                        at = Some(i);
                    }
                    3..=4 => {
                        it.next().unwrap();
                        at = at.and_then(|i| (i + 1 < es.len()).then_some(i + 1));
                    }
                    _ => {
                        it.prev().unwrap();
                        at = at.and_then(|i| i.checked_sub(1));
                    }
                }
                match at {
                    Some(i) => assert_eq!(
                        (it.key(), it.value()),
                        (&es[i].0[..], &es[i].1[..]),
                        "interval {interval} n {n} step {step}"
                    ),
                    None => assert!(!it.valid(), "interval {interval} n {n} step {step}"),
                }
                if at.is_none() {
                    it.seek_to_last().unwrap();
                    at = Some(es.len() - 1);
                }
            }
        }
    }
}
