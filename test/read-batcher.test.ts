/**
 * Point reads batched onto the thread pool (`readBatching`): batched answers
 * equal synchronous ones (memtables, tables, tombstones, snapshots), a corrupt
 * block fails only the reads it holds, close waits for batches in flight, and
 * the `'auto'` policy's choices under a fake clock.
 */
import test from 'ava'
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DB } from '../ts/db.js'
import { LsmError } from '../ts/errors.js'
import { ReadBatcher } from '../ts/read-batcher.js'
import { engines, tempDir } from './helpers/engines.js'
import { Rng } from './helpers/random.js'

const small = { memtableSize: 8192, l0CompactionTrigger: 4, blockSize: 512 }
const key = (i: number) => `key${String(i).padStart(5, '0')}`

/** `n` random puts and deletes (one in `delEvery`) of keys below `keySpace`, applied to `model` too. */
function randomOps(rng: Rng, model: Map<string, string>, n: number, keySpace: number, delEvery: number, value: (k: string) => string) {
  return Array.from({ length: n }, () => {
    const k = key(rng.int(keySpace))
    if (rng.int(delEvery) === 0) {
      model.delete(k)
      return { type: 'del' as const, key: k }
    }
    const v = value(k)
    model.set(k, v)
    return { type: 'put' as const, key: k, value: v }
  })
}

for (const engine of engines()) {
  test(`[${engine}] batched reads answer as synchronous reads do, snapshots included`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small, readBatching: 'always' })
    const rng = new Rng(7)
    const model = new Map<string, string>()
    for (let round = 0; round < 6; round++) {
      await db.batch(randomOps(rng, model, 200, 800, 5, k => `v${round}-${k}-${'x'.repeat(rng.int(60))}`))
      if (round === 3) await db.compactRange()
    }
    const snap = db.snapshot()
    const before = new Map(model)
    await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: key(i * 8), value: `after-${i}` })))
    for (let i = 0; i < 100; i++) model.set(key(i * 8), `after-${i}`)
    const ks = Array.from({ length: 900 }, (_, i) => key(i))
    // All in flight at once, so they share batches.
    const got = await Promise.all(ks.map(k => db.get(k)))
    const old = await Promise.all(ks.map(k => db.get(k, { snapshot: snap })))
    for (let i = 0; i < ks.length; i++) {
      t.is(got[i]?.toString(), model.get(ks[i]!), ks[i])
      t.is(got[i]?.toString(), db.getSync(ks[i]!)?.toString(), ks[i])
      t.is(old[i]?.toString(), before.get(ks[i]!), `${ks[i]} at the snapshot`)
    }
    snap.release()
    const st = db.stats()
    t.true(st.levels.some(l => l.files > 0), 'some reads came from tables')
    t.is(st.readBatches.reads, 2 * ks.length)
    t.true(st.readBatches.batches >= 2 && st.readBatches.batches < ks.length, `${st.readBatches.batches} batches`)
    await db.close()
    await t.throwsAsync(db.get(key(1)), { instanceOf: LsmError, message: /closed/ })
  })
}

test('an unknown readBatching is INVALID_ARGUMENT', async t => {
  const e = await t.throwsAsync(DB.open(tempDir(t), { readBatching: 'sometimes' as never }))
  t.is((e as LsmError).code, 'INVALID_ARGUMENT')
})

