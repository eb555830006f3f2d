/**
 * The pure-TS point-read path's helpers: range forms of crc32c and Snappy
 * decompression, the allocation-free block seek, the internal-key compare at an
 * offset, and the block cache's per-owner (numeric key) entries.
 */
import test from 'ava'
import fc from 'fast-check'
import { Block, BlockBuilder, pointHit, pointKey, scanPoint } from '../ts/core/ts/block.js'
import { BufferPool, LruCache, type CacheOwner } from '../ts/core/ts/cache.js'
import { DB } from '../ts/db.js'
import { tempDir } from './helpers/engines.js'
import { Rng } from './helpers/random.js'
import { crc32c, crc32cRange } from '../ts/core/ts/crc32c.js'
import { compareInternalKeyAt, compareInternalKeys, Kind, kindOf, makeInternalKey, seqOf, userKeyOf } from '../ts/core/ts/internal-key.js'
import { Table, TableBuilder, type RandomAccess } from '../ts/core/ts/sst.js'
import { compress, decompress, decompressRange, decompressWithin, PartialDecode } from '../ts/core/ts/snappy.js'
import { DecodeError } from '../ts/core/ts/coding.js'
import { sortedEntries, type Entry } from './helpers/model.js'

test('property: crc32cRange equals crc32c of the range, and extends', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), fc.nat(), (data, a, b, seed) => {
    const from = data.length === 0 ? 0 : a % (data.length + 1)
    const to = from + (data.length === 0 ? 0 : b % (data.length - from + 1))
    t.is(crc32cRange(data, from, to), crc32c(data.subarray(from, to)))
    t.is(crc32cRange(data, from, to, seed >>> 0), crc32c(data.subarray(from, to), seed >>> 0))
  }))
})

test('property: decompressRange equals decompress of the range', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000, min: 97, max: 99 }), fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 }), (raw, pre, post) => {
    const packed = compress(raw)
    const framed = new Uint8Array(pre.length + packed.length + post.length)
    framed.set(pre)
    framed.set(packed, pre.length)
    framed.set(post, pre.length + packed.length)
    const out = decompressRange(framed, pre.length, pre.length + packed.length)
    t.deepEqual(out, raw)
    t.deepEqual(out, decompress(packed))
  }))
})

test('property: decompressWithin decodes after the input in the same array, as decompress does', t => {
  const text = fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 8, min: 97, max: 98 }).map(a => { const r = new Uint8Array(a.length * 9); for (let i = 0; i < 9; i++) r.set(a, i * a.length); return r }), fc.integer({ min: 0, max: 255 }).chain(b => fc.integer({ min: 1, max: 300 }).map(n => new Uint8Array(n).fill(b)))), { maxLength: 30 })
    .map(parts => { const n = parts.reduce((s, p) => s + p.length, 0); const r = new Uint8Array(n); let o = 0; for (const p of parts) { r.set(p, o); o += p.length } return r })
  fc.assert(fc.property(text, fc.uint8Array({ maxLength: 20 }), fc.integer({ min: 0, max: 255 }), (raw, pre, junk) => {
    const packed = compress(raw)
    const buf = new Uint8Array(pre.length + packed.length + raw.length + 7).fill(junk)
    buf.set(pre)
    buf.set(packed, pre.length)
    const out = decompressWithin(buf, pre.length, pre.length + packed.length)
    t.deepEqual(out, raw)
    t.deepEqual(decompress(packed), raw)
    // Too short for the output: undefined, nothing decoded.
    if (raw.length > 0) t.is(decompressWithin(buf.subarray(0, pre.length + packed.length + raw.length - 1), pre.length, pre.length + packed.length), undefined)
  }))
})

test('decompressRange does not read past its range', t => {
  // 'abcd' compressed, with a truncated last element: the bytes after the range must not complete it.
  const packed = compress(new TextEncoder().encode('abcdabcdabcdabcdabcd'))
  const framed = new Uint8Array(packed.length + 8).fill(0)
  framed.set(packed)
  t.throws(() => decompressRange(framed, 0, packed.length - 1), { instanceOf: DecodeError })
})

