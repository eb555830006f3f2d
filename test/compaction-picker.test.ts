/**
 * The compaction picker: which tables merge next, and when tables can move
 * down a level without being rewritten (trivial moves).
 */
import test from 'ava'
import { pickCompaction, planFor, splitPlan } from '../ts/compaction-picker.js'
import { Kind, makeInternalKey, userKeyOf } from '../ts/core/ts/internal-key.js'
import type { FileMeta } from '../ts/core/ts/version-edit.js'
import { Version } from '../ts/version.js'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Table } from '../ts/core/ts/sst.js'
import { DB } from '../ts/db.js'
import { LsmError } from '../ts/errors.js'
import { verifyDB } from '../ts/inspect.js'
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
  const plan = pickCompaction(version(...l0, table(1, 'x', 'z')), { l0CompactionTrigger: 4, levelMultiplier: 10, maxBytesForLevelBase: 10 << 20 }, [])
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

test('a compaction splits at next-level table starts into parts of about equal size, each with only the tables it overlaps', t => {
  const l0 = [table(0, 'a', 'z'), table(0, 'b', 'y')]
  const l1 = [table(1, 'a', 'c'), table(1, 'd', 'f'), table(1, 'g', 'i'), table(1, 'j', 'l'), table(1, 'm', 'o'), table(1, 'p', 'r')]
  const v = version(...l0, ...l1)
  const plan = planFor(v, 0, l0, 'l0-count')
  t.is(plan.next.length, 6)
  const user = (u: Uint8Array | undefined) => (u === undefined ? undefined : Buffer.from(u).toString())
  const two = splitPlan(plan, 2, 0)
  t.deepEqual(two.map(p => [user(p.start), user(p.end)]), [[undefined, 'j'], ['j', undefined]])
  t.deepEqual(two.map(p => p.files.length), [2 + 3, 2 + 3])
  const three = splitPlan(plan, 3, 0)
  t.deepEqual(three.map(p => [user(p.start), user(p.end)]), [[undefined, 'g'], ['g', 'm'], ['m', undefined]])
  // An L0 table inside one part is only in that part.
  const narrow = [table(0, 'a', 'b'), table(0, 'a', 'z')]
  const p2 = splitPlan(planFor(version(...narrow, ...l1), 0, narrow, 'l0-count'), 2, 0)
  t.deepEqual(p2.map(p => p.files.filter(f => f.level === 0).length), [2, 1])
  // Every part's files overlap it, every file is in some part, and parts are key-ordered and apart.
  for (const parts of [two, three, p2]) {
    for (let i = 1; i < parts.length; i++) t.is(Buffer.compare(parts[i - 1]!.end!, parts[i]!.start!), 0)
  }
  // Small plans, one next-level table, or max 1: one part holding everything.
  t.is(splitPlan(plan, 2, 8001).length, 1)
  t.is(splitPlan(plan, 2, 8000).length, 2)
  t.is(splitPlan(plan, 1, 0).length, 1)
  const single = planFor(version(...l0, l1[0]!), 0, l0, 'l0-count')
  t.deepEqual(splitPlan(single, 4, 0), [{ files: [...l0, l1[0]!] }])
  // More parts asked than next-level tables allow: at most one per table.
  t.is(splitPlan(plan, 64, 0).length, 6)
})

for (const engine of engines()) {
  test(`[${engine}] subcompactions split real compactions and lose nothing`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, memtableSize: 8 << 10, targetFileSize: 4 << 10, maxBytesForLevelBase: 16 << 10, levelMultiplier: 4, l0CompactionTrigger: 2, maxSubcompactions: 3, compression: 'none' })
    const model = new Map<string, string>()
    let x = 7
    for (let i = 0; i < 6000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31
      const k = `k${String(x % 2000).padStart(5, '0')}`
      const v = `v${i}-${'x'.repeat(x % 40)}`
      model.set(k, v)
      await db.put(k, v)
    }
    await db.compactRange()
    const st = db.stats()
    t.true(st.subcompactions > 0, `subcompactions ${st.subcompactions} of ${st.compactions} compactions`)
    const got: [string, string][] = []
    for await (const [k, v] of db.iterator()) got.push([k.toString(), v.toString()])
    t.deepEqual(got, [...model].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    const report = await db.verify()
    t.true(report.ok)
    t.deepEqual(report.unreferenced, [])
    await db.close()
  })
}

for (const engine of engines()) {
  test(`[${engine}] when one part of a split compaction fails, the other parts' tables are removed too`, async t => {
    const dir = tempDir(t)
    const opts = { engine, memtableSize: 8 << 10, targetFileSize: 4 << 10, maxBytesForLevelBase: 1 << 20, l0CompactionTrigger: 2, maxSubcompactions: 2, compression: 'none' } as const
    const key = (i: number) => `k${String(i).padStart(5, '0')}`
    let db = await DB.open(dir, opts)
    for (let i = 0; i < 3000; i++) await db.put(key(i), `v${i}-${'x'.repeat(i % 30)}`)
    await db.compactRange()
    const l1 = db.stats().levels[1]!.files
    await db.close()
    t.true(l1 >= 4, `L1 tables ${l1}`)
    // Damage the table holding the largest keys: only the last part reads it.
    const live = verifyDB(dir).files.filter(f => f.kind === 'table').map(f => f.file)
    const tables = live.map(f => {
      const tb = Table.openFile(join(dir, f))
      try {
        return { f, smallest: Buffer.from(userKeyOf(tb.properties.smallest)) }
      } finally {
        tb.close()
      }
    }).sort((a, b) => Buffer.compare(b.smallest, a.smallest))
    const victim = join(dir, tables[0]!.f)
    const bytes = readFileSync(victim)
    bytes[20]! ^= 0x40
    writeFileSync(victim, bytes)
    db = await DB.open(dir, opts)
    // New versions of every key in L0 make the next L0 compaction span all of L1.
    for (let i = 0; i < 3000; i += 7) await db.put(key(i), 'again')
    await db.put(key(2999), 'again')
    const e = await t.throwsAsync(db.compactRange())
    t.is((e as LsmError).code, 'CORRUPTION')
    await db.close().catch(() => {})
    const report = verifyDB(dir)
    t.deepEqual(report.unreferenced, [], 'no table of the finished part is left behind')
  })

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