for (const engine of engines()) {
  test(`[${engine}] close waits for batched reads in flight`, async t => {
    const dir = tempDir(t)
    let db = await DB.open(dir, { engine, ...small })
    for (let i = 0; i < 600; i++) await db.put(key(i), `value-${i}`)
    await db.close()
    db = await DB.open(dir, { engine, ...small, readBatching: 'always' })
    const reads = Array.from({ length: 600 }, (_, i) => db.get(key(i)))
    await db.close()
    const got = await Promise.all(reads)
    t.deepEqual(got.map(v => v?.toString()), Array.from({ length: 600 }, (_, i) => `value-${i}`))
  })

  test(`[${engine}] a corrupt block fails only the batched reads it holds, with CORRUPTION naming the table`, async t => {
    const dir = tempDir(t)
    let db = await DB.open(dir, { engine, ...small, l0CompactionTrigger: 100, l0SlowdownTrigger: 200, l0StopTrigger: 300 })
    for (let i = 0; i < 600; i++) await db.put(key(i), `value-${i}-${'y'.repeat(40)}`)
    await db.close()
    const table = readdirSync(dir).filter(n => n.endsWith('.sst')).sort()[0]!
    const b = readFileSync(join(dir, table))
    b[10]! ^= 0x40
    writeFileSync(join(dir, table), b)
    db = await DB.open(dir, { engine, ...small, l0CompactionTrigger: 100, l0SlowdownTrigger: 200, l0StopTrigger: 300, readBatching: 'always' })
    const settled = await Promise.allSettled(Array.from({ length: 600 }, (_, i) => db.get(key(i))))
    let failed = 0
    settled.forEach((s, i) => {
      if (s.status === 'rejected') {
        failed++
        t.true(s.reason instanceof LsmError)
        t.is((s.reason as LsmError).code, 'CORRUPTION')
        t.regex((s.reason as LsmError).message, new RegExp(table))
        t.is((s.reason as LsmError).message.split(table).length, 2, 'the table is named once')
      } else {
        t.is(s.value?.toString(), `value-${i}-${'y'.repeat(40)}`, 'no wrong value')
      }
    })
    t.true(failed > 0 && failed < 100, `${failed} reads failed`)
    await db.close()
  })
}

/** Paths of the files this process has open under `dir`. */
function openFilesUnder(dir: string): string[] {
  const out: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target.startsWith(dir)) out.push(target)
    } catch {
      // Closed since the listing.
    }
  }
  return out
}

