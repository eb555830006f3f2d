import test from 'ava'
import fc from 'fast-check'
import assert from 'node:assert/strict'
import { compareInternalKeys, Kind, makeInternalKey, MAX_SEQUENCE } from '../ts/core/ts/internal-key.js'
import type { InternalIterator } from '../ts/core/ts/iterator.js'
import { Memtable } from '../ts/core/ts/memtable.js'
import { encodeWriteGroup } from '../ts/core/ts/write-group.js'

const b = (s: string) => new TextEncoder().encode(s)
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
const str = (u: Uint8Array) => Buffer.from(u).toString('latin1')

/** One version in the model. */
interface Version { key: Uint8Array; seq: number; kind: Kind; value: Uint8Array }
/** A model entry in internal-key order: [internal key hex, value hex]. */
type Row = [string, string]

function sortedModel(versions: Version[]): { ikeys: Uint8Array[]; rows: Row[] } {
  const items = versions.map(v => ({ ik: makeInternalKey(v.key, v.seq, v.kind), value: v.kind === Kind.Put ? v.value : new Uint8Array(0) }))
  items.sort((x, y) => compareInternalKeys(x.ik, y.ik))
  return { ikeys: items.map(i => i.ik), rows: items.map(i => [hex(i.ik), hex(i.value)]) }
}

/** Model get: newest version of `key` with seq ≤ snapshot. */
function modelGet(versions: Version[], key: Uint8Array, snapshot: number): Version | undefined {
  let best: Version | undefined
  for (const v of versions) {
    if (Buffer.compare(v.key, key) === 0 && v.seq <= snapshot && (best === undefined || v.seq > best.seq)) best = v
  }
  return best
}

function scan(it: InternalIterator, dir: 'next' | 'prev'): Row[] {
  const out: Row[] = []
  for (; it.valid(); dir === 'next' ? it.next() : it.prev()) out.push([hex(it.key()), hex(it.value())])
  return out
}

/** Follows `steps` from model index `i`, checking the iterator against the model at every step. */
function walkSteps(it: InternalIterator, rows: Row[], i: number, steps: boolean[], what: string): void {
  for (const forward of steps) {
    assert.equal(it.valid(), i >= 0 && i < rows.length, `${what}: valid() at model index ${i}`)
    if (!it.valid()) return
    assert.deepEqual([hex(it.key()), hex(it.value())], rows[i], `${what}: entry at model index ${i}`)
    if (forward) { it.next(); i++ } else { it.prev(); i-- }
  }
}

function lowerBound(ikeys: Uint8Array[], target: Uint8Array): number {
  let lo = 0
  let hi = ikeys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareInternalKeys(ikeys[mid]!, target) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

// Small alphabets make shared prefixes, equal 4-byte prefixes, prefix-of relations and many versions per key.
const keyArb = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 6, min: 0, max: 2 }), weight: 3 },
  { arbitrary: fc.uint8Array({ maxLength: 6, min: 0xfe, max: 0xff }), weight: 1 },
  { arbitrary: fc.uint8Array({ minLength: 30, maxLength: 40, min: 0, max: 1 }), weight: 1 },
)
const seqArb = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: MAX_SEQUENCE }))
const targetArb = fc.record({ key: keyArb, seq: seqArb, kind: fc.constantFrom(Kind.Put, Kind.Delete) })
const versionsArb = fc.array(fc.record({ key: keyArb, kind: fc.constantFrom(Kind.Put, Kind.Delete), value: fc.uint8Array({ maxLength: 8 }) }), { maxLength: 120 })
  // Distinct sequences, in random order, spread over the whole range (both trailer halves matter).
  .chain(ops => fc.uniqueArray(seqArb, { minLength: ops.length, maxLength: ops.length })
    .map(seqs => ops.map((op, i): Version => ({ ...op, seq: seqs[i]! }))))

