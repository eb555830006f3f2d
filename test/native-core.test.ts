/**
 * Differential tests: the same random operations go to the pure-TypeScript
 * core and the native core, and every answer must agree — point reads, chunk
 * after chunk of every cursor, table bytes written by flush and compaction,
 * and errors for damaged files. Each core also reads the other's tables.
 */
import test from 'ava'
import fc from 'fast-check'
import { deepStrictEqual, equal, ok } from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Chunk, Core, CoreCursor, CoreMemtable, CoreReadView, CoreTable, CursorOptions, Lookup, TableOptions } from '../ts/core/core.js'
import { nativeBinding, nativeLoadError, type NativeCachesHandle } from '../ts/core/native-binding.js'
import { mapError, nativeCore } from '../ts/core/native-core.js'
import { tsCore } from '../ts/core/ts-core.js'
import { Kind } from '../ts/core/ts/internal-key.js'
import { Table, type TableProperties } from '../ts/core/ts/sst.js'
import { encodeWriteGroup, type WriteOp } from '../ts/core/ts/write-group.js'
import { LsmError } from '../ts/errors.js'

// In a source checkout the addon is built by `npm install`; its absence is a failure.
const native = nativeCore as Core
const cores = (): [Core, Core] => [tsCore, native]
const MAX_SEQ = 2 ** 45 - 1

test('the native core loads', t => {
  t.truthy(nativeCore, `native core unavailable: ${nativeLoadError?.message}`)
  t.is(native.name, 'native')
})

// ---------------------------------------------------------------- helpers

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')
const normLookup = (l: Lookup) => (l.found ? { kind: l.kind, seq: l.seq, value: hex(l.value) } : null)
const normChunk = (c: Chunk) => ({ keys: c.keys.map(hex), values: c.values.map(hex), done: c.done })
const normProps = (p: TableProperties) => ({ ...p, smallest: hex(p.smallest), largest: hex(p.largest) })

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-native-core-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Small alphabets: many versions per key, shared prefixes, the empty key. */
const keyArb = fc.uint8Array({ minLength: 0, maxLength: 3, min: 97, max: 100 })
const valueArb = fc.oneof(
  { weight: 9, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 300, maxLength: 3000 }) },
  // Values that compress: runs and short repeated patterns.
  { weight: 3, arbitrary: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 200 })).map(([p, n]) => new Uint8Array(Array.from({ length: p.length * n }, (_, i) => p[i % p.length]!))) },
)
const opArb: fc.Arbitrary<WriteOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant(Kind.Put), key: keyArb, value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant(Kind.Delete), key: keyArb }) },
)
const groupsArb = (max: number) => fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: max })
const tableOptionsArb: fc.Arbitrary<TableOptions> = fc.record({
  blockSize: fc.integer({ min: 1, max: 600 }),
  restartInterval: fc.integer({ min: 1, max: 20 }),
  bitsPerKey: fc.integer({ min: 0, max: 20 }),
  compression: fc.constantFrom('snappy' as const, 'none' as const),
}, { requiredKeys: ['blockSize', 'restartInterval', 'bitsPerKey'] })

/** Encodes groups with consecutive sequences from 1; returns the encodings and the last sequence. */
function encodeGroups(groups: WriteOp[][]): { encoded: Uint8Array[]; lastSeq: number } {
  let seq = 1
  const encoded = groups.map(ops => {
    const g = encodeWriteGroup(seq, ops)
    seq += ops.length
    return g
  })
  return { encoded, lastSeq: seq - 1 }
}

function memtableWith(core: Core, groups: Uint8Array[]): CoreMemtable {
  const m = core.newMemtable()
  for (const g of groups) m.apply(g)
  return m
}

function errorOf(fn: () => unknown): { code: string; file: string | undefined } | undefined {
  try {
    fn()
    return undefined
  } catch (e) {
    ok(e instanceof LsmError, `expected an LsmError, got ${String(e)}`)
    return { code: e.code, file: e.file }
  }
}

// ---------------------------------------------------------------- memtables

test('property: memtables answer alike at every snapshot', t => {
  fc.assert(fc.property(groupsArb(12), fc.array(fc.tuple(keyArb, fc.nat()), { maxLength: 40 }), (groups, probes) => {
    const { encoded, lastSeq } = encodeGroups(groups)
    const [a, b] = cores().map(c => memtableWith(c, encoded)) as [CoreMemtable, CoreMemtable]
    equal(b.entryCount, a.entryCount)
    ok(b.approximateSize > 0)
    for (const [key, pick] of probes) {
      for (const snap of [pick % (lastSeq + 2), lastSeq, MAX_SEQ, 0]) {
        deepStrictEqual(normLookup(b.get(key, snap)), normLookup(a.get(key, snap)), `key ${hex(key)} at ${snap}`)
      }
    }
  }), { numRuns: 200 })
  t.pass()
})

test('malformed write groups are INVALID_ARGUMENT in both cores and change nothing', t => {
  const good = encodeWriteGroup(1, [{ kind: Kind.Put, key: Buffer.from('k'), value: Buffer.from('v') }])
  for (const core of cores()) {
    const m = core.newMemtable()
    for (const bad of [good.subarray(0, good.length - 1), new Uint8Array(0), Uint8Array.from([...good, 0])]) {
      t.is(errorOf(() => m.apply(bad))?.code, 'INVALID_ARGUMENT', core.name)
    }
    t.is(m.entryCount, 0)
    m.apply(good)
    t.is(m.entryCount, 1)
  }
})

test('applyAsync rejects malformed groups with INVALID_ARGUMENT and changes nothing', async t => {
  const good = encodeWriteGroup(1, [{ kind: Kind.Put, key: Buffer.from('k'), value: Buffer.from('v') }])
  for (const core of cores()) {
    const m = core.newMemtable()
    for (const bad of [good.subarray(0, good.length - 1), new Uint8Array(0), Uint8Array.from([...good, 0])]) {
      const e = await t.throwsAsync(m.applyAsync(bad))
      t.true(e instanceof LsmError && e.code === 'INVALID_ARGUMENT', `${core.name}: ${String(e)}`)
    }
    t.is(m.entryCount, 0)
    await m.applyAsync(good)
    t.is(m.entryCount, 1)
  }
})

