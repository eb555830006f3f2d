import test from 'ava'
import fc from 'fast-check'
import { crc32c, crc32cRange, maskCrc, mcrc, unmaskCrc } from '../ts/core/ts/crc32c.js'

const enc = (s: string) => new TextEncoder().encode(s)

test('crc32c known values (RFC 3720 test vectors)', t => {
  t.is(crc32c(enc('123456789')), 0xe3069283)
  t.is(crc32c(new Uint8Array(0)), 0)
  t.is(crc32c(new Uint8Array(32)), 0x8a9136aa)
  t.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43)
  t.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e)
  t.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c)
})

/** Bit-at-a-time reference implementation, to check the sliced one. */
function slowCrc(data: Uint8Array): number {
  let c = 0xffffffff
  for (const b of data) {
    c ^= b
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}

test('property: sliced crc32c equals the bitwise reference and extends', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 50 }), (a, b) => {
    t.is(crc32c(a), slowCrc(a))
    const ab = new Uint8Array(a.length + b.length)
    ab.set(a)
    ab.set(b, a.length)
    t.is(crc32c(b, crc32c(a)), crc32c(ab))
  }), { numRuns: 300 })
})

test('mask is invertible and changes the value', t => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), c => {
    t.is(unmaskCrc(maskCrc(c)), c)
    t.not(maskCrc(c), c)
  }))
  t.is(mcrc(enc('123456789')), maskCrc(0xe3069283))
})

/** The previous slicing-by-8 implementation, kept to check the slicing-by-16 one against. */
const SLICE8: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256))
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[0]![i] = c >>> 0
  }
  for (let i = 0; i < 256; i++) {
    let c = t[0]![i]!
    for (let k = 1; k < 8; k++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8)
      t[k]![i] = c >>> 0
    }
  }
  return t
})()
function slice8Crc(data: Uint8Array, crc = 0): number {
  const [T0, T1, T2, T3, T4, T5, T6, T7] = SLICE8 as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array]
  let c = ~crc >>> 0
  let i = 0
  const n = data.length
  const end8 = n - (n % 8)
  while (i < end8) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    c = T7[c & 0xff]! ^ T6[(c >>> 8) & 0xff]! ^ T5[(c >>> 16) & 0xff]! ^ T4[c >>> 24]! ^
      T3[data[i + 4]!]! ^ T2[data[i + 5]!]! ^ T1[data[i + 6]!]! ^ T0[data[i + 7]!]!
    i += 8
  }
  while (i < n) c = T0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

test('crc32c known values over long inputs (slicing-by-16 path)', t => {
  // RFC 3720 B.4 vectors repeated, checked against the bitwise reference; and a 4 KiB block.
  const long = new Uint8Array(4096 + 13).map((_, i) => (i * 167 + 13) & 0xff)
  t.is(crc32c(long), slowCrc(long))
  t.is(crc32c(new Uint8Array(48)), slowCrc(new Uint8Array(48)))
  t.is(crc32c(enc('123456789'.repeat(7))), slowCrc(enc('123456789'.repeat(7))))
})

test('property: slicing-by-16 crc32c equals the previous slicing-by-8 one on random inputs, seeds and ranges', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 5000, size: 'max' }), fc.integer({ min: 0, max: 0xffffffff }), fc.nat(), fc.nat(), (data, seed, a, b) => {
    t.is(crc32c(data), slice8Crc(data))
    t.is(crc32c(data, seed), slice8Crc(data, seed))
    const from = a % (data.length + 1)
    const to = from + (b % (data.length - from + 1))
    t.is(crc32c(data.subarray(from, to), seed), slice8Crc(data.subarray(from, to), seed))
    // A range of a view that starts inside its buffer (word loads at any alignment).
    const view = data.subarray(Math.min(3, data.length))
    const f = from % (view.length + 1)
    t.is(crc32cRange(view, f, view.length, seed), slice8Crc(view.subarray(f), seed))
  }), { numRuns: 300 })
})

test('property: crc32cRange gives the same answer whatever buffer, offset and alignment the bytes lie at', t => {
  // The word loop reads the underlying buffer through one cached Int32Array view:
  // switching between buffers (plain, shared, pooled Node Buffers, odd lengths,
  // one that grows) must never reuse a stale view.
  const resizable = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(64, { maxByteLength: 8192 })
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3000, size: 'max' }), fc.nat(7), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (data, pad, a, b, seed) => {
    const n = data.length
    const from = a % (n + 1)
    const to = from + (b % (n - from + 1))
    const want = slowCrcRange(data, from, to, seed)
    const odd = new Uint8Array(new ArrayBuffer(pad + n + (pad & 3)), pad, n)
    odd.set(data)
    const shared = new Uint8Array(new SharedArrayBuffer(pad + n + 4), pad, n)
    shared.set(data)
    const pooled = Buffer.from(data)
    const grown = resizable as ArrayBuffer & { resize(n: number): void }
    grown.resize(Math.min(8192, pad + n + 1))
    const inResizable = pad + n <= 8192 ? new Uint8Array(grown, pad, n) : odd
    inResizable.set(data)
    for (const v of [data, odd, shared, pooled, inResizable]) t.is(crc32cRange(v, from, to, seed), want)
    // The same buffer again, grown: the bytes now lie past the end of the last view of it.
    grown.resize(8192)
    const past = new Uint8Array(grown, 8192 - n, n)
    past.set(data)
    t.is(crc32cRange(past, from, to, seed), want)
    t.is(crc32cRange(odd, from, to, seed), want)
  }), { numRuns: 300 })
})

/** Bitwise CRC-32C of `data[from..to)` extending `crc`: the reference, no tables. */
function slowCrcRange(data: Uint8Array, from: number, to: number, crc: number): number {
  let c = ~crc >>> 0
  for (let i = from; i < to; i++) {
    c ^= data[i]!
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return ~c >>> 0
}