test('get returns the newest version at or below the snapshot, tombstones included', t => {
  const m = new Memtable()
  m.add(1, Kind.Put, b('k'), b('v1'))
  m.add(5, Kind.Put, b('k'), b('v5'))
  m.add(7, Kind.Delete, b('k'))
  m.add(3, Kind.Put, b('j'), b('j3'))
  t.deepEqual(m.get(b('k'), 0), { found: false })
  t.deepEqual(m.get(b('k'), 4), { found: true, kind: Kind.Put, value: b('v1'), seq: 1 })
  t.deepEqual(m.get(b('k'), 6), { found: true, kind: Kind.Put, value: b('v5'), seq: 5 })
  t.deepEqual(m.get(b('k'), 7), { found: true, kind: Kind.Delete, value: new Uint8Array(0), seq: 7 })
  t.deepEqual(m.get(b('k'), Number.MAX_SAFE_INTEGER), { found: true, kind: Kind.Delete, value: new Uint8Array(0), seq: 7 })
  t.deepEqual(m.get(b('j'), 3), { found: true, kind: Kind.Put, value: b('j3'), seq: 3 })
  t.deepEqual(m.get(b('i'), 100), { found: false })
  t.deepEqual(m.get(b('kk'), 100), { found: false })
  t.deepEqual(m.get(b(''), 100), { found: false })
  t.is(m.entryCount, 4)
  // Keys equal in their first 4 bytes (the cached prefix) and in length.
  m.add(8, Kind.Put, b('abcdX'), b('x'))
  t.deepEqual(m.get(b('abcdW'), 100), { found: false })
  t.deepEqual(m.get(b('abcdY'), 100), { found: false })
  t.deepEqual(m.get(b('abcd'), 100), { found: false })
  t.is(m.get(b('abcdX'), 100).found, true)
})

test('iteration follows compareInternalKeys: prefixes first, newer first, long keys and 4-byte ties', t => {
  const m = new Memtable()
  const keys = ['', 'a', 'a\0', 'ab', 'abcd', 'abcd\0', 'abcdX', 'abcdY', 'abc', 'b', '\xff\xff', 'x'.repeat(40) + '1', 'x'.repeat(40)]
  let seq = 1
  for (const k of keys) m.add(seq++, Kind.Put, Buffer.from(k, 'latin1'), b(`v${seq}`))
  m.add(seq++, Kind.Delete, b('ab'))
  m.add(MAX_SEQUENCE, Kind.Put, b('ab'), b('newest'))
  const it = m.iterator()
  it.seekToFirst()
  const got: string[] = []
  for (; it.valid(); it.next()) got.push(`${str(it.key().subarray(0, it.key().length - 8))}@${hex(it.key().subarray(-8))}`)
  const none = new Uint8Array(0)
  const expected = sortedModel([
    ...keys.map((k, i): Version => ({ key: Buffer.from(k, 'latin1'), seq: i + 1, kind: Kind.Put, value: none })),
    { key: b('ab'), seq: keys.length + 1, kind: Kind.Delete, value: none },
    { key: b('ab'), seq: MAX_SEQUENCE, kind: Kind.Put, value: none },
  ])
  t.deepEqual(got, expected.ikeys.map(k => `${str(k.subarray(0, k.length - 8))}@${hex(k.subarray(-8))}`))
  t.is(got[0], '@' + '0101000000000000', 'the empty key first; trailer = 1 × 256 + PUT')
  t.deepEqual(got.slice(3, 6).map(s => s.split('@')[0]), ['ab', 'ab', 'ab'])
  t.is(got[3], 'ab@01ffffffffff1f00', 'the newest version (MAX_SEQUENCE) sorts first')
})

test('apply inserts a whole group with consecutive sequences and returns the last one', t => {
  const m = new Memtable()
  const last = m.apply(encodeWriteGroup(10, [
    { kind: Kind.Put, key: b('a'), value: b('1') },
    { kind: Kind.Put, key: b('a'), value: b('2') },
    { kind: Kind.Delete, key: b('b') },
  ]))
  t.is(last, 12)
  t.is(m.entryCount, 3)
  t.deepEqual(m.get(b('a'), 10), { found: true, kind: Kind.Put, value: b('1'), seq: 10 })
  t.deepEqual(m.get(b('a'), 11), { found: true, kind: Kind.Put, value: b('2'), seq: 11 })
  t.deepEqual(m.get(b('b'), 12), { found: true, kind: Kind.Delete, value: new Uint8Array(0), seq: 12 })
})

test('a malformed group is refused with INVALID_ARGUMENT and changes nothing', t => {
  const m = new Memtable()
  const good = encodeWriteGroup(1, [{ kind: Kind.Put, key: b('k'), value: b('v') }, { kind: Kind.Put, key: b('k2'), value: b('v2') }])
  for (const bad of [good.subarray(0, good.length - 1), new Uint8Array([...good, 0]), new Uint8Array(0)]) {
    const err = t.throws(() => m.apply(bad))
    t.is((err as { code?: string }).code, 'INVALID_ARGUMENT')
  }
  t.is(m.entryCount, 0)
  t.is(m.approximateSize, 0)
  const it = m.iterator()
  it.seekToFirst()
  t.false(it.valid())
})