test('property: applyAsync builds the same memtable as apply, in both cores', async t => {
  await fc.assert(fc.asyncProperty(groupsArb(8), fc.array(fc.tuple(keyArb, fc.nat()), { maxLength: 30 }), async (groups, probes) => {
    const { encoded, lastSeq } = encodeGroups(groups)
    for (const core of cores()) {
      const a = memtableWith(core, encoded)
      const b = core.newMemtable()
      for (const g of encoded) await b.applyAsync(g)
      equal(b.entryCount, a.entryCount)
      equal(b.approximateSize, a.approximateSize)
      for (const [key, pick] of probes) {
        for (const snap of [pick % (lastSeq + 2), lastSeq, MAX_SEQ]) {
          deepStrictEqual(normLookup(b.get(key, snap)), normLookup(a.get(key, snap)), `${core.name}: key ${hex(key)} at ${snap}`)
        }
      }
    }
  }), { numRuns: 60 })
  t.pass()
})

test('reads during a large applyAsync see the memtable as before it at the old snapshot', async t => {
  // 20,000 entries: the TS core inserts them over several event-loop turns.
  const n = 20_000
  const key = (i: number) => Buffer.from(`key${String(i).padStart(6, '0')}`)
  const first = encodeWriteGroup(1, Array.from({ length: n }, (_, i) => ({ kind: Kind.Put, key: key(i), value: Buffer.from(`old${i}`) })))
  const second = encodeWriteGroup(n + 1, Array.from({ length: n }, (_, i) => ({ kind: Kind.Put, key: key(i), value: Buffer.from(`new${i}`) })))
  for (const core of cores()) {
    const m = core.newMemtable()
    m.apply(first)
    let reads = 0
    let done = false
    const applying = m.applyAsync(second).then(() => { done = true })
    while (!done) {
      const i = (reads * 7919) % n
      const r = m.get(key(i), n)
      t.true(r.found && Buffer.from(r.value!).toString() === `old${i}`, `${core.name}: key ${i} at the old snapshot`)
      reads++
      await new Promise(r => setImmediate(r))
    }
    await applying
    t.is(m.entryCount, 2 * n)
    for (const i of [0, 1, n >> 1, n - 1]) {
      const r = m.get(key(i), 2 * n)
      t.is(r.found && Buffer.from(r.value!).toString(), `new${i}`, core.name)
    }
    t.true(reads >= 1)
  }
})

// ---------------------------------------------------------------- flush

test('property: flushing equal memtables writes byte-identical tables', async t => {
  const dir = tempDir(t)
  let n = 0
  await fc.assert(fc.asyncProperty(groupsArb(10), fc.option(tableOptionsArb, { nil: undefined }), async (groups, options) => {
    const { encoded } = encodeGroups(groups)
    const id = ++n
    const [wa, wb] = await Promise.all(cores().map(c => c.flush(memtableWith(c, encoded), join(dir, `${c.name}-${id}.sst`), options)))
    const bytesA = readFileSync(join(dir, `ts-${id}.sst`))
    const bytesB = readFileSync(join(dir, `native-${id}.sst`))
    ok(bytesA.equals(bytesB), 'table bytes differ')
    equal(wb!.fileSize, bytesA.length)
    deepStrictEqual(normProps(wb!.properties), normProps(wa!.properties))
    ok(wb!.properties.smallest instanceof Uint8Array)
  }), { numRuns: 60 })
  t.pass()
})

test('flush refuses an existing file with IO_ERROR and a foreign memtable with INVALID_ARGUMENT', async t => {
  const dir = tempDir(t)
  const m = memtableWith(native, [encodeWriteGroup(1, [{ kind: Kind.Put, key: Buffer.from('a'), value: Buffer.from('1') }])])
  await native.flush(m, join(dir, 'x.sst'))
  const e1 = await t.throwsAsync(native.flush(m, join(dir, 'x.sst')))
  t.is((e1 as LsmError).code, 'IO_ERROR')
  const e2 = await t.throwsAsync(native.flush(tsCore.newMemtable(), join(dir, 'y.sst')))
  t.is((e2 as LsmError).code, 'INVALID_ARGUMENT')
  const e3 = await t.throwsAsync(native.flush(native.newMemtable(), join(dir, 'z.sst')))
  t.is((e3 as LsmError).code, 'INVALID_ARGUMENT', 'a table is never empty')
})

test('background jobs settle in a worker thread, keep it alive until they do, and a worker ended mid-job takes nothing down', async t => {
  // The addon loaded by plain CommonJS in the worker: its jobs' promises
  // settle through a wake-up handle of that worker's own event loop.
  const worker = (path: string, rounds: number) => new Worker(`
    const { workerData: w, parentPort } = require('node:worker_threads')
    const b = require(w.gyp)(w.root)
    ;(async () => {
      for (let r = 0; r < w.rounds; r++) {
        const m = new b.NativeMemtable()
        for (const g of w.groups) await m.applyAsync(g)
        const out = await b.flush(m, w.path + '.' + r)
        parentPort.postMessage(out.fileSize)
      }
    })()`, {
    eval: true,
    workerData: { gyp: createRequire(import.meta.url).resolve('node-gyp-build'), root: join(import.meta.dirname, '..'), path, rounds, groups },
  })
  const groups = Array.from({ length: 4 }, (_, g) => encodeWriteGroup(1 + g * 5000, Array.from({ length: 5000 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`k${g}-${String(i).padStart(5, '0')}`), value: Buffer.alloc(100, i) }))))
  const dir = tempDir(t)
  // Nothing but the pending jobs keeps the worker's loop running.
  const w1 = worker(join(dir, 'w1'), 1)
  const sizes: number[] = []
  w1.on('message', (n: number) => sizes.push(n))
  t.is(await new Promise<number>(resolve => w1.on('exit', resolve)), 0)
  t.is(sizes.length, 1)
  const table = native.openTable(join(dir, 'w1.0'))
  t.is(table.properties.entryCount, 20000)
  t.is(table.fileSize, sizes[0]!)
  table.close()
  // Ended while its jobs run: the rest of the process goes on.
  const w2 = worker(join(dir, 'w2'), 1000)
  await new Promise(resolve => w2.once('message', resolve))
  await w2.terminate()
  const m = memtableWith(native, [groups[0]!])
  t.true((await native.flush(m, join(dir, 'after.sst'))).fileSize > 0)
})

