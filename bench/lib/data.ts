/**
 * Benchmark data, generated before any timing starts and identical for every
 * engine (seeded PRNG): 16-byte decimal keys, 100-byte values (50 random
 * bytes + 50 repeated bytes, so about half compressible), and the operation
 * orders of each workload.
 */

export const KEY_BYTES = 16
export const VALUE_BYTES = 100
/** Distinct values generated; larger N reuse them cyclically (only --scale). */
export const VALUE_POOL_MAX = 1 << 20

/** A small seeded PRNG (mulberry32): fast, deterministic, good enough for shuffles. */
export function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/** Writes `i` as zero-padded decimal into `buf[off, off+width)`; `suffix` replaces the last digit. */
function writeDecimal(buf: Buffer, off: number, width: number, i: number): void {
  for (let p = off + width - 1; p >= off; p--) {
    buf[p] = 0x30 + (i % 10)
    i = Math.floor(i / 10)
  }
}

/** Key i: the 16-digit zero-padded decimal of i (like db_bench). */
export function makeKeys(n: number): Buffer[] {
  const flat = Buffer.allocUnsafe(n * KEY_BYTES)
  const keys = new Array<Buffer>(n)
  for (let i = 0; i < n; i++) {
    writeDecimal(flat, i * KEY_BYTES, KEY_BYTES, i)
    keys[i] = flat.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES)
  }
  return keys
}

/**
 * Missing key i: 15 digits of i then '.', so it sorts between present keys
 * (inside the key range, not beyond it) and is never equal to one.
 */
export function makeMissingKeys(n: number): Buffer[] {
  const flat = Buffer.allocUnsafe(n * KEY_BYTES)
  const keys = new Array<Buffer>(n)
  for (let i = 0; i < n; i++) {
    writeDecimal(flat, i * KEY_BYTES, KEY_BYTES - 1, i)
    flat[i * KEY_BYTES + KEY_BYTES - 1] = 0x2e
    keys[i] = flat.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES)
  }
  return keys
}

/** `count` distinct values: 50 random bytes, then one random byte repeated 50 times. */
export function makeValues(count: number, rand: () => number): Buffer[] {
  const half = VALUE_BYTES / 2
  const flat = Buffer.allocUnsafe(count * VALUE_BYTES)
  const values = new Array<Buffer>(count)
  for (let i = 0; i < count; i++) {
    const off = i * VALUE_BYTES
    for (let j = 0; j < half; j += 4) {
      const r = rand()
      flat[off + j] = r & 0xff
      flat[off + j + 1] = (r >>> 8) & 0xff
      if (j + 2 < half) flat[off + j + 2] = (r >>> 16) & 0xff
      if (j + 3 < half) flat[off + j + 3] = r >>> 24
    }
    flat.fill(0x61 + (rand() % 26), off + half, off + VALUE_BYTES)
    values[i] = flat.subarray(off, off + VALUE_BYTES)
  }
  return values
}

/** A random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rand: () => number): Uint32Array {
  const p = new Uint32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = rand() % (i + 1)
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}

/** `count` indices drawn uniformly (with replacement) from 0..range-1. */
export function uniform(count: number, range: number, rand: () => number): Uint32Array {
  const a = new Uint32Array(count)
  for (let i = 0; i < count; i++) a[i] = rand() % range
  return a
}
