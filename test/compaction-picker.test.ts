/**
 * The compaction picker: which tables merge next, and when tables can move
 * down a level without being rewritten (trivial moves).
 */
import test from 'ava'
import { pickCompaction, planFor } from '../ts/compaction-picker.js'
import { Kind, makeInternalKey } from '../ts/core/ts/internal-key.js'
import type { FileMeta } from '../ts/core/ts/version-edit.js'
import { resolveOptions } from '../ts/options.js'
import { Version } from '../ts/version.js'
import { DB } from '../ts/db.js'
import { engines, tempDir } from './helpers/engines.js'

let nextNumber = 1
/** A table of `level` holding user keys lo..hi. */
function table(level: number, lo: string, hi: string): FileMeta {
  const n = nextNumber++
  return { level, fileNumber: n, fileSize: 1000, minSeq: n, maxSeq: n, smallest: makeInternalKey(Buffer.from(lo), n, Kind.Put), largest: makeInternalKey(Buffer.from(hi), n, Kind.Put) }
}

function version(...files: FileMeta[]): Version {
  return Version.empty().apply({ addedFiles: files }, 'MANIFEST-test')
}

test('L0 tables with disjoint ranges and nothing below them move down whole', t => {
  const l0 = [table(0, 'a', 'c'), table(0, 'd', 'f'), table(0, 'g', 'i'), table(0, 'j', 'l')]
  const plan = pickCompaction(version(...l0, table(1, 'x', 'z')), resolveOptions({ l0CompactionTrigger: 4 }), [])
  t.truthy(plan)
  t.is(plan!.level, 0)
  t.is(plan!.inputs.length, 4)
  t.deepEqual(plan!.next, [])
  t.true(plan!.trivialMove)
})

test('L0 tables that share a key, or meet an L1 table, are merged, not moved', t => {
  // 'c' ends one table and starts the next: a shared user key.
  const touching = [table(0, 'a', 'c'), table(0, 'c', 'f')]
  t.false(planFor(version(...touching), 0, touching, 'manual').trivialMove)
  const overlapping = [table(0, 'a', 'e'), table(0, 'd', 'f')]
  t.false(planFor(version(...overlapping), 0, overlapping, 'manual').trivialMove)
  const apart = [table(0, 'a', 'b'), table(0, 'e', 'f')]
  const below = table(1, 'c', 'e')
  const plan = planFor(version(...apart, below), 0, apart, 'manual')
  t.deepEqual(plan.next.map(f => f.fileNumber), [below.fileNumber])
  t.false(plan.trivialMove)
  t.true(planFor(version(...apart, table(1, 'g', 'h')), 0, apart, 'manual').trivialMove)
})

test('below L0 only a single table with nothing under it moves', t => {
  const one = table(1, 'a', 'c')
  t.true(planFor(version(one), 1, [one], 'manual').trivialMove)
  const two = [table(1, 'd', 'e'), table(1, 'f', 'g')]
  t.false(planFor(version(...two), 1, two, 'manual').trivialMove)
  const under = table(2, 'b', 'b')
  t.false(planFor(version(one, under), 1, [one], 'manual').trivialMove)
})

for (const engine of engines()) {
  test(`[${engine}] sequential inserts move L0 tables down without rewriting them, and read back`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, memtableSize: 64 * 1024, l0CompactionTrigger: 2 })
    const key = (i: number) => `k${String(i).padStart(7, '0')}`
    for (let i = 0; i < 6000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => db.put(key(i + j), `v${i + j}-${'y'.repeat(60)}`)))
    }
    // Flushes and compactions run in the background: wait (bounded) for the first move.
    for (let waited = 0; db.stats().trivialMoves === 0 && waited < 10_000; waited += 20) await new Promise(r => setTimeout(r, 20))
    const st = db.stats()
    t.true(st.trivialMoves > 0, `trivial moves ${st.trivialMoves}`)
    t.is(st.compactions, 0, 'no table was rewritten')
    for (const i of [0, 1234, 5999]) t.is((await db.get(key(i)))?.toString(), `v${i}-${'y'.repeat(60)}`)
    await db.close()
    const db2 = await DB.open(dir, { engine })
    let n = 0
    for await (const [k] of db2.iterator()) t.is(k.toString(), key(n++))
    t.is(n, 6000)
    await db2.close()
  })
}