// ---------------------------------------------------------------- read views

interface World {
  views: [CoreReadView, CoreReadView]
  tables: CoreTable[]
  lastSeq: number
}

/**
 * Random writes spread as in an engine: the oldest compacted into an L1 level,
 * the next flushed to L0 tables (by either core, alternately), the newest in
 * memtables. Both cores open every table file.
 */
async function buildWorld(dir: string, groups: WriteOp[][], split: [number, number], options: TableOptions | undefined, useCaches: boolean): Promise<World> {
  const { encoded, lastSeq } = encodeGroups(groups)
  const toL1 = Math.min(split[0], split[1]) % (encoded.length + 1)
  const toL0 = Math.max(split[0], split[1]) % (encoded.length + 1)
  const [lo, hi] = [Math.min(toL1, toL0), Math.max(toL1, toL0)]
  const l1Inputs: string[] = []
  const l0Paths: string[] = []
  for (let i = 0; i < hi; i++) {
    const core = cores()[i % 2]!
    const path = join(dir, `${String(i + 1).padStart(6, '0')}.sst`)
    await core.flush(memtableWith(core, [encoded[i]!]), path, options)
    if (i < lo) l1Inputs.push(path)
    else l0Paths.unshift(path)
  }
  const l1Paths = l1Inputs.length === 0 ? [] : (await native.compact({
    inputs: l1Inputs, outputs: Array.from({ length: 200 }, (_, i) => join(dir, `l1-${i}.sst`)),
    smallestSnapshot: 0, dropDeletes: false, targetFileSize: 300, ...(options && { tableOptions: options }),
  })).map(o => o.path)
  const tables: CoreTable[] = []
  const views = cores().map(core => {
    // Half the worlds read through small caches: few open files, a tiny block cache.
    const caches = useCaches ? core.newCaches({ blockCacheBytes: 16 << 10, maxOpenFiles: 2 }) : undefined
    const open = (p: string) => {
      const tb = core.openTable(p, caches)
      tables.push(tb)
      return tb
    }
    const mems = encoded.slice(hi).map(g => memtableWith(core, [g])).reverse()
    return core.newReadView(mems, [l0Paths.map(open), l1Paths.map(open)])
  }) as [CoreReadView, CoreReadView]
  return { views, tables, lastSeq }
}

type CursorStep = { op: 'chunk'; maxEntries: number; maxBytes: number | undefined } | { op: 'seek'; key: Uint8Array }
const stepArb: fc.Arbitrary<CursorStep> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('chunk' as const), maxEntries: fc.integer({ min: 0, max: 8 }), maxBytes: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('seek' as const), key: keyArb }) },
)
const cursorArb = fc.record({
  snapPick: fc.nat(),
  lower: fc.option(keyArb, { nil: undefined }),
  lowerExclusive: fc.boolean(),
  upper: fc.option(keyArb, { nil: undefined }),
  upperInclusive: fc.boolean(),
  reverse: fc.boolean(),
  steps: fc.array(stepArb, { maxLength: 12 }),
})

/** Runs the same steps on both cursors, then drains them; every chunk must agree. */
function compareCursors(a: CoreCursor, b: CoreCursor, steps: CursorStep[]): void {
  const apply = (c: CoreCursor, s: CursorStep) => (s.op === 'seek' ? (c.seek(s.key), null) : normChunk(c.nextChunk(s.maxEntries, s.maxBytes)))
  for (const s of steps) deepStrictEqual(apply(b, s), apply(a, s), `step ${JSON.stringify(s)}`)
  for (let i = 0; i < 1000; i++) {
    const [ca, cb] = [normChunk(a.nextChunk(3)), normChunk(b.nextChunk(3))]
    deepStrictEqual(cb, ca, 'drain')
    if (ca.done) return
  }
}

test('property: read views over memtables, L0 and L1 answer alike, and each core reads the other\'s tables', async t => {
  const dir = tempDir(t)
  let run = 0
  await fc.assert(fc.asyncProperty(
    groupsArb(14), fc.tuple(fc.nat(), fc.nat()), fc.option(tableOptionsArb, { nil: undefined }),
    fc.array(fc.tuple(keyArb, fc.nat()), { maxLength: 30 }), fc.array(cursorArb, { minLength: 1, maxLength: 4 }),
    async (groups, split, options, probes, cursors) => {
      const world = await buildWorld(mkdtempSync(join(dir, `r${++run}-`)), groups, split, options, run % 2 === 0)
      const [va, vb] = world.views
      try {
        for (const [key, pick] of probes) {
          const snap = pick % (world.lastSeq + 2)
          deepStrictEqual(normLookup(vb.get(key, snap)), normLookup(va.get(key, snap)), `get ${hex(key)} at ${snap}`)
        }
        for (const c of cursors) {
          const o: CursorOptions = {
            snapshotSeq: c.snapPick % 7 === 0 ? MAX_SEQ : c.snapPick % (world.lastSeq + 2),
            lowerExclusive: c.lowerExclusive, upperInclusive: c.upperInclusive, reverse: c.reverse,
            ...(c.lower !== undefined && { lower: c.lower }),
            ...(c.upper !== undefined && { upper: c.upper }),
          }
          compareCursors(va.cursor(o), vb.cursor(o), c.steps)
          // The native one-call scan equals a cursor's first chunk (of either core).
          const scanner = [va, vb].find(v => v.scan !== undefined)
          ok(scanner !== undefined, 'the native view has scan')
          for (const n of [1, 5, 16]) {
            deepStrictEqual(normChunk(scanner.scan!(o, n)), normChunk(va.cursor(o).nextChunk(n)), `scan of ${n}`)
          }
          for (const mb of [0, 1, 50]) {
            deepStrictEqual(normChunk(scanner.scan!(o, 16, mb)), normChunk(va.cursor(o).nextChunk(16, mb)), `scan of 16 within ${mb} bytes`)
          }
        }
        // The native view after release (its tables may be unmapped): a cursor
        // opened before keeps its own references, and a stray read (which the
        // interface forbids) finds nothing instead of touching freed memory.
        const released = [va, vb].find(v => v.release !== undefined)
        ok(released !== undefined, 'the native view has release')
        const o: CursorOptions = { snapshotSeq: MAX_SEQ, reverse: false }
        const before = released.cursor(o)
        const expected = normChunk((released === va ? vb : va).cursor(o).nextChunk(1000))
        released.release!()
        for (const [key] of probes) deepStrictEqual(normLookup(released.get(key, MAX_SEQ)), normLookup({ found: false }), 'released view finds nothing')
        deepStrictEqual(normChunk(before.nextChunk(1000)), expected, 'a cursor from before the release still reads')
      } finally {
        for (const tb of world.tables) tb.close()
      }
    }), { numRuns: 60 })
  t.pass()
})

