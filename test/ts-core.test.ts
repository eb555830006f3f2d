import test from 'ava'
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tsCore } from '../ts/core/ts-core.js'
import { releaseWorker } from '../ts/core/ts/background.js'
import type { CoreCursor, CoreMemtable, CoreTable, CursorOptions } from '../ts/core/core.js'
import { Kind } from '../ts/core/ts/internal-key.js'
import { encodeWriteGroup, type WriteOp } from '../ts/core/ts/write-group.js'

// Let the worker thread end before the process does.
test.after.always(() => releaseWorker())

/** Model: every write as (seq, key, value|undefined); the visible state at a snapshot. */
type Write = { seq: number; key: string; value: string | undefined }
function visible(writes: Write[], snapshot: number): Map<string, string> {
  const m = new Map<string, string | undefined>()
  for (const w of writes) if (w.seq <= snapshot) m.set(w.key, w.value)
  const out = new Map<string, string>()
  for (const [k, v] of [...m].sort((a, b) => Buffer.compare(Buffer.from(a[0], 'latin1'), Buffer.from(b[0], 'latin1')))) if (v !== undefined) out.set(k, v)
  return out
}

function drainCursor(c: CoreCursor, chunk: number): [string, string][] {
  const out: [string, string][] = []
  for (;;) {
    const ch = c.nextChunk(chunk)
    ch.keys.forEach((k, i) => out.push([Buffer.from(k).toString('latin1'), Buffer.from(ch.values[i]!).toString('latin1')]))
    if (ch.done) return out
    if (ch.keys.length === 0) throw new Error('a chunk that is not done must hold entries')
  }
}

const b = (s: string) => Buffer.from(s, 'latin1')

test('property: a read view over memtables and L0 tables answers like the model', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-core-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let fileNo = 0
  const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), maxLength: 3 })
  const opArb = fc.record({ key: keyArb, del: fc.boolean(), value: fc.string({ maxLength: 5 }) })
  await fc.assert(fc.asyncProperty(
    fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 10 }),
    fc.nat(10),
    fc.record({ lower: fc.option(keyArb, { nil: undefined }), upper: fc.option(keyArb, { nil: undefined }), lowerExclusive: fc.boolean(), upperInclusive: fc.boolean(), reverse: fc.boolean() }),
    fc.nat(), fc.integer({ min: 1, max: 5 }),
    async (groups, flushedCount, bounds, snapPick, chunk) => {
      // As in the engine: the oldest groups were flushed to L0 tables, the newest sit in memtables.
      const writes: Write[] = []
      let seq = 1
      const memtables: CoreMemtable[] = []
      const l0: CoreTable[] = []
      for (let gi = 0; gi < groups.length; gi++) {
        const ops: WriteOp[] = groups[gi]!.map(o => (o.del ? { kind: Kind.Delete, key: b(o.key) } : { kind: Kind.Put, key: b(o.key), value: b(o.value) }))
        const mem = tsCore.newMemtable()
        mem.apply(encodeWriteGroup(seq, ops))
        groups[gi]!.forEach((o, i) => writes.push({ seq: seq + i, key: o.key, value: o.del ? undefined : o.value }))
        seq += ops.length
        if (gi >= flushedCount) {
          memtables.unshift(mem)
        } else {
          const path = join(dir, `${String(++fileNo).padStart(6, '0')}.sst`)
          await tsCore.flush(mem, path, { blockSize: 64 })
          l0.unshift(tsCore.openTable(path))
        }
      }
      const view = tsCore.newReadView(memtables, [l0])
      const snapshot = 1 + (snapPick % seq)
      try {
        const model = visible(writes, snapshot)
        for (const k of ['', 'a', 'b', 'ab', 'ba', 'dd', 'ccc']) {
          const r = view.get(b(k), snapshot)
          t.is(r.found && r.kind === Kind.Put ? Buffer.from(r.value).toString('latin1') : undefined, model.get(k), `get ${k}`)
        }
        const opts: CursorOptions = {
          snapshotSeq: snapshot, lowerExclusive: bounds.lowerExclusive, upperInclusive: bounds.upperInclusive, reverse: bounds.reverse,
          ...(bounds.lower !== undefined && { lower: b(bounds.lower) }),
          ...(bounds.upper !== undefined && { upper: b(bounds.upper) }),
        }
        const got = drainCursor(view.cursor(opts), chunk)
        let want = [...model].filter(([k]) => {
          if (bounds.lower !== undefined) { const c = Buffer.compare(b(k), b(bounds.lower)); if (c < 0 || (c === 0 && bounds.lowerExclusive)) return false }
          if (bounds.upper !== undefined) { const c = Buffer.compare(b(k), b(bounds.upper)); if (c > 0 || (c === 0 && !bounds.upperInclusive)) return false }
          return true
        })
        if (bounds.reverse) want = want.reverse()
        t.deepEqual(got, want)
      } finally {
        for (const tb of l0) tb.close()
      }
    }), { numRuns: 100 })
})

test('cursor seek repositions within bounds', t => {
  const mem = tsCore.newMemtable()
  mem.apply(encodeWriteGroup(1, ['a', 'b', 'c', 'd', 'e'].map(k => ({ kind: Kind.Put, key: b(k), value: b(k.toUpperCase()) }))))
  const view = tsCore.newReadView([mem], [])
  const c = view.cursor({ snapshotSeq: 10, lower: b('b'), upper: b('e') })
  c.seek(b('c'))
  t.deepEqual(c.nextChunk(10).keys.map(k => Buffer.from(k).toString()), ['c', 'd'])
  c.seek(b('a'))
  t.deepEqual(c.nextChunk(1).keys.map(k => Buffer.from(k).toString()), ['b'])
  const r = view.cursor({ snapshotSeq: 10, reverse: true, upper: b('d'), upperInclusive: true })
  r.seek(b('c'))
  t.deepEqual(r.nextChunk(10).keys.map(k => Buffer.from(k).toString()), ['c', 'b', 'a'])
})

test('malformed write groups are refused with INVALID_ARGUMENT and leave the memtable unchanged', t => {
  const mem = tsCore.newMemtable()
  const good = encodeWriteGroup(1, [{ kind: Kind.Put, key: b('k'), value: b('v') }, { kind: Kind.Put, key: b('k2'), value: b('v2') }])
  const err = t.throws(() => mem.apply(good.subarray(0, good.length - 1)))
  t.is((err as { code?: string }).code, 'INVALID_ARGUMENT')
  t.is(mem.entryCount, 0)
  mem.apply(good)
  t.is(mem.entryCount, 2)
})