test('property: compareInternalKeyAt equals compareInternalKeys', t => {
  const ik = fc.record({ key: fc.uint8Array({ maxLength: 40, min: 97, max: 99 }), seq: fc.integer({ min: 0, max: 2 ** 45 - 1 }), kind: fc.constantFrom(Kind.Put, Kind.Delete) })
    .map(r => makeInternalKey(r.key, r.seq, r.kind))
  fc.assert(fc.property(ik, ik, fc.uint8Array({ maxLength: 9 }), (a, b, pad) => {
    const framed = new Uint8Array(pad.length + a.length + 3)
    framed.set(pad)
    framed.set(a, pad.length)
    t.is(Math.sign(compareInternalKeyAt(framed, pad.length, a.length, b, b.length, 0)), Math.sign(compareInternalKeys(a, b)))
    // Skipping a shared prefix of both user keys gives the same answer.
    let shared = 0
    while (shared < a.length - 8 && shared < b.length - 8 && a[shared] === b[shared]) shared++
    t.is(Math.sign(compareInternalKeyAt(framed, pad.length, a.length, b, b.length, shared)), Math.sign(compareInternalKeys(a, b)))
  }))
})

for (const interval of [1, 3, 16]) {
  test(`property: Block.seekPoint finds what the block iterator's seek finds (restart interval ${interval})`, t => {
    fc.assert(fc.property(sortedEntries(200), fc.array(fc.uint8Array({ maxLength: 12, min: 96, max: 101 }), { maxLength: 8 }), fc.integer({ min: 1, max: 2 ** 45 - 1 }), (model, seekKeys, seq) => {
      const b = new BlockBuilder(interval)
      for (const [k, v] of model) b.add(k, v)
      const block = new Block(b.finish())
      const targets = [...seekKeys.map(k => makeInternalKey(k, seq, Kind.Put)), ...model.map(e => e[0])]
      for (const target of targets) {
        const it = block.iterator()
        it.seek(target)
        const found = block.seekPoint(target)
        t.is(found, it.valid())
        if (!found) continue
        t.deepEqual(pointKey().slice(0, pointHit.keyLength), it.key())
        t.deepEqual(block.data.subarray(pointHit.valueStart, pointHit.valueEnd), it.value())
      }
    }))
  })
}

/** Sorted entries with keys and values long enough for multi-byte varints, values often compressible. */
const longEntries = fc.array(
  fc.record({
    key: fc.uint8Array({ minLength: 0, maxLength: 150, min: 97, max: 99 }),
    seq: fc.integer({ min: 1, max: 2 ** 45 - 1 }),
    kind: fc.constantFrom(Kind.Put, Kind.Put, Kind.Delete),
    value: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 400 })).map(([b, n]) => new Uint8Array(n).fill(b))),
  }),
  { minLength: 1, maxLength: 120 },
).map(items => {
  const byKey = new Map<string, Entry>()
  for (const it of items) {
    const ik = makeInternalKey(it.key, it.seq, it.kind)
    byKey.set(Buffer.from(ik).toString('hex'), [ik, it.kind === Kind.Put ? it.value : new Uint8Array(0)])
  }
  return [...byKey.values()].sort((a, b) => compareInternalKeys(a[0], b[0]))
})

test('property: scanPoint over a block being decoded finds what seekPoint finds, and gives up past the last entry', t => {
  fc.assert(fc.property(longEntries, fc.array(fc.uint8Array({ maxLength: 150, min: 96, max: 100 }), { maxLength: 8 }), fc.integer({ min: 1, max: 2 ** 45 - 1 }), fc.boolean(), (model, seekKeys, seq, compressed) => {
    const b = new BlockBuilder(16)
    for (const [k, v] of model) b.add(k, v)
    const data = b.finish().slice()
    const block = new Block(data)
    const last = model[model.length - 1]![0]
    const packed = compress(data)
    // The compressed bytes, then room for the output, as the table reader's scratch holds them.
    const buf = new Uint8Array(packed.length + data.length)
    buf.set(packed)
    const dec = new PartialDecode()
    for (const target of [...seekKeys.map(k => makeInternalKey(k, seq, Kind.Put)), ...model.map(e => e[0])]) {
      if (compressed) t.true(dec.start(buf, 0, packed.length))
      else dec.plain(data, data.length)
      const found = scanPoint(dec, target)
      if (compareInternalKeys(target, last) > 0) {
        t.false(found, 'a target past the last key is left to the whole block')
        continue
      }
      t.true(found)
      t.true(dec.decoded <= data.length)
      const key = pointKey().slice(0, pointHit.keyLength)
      const value = dec.buf.slice(pointHit.valueStart, pointHit.valueEnd)
      t.true(block.seekPoint(target))
      t.deepEqual(key, pointKey().slice(0, pointHit.keyLength))
      t.deepEqual(value, block.data.slice(pointHit.valueStart, pointHit.valueEnd))
    }
  }), { numRuns: 150 })
})