test('tables opened by both cores report the same size and properties and answer alike', async t => {
  const dir = tempDir(t)
  const ops: WriteOp[] = Array.from({ length: 3000 }, (_, i) => (i % 7 === 3
    ? { kind: Kind.Delete, key: Buffer.from(`key${i % 500}`) }
    : { kind: Kind.Put, key: Buffer.from(`key${i % 500}`), value: Buffer.alloc(i % 90, i) }))
  const path = join(dir, '000001.sst')
  await tsCore.flush(memtableWith(tsCore, [encodeWriteGroup(1, ops)]), path, { blockSize: 512 })
  const [a, b] = cores().map(c => c.openTable(path)) as [CoreTable, CoreTable]
  t.teardown(() => { a.close(); b.close() })
  t.is(b.fileSize, a.fileSize)
  t.deepEqual(normProps(b.properties), normProps(a.properties))
  for (let i = 0; i < 520; i++) {
    for (const snap of [1, 1500, 2999, 3000, MAX_SEQ]) {
      const k = Buffer.from(`key${i}`)
      t.deepEqual(normLookup(b.get(k, snap)), normLookup(a.get(k, snap)))
    }
  }
})

// ---------------------------------------------------------------- compaction

test('property: compactions write byte-identical tables in both cores', async t => {
  const dir = tempDir(t)
  let run = 0
  await fc.assert(fc.asyncProperty(
    fc.array(groupsArb(6), { minLength: 1, maxLength: 4 }), fc.nat(), fc.boolean(),
    fc.integer({ min: 1, max: 3000 }), fc.option(tableOptionsArb, { nil: undefined }),
    fc.option(keyArb, { nil: undefined }), fc.option(keyArb, { nil: undefined }),
    async (tableGroups, snapPick, dropDeletes, targetFileSize, tableOptions, lo, hi) => {
      const d = mkdtempSync(join(dir, `c${++run}-`))
      // Input tables with consecutive sequences across them, as flushes write them.
      let seq = 1
      const inputs: string[] = []
      for (const [i, groups] of tableGroups.entries()) {
        const encoded = groups.map(ops => { const g = encodeWriteGroup(seq, ops); seq += ops.length; return g })
        const path = join(d, `in-${i}.sst`)
        await tsCore.flush(memtableWith(tsCore, encoded), path)
        inputs.push(path)
      }
      const smallestSnapshot = snapPick % (seq + 1)
      // A sub-range job (start inclusive, end exclusive) when the bounds allow one.
      const range = lo !== undefined && hi !== undefined && Buffer.compare(lo, hi) >= 0 ? {} : { ...(lo && { start: lo }), ...(hi && { end: hi }) }
      // Dead files to write over (junk of sizes around an output's), some jobs none:
      // the outputs must come out the same either way.
      const recycleCount = snapPick % 4
      const recycled = (name: string) => Array.from({ length: recycleCount }, (_, i) => {
        const p = join(d, `${name}-old-${i}.recycle`)
        writeFileSync(p, Buffer.alloc((snapPick * (i + 1)) % 5000, 0xa5))
        return p
      })
      const job = (name: string) => ({
        inputs, outputs: Array.from({ length: 400 }, (_, i) => join(d, `${name}-${i}.sst`)),
        smallestSnapshot, dropDeletes, targetFileSize, ...(tableOptions && { tableOptions }), ...range,
        ...(recycleCount > 0 && { recycle: recycled(name) }),
      })
      const jobs = cores().map(c => job(c.name))
      const [outA, outB] = await Promise.all(cores().map((c, i) => c.compact(jobs[i]!)))
      for (const [i, j] of jobs.entries()) {
        for (const [k, p] of (j.recycle ?? []).entries()) equal(existsSync(p), k >= [outA, outB][i]!.length, `recycle file ${k} used only for an output`)
      }
      equal(outB!.length, outA!.length, 'output count')
      outA!.forEach((oa, i) => {
        const ob = outB![i]!
        equal(ob.path, join(d, `native-${i}.sst`))
        equal(ob.fileSize, oa.fileSize)
        deepStrictEqual(normProps(ob.properties), normProps(oa.properties))
        ok(readFileSync(oa.path).equals(readFileSync(ob.path)), `output ${i} bytes differ`)
      })
    }), { numRuns: 60 })
  t.pass()
})

