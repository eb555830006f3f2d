import test from 'ava'
import { DB } from '../ts/db.js'
import { LsmLevel } from '../ts/level.js'
import { TURN_MS } from '../ts/turn.js'
import { engines, tempDir } from './helpers/engines.js'

/**
 * Runs `loop` (awaited reads only: no I/O waits) for `ms` and reports how
 * many times a 1 ms interval timer fired meanwhile. Without turn sharing a
 * loop of resolved promises never lets the event loop reach its timers.
 */
async function timerTicksDuring(ms: number, step: () => Promise<unknown>): Promise<{ ticks: number; steps: number }> {
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const end = performance.now() + ms
  let steps = 0
  try {
    while (performance.now() < end) {
      await step()
      steps++
    }
  } finally {
    clearInterval(timer)
  }
  return { ticks, steps }
}

for (const engine of engines()) {
  test(`[${engine}] a loop of awaited gets, has and getMany lets timers run`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: `v${i}` })))
    let i = 0
    const r = await timerTicksDuring(100, async () => {
      const k = `k${i++ % 100}`
      t.is((await db.get(k))?.toString(), k.replace('k', 'v'))
      t.true(await db.has(k))
      t.is((await db.getMany([k]))[0]?.toString(), k.replace('k', 'v'))
    })
    // 100 ms of reads: the loop must have turned (about every TURN_MS; without
    // turn sharing the timer never fires). Loose: the machine may be loaded.
    t.true(r.ticks >= 2, `${r.ticks} timer ticks during ${r.steps} steps (TURN_MS ${TURN_MS})`)
    await db.close()
  })

  test(`[${engine}] a long for-await scan lets timers run, and reads answer as of their call`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    await db.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: `k${String(i).padStart(5, '0')}`, value: 'x' })))
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    const end = performance.now() + 100
    let entries = 0
    try {
      while (performance.now() < end) {
        for await (const _ of db.iterator()) entries++
      }
    } finally {
      clearInterval(timer)
    }
    t.true(ticks >= 2, `${ticks} timer ticks during ${entries} entries`)
    // A get issued before a write sees the state of its call, even when it resolves a turn later.
    const before = Array.from({ length: 500 }, () => db.get('k00000'))
    await db.put('k00000', 'changed')
    t.true((await Promise.all(before)).every(v => v?.toString() === 'x'))
    t.is((await db.get('k00000'))?.toString(), 'changed')
    await db.close()
  })

  test(`[${engine}] background work installs while a read loop runs (flushes and a compaction finish during reads)`, async t => {
    const db = await DB.open(tempDir(t), { engine, memtableSize: 16 * 1024, l0CompactionTrigger: 2 })
    for (let round = 0; round < 6; round++) {
      await db.batch(Array.from({ length: 400 }, (_, i) => ({ type: 'put' as const, key: `k${String(i * 7 % 400).padStart(4, '0')}`, value: 'v'.repeat(50) + round })))
    }
    // The batches filled ~9 memtables; their flushes and the compactions they
    // call for need the JS thread to install, which a loop of resolved reads
    // (no timers, no I/O of our own) only gives them by sharing turns.
    const atStart = db.stats()
    let reads = 0
    const end = performance.now() + 5000
    while (performance.now() < end && (db.stats().immutableMemtables > 0 || db.stats().compactions === 0)) {
      await db.get(`k${String(reads++ % 400).padStart(4, '0')}`)
    }
    const st = db.stats()
    t.true(atStart.immutableMemtables > 0 || atStart.compactions === 0, 'background work was pending when the reads began')
    t.is(st.immutableMemtables, 0, `flushes pending after ${reads} reads`)
    t.true(st.compactions > 0, `no compaction installed during ${reads} reads`)
    await db.close()
  })

  test(`[${engine}] LsmLevel reads and iterators share the event loop too`, async t => {
    const db = new LsmLevel<string, string>(tempDir(t), { engine })
    await db.open()
    await db.batch(Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: `v${i}` })))
    let i = 0
    const r = await timerTicksDuring(100, async () => {
      t.is(await db.get(`k${i % 200}`), `v${i % 200}`)
      i++
      const it = db.iterator({ limit: 3 })
      await it.next()
      await it.close()
    })
    t.true(r.ticks >= 2, `${r.ticks} timer ticks during ${r.steps} steps`)
    await db.close()
  })
}