test('scanPoint decodes only as far as the entry it finds', t => {
  const b = new BlockBuilder(16)
  const keys = Array.from({ length: 200 }, (_, i) => makeInternalKey(new TextEncoder().encode(`key${String(i).padStart(4, '0')}`), 1, Kind.Put))
  for (const k of keys) b.add(k, new Uint8Array(20).fill(7))
  const data = b.finish().slice()
  const packed = compress(data)
  const buf = new Uint8Array(packed.length + data.length)
  buf.set(packed)
  const dec = new PartialDecode()
  t.true(dec.start(buf, 0, packed.length))
  t.true(scanPoint(dec, keys[3]!))
  t.true(dec.decoded < data.length / 4, `${dec.decoded} of ${data.length} bytes decoded`)
  t.true(scanPoint(dec, keys[199]!))
  t.true(dec.decoded < data.length, 'the restart array is never decoded')
})

/** A table's bytes read as a file is: through `readInto`, so a point read may scan in the read scratch. */
class ReadIntoSource implements RandomAccess {
  reads = 0
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length
  }
  read(offset: number, length: number): Uint8Array {
    return this.bytes.slice(offset, offset + length)
  }
  readInto(offset: number, length: number, dst: Uint8Array): void {
    this.reads++
    dst.set(this.bytes.subarray(offset, offset + length))
  }
  close(): void {}
}

test('property: point reads that decode part of a block answer as reads of whole blocks do', t => {
  fc.assert(fc.property(longEntries, fc.integer({ min: 64, max: 4096 }), fc.constantFrom('snappy' as const, 'none' as const), fc.array(fc.uint8Array({ maxLength: 150, min: 96, max: 100 }), { maxLength: 8 }), fc.integer({ min: 1, max: 2 ** 45 - 1 }), (model, blockSize, compression, probes, snapshot) => {
    const tb = new TableBuilder({ blockSize, bitsPerKey: 0, compression })
    for (const [k, v] of model) tb.add(k, v)
    const bytes = tb.finish().bytes.slice()
    const scanning = Table.open(new ReadIntoSource(bytes), 'scan.sst')
    const cache = new LruCache<Block>(64 << 20)
    const whole = Table.open(new ReadIntoSource(bytes), 'whole.sst', cache)
    for (const uk of [...probes, ...model.map(e => userKeyOf(e[0]))]) {
      for (const snap of [snapshot, 2 ** 45 - 1, seqOf(model[0]![0])]) {
        const a = scanning.get(uk, snap)
        const b = whole.get(uk, snap)
        const want = model.find(([k]) => Buffer.compare(userKeyOf(k), uk) === 0 && seqOf(k) <= snap)
        t.is(a.found, want !== undefined)
        t.deepEqual(a.found ? [a.seq, a.kind, a.value.slice()] : undefined, b.found ? [b.seq, b.kind, b.value.slice()] : undefined)
        if (want !== undefined && a.found) t.deepEqual([a.seq, a.kind, a.value.slice()], [seqOf(want[0]), kindOf(want[0]), want[1]])
      }
    }
    t.true(cache.usedBytes > 0, 'the cached table read whole blocks into its cache')
    scanning.close()
    whole.close()
  }), { numRuns: 120 })
})