test('a compaction restricted to a key range writes exactly the whole compaction\'s entries in that range, in both cores', async t => {
  const dir = tempDir(t)
  const ops: WriteOp[] = []
  for (let i = 0; i < 300; i++) ops.push({ kind: Kind.Put, key: Buffer.from(`k${String(i % 100).padStart(3, '0')}`), value: Buffer.alloc(20, i) })
  const input = join(dir, 'in.sst')
  await tsCore.flush(memtableWith(tsCore, [encodeWriteGroup(1, ops)]), input)
  const entries = (paths: string[]) => paths.flatMap(p => {
    const tb = Table.openFile(p)
    try {
      const out: string[] = []
      const it = tb.iterator()
      for (it.seekToFirst(); it.valid(); it.next()) out.push(`${Buffer.from(it.key()).toString('hex')}=${Buffer.from(it.value()).toString('hex')}`)
      return out
    } finally {
      tb.close()
    }
  })
  for (const core of cores()) {
    const job = (name: string, range: { start?: Uint8Array; end?: Uint8Array }) => ({
      inputs: [input], outputs: Array.from({ length: 20 }, (_, i) => join(dir, `${core.name}-${name}-${i}.sst`)),
      smallestSnapshot: 150, dropDeletes: false, targetFileSize: 500, ...range,
    })
    const whole = entries((await core.compact(job('whole', {}))).map(o => o.path))
    const parts = [
      await core.compact(job('a', { end: Buffer.from('k030') })),
      await core.compact(job('b', { start: Buffer.from('k030'), end: Buffer.from('k0305') })),
      await core.compact(job('c', { start: Buffer.from('k0305') })),
    ].map(outs => entries(outs.map(o => o.path)))
    t.deepEqual(parts.flat(), whole, core.name)
    t.is(parts[1]!.length, 2, `${core.name}: only k030's versions at seq 231 and 131 fall in [k030, k0305)`)
    const bad = await t.throwsAsync(core.compact(job('bad', { start: Buffer.from('k5'), end: Buffer.from('k5') })))
    t.is((bad as LsmError).code, 'INVALID_ARGUMENT', core.name)
  }
})

test('compactions cut exactly when the open table reaches the target size', async t => {
  // Fixed-size entries with no block cuts and no filter: the size measure after n
  // entries is n × (26 + 4) + 4 (entry bytes plus a restart each, plus the count),
  // so a target of 30 × 7 + 4 cuts after exactly 7 keys.
  const dir = tempDir(t)
  const ops: WriteOp[] = Array.from({ length: 100 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`k${String(i).padStart(4, '0')}`), value: Buffer.alloc(10, i) }))
  const input = join(dir, 'in.sst')
  await tsCore.flush(memtableWith(tsCore, [encodeWriteGroup(1, ops)]), input)
  const tableOptions = { blockSize: 1 << 20, restartInterval: 1, bitsPerKey: 0 }
  for (const core of cores()) {
    const outs = await core.compact({
      inputs: [input], outputs: Array.from({ length: 20 }, (_, i) => join(dir, `${core.name}-${i}.sst`)),
      smallestSnapshot: 0, dropDeletes: false, targetFileSize: 30 * 7 + 4, tableOptions,
    })
    t.deepEqual(outs.map(o => o.properties.entryCount), [...Array(14).fill(7), 2], core.name)
  }
})

test('a compaction that runs out of output paths fails and leaves no outputs', async t => {
  const dir = tempDir(t)
  const ops: WriteOp[] = Array.from({ length: 200 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`k${String(i).padStart(4, '0')}`), value: Buffer.alloc(50) }))
  const input = join(dir, 'in.sst')
  await native.flush(memtableWith(native, [encodeWriteGroup(1, ops)]), input)
  const outputs = [join(dir, 'o1.sst'), join(dir, 'o2.sst')]
  const e = await t.throwsAsync(native.compact({ inputs: [input], outputs, smallestSnapshot: 0, dropDeletes: false, targetFileSize: 1000 }))
  t.is((e as LsmError).code, 'INVALID_ARGUMENT')
  const missing = await t.throwsAsync(native.compact({ inputs: [join(dir, 'absent.sst')], outputs, smallestSnapshot: 0, dropDeletes: false, targetFileSize: 1000 }))
  t.is((missing as LsmError).code, 'IO_ERROR')
})

test('the event loop keeps turning while a native compaction runs', async t => {
  const dir = tempDir(t)
  const ops: WriteOp[] = Array.from({ length: 50_000 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`k${i % 20000}`), value: Buffer.alloc(64, i) }))
  const input = join(dir, 'in.sst')
  await native.flush(memtableWith(native, [encodeWriteGroup(1, ops)]), input)
  let ticks = 0
  const timer = setInterval(() => ticks++, 0)
  const outs = await native.compact({ inputs: [input], outputs: Array.from({ length: 100 }, (_, i) => join(dir, `o${i}.sst`)), smallestSnapshot: 60_000, dropDeletes: true, targetFileSize: 1 << 20 })
  clearInterval(timer)
  t.true(outs.length > 0)
  t.is(outs.reduce((n, o) => n + o.properties.entryCount, 0), 20_000)
  t.true(ticks > 0, 'timers fired during the compaction')
})

// ---------------------------------------------------------------- corruption

/** Reads everything a table can be asked for, through a read view. */
function readAll(core: Core, table: CoreTable): void {
  const view = core.newReadView([], [[table]])
  const c = view.cursor({ snapshotSeq: MAX_SEQ })
  while (!c.nextChunk(100).done) { /* drain */ }
  for (let i = 0; i < 300; i++) view.get(Buffer.from(`key${i}`), MAX_SEQ)
}

test('property: damaged tables are CORRUPTION naming the file, in both cores alike', async t => {
  const dir = tempDir(t)
  const ops: WriteOp[] = Array.from({ length: 600 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`key${i % 300}`), value: Buffer.alloc(i % 40, i) }))
  const good = join(dir, 'good.sst')
  await tsCore.flush(memtableWith(tsCore, [encodeWriteGroup(1, ops)]), good, { blockSize: 256 })
  const bytes = readFileSync(good)
  let n = 0
  fc.assert(fc.property(
    fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(bytes.length - 1), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(bytes.length - 1) }),
    ),
    damage => {
      const bad = Buffer.from(bytes)
      const name = `${String(++n).padStart(6, '0')}.sst`
      const path = join(dir, name)
      if (damage.kind === 'flip') bad[damage.at] = bad[damage.at]! ^ damage.mask
      writeFileSync(path, damage.kind === 'flip' ? bad : bad.subarray(0, damage.at))
      const outcome = cores().map(core => {
        let table: CoreTable | undefined
        const atOpen = errorOf(() => { table = core.openTable(path) })
        if (atOpen !== undefined) return { atOpen }
        try {
          return { atRead: errorOf(() => readAll(core, table!)) }
        } finally {
          table!.close()
        }
      })
      deepStrictEqual(outcome[1], outcome[0])
      const err = outcome[0]!.atOpen ?? outcome[0]!.atRead
      // Every byte of a table is covered by a checksum.
      deepStrictEqual(err, { code: 'CORRUPTION', file: name })
    }), { numRuns: 150 })
  t.pass()
})

