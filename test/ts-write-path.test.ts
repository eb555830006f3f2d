/**
 * The pure-TS write path's helpers: the bloom filter built from key hashes as
 * keys are added, murmur3 over a range, and the memtable's inline key words.
 */
import test from 'ava'
import fc from 'fast-check'
import { buildBloomDistinct, buildBloomFromHashes, bloomMayContain, murmur3, murmur3At } from '../ts/core/ts/bloom.js'
import { compareInternalKeys, Kind, makeInternalKey, seqOf, userKeyOf } from '../ts/core/ts/internal-key.js'
import { Memtable } from '../ts/core/ts/memtable.js'

test('property: murmur3At equals murmur3 of the range', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (data, a, b, seed) => {
    const off = a % (data.length + 1)
    const n = b % (data.length - off + 1)
    t.is(murmur3At(data, off, n), murmur3(data.subarray(off, off + n)))
    t.is(murmur3At(data, off, n, seed), murmur3(data.subarray(off, off + n), seed))
  }))
})

test('property: a filter built from hashes has the bytes of one built from the keys', t => {
  fc.assert(fc.property(fc.uniqueArray(fc.uint8Array({ maxLength: 24 }), { maxLength: 300, selector: k => Buffer.from(k).toString('hex') }), fc.integer({ min: 1, max: 64 }), (keys, bitsPerKey) => {
    // Extra capacity past `count` must be ignored.
    const hashes = new Uint32Array(keys.length + 5).fill(0xdeadbeef)
    keys.forEach((k, i) => { hashes[i] = murmur3(k) })
    const filter = buildBloomFromHashes(hashes, keys.length, bitsPerKey)
    t.deepEqual(filter, buildBloomDistinct(keys, bitsPerKey))
    for (const k of keys) t.true(bloomMayContain(filter, k))
  }))
})

/** The filter of the format as first written (`%` on doubles), to check the integer remainder against. */
function referenceBloom(keys: Uint8Array[], bitsPerKey: number): Uint8Array {
  const k = Math.min(30, Math.max(1, Math.floor(bitsPerKey * 0.69)))
  const bytes = Math.ceil(Math.max(64, keys.length * bitsPerKey) / 8)
  const totalBits = bytes * 8
  const out = new Uint8Array(bytes + 1)
  for (const key of keys) {
    let h = murmur3(key)
    const delta = ((h >>> 17) | (h << 15)) >>> 0
    for (let j = 0; j < k; j++) {
      const b = h % totalBits
      out[b >>> 3]! |= 1 << (b & 7)
      h = (h + delta) >>> 0
    }
  }
  out[bytes] = k
  return out
}

test('property: filters match the reference built with floating-point remainders, and probes agree', t => {
  fc.assert(fc.property(fc.uniqueArray(fc.uint8Array({ maxLength: 24 }), { maxLength: 2000, selector: k => Buffer.from(k).toString('hex') }), fc.integer({ min: 1, max: 64 }), fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 50 }), (keys, bitsPerKey, probes) => {
    const filter = buildBloomDistinct(keys, bitsPerKey)
    const ref = referenceBloom(keys, bitsPerKey)
    t.deepEqual(filter, ref)
    for (const p of probes) {
      // Reference probe with `%`.
      const bytes = ref.length - 1
      const totalBits = bytes * 8
      let h = murmur3(p)
      const delta = ((h >>> 17) | (h << 15)) >>> 0
      let may = true
      for (let j = 0; j < ref[bytes]!; j++) {
        const b = h % totalBits
        if ((ref[b >>> 3]! & (1 << (b & 7))) === 0) { may = false; break }
        h = (h + delta) >>> 0
      }
      t.is(bloomMayContain(filter, p), may)
    }
  }), { numRuns: 60 })
})

test('property: memtable order and lookups around the 16 key bytes held in each record', t => {
  // Lengths 0..24 over a tiny alphabet: ties in all four inline words, prefix-of relations, zero padding.
  // A shared base of 0..16 bytes (few choices, so many keys agree on it) and a short random tail.
  const base = fc.constantFrom(...[0, 3, 4, 8, 12, 15, 16].map(n => new Uint8Array(n).fill(0x30)))
  const keyArb = fc.tuple(base, fc.uint8Array({ maxLength: 8, min: 0, max: 1 }), fc.boolean()).map(([b, tail, high]) => {
    const k = new Uint8Array(b.length + tail.length)
    k.set(b)
    k.set(high ? tail.map(x => x * 0xff) : tail, b.length)
    return k
  })
  fc.assert(fc.property(fc.array(fc.record({ key: keyArb, kind: fc.constantFrom(Kind.Put, Kind.Delete) }), { maxLength: 150 }), fc.array(keyArb, { maxLength: 20 }), (ops, probes) => {
    const m = new Memtable()
    const model: Uint8Array[] = []
    ops.forEach((op, i) => {
      m.add(i + 1, op.kind, op.key, new Uint8Array([i & 0xff]))
      model.push(makeInternalKey(op.key, i + 1, op.kind))
    })
    model.sort(compareInternalKeys)
    const seen: Uint8Array[] = []
    const it = m.iterator()
    for (it.seekToFirst(); it.valid(); it.next()) seen.push(it.key().slice())
    t.deepEqual(seen, model)
    for (const p of [...probes, ...ops.slice(0, 10).map(o => o.key)]) {
      const r = m.get(p, ops.length + 1)
      // Newest version of p: the first model entry with p's user key.
      const newest = model.find(k => Buffer.compare(userKeyOf(k), p) === 0)
      t.is(r.found, newest !== undefined)
      if (r.found && newest !== undefined) t.is(r.seq, seqOf(newest))
    }
  }))
})