test('LruCache.admitIn: everything while there is room; once full, a key on its second miss', t => {
  const cache = new LruCache<string>(10_000)
  const owner: CacheOwner<string> = new Map()
  t.true(cache.admitIn(owner, 1, 4000))
  cache.setIn(owner, 1, 'a', 4000)
  t.true(cache.admitIn(owner, 2, 4000))
  cache.setIn(owner, 2, 'b', 4000)
  // Full: 3 would evict.
  t.false(cache.admitIn(owner, 3, 4000), 'first miss turned away')
  t.true(cache.admitIn(owner, 3, 4000), 'second miss admitted')
  t.false(cache.admitIn(owner, 3, 4000), 'admission is forgotten once used')
  // The keys turned away are forgotten after max(8, capacity / 4096) of them.
  for (let k = 100; k < 108; k++) t.false(cache.admitIn(owner, k, 4000))
  t.false(cache.admitIn(owner, 3, 4000), 'forgotten: a first miss again')
  // Another owner's keys are its own; closing an owner forgets its keys.
  const other: CacheOwner<string> = new Map()
  t.false(cache.admitIn(other, 3, 4000))
  cache.evictOwner(other)
  t.false(cache.admitIn(other, 3, 4000), 'forgotten with its owner')
  t.true(cache.admitIn(owner, 3, 4000))
})

test('Block.seekPoint rejects an entry sharing more than the previous key', t => {
  const b = new BlockBuilder(16)
  b.add(makeInternalKey(new TextEncoder().encode('k1'), 1, Kind.Put), new Uint8Array(1))
  const bytes = b.finish()
  bytes[0] = 3 // the first entry of a restart run claims a shared prefix
  t.throws(() => new Block(bytes).seekPoint(makeInternalKey(new TextEncoder().encode('k2'), 1, Kind.Put)), { instanceOf: DecodeError })
})

test('LruCache: owner entries share the budget and recency order with string keys, and evictOwner drops only the owner\'s', t => {
  const cache = new LruCache<string>(100)
  const a: CacheOwner<string> = new Map()
  const b: CacheOwner<string> = new Map()
  cache.setIn(a, 0, 'a0', 30)
  cache.set('s', 's', 30)
  cache.setIn(b, 0, 'b0', 30)
  t.is(cache.usedBytes, 90)
  t.is(cache.getIn(a, 0), 'a0') // a0 becomes the most recent
  cache.setIn(b, 4096, 'b1', 30) // evicts the least recent: 's'
  t.is(cache.get('s'), undefined)
  t.is(cache.usedBytes, 90)
  t.is(cache.getIn(b, 0), 'b0')
  cache.setIn(a, 0, 'a0!', 40) // replaces a0 (30) with 40 bytes: 100 in all, which fits
  t.is(cache.usedBytes, 100)
  t.is(cache.getIn(a, 0), 'a0!')
  cache.evictOwner(b)
  t.is(b.size, 0)
  t.is(cache.usedBytes, 40)
  t.is(cache.getIn(b, 0), undefined)
  t.is(cache.getIn(a, 0), 'a0!')
  cache.setIn(a, 1, 'too big', 101)
  t.is(cache.getIn(a, 1), undefined)
  t.is(cache.hits, 4)
  t.is(cache.misses, 3)
})

test('property: LruCache keeps exactly the most recently used entries that fit', t => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 40 })), { maxLength: 200 }), ops => {
    const cache = new LruCache<number>(100)
    const owner: CacheOwner<number> = new Map()
    // Model: keys in recency order (last = most recent) with charges.
    let model: { key: number; charge: number }[] = []
    for (const [isSet, key, charge] of ops) {
      if (isSet) {
        cache.setIn(owner, key, key * 1000 + charge, charge)
        model = model.filter(e => e.key !== key)
        model.push({ key, charge })
        let used = model.reduce((s, e) => s + e.charge, 0)
        while (used > 100) used -= model.shift()!.charge
      } else {
        const v = cache.getIn(owner, key)
        const i = model.findIndex(e => e.key === key)
        t.is(v, i < 0 ? undefined : key * 1000 + model[i]!.charge)
        if (i >= 0) model.push(...model.splice(i, 1))
      }
      t.is(cache.usedBytes, model.reduce((s, e) => s + e.charge, 0))
      t.deepEqual([...owner.keys()].sort(), model.map(e => e.key).sort())
    }
  }))
})