test('openTableAsync opens on the pool what openTable opens, and fails as it does', async t => {
  t.truthy(native.openTableAsync, 'the addon has openTableAsync')
  const dir = tempDir(t)
  const ops: WriteOp[] = Array.from({ length: 900 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`key${String(i).padStart(4, '0')}`), value: Buffer.alloc(i % 50, i) }))
  const path = join(dir, '000007.sst')
  await native.flush(memtableWith(native, [encodeWriteGroup(1, ops)]), path, { blockSize: 512 })
  const caches = native.newCaches({ blockCacheBytes: 1 << 20, maxOpenFiles: 10 })
  const sync = native.openTable(path, caches)
  const async = await native.openTableAsync!(path, caches)
  t.teardown(() => { sync.close(); async.close() })
  t.is(async.fileSize, sync.fileSize)
  t.deepEqual(async.properties, sync.properties)
  const all = (table: CoreTable) => {
    const c = native.newReadView([], [[table]]).cursor({ snapshotSeq: MAX_SEQ })
    const out: string[] = []
    for (;;) {
      const ch = c.nextChunk(64)
      ch.keys.forEach((k, i) => out.push(`${Buffer.from(k).toString()}=${Buffer.from(ch.values[i]!).toString('hex')}`))
      if (ch.done) return out
    }
  }
  t.is(all(async).length, 900)
  t.deepEqual(all(async), all(sync))
  const rejection = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (err: unknown) => err)
    t.true(e instanceof LsmError, `expected an LsmError, got ${String(e)}`)
    return { code: (e as LsmError).code, file: (e as LsmError).file }
  }
  // A damaged footer, a missing file, caches of the other core: as openTable throws.
  const bytes = readFileSync(path)
  const bad = join(dir, '000008.sst')
  writeFileSync(bad, bytes.subarray(0, bytes.length - 3))
  t.deepEqual(await rejection(native.openTableAsync!(bad)), errorOf(() => native.openTable(bad)))
  t.deepEqual(await rejection(native.openTableAsync!(bad)), { code: 'CORRUPTION', file: '000008.sst' })
  t.is((await rejection(native.openTableAsync!(join(dir, 'absent.sst')))).code, 'IO_ERROR')
  t.is((await rejection(native.openTableAsync!(path, tsCore.newCaches({ blockCacheBytes: 1, maxOpenFiles: 1 })))).code, 'INVALID_ARGUMENT')
  t.is(tsCore.openTableAsync, undefined, 'the pure-TS core opens on the JS thread')
})

test('point reads of large values, and keys that are values read earlier, answer alike', async t => {
  const dir = tempDir(t)
  const big = Buffer.alloc(300_000, 9)
  const ops: WriteOp[] = [
    { kind: Kind.Put, key: Buffer.from('big'), value: big },
    ...Array.from({ length: 3000 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`k${i}`), value: Buffer.from(`k${(i * 7) % 3000}`) })),
  ]
  const g = encodeWriteGroup(1, ops)
  const path = join(dir, '000001.sst')
  await native.flush(memtableWith(native, [g]), path)
  for (const core of cores()) {
    const table = core.openTable(path)
    t.teardown(() => table.close())
    const view = core.newReadView([memtableWith(core, [g])], [[table]])
    for (const source of [view, table, memtableWith(core, [g])]) {
      const r = source.get(Buffer.from('big'), MAX_SEQ)
      t.true(r.found && Buffer.from(r.value).equals(big), core.name)
      // Follow a chain of keys, each the value read before (a view of the read buffer).
      let key: Uint8Array = Buffer.from('k1')
      let expected = 1
      for (let i = 0; i < 5000; i++) {
        const next = source.get(key, MAX_SEQ)
        if (!next.found) return t.fail(`lost the chain at ${Buffer.from(key).toString()}`)
        key = next.value
        expected = (expected * 7) % 3000
      }
      t.is(Buffer.from(key).toString(), `k${expected}`)
    }
  }
})

test('scans larger than the staging buffer, and scan entries that outlive the next scan, read alike', async t => {
  const dir = tempDir(t)
  // Values of 40–200 KiB: a chunk of a few of them exceeds the 64 KiB staging buffer.
  const ops: WriteOp[] = Array.from({ length: 12 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`k${String(i).padStart(2, '0')}`), value: Buffer.alloc(40_000 + i * 15_000, i + 1) }))
  ops.push(...Array.from({ length: 50 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`s${String(i).padStart(2, '0')}`), value: Buffer.from(`small ${i}`) })))
  const g = encodeWriteGroup(1, ops)
  const path = join(dir, '000001.sst')
  await native.flush(memtableWith(native, [g]), path)
  const views = cores().map(core => {
    const table = core.openTable(path)
    t.teardown(() => table.close())
    return core.newReadView([], [[table]])
  })
  const [tsView, nativeView] = views as [CoreReadView, CoreReadView]
  if (nativeView.scan === undefined) return t.fail('the native view has no scan')
  const kept: Chunk[] = []
  for (const lower of ['k00', 'k05', 'k11', 's00', 's40']) {
    for (const n of [1, 3, 16]) {
      const o: CursorOptions = { snapshotSeq: MAX_SEQ, lower: Buffer.from(lower) }
      const got = nativeView.scan(o, n)
      t.deepEqual(normChunk(got), normChunk(tsView.cursor(o).nextChunk(n)), `scan from ${lower} of ${n}`)
      kept.push(got)
    }
  }
  // Every chunk still holds its own entries after the scans that followed it.
  let i = 0
  for (const lower of ['k00', 'k05', 'k11', 's00', 's40']) {
    for (const n of [1, 3, 16]) {
      t.deepEqual(normChunk(kept[i++]!), normChunk(tsView.cursor({ snapshotSeq: MAX_SEQ, lower: Buffer.from(lower) }).nextChunk(n)), `kept scan from ${lower} of ${n}`)
    }
  }
})

