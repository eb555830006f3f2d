import test from 'ava'
import fc from 'fast-check'
import { crc32c, maskCrc, mcrc, unmaskCrc } from '../ts/core/ts/crc32c.js'

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