test('BufferPool: hands back given buffers by size, and keeps at most maxBytes', t => {
  const pool = new BufferPool(10 * 1024)
  const a = pool.take(4100)
  t.is(a.byteLength, 5 * 1024)
  t.is(pool.reused, 0)
  pool.give(a)
  t.is(pool.heldBytes, 5 * 1024)
  t.is(pool.take(4097), a, 'same size class')
  t.is(pool.reused, 1)
  t.not(pool.take(4096), a)
  // Over the budget, and not a pooled size: not kept.
  pool.give(new ArrayBuffer(5 * 1024))
  pool.give(new ArrayBuffer(5 * 1024))
  pool.give(new ArrayBuffer(5 * 1024))
  t.is(pool.heldBytes, 10 * 1024)
  pool.give(new ArrayBuffer(1000))
  t.is(pool.heldBytes, 10 * 1024)
  t.is(pool.take(100_000).byteLength, 100_000, 'large buffers are made to measure')
})

test('LruCache: onEvict sees every value it drops: evicted, replaced, or with its owner', t => {
  const dropped: string[] = []
  const cache = new LruCache<string>(3, v => dropped.push(v))
  const owner: CacheOwner<string> = new Map()
  cache.setIn(owner, 1, 'a', 1)
  cache.setIn(owner, 2, 'b', 1)
  cache.set('x', 'c', 1)
  cache.set('y', 'd', 1)
  t.deepEqual(dropped, ['a'])
  cache.setIn(owner, 2, 'b2', 1)
  t.deepEqual(dropped, ['a', 'b'])
  cache.set('big', 'too big', 4)
  t.deepEqual(dropped, ['a', 'b'], 'a value larger than the cache is neither stored nor dropped')
  cache.evictOwner(owner)
  t.deepEqual(dropped, ['a', 'b', 'b2'])
  t.is(cache.get('x'), 'c')
})

test('pure TS: iterators stay intact while point reads recycle the memory of a small block cache', async t => {
  const dir = tempDir(t)
  const rng = new Rng(7)
  const model = new Map<string, Buffer>()
  let db = await DB.open(dir, { engine: 'ts' })
  for (let i = 0; i < 4000; i++) {
    const k = Buffer.from(`key${String(i).padStart(6, '0')}`)
    const v = Buffer.alloc(60 + rng.int(80))
    for (let j = 0; j < v.length; j++) v[j] = rng.int(256)
    model.set(k.toString('latin1'), v)
    await db.put(k, v)
  }
  await db.compactRange()
  await db.close()
  // About four blocks fit: every point read below evicts one.
  db = await DB.open(dir, { engine: 'ts', blockCacheSize: 20 * 1024 })
  const keys = [...model.keys()].sort()
  const fwd = db.iterator()
  const rev = db.iterator({ reverse: true })
  const seenF: string[] = []
  const seenR: string[] = []
  for (let step = 0; step < keys.length; step++) {
    for (const [it, seen] of [[fwd, seenF], [rev, seenR]] as const) {
      const e = it.nextSync()
      if (e === undefined) continue
      const key = e[0].toString('latin1')
      seen.push(key)
      t.true(model.get(key)?.equals(e[1]), `value of ${key}`)
    }
    for (let r = 0; r < 3; r++) {
      const k = keys[rng.int(keys.length)]!
      // Twice: a full cache admits a block on its second miss (LruCache.admitIn), evicting another.
      t.true(db.getSync(Buffer.from(k, 'latin1'))?.equals(model.get(k)!), `getSync ${k}`)
      t.true(db.getSync(Buffer.from(k, 'latin1'))?.equals(model.get(k)!), `getSync ${k} again`)
    }
  }
  t.deepEqual(seenF, keys)
  t.deepEqual(seenR, [...keys].reverse())
  // The test means something only if blocks were recycled under the iterators.
  const pool = (db as unknown as { caches: { pool: BufferPool } }).caches.pool
  t.true(pool.reused > keys.length, `buffers reused: ${pool.reused}`)
  await db.close()
})