test('a raw readViewScan into a buffer that overlaps a bound is INVALID_ARGUMENT', t => {
  const b = nativeBinding
  if (b?.readViewScan === undefined) return t.fail('the addon has no readViewScan')
  const reader = new b.NativeReadView([], []).reader
  const out = Buffer.alloc(1024)
  const e = t.throws(() => b.readViewScan!(reader, MAX_SEQ, 1, out.subarray(10, 20), Buffer.alloc(0), 10, 1e9, out))
  t.regex(String(e?.message), /overlap/)
  t.is(b.readViewScan(reader, MAX_SEQ, 1, Buffer.from('a'), Buffer.alloc(0), 10, 1e9, out), 8, 'an empty view packs only the header')
  t.deepEqual([...out.subarray(0, 8)], [0, 0, 0, 0, 1, 0, 0, 0])
})

test('readViewGetRaw answers as readViewGet does, and refuses bad arguments with errors, not crashes', async t => {
  const b = nativeBinding
  if (b?.readViewGetRaw === undefined) return t.fail('the addon has no readViewGetRaw')
  const raw = b.readViewGetRaw
  const m = new b.NativeMemtable()
  m.apply(encodeWriteGroup(1, [{ kind: Kind.Put, key: Buffer.from('a'), value: Buffer.from('value of a') }, { kind: Kind.Delete, key: Buffer.from('b') }]))
  const reader = new b.NativeReadView([m], []).reader
  for (const key of ['a', 'b', 'c', '']) {
    for (const seq of [0, 1, 2, MAX_SEQ, -1, Number.NaN]) {
      const [o1, o2] = [Buffer.alloc(64, 7), Buffer.alloc(64, 7)]
      t.is(raw(reader, Buffer.from(key), seq, o1, 3), b.readViewGet(reader, Buffer.from(key), seq, o2, 3), `${key} at ${seq}`)
      t.deepEqual(o1, o2)
    }
  }
  // Too small an output: minus the room needed, as readViewGet says.
  t.is(raw(reader, Buffer.from('a'), MAX_SEQ, Buffer.alloc(4), 0), b.readViewGet(reader, Buffer.from('a'), MAX_SEQ, Buffer.alloc(4), 0))
  // A key lying in the output is read before the output is written.
  const out = Buffer.alloc(64)
  out.write('a', 40)
  t.is(raw(reader, out.subarray(40, 41), MAX_SEQ, out, 36), 18)
  t.is(out.subarray(44, 54).toString(), 'value of a')
  const bad: [string, () => unknown][] = [
    ['a string key', () => raw(reader, 'a' as unknown as Uint8Array, 1, out, 0)],
    ['a Uint16Array key', () => raw(reader, new Uint16Array(2) as unknown as Uint8Array, 1, out, 0)],
    ['no reader', () => raw({}, Buffer.from('a'), 1, out, 0)],
    ['a foreign external', () => raw(new b.NativeCaches(1 << 20, 4), Buffer.from('a'), 1, out, 0)],
    ['an offset past the end', () => raw(reader, Buffer.from('a'), 1, out, 65)],
    ['a fractional offset', () => raw(reader, Buffer.from('a'), 1, out, 0.5)],
    ['a string snapshot', () => raw(reader, Buffer.from('a'), '1' as unknown as number, out, 0)],
    ['too few arguments', () => (raw as (...a: unknown[]) => number)(reader, Buffer.from('a'))],
  ]
  for (const [what, fn] of bad) {
    const e = t.throws(fn, undefined, what)
    t.is(mapError(e) instanceof LsmError && (mapError(e) as LsmError).code, 'INVALID_ARGUMENT', what)
  }
})

test('bad arguments become LsmError INVALID_ARGUMENT, not crashes', t => {
  const m = native.newMemtable()
  t.is(errorOf(() => m.get('k' as unknown as Uint8Array, 1))?.code, 'INVALID_ARGUMENT')
  t.is(errorOf(() => native.newReadView([tsCore.newMemtable()], []))?.code, 'INVALID_ARGUMENT')
  t.is(errorOf(() => native.openTable(join(tmpdir(), 'lsm-absent-table.sst')))?.code, 'IO_ERROR')
})

test('a released native memtable refuses every call, while read views made before keep reading it', async t => {
  const g = encodeWriteGroup(1, [{ kind: Kind.Put, key: Buffer.from('a'), value: Buffer.from('1') }])
  const m = memtableWith(native, [g])
  const view = native.newReadView([m], [])
  m.release!()
  t.is(errorOf(() => m.get(Buffer.from('a'), 1))?.code, 'INVALID_ARGUMENT')
  t.is(errorOf(() => m.apply(encodeWriteGroup(2, [{ kind: Kind.Delete, key: Buffer.from('a') }])))?.code, 'INVALID_ARGUMENT')
  t.is(errorOf(() => m.approximateSize)?.code, 'INVALID_ARGUMENT')
  t.is(errorOf(() => m.entryCount)?.code, 'INVALID_ARGUMENT')
  t.is((await t.throwsAsync(m.applyAsync(encodeWriteGroup(2, [{ kind: Kind.Delete, key: Buffer.from('a') }]))) as LsmError).code, 'INVALID_ARGUMENT')
  t.is((await t.throwsAsync(native.flush(m, join(tempDir(t), 'x.sst'))) as LsmError).code, 'INVALID_ARGUMENT')
  t.is(errorOf(() => native.newReadView([m], []))?.code, 'INVALID_ARGUMENT')
  const r = view.get(Buffer.from('a'), 1)
  t.true(r.found)
  t.is(r.found ? Buffer.from(r.value).toString() : undefined, '1')
  t.deepEqual(view.cursor({ snapshotSeq: 1 }).nextChunk(10).keys.map(k => Buffer.from(k).toString()), ['a'])
  m.release!()
  view.release?.()
})

test('snapshot edge values: NaN and negatives see nothing; beyond the last sequence sees everything', t => {
  const g = encodeWriteGroup(1, [{ kind: Kind.Put, key: Buffer.from('a'), value: Buffer.from('1') }])
  for (const core of cores()) {
    const m = memtableWith(core, [g])
    t.false(m.get(Buffer.from('a'), -1).found, core.name)
    t.true(m.get(Buffer.from('a'), 1e300).found, core.name)
  }
  const v = native.newReadView([memtableWith(native, [g])], [])
  t.false(v.get(Buffer.from('a'), Number.NaN).found)
  t.deepEqual(v.cursor({ snapshotSeq: Number.NaN }).nextChunk(10).keys, [])
  t.is(v.cursor({ snapshotSeq: Infinity }).nextChunk(10).keys.length, 1)
})

