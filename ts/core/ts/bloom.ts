/**
 * Bloom filter over user keys (docs/FORMAT.md §4.3). One filter per table:
 * a point read that misses the filter never touches the table's blocks.
 * Probing uses double hashing from a single 32-bit MurmurHash3, which keeps
 * the false-positive rate near the theoretical one (≈0.8 % at 10 bits/key)
 * for one hash computation per key.
 */

const SEED = 0xbc9f1d34

/** MurmurHash3, x86 32-bit variant. */
export function murmur3(key: Uint8Array, seed = SEED): number {
  return murmur3At(key, 0, key.length, seed)
}

/** {@link murmur3} of `buf[off..off+n)`, without a view of it. */
export function murmur3At(buf: Uint8Array, off: number, n: number, seed = SEED): number {
  const key = buf
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  let h = seed >>> 0
  const blocks = off + n - (n & 3)
  let i = off
  for (; i < blocks; i += 4) {
    let k = key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  let k = 0
  switch (n & 3) {
    case 3:
      k ^= key[i + 2]! << 16
    // falls through
    case 2:
      k ^= key[i + 1]! << 8
    // falls through
    case 1:
      k ^= key[i]!
      k = Math.imul(k, c1)
      k = (k << 15) | (k >>> 17)
      k = Math.imul(k, c2)
      h ^= k
  }
  h ^= n
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Number of probes for a given bits-per-key budget. */
export function bloomProbes(bitsPerKey: number): number {
  return Math.min(30, Math.max(1, Math.floor(bitsPerKey * 0.69)))
}

/**
 * Builds a filter from keys. Duplicates are removed first so that the filter's
 * size (and bytes) depend only on the set of keys, as the format requires.
 */
export function buildBloom(keys: Iterable<Uint8Array>, bitsPerKey = 10): Uint8Array {
  const distinct = new Map<string, Uint8Array>()
  for (const k of keys) distinct.set(Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1'), k)
  return buildBloomDistinct([...distinct.values()], bitsPerKey)
}

/** Builds a filter from keys the caller knows to be distinct. */
export function buildBloomDistinct(keys: readonly Uint8Array[], bitsPerKey = 10): Uint8Array {
  const hashes = new Uint32Array(keys.length)
  for (let i = 0; i < keys.length; i++) hashes[i] = murmur3(keys[i]!)
  return buildBloomFromHashes(hashes, keys.length, bitsPerKey)
}

/**
 * Builds a filter from the {@link murmur3} hashes of distinct keys,
 * `hashes[0..count)`: the same bytes as {@link buildBloomDistinct} of the keys.
 * The table builder hashes each key as it is added, so it keeps no key views.
 */
export function buildBloomFromHashes(hashes: Uint32Array, count: number, bitsPerKey = 10): Uint8Array {
  if (!(bitsPerKey >= 1 && bitsPerKey <= 64)) throw new RangeError('bitsPerKey must be in 1..64')
  const k = bloomProbes(bitsPerKey)
  const bits = Math.max(64, count * bitsPerKey)
  const bytes = Math.ceil(bits / 8)
  const totalBits = bytes * 8
  const out = new Uint8Array(bytes + 1)
  for (let i = 0; i < count; i++) {
    let h = hashes[i]!
    const delta = ((h >>> 17) | (h << 15)) >>> 0
    for (let j = 0; j < k; j++) {
      const b = mod(h, totalBits)
      out[b >>> 3]! |= 1 << (b & 7)
      h = (h + delta) >>> 0
    }
  }
  out[bytes] = k
  return out
}

/**
 * `h % m` for integers `0 ≤ h, m < 2^32` without a floating-point remainder
 * (a library call in V8): the quotient `h / m` rounded to a double never
 * reaches the next integer (its error is below `1/m`), so its floor is exact,
 * and so is the product and difference.
 */
function mod(h: number, m: number): number {
  return h - Math.floor(h / m) * m
}

/** True when `key` may be in the set the filter was built from; false means certainly not. */
export function bloomMayContain(filter: Uint8Array, key: Uint8Array): boolean {
  return bloomMayContainHash(filter, murmur3(key))
}

/**
 * {@link bloomMayContain} for a key whose {@link murmur3} is `hash`: a read
 * that checks several tables' filters hashes its key once.
 */
export function bloomMayContainHash(filter: Uint8Array, hash: number): boolean {
  if (filter.length < 2) return true
  const bytes = filter.length - 1
  const k = filter[bytes]!
  if (k < 1 || k > 30) return true
  const totalBits = bytes * 8
  let h = hash >>> 0
  const delta = ((h >>> 17) | (h << 15)) >>> 0
  for (let j = 0; j < k; j++) {
    const b = mod(h, totalBits)
    if ((filter[b >>> 3]! & (1 << (b & 7))) === 0) return false
    h = (h + delta) >>> 0
  }
  return true
}
