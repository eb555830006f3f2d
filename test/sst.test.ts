import test from 'ava'
import fc from 'fast-check'
import { LsmError } from '../ts/errors.js'
import { compareInternalKeys, Kind, kindOf, makeInternalKey, seqOf, userKeyOf } from '../ts/core/ts/internal-key.js'
import { BytesSource, decodeProperties, encodeProperties, FOOTER_SIZE, Table, TableBuilder } from '../ts/core/ts/sst.js'
import { checkIterator, drain, sortedEntries, type Entry } from './helpers/model.js'

const enc = (s: string) => new TextEncoder().encode(s)

function buildTable(entries: Entry[], blockSize = 256, bitsPerKey = 10): Uint8Array {
  const b = new TableBuilder({ blockSize, bitsPerKey })
  for (const [k, v] of entries) b.add(k, v)
  return b.finish().bytes
}

/** Model point lookup: newest entry for userKey with seq ≤ snapshot. */
function modelGet(model: Entry[], userKey: Uint8Array, snapshot: number): Entry | undefined {
  return model.find(([k]) => Buffer.compare(userKeyOf(k), userKey) === 0 && seqOf(k) <= snapshot)
}

test('properties describe the table', t => {
  const entries: Entry[] = []
  for (let i = 0; i < 100; i++) entries.push([makeInternalKey(enc(`k${String(i).padStart(3, '0')}`), 100 + i, i % 10 === 0 ? Kind.Delete : Kind.Put), i % 10 === 0 ? new Uint8Array(0) : enc(`value${i}`)])
  const bytes = buildTable(entries, 200)
  const table = Table.open(new BytesSource(bytes), 'x.sst')
  const p = table.properties
  t.is(p.entryCount, 100)
  t.is(p.deletionCount, 10)
  t.is(p.minSeq, 100)
  t.is(p.maxSeq, 199)
  t.true(p.dataBlockCount > 5)
  t.deepEqual(p.smallest, entries[0]![0])
  t.deepEqual(p.largest, entries[99]![0])
  t.is(p.rawKeyBytes, 400)
  t.deepEqual(decodeProperties(encodeProperties(p)), p)
})

test('keys out of order are refused by the builder', t => {
  const b = new TableBuilder()
  b.add(makeInternalKey(enc('b'), 1, Kind.Put), enc('1'))
  t.throws(() => b.add(makeInternalKey(enc('a'), 1, Kind.Put), enc('1')), { instanceOf: RangeError })
  t.throws(() => new TableBuilder().finish(), { instanceOf: RangeError })
})