for (const engine of engines()) {
  test(`[${engine}] batched reads stay right while compactions replace and delete tables`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small, readBatching: 'always' })
    const rng = new Rng(11)
    const model = new Map<string, string>()
    let checked = 0
    for (let round = 0; round < 12; round++) {
      // Reads issued before the batch answer as of before it, whenever the
      // read threads get to them; a compaction may replace their tables meanwhile.
      const ks = Array.from({ length: 120 }, () => key(rng.int(500)))
      const want = ks.map(k => model.get(k))
      const reads = ks.map(k => db.get(k))
      await db.batch(randomOps(rng, model, 150, 500, 6, k => `r${round}-${k}-${'z'.repeat(rng.int(50))}`))
      if (round % 4 === 3) await db.compactRange()
      const got = await Promise.all(reads)
      for (let i = 0; i < ks.length; i++) t.is(got[i]?.toString(), want[i], `${ks[i]} in round ${round}`)
      checked += ks.length
    }
    const st = db.stats()
    t.true(st.compactions > 0, 'tables were replaced')
    t.is(st.readBatches.reads, checked)
    await db.close()
    t.deepEqual(openFilesUnder(dir), [], 'no descriptor of the database stays open after close')
  })

  test(`[${engine}] a database made again at the same path reads its own tables in batches`, async t => {
    const dir = tempDir(t)
    for (const gen of ['first', 'second']) {
      let db = await DB.open(dir, { engine, ...small })
      for (let i = 0; i < 400; i++) await db.put(key(i), `${gen}-${i}`)
      await db.close()
      db = await DB.open(dir, { engine, ...small, readBatching: 'always' })
      const got = await Promise.all(Array.from({ length: 400 }, (_, i) => db.get(key(i))))
      t.deepEqual(got.map(v => v?.toString()), Array.from({ length: 400 }, (_, i) => `${gen}-${i}`))
      t.true(db.stats().levels.some(l => l.files > 0))
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

/** `reads` counted at `perMs` reads per ms on the fake clock. */
function run(b: ReadBatcher, clock: { t: number }, perMs: number, ms: number): void {
  const n = Math.round(perMs * ms)
  for (let i = 0; i < n; i++) {
    clock.t += 1 / perMs
    b.count()
  }
}

/** Runs reads until `b.batching` equals `want` (at most `limit` ms); the ms it took, or -1. */
function until(b: ReadBatcher, clock: { t: number }, perMs: (batching: boolean) => number, want: boolean, limit = 5000): number {
  for (let ms = 0; ms < limit; ms += 5) {
    if (b.batching === want) return ms
    run(b, clock, perMs(b.batching), 5)
  }
  return -1
}

test('the auto policy batches while a round shows batching reads faster, and goes back when it stops', t => {
  const clock = { t: 0 }
  const b = new ReadBatcher('auto', () => clock.t)
  t.false(b.batching)
  // Batching faster: the first round (sync, batch, sync windows) tries it...
  const faster = (batching: boolean) => (batching ? 300 : 250)
  t.true(until(b, clock, faster, true) >= 0)
  t.is(b.stats.trials, 1)
  // ...and chooses it: after the round's last synchronous window, batching stays.
  t.true(until(b, clock, faster, false) >= 0)
  t.true(until(b, clock, faster, true) >= 0)
  run(b, clock, 300, 1)
  t.is(b.stats.trialsWon, 1)
  for (let i = 0; i < 20; i++) run(b, clock, faster(b.batching), 100)
  t.is(b.stats.trials, 1, 'rounds while batching are not trials')
  let batchingMs = 0
  for (let i = 0; i < 400; i++) {
    run(b, clock, faster(b.batching), 5)
    if (b.batching) batchingMs += 5
  }
  t.true(batchingMs >= 1400, `batching ${batchingMs} of 2000 ms while it is faster`)
  // Synchronous reads faster now: a round while batching goes back to them.
  const slower = (batching: boolean) => (batching ? 150 : 250)
  t.true(until(b, clock, slower, false) >= 0)
  let after = 0
  for (let i = 0; i < 600; i++) {
    run(b, clock, slower(b.batching), 5)
    if (b.batching) after += 5
  }
  t.true(after <= 400, `batching ${after} of 3000 ms while it is slower`)
  const trials = b.stats.trials
  t.true(trials >= 1)
  t.is(b.stats.trialsWon, 1)
  // Lost trials come ever less often: at most every 4 s in the end.
  for (let i = 0; i < 2000; i++) run(b, clock, slower(b.batching), 5)
  const later = b.stats.trials
  for (let i = 0; i < 2000; i++) run(b, clock, slower(b.batching), 5)
  t.true(b.stats.trials - later <= 3, `${b.stats.trials - later} trials in 10 s`)
  t.true(b.stats.trials - later >= 2, 'but they go on')
})

test('a round compares batching with the synchronous windows on both sides of it', t => {
  // Reads speed up steadily (a compaction finishing) and batching gains nothing:
  // a trial measured against the window before it alone would win.
  const clock = { t: 0 }
  const b = new ReadBatcher('auto', () => clock.t)
  // +20 reads/ms per 100 ms window: +10% per window at first.
  for (let i = 0; i < 2000; i++) run(b, clock, 100 + clock.t / 5, 1)
  t.true(b.stats.trials >= 2)
  t.is(b.stats.trialsWon, 0)
})

test('the auto policy never tries batching for a trickle of reads', t => {
  const clock = { t: 0 }
  const b = new ReadBatcher('auto', () => clock.t)
  run(b, clock, 20, 5000)
  t.false(b.batching)
  t.is(b.stats.trials, 0)
})

test("'off' and 'always' do not change their minds", t => {
  const clock = { t: 0 }
  const off = new ReadBatcher('off', () => clock.t)
  const always = new ReadBatcher('always', () => clock.t)
  for (let i = 0; i < 3; i++) {
    run(off, clock, 300, 300)
    run(always, clock, 300, 300)
  }
  t.false(off.batching)
  t.true(always.batching)
})

for (const engine of engines()) {
  test(`[${engine}] batched reads answer right when the block cache holds only a few blocks`, async t => {
    // Each batch reads more blocks than the cache holds: a value found early in a batch must
    // not change when its block is evicted (and its memory reused) by a later read of the batch.
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small, blockCacheSize: 8192, readBatching: 'always' })
    const rng = new Rng(11)
    const model = new Map<string, string>()
    for (let round = 0; round < 4; round++) {
      await db.batch(randomOps(rng, model, 300, 1200, 7, k => `v${round}-${k}-${String(rng.int(1e9)).repeat(1 + rng.int(6))}`))
    }
    await db.compactRange()
    const ks = Array.from({ length: 1200 }, (_, i) => key(i))
    const got = await Promise.all(ks.map(k => db.get(k)))
    for (let i = 0; i < ks.length; i++) t.is(got[i]?.toString(), model.get(ks[i]!), ks[i])
    t.true(db.stats().readBatches.batches < ks.length, 'reads shared batches')
    await db.close()
  })
}