test('add copies its inputs; returned keys and values stay intact while the memtable grows', t => {
  const m = new Memtable()
  const key = b('key')
  const value = b('value')
  m.add(1, Kind.Put, key, value)
  key[0] = 0x7a
  value[0] = 0x7a
  const it = m.iterator()
  it.seekToFirst()
  const k0 = it.key()
  const v0 = it.value()
  t.is(str(v0), 'value')
  // Enough bytes to move past many arena chunks and grow the node array several times.
  const big = new Uint8Array(3000).fill(9)
  for (let i = 0; i < 5000; i++) m.add(i + 2, Kind.Put, b(`k${i}`), big)
  t.is(hex(k0), hex(makeInternalKey(b('key'), 1, Kind.Put)))
  t.is(str(v0), 'value')
  t.deepEqual(m.get(b('key'), 1), { found: true, kind: Kind.Put, value: b('value'), seq: 1 })
  t.is(m.get(b('k4999'), 10_000).found, true)
  t.is(m.entryCount, 5001)
})

test('approximateSize grows with the bytes stored; a repeated internal key replaces its value', t => {
  const m = new Memtable()
  t.is(m.approximateSize, 0)
  m.add(1, Kind.Put, b('k'), new Uint8Array(100))
  const one = m.approximateSize
  t.true(one >= 1 + 8 + 100 && one < 1 + 8 + 100 + 200)
  m.add(2, Kind.Put, b('k'), new Uint8Array(1000))
  t.true(m.approximateSize >= one + 1000 + 9)
  const before = m.approximateSize
  m.add(2, Kind.Put, b('k'), b('short'))
  t.is(m.entryCount, 2)
  t.is(m.approximateSize, before - 995)
  t.deepEqual(m.get(b('k'), 2), { found: true, kind: Kind.Put, value: b('short'), seq: 2 })
})

test('add refuses bad arguments', t => {
  const m = new Memtable()
  for (const f of [
    () => m.add(-1, Kind.Put, b('k')),
    () => m.add(1.5, Kind.Put, b('k')),
    () => m.add(MAX_SEQUENCE + 1, Kind.Put, b('k')),
    () => m.add(1, 3 as Kind, b('k')),
    () => m.add(1, Kind.Put, new Uint8Array(65537)),
  ]) t.is((t.throws(f) as { code?: string }).code, 'INVALID_ARGUMENT')
  t.is(m.entryCount, 0)
})

test('an iterator sees entries added after it was created', t => {
  const m = new Memtable()
  m.add(1, Kind.Put, b('b'), b('1'))
  const it = m.iterator()
  it.seekToFirst()
  m.add(2, Kind.Put, b('c'), b('2'))
  m.add(3, Kind.Put, b('a'), b('3'))
  it.next()
  t.is(str(it.value()), '2')
  it.prev()
  it.prev()
  t.is(str(it.value()), '3')
  it.prev()
  t.false(it.valid())
})

