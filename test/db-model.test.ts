/**
 * Differential test: random operations against the DB and an in-memory model,
 * with a tiny memtable and small levels so flushes and compactions happen all
 * the time. Every read is compared with the model.
 */
import test from 'ava'
import { DB, type Snapshot } from '../ts/db.js'
import type { OpenOptions } from '../ts/options.js'
import { engines, tempDir } from './helpers/engines.js'
import { Rng } from './helpers/random.js'

type Model = Map<string, string>

const OPTIONS: OpenOptions = {
  memtableSize: 2048, l0CompactionTrigger: 2, l0SlowdownTrigger: 4, l0StopTrigger: 6,
  targetFileSize: 2048, maxBytesForLevelBase: 8192, levelMultiplier: 4, blockSize: 256,
  // Compactions of ≥ 8 KiB split into up to 3 key ranges merged in parallel.
  maxSubcompactions: 3,
}

function sortedEntries(m: Model): [string, string][] {
  return [...m].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))
}

function modelRange(m: Model, o: { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number }): [string, string][] {
  const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))
  let e = sortedEntries(m).filter(([k]) =>
    (o.gt === undefined || cmp(k, o.gt) > 0) && (o.gte === undefined || cmp(k, o.gte) >= 0) &&
    (o.lt === undefined || cmp(k, o.lt) < 0) && (o.lte === undefined || cmp(k, o.lte) <= 0))
  if (o.reverse) e = e.reverse()
  if (o.limit !== undefined && o.limit >= 0) e = e.slice(0, o.limit)
  return e
}

async function run(engine: 'ts' | 'native', seed: number, steps: number, dir: string) {
  const rng = new Rng(seed)
  const key = () => `key${String(rng.int(300)).padStart(3, '0')}`
  const value = () => `v${rng.int(1e6)}-${'x'.repeat(rng.int(60))}`
  let db = await DB.open(dir, { engine, ...OPTIONS })
  const model: Model = new Map()
  const snaps: { snap: Snapshot; model: Model }[] = []
  let compactions = 0
  let subcompactions = 0
  let flushes = 0
  let reopens = 0
  const mismatches: string[] = []
  const check = (what: string, got: unknown, want: unknown) => {
    const g = JSON.stringify(got) ?? 'undefined'
    const w = JSON.stringify(want) ?? 'undefined'
    if (g !== w && mismatches.length < 5) mismatches.push(`seed ${seed} step ${what}: got ${g.slice(0, 200)} want ${w.slice(0, 200)}`)
  }
  for (let step = 0; step < steps; step++) {
    const r = rng.int(100)
    if (r < 35) {
      const k = key()
      const v = value()
      model.set(k, v)
      await db.put(k, v)
    } else if (r < 45) {
      const k = key()
      model.delete(k)
      await db.del(k)
    } else if (r < 55) {
      const ops = Array.from({ length: 1 + rng.int(20) }, () => (rng.chance(0.7) ? { type: 'put' as const, key: key(), value: value() } : { type: 'del' as const, key: key() }))
      for (const op of ops) op.type === 'put' ? model.set(op.key, op.value) : model.delete(op.key)
      await db.batch(ops)
    } else if (r < 70) {
      const k = key()
      check(`${step} get ${k}`, (await db.get(k))?.toString(), model.get(k))
    } else if (r < 78) {
      const o: { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number } = {}
      if (rng.chance(0.5)) o[rng.chance(0.5) ? 'gt' : 'gte'] = key()
      if (rng.chance(0.5)) o[rng.chance(0.5) ? 'lt' : 'lte'] = key()
      if (rng.chance(0.5)) o.reverse = true
      if (rng.chance(0.3)) o.limit = rng.int(50)
      const got: [string, string][] = []
      for await (const [k, v] of db.iterator(o)) got.push([k.toString(), v.toString()])
      check(`${step} iterate ${JSON.stringify(o)}`, got, modelRange(model, o))
    } else if (r < 82) {
      if (snaps.length < 4) snaps.push({ snap: db.snapshot(), model: new Map(model) })
    } else if (r < 88) {
      if (snaps.length > 0) {
        const i = rng.int(snaps.length)
        const s = snaps[i]!
        const k = key()
        check(`${step} snapshot get ${k}`, (await db.get(k, { snapshot: s.snap }))?.toString(), s.model.get(k))
        if (rng.chance(0.3)) {
          const got: [string, string][] = []
          for await (const [kk, v] of db.iterator({ snapshot: s.snap, reverse: rng.chance(0.5) })) got.push([kk.toString(), v.toString()])
          got.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])))
          check(`${step} snapshot iterate`, got, sortedEntries(s.model))
        }
        if (rng.chance(0.4)) {
          s.snap.release()
          snaps.splice(i, 1)
        }
      }
    } else if (r < 90) {
      const a = key()
      const b = key()
      await db.compactRange(a < b ? a : b, a < b ? b : a)
    } else if (r < 92) {
      for (const s of snaps) s.snap.release()
      snaps.length = 0
      const st = db.stats()
      compactions += st.compactions
      subcompactions += st.subcompactions
      flushes += st.flushes
      await db.close()
      db = await DB.open(dir, { engine, ...OPTIONS })
      reopens++
    }
  }
  // Final full comparison.
  const all: [string, string][] = []
  for await (const [k, v] of db.iterator()) all.push([k.toString(), v.toString()])
  check('final scan', all, sortedEntries(model))
  const st = db.stats()
  compactions += st.compactions
  subcompactions += st.subcompactions
  flushes += st.flushes
  for (const s of snaps) s.snap.release()
  await db.close()
  return { mismatches, compactions, subcompactions, flushes, reopens, levels: st.levels.map(l => l.files) }
}

for (const engine of engines()) {
  for (const seed of [1, 2, 3]) {
    test(`[${engine}] random operations match the model (seed ${seed})`, async t => {
      const r = await run(engine, seed * 7919, 2500, tempDir(t))
      t.log(`flushes ${r.flushes}, compactions ${r.compactions} (parts run in parallel ${r.subcompactions}), reopens ${r.reopens}, files per level ${r.levels.join('/')}`)
      t.deepEqual(r.mismatches, [])
      t.true(r.compactions > 10, 'the test must exercise compaction')
      t.true(r.subcompactions > 0, 'the test must exercise subcompactions')
      t.true(r.flushes > 20, 'the test must exercise flushes')
    })
  }
}
