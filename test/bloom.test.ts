import test from 'ava'
import fc from 'fast-check'
import { bloomMayContain, bloomMayContainHash, bloomProbes, buildBloom, murmur3 } from '../ts/core/ts/bloom.js'

const enc = (s: string) => new TextEncoder().encode(s)

test('murmur3 x86_32 matches published values', t => {
  t.is(murmur3(new Uint8Array(0), 0), 0)
  t.is(murmur3(new Uint8Array(0), 1), 0x514e28b7)
  t.is(murmur3(enc('test'), 0x9747b28c), 0x704b81dc)
  t.is(murmur3(enc('Hello, world!'), 0x9747b28c), 0x24884cba)
  t.is(murmur3(enc('The quick brown fox jumps over the lazy dog'), 0x9747b28c), 0x2fa826cd)
  t.is(murmur3(enc('abc'), 0), 0xb3dd93fa)
})

test('filter size and probe count follow FORMAT.md', t => {
  t.is(bloomProbes(10), 6)
  t.is(bloomProbes(1), 1)
  t.is(bloomProbes(100), 30)
  const f = buildBloom([enc('a')], 10)
  t.is(f.length, 8 + 1, 'minimum 64 bits')
  t.is(f[8], 6)
  const g = buildBloom(Array.from({ length: 100 }, (_, i) => enc(`k${i}`)), 10)
  t.is(g.length, 125 + 1)
  // Duplicates do not change the filter.
  t.deepEqual(buildBloom([enc('x'), enc('y'), enc('x')]), buildBloom([enc('y'), enc('x')]))
})

test('no false negatives (property)', t => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 200 }), fc.integer({ min: 1, max: 20 }), (keys, bpk) => {
    const f = buildBloom(keys, bpk)
    for (const k of keys) t.true(bloomMayContain(f, k))
  }), { numRuns: 200 })
})

test('a probe with the key\'s hash answers as a probe with the key (property)', t => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 100 }), fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 100 }), fc.integer({ min: 1, max: 20 }), (keys, probes, bpk) => {
    const f = buildBloom(keys, bpk)
    for (const k of [...keys, ...probes]) t.is(bloomMayContainHash(f, murmur3(k)), bloomMayContain(f, k))
  }), { numRuns: 200 })
})

test('false-positive rate at 10 bits per key is at most 1.5 %', t => {
  const n = 10_000
  const keys = Array.from({ length: n }, (_, i) => enc(`present-${i}`))
  const f = buildBloom(keys, 10)
  let fp = 0
  const probes = 100_000
  for (let i = 0; i < probes; i++) if (bloomMayContain(f, enc(`absent-${i}`))) fp++
  const rate = fp / probes
  t.log(`false-positive rate ${(rate * 100).toFixed(3)} %`)
  t.true(rate <= 0.015, `rate ${rate}`)
  t.true(rate > 0, 'a bloom filter this small must have some false positives')
})

test('a filter with an out-of-range probe count never says absent', t => {
  const f = buildBloom([enc('a')], 10)
  f[f.length - 1] = 0
  t.true(bloomMayContain(f, enc('zzz')))
  t.true(bloomMayContain(new Uint8Array(0), enc('zzz')))
})