test('snapshot edge values with a bottom-level table (entries at sequence 0): NaN and negatives still see nothing', async t => {
  const dir = tempDir(t)
  const g = encodeWriteGroup(1, [{ kind: Kind.Put, key: Buffer.from('a'), value: Buffer.from('1') }])
  const input = join(dir, 'in.sst')
  await native.flush(memtableWith(native, [g]), input)
  for (const core of cores()) {
    const [out] = await core.compact({ inputs: [input], outputs: [join(dir, `${core.name}-out.sst`)], smallestSnapshot: 1, dropDeletes: true, targetFileSize: 1 << 20 })
    const tb = core.openTable(out!.path)
    try {
      t.is(tb.get(Buffer.from('a'), 0).found, true, `${core.name}: the entry was written with sequence 0`)
      t.is(tb.get(Buffer.from('a'), -1).found, false, core.name)
    } finally {
      tb.close()
    }
  }
  for (const core of cores()) {
    const tb = core.openTable(join(dir, `${core.name}-out.sst`))
    const v = core.newReadView([], [[tb]])
    for (const snapshotSeq of [Number.NaN, -1, -Infinity]) {
      t.false(v.get(Buffer.from('a'), snapshotSeq).found, `${core.name} ${snapshotSeq}`)
      t.deepEqual(v.cursor({ snapshotSeq }).nextChunk(10).keys, [], `${core.name} ${snapshotSeq}`)
      t.deepEqual(v.cursor({ snapshotSeq, reverse: true }).nextChunk(10).keys, [], `${core.name} ${snapshotSeq} reverse`)
    }
    t.is(v.cursor({ snapshotSeq: 0 }).nextChunk(10).keys.length, 1, core.name)
    v.release?.()
    tb.close()
  }
})

test('caches bound the block cache in bytes and open files in count, and are shared by tables', async t => {
  const dir = tempDir(t)
  const ops: WriteOp[] = Array.from({ length: 4000 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`k${i}`), value: Buffer.alloc(100, i) }))
  const paths = Array.from({ length: 5 }, (_, i) => join(dir, `00000${i}.sst`))
  for (const p of paths) await native.flush(memtableWith(native, [encodeWriteGroup(1, ops)]), p)
  const caches = native.newCaches({ blockCacheBytes: 64 << 10, maxOpenFiles: 2 })
  const handle = (caches as unknown as { handle: NativeCachesHandle }).handle
  const tables = paths.map(p => native.openTable(p, caches))
  t.true(handle.openFiles <= 2)
  for (let i = 0; i < 4000; i += 7) {
    for (const tb of tables) t.true(tb.get(Buffer.from(`k${i}`), MAX_SEQ).found)
    t.true(handle.openFiles <= 2)
  }
  t.true(caches.blockCacheUsage > 0 && caches.blockCacheUsage <= 64 << 10)
  // The cache is full, so a block gets in on its second miss (its first may
  // have been turned away): after two reads it is a hit.
  tables[0]!.get(Buffer.from('k3997'), MAX_SEQ)
  tables[0]!.get(Buffer.from('k3997'), MAX_SEQ)
  const hits = handle.blockCacheHits
  tables[0]!.get(Buffer.from('k3997'), MAX_SEQ)
  t.is(handle.blockCacheHits, hits + 1, 'a block read twice recently is a hit')
  // Closing a table lets go of its blocks and its descriptor.
  for (const tb of tables) tb.close()
  t.is(handle.openFiles, 0)
  t.is(caches.blockCacheUsage, 0)
  t.is(errorOf(() => native.openTable(paths[0]!, tsCore.newCaches({ blockCacheBytes: 1, maxOpenFiles: 1 })))?.code, 'INVALID_ARGUMENT')
})

test('with mmapReads, up to maxOpenFiles tables are mapped (holding no descriptor) and read like the others', async t => {
  const dir = tempDir(t)
  const ops: WriteOp[] = Array.from({ length: 3000 }, (_, i) => ({ kind: Kind.Put, key: Buffer.from(`k${i}`), value: Buffer.alloc(100, i) }))
  const paths = Array.from({ length: 5 }, (_, i) => join(dir, `00001${i}.sst`))
  for (const p of paths) await native.flush(memtableWith(native, [encodeWriteGroup(1, ops)]), p)
  const mapped = native.newCaches({ blockCacheBytes: 16 << 10, maxOpenFiles: 2, mmapReads: true })
  const plain = native.newCaches({ blockCacheBytes: 16 << 10, maxOpenFiles: 2 })
  const mh = (mapped as unknown as { handle: NativeCachesHandle }).handle
  let a = paths.map(p => native.openTable(p, mapped))
  let b = paths.map(p => native.openTable(p, plain))
  t.is(mapped.mappedTables, 2)
  t.is(plain.mappedTables, 0)
  for (let i = 0; i < 3000; i += 11) {
    const k = Buffer.from(`k${i}`)
    for (let j = 0; j < paths.length; j++) t.deepEqual(normLookup(a[j]!.get(k, MAX_SEQ)), normLookup(b[j]!.get(k, MAX_SEQ)))
    t.true(mh.openFiles <= 2)
  }
  // Closing a table unmaps it (no read view holds these).
  for (const tb of [...a, ...b]) tb.close()
  t.is(mapped.mappedTables, 0)
  t.is(mh.openFiles, 0)
  a = paths.map(p => native.openTable(p, mapped))
  b = paths.map(p => native.openTable(p, plain))
  for (let j = 0; j < paths.length; j++) {
    const ca = native.newReadView([], [[a[j]!]]).cursor({ snapshotSeq: MAX_SEQ, reverse: j % 2 === 1 })
    const cb = native.newReadView([], [[b[j]!]]).cursor({ snapshotSeq: MAX_SEQ, reverse: j % 2 === 1 })
    for (;;) {
      const x = ca.nextChunk(500)
      t.deepEqual(normChunk(x), normChunk(cb.nextChunk(500)))
      if (x.done) break
    }
  }
  t.is(mapped.mappedTables, 2)
})