test('property: get, scans, seeks and random walks agree with a sorted-array model', t => {
  fc.assert(fc.property(
    versionsArb,
    fc.array(fc.record({ key: keyArb, snap: seqArb }), { maxLength: 30 }),
    fc.array(fc.record({ target: targetArb, forPrev: fc.boolean(), steps: fc.array(fc.boolean(), { maxLength: 12 }) }), { maxLength: 12 }),
    // Probes derived from stored entries: exact internal keys, and user keys one byte off.
    fc.array(fc.record({ idx: fc.nat(), tweak: fc.boolean(), snap: seqArb, forPrev: fc.boolean(), steps: fc.array(fc.boolean(), { maxLength: 6 }) }), { maxLength: 12 }),
    fc.integer(),
    fc.boolean(),
    (versions, randomGets, randomSeeks, probes, seed, viaGroups) => {
      const m = new Memtable(seed)
      if (viaGroups) for (const v of versions) m.apply(encodeWriteGroup(v.seq || 1, [v]))
      else for (const v of versions) m.add(v.seq, v.kind, v.key, v.value)
      const vs = viaGroups ? versions.map(v => ({ ...v, seq: v.seq || 1 })) : versions
      // Sequence 0 may collide with 1 when applied as a group: the later add replaces the value.
      const dedup = new Map<string, Version>()
      for (const v of vs) dedup.set(hex(makeInternalKey(v.key, v.seq, v.kind)), v)
      const model = [...dedup.values()]
      const { ikeys, rows } = sortedModel(model)
      assert.equal(m.entryCount, rows.length)
      // Copies: generated values must not be mutated (fast-check reuses them while shrinking).
      const gets: { key: Uint8Array; snap: number }[] = [...randomGets]
      const seeks: { target: { key: Uint8Array; seq: number; kind: Kind }; forPrev: boolean; steps: boolean[] }[] = [...randomSeeks]
      for (const p of probes) {
        if (model.length === 0) break
        const v = model[p.idx % model.length]!
        const key = v.key.slice()
        if (p.tweak && key.length > 0) key[key.length - 1]! ^= 1
        gets.push({ key, snap: p.snap })
        const target = p.tweak ? { key, seq: p.snap, kind: Kind.Put as Kind } : { key: v.key, seq: v.seq, kind: v.kind }
        seeks.push({ target, forPrev: p.forPrev, steps: p.steps })
      }
      for (const g of gets) {
        const want = modelGet(model, g.key, g.snap)
        const got = m.get(g.key, g.snap)
        if (want === undefined) assert.deepEqual(got, { found: false })
        else assert.deepEqual(got.found && [got.kind, got.seq, hex(got.value)], [want.kind, want.seq, want.kind === Kind.Put ? hex(want.value) : ''])
      }
      const it = m.iterator()
      it.seekToFirst()
      assert.deepEqual(scan(it, 'next'), rows)
      it.seekToLast()
      assert.deepEqual(scan(it, 'prev'), [...rows].reverse())
      for (const s of seeks) {
        const target = makeInternalKey(s.target.key, s.target.seq, s.target.kind)
        let i = lowerBound(ikeys, target)
        if (s.forPrev) {
          if (i >= ikeys.length || compareInternalKeys(ikeys[i]!, target) !== 0) i--
          it.seekForPrev(target)
        } else {
          it.seek(target)
        }
        walkSteps(it, rows, i, [...s.steps, true], `${s.forPrev ? 'seekForPrev' : 'seek'}(${hex(target)})`)
      }
    },
  ), { numRuns: 300 })
  t.pass()
})

test('many random keys: order, get and both scan directions (tall towers, several chunks)', t => {
  const m = new Memtable(42)
  const versions: Version[] = []
  let x = 12345
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0)
  for (let i = 0; i < 20_000; i++) {
    const key = new Uint8Array(1 + (rnd() % 20))
    for (let j = 0; j < key.length; j++) key[j] = rnd() % 7
    const v: Version = { key, seq: i + 1, kind: rnd() % 5 === 0 ? Kind.Delete : Kind.Put, value: b(`v${i}`) }
    versions.push(v)
    m.add(v.seq, v.kind, v.key, v.value)
  }
  const { rows } = sortedModel(versions)
  const it = m.iterator()
  it.seekToFirst()
  t.deepEqual(scan(it, 'next'), rows)
  it.seekToLast()
  t.deepEqual(scan(it, 'prev'), rows.reverse())
  for (let i = 0; i < 500; i++) {
    const v = versions[rnd() % versions.length]!
    const snap = v.seq + (rnd() % 5000)
    const want = modelGet(versions, v.key, snap)!
    const got = m.get(v.key, snap)
    t.deepEqual(got.found && [got.seq, got.kind, str(got.value)], [want.seq, want.kind, want.kind === Kind.Put ? str(want.value) : ''])
  }
})

test('ascending runs (the rightmost-path inserts) mixed with keys inside the range keep order, prev links and gets right', t => {
  const m = new Memtable(7)
  const versions: Version[] = []
  let seq = 0
  const add = (key: Uint8Array) => {
    const v: Version = { key, seq: ++seq, kind: Kind.Put, value: b(`v${seq}`) }
    versions.push(v)
    m.add(v.seq, v.kind, v.key, v.value)
  }
  const key = (i: number) => b(String(i).padStart(8, '0'))
  // Ascending runs (each key above all before it), then keys between them,
  // then a run that continues past the top again, then repeats of old keys.
  for (let i = 0; i < 3000; i += 2) add(key(i))
  for (let i = 2999; i > 0; i -= 6) add(key(i))
  for (let i = 3000; i < 6000; i++) add(key(i))
  for (let i = 0; i < 6000; i += 500) add(key(i))
  const { rows } = sortedModel(versions)
  const it = m.iterator()
  it.seekToFirst()
  t.deepEqual(scan(it, 'next'), rows)
  it.seekToLast()
  t.deepEqual(scan(it, 'prev'), [...rows].reverse())
  for (const i of [0, 1, 2, 999, 1500, 2999, 3000, 4500, 5999]) {
    const want = modelGet(versions, key(i), seq)
    const got = m.get(key(i), seq)
    t.deepEqual(got.found ? got.seq : undefined, want?.seq, `key ${i}`)
  }
})