test('property: the builder refuses a key exactly when it does not sort after the previous one', t => {
  // Short keys over a small alphabet: equal user keys, prefixes and equal sequences come up often.
  const ikey = fc.tuple(fc.uint8Array({ maxLength: 4, min: 97, max: 98 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(Kind.Put, Kind.Delete))
    .map(([k, seq, kind]) => makeInternalKey(k, seq, kind))
  fc.assert(fc.property(fc.array(ikey, { minLength: 2, maxLength: 40 }), keys => {
    const b = new TableBuilder({ blockSize: 64 })
    let prev: Uint8Array | undefined
    for (const k of keys) {
      if (prev !== undefined && compareInternalKeys(prev, k) >= 0) {
        t.throws(() => b.add(k, enc('v')), { instanceOf: RangeError })
        continue
      }
      b.add(k, enc('v'))
      prev = k
    }
  }), { numRuns: 300 })
})

test('property: entries added by offset into shared buffers make the same table as views', t => {
  fc.assert(fc.property(sortedEntries(200), fc.integer({ min: 64, max: 1024 }), fc.uint8Array({ minLength: 0, maxLength: 7 }), (model, blockSize, pad) => {
    const views = new TableBuilder({ blockSize })
    const offsets = new TableBuilder({ blockSize })
    // Keys and values laid out one after another in one buffer, after some padding.
    const total = pad.length + model.reduce((n, [k, v]) => n + k.length + v.length, 0)
    const arena = new Uint8Array(total)
    arena.set(pad)
    let off = pad.length
    for (const [k, v] of model) {
      views.add(k, v)
      arena.set(k, off)
      arena.set(v, off + k.length)
      offsets.addFrom(arena, off, k.length, arena, off + k.length, v.length)
      off += k.length + v.length
    }
    if (model.length === 0) return
    const a = views.finish()
    const b = offsets.finish()
    t.deepEqual(b.bytes, a.bytes)
    t.deepEqual(b.properties, a.properties)
  }), { numRuns: 100 })
})

test('property: table iterator and point lookups agree with a sorted model', t => {
  fc.assert(fc.property(
    sortedEntries(300), fc.integer({ min: 64, max: 2048 }), fc.constantFrom(0, 10),
    fc.array(fc.uint8Array({ maxLength: 12, min: 96, max: 101 }), { maxLength: 10 }), fc.integer({ min: 1, max: 2 ** 45 - 1 }),
    (model, blockSize, bpk, probeKeys, snapshot) => {
      const table = Table.open(new BytesSource(buildTable(model, blockSize, bpk)), 't.sst')
      const seeks = probeKeys.map(k => makeInternalKey(k, snapshot, Kind.Put))
      checkIterator(table.iterator(), model, seeks, (a, b, m) => t.deepEqual(a, b, m))
      for (const uk of [...probeKeys, ...model.slice(0, 5).map(e => userKeyOf(e[0]))]) {
        for (const snap of [snapshot, 2 ** 45 - 1]) {
          const want = modelGet(model, uk, snap)
          const got = table.get(uk, snap)
          if (want === undefined) t.false(got.found)
          else t.deepEqual(got.found ? [got.seq, got.kind, got.value.slice()] : undefined, [seqOf(want[0]), kindOf(want[0]), want[1]])
        }
      }
    }), { numRuns: 80 })
})

test('the bloom filter skips tables that lack a key', t => {
  const entries: Entry[] = Array.from({ length: 500 }, (_, i) => [makeInternalKey(enc(`key${i}`), i + 1, Kind.Put), enc('v')] as Entry)
    .sort((a, b) => compareInternalKeys(a[0], b[0]))
  const table = Table.open(new BytesSource(buildTable(entries)), 't.sst')
  let maybe = 0
  for (let i = 0; i < 1000; i++) if (table.mayContain(enc(`missing${i}`))) maybe++
  t.true(maybe < 30, `${maybe} false positives in 1000`)
  for (let i = 0; i < 500; i++) t.true(table.mayContain(enc(`key${i}`)))
})

test('every single-byte flip in a table is detected as CORRUPTION naming the file', t => {
  const entries: Entry[] = Array.from({ length: 60 }, (_, i) => [makeInternalKey(enc(`key${String(i).padStart(2, '0')}`), i + 1, Kind.Put), enc(`value-${i}`)] as Entry)
  const good = buildTable(entries, 128)
  let detected = 0
  for (let pos = 0; pos < good.length; pos++) {
    const bad = good.slice()
    bad[pos]! ^= 0x10
    const err = t.throws(() => {
      const table = Table.open(new BytesSource(bad), '000009.sst')
      const it = table.iterator()
      it.seekToFirst()
      drain(it, 'next')
    }, { instanceOf: LsmError }, `flip at ${pos}`)
    if (err?.code === 'CORRUPTION' && err.file === '000009.sst') detected++
  }
  t.is(detected, good.length)
})

test('truncated tables are CORRUPTION', t => {
  const entries: Entry[] = Array.from({ length: 30 }, (_, i) => [makeInternalKey(enc(`k${String(i).padStart(2, '0')}`), i + 1, Kind.Put), enc('v')] as Entry)
  const good = buildTable(entries, 128)
  for (const len of [0, 10, FOOTER_SIZE - 1, FOOTER_SIZE, good.length - FOOTER_SIZE, good.length - 1]) {
    const err = t.throws(() => Table.open(new BytesSource(good.subarray(0, len)), '000010.sst'), { instanceOf: LsmError })
    t.is(err?.code, 'CORRUPTION')
  }
})

test('an iterator reusing block memory yields what a plain one yields, one block at a time', t => {
  const entries: Entry[] = []
  for (let i = 0; i < 600; i++) entries.push([makeInternalKey(enc(`key${String(i).padStart(5, '0')}`), i + 1, Kind.Put), enc(`value ${i} `.repeat(1 + (i % 7)))])
  const table = Table.open(new BytesSource(buildTable(entries, 512)), 't.sst')
  const reusing = table.iterator({ reuseBlockMemory: true })
  const got: Entry[] = []
  const buffers = new Set<ArrayBufferLike>()
  for (reusing.seekToFirst(); reusing.valid(); reusing.next()) {
    // Copied at once: the value's memory is reused once the iterator leaves its block.
    got.push([reusing.key().slice(), reusing.value().slice()])
    buffers.add(reusing.value().buffer)
  }
  const plain = table.iterator()
  plain.seekToFirst()
  const want = drain(plain, 'next')
  t.is(want.length, 600)
  t.deepEqual(got, want)
  t.true(buffers.size < 3, `blocks decoded into ${buffers.size} buffers`)
})
