/**
 * Large write groups (64 KiB or more, without sync) overlap: the next group's
 * WAL record is written while the previous group's memtable insert runs.
 * These tests mix such groups with small, synced and deleting writes on small
 * memtables (so rotations fall between them) and check what a careful user
 * relies on: later writes win over earlier ones, a write is readable once
 * its promise resolves, a batch is seen whole or not at all, and everything
 * acknowledged is there after reopening.
 */
import test from 'ava'
import { DB } from '../ts/db.js'
import { engines, eventually, tempDir } from './helpers/engines.js'

/** A batch of about 90 KB: `n` unique keys of this batch, then every shared key set to `tag`. */
function bigBatch(b: number, tag: string, shared: number) {
  const ops: { type: 'put'; key: string; value: string }[] = []
  for (let i = 0; i < 450; i++) ops.push({ type: 'put', key: `u${String(b).padStart(4, '0')}-${String(i).padStart(4, '0')}`, value: `${tag}:${i}`.padEnd(180, '.') })
  for (let i = 0; i < shared; i++) ops.push({ type: 'put', key: `s${String(i).padStart(3, '0')}`, value: tag })
  return ops
}

for (const engine of engines()) {
  test(`[${engine}] overlapping large groups: later writes win, acknowledged writes read back at once, and after reopen`, async t => {
    const dir = tempDir(t)
    const opts = { engine, memtableSize: 2 * 1024 * 1024 }
    const db = await DB.open(dir, opts)
    const model = new Map<string, string>()
    const shared = 40
    const pending: Promise<void>[] = []
    let readBackChecks = 0
    // Submitted in this order from one turn at a time; the queue commits in
    // submission order, so the model applies them in the same order.
    for (let round = 0; round < 96; round++) {
      const tag = `b${round}`
      const ops = bigBatch(round, tag, shared)
      for (const op of ops) model.set(op.key, op.value)
      const firstKey = ops[0]!.key
      const firstValue = ops[0]!.value
      pending.push(db.batch(ops).then(async () => {
        // Visible as soon as acknowledged.
        t.is((await db.get(firstKey))?.toString(), firstValue, `${firstKey} after its batch resolved`)
        readBackChecks++
      }))
      if (round % 7 === 3) {
        // A small write and a deletion between large groups.
        model.set('s000', `small${round}`)
        pending.push(db.put('s000', `small${round}`))
        model.delete(`u${String(round).padStart(4, '0')}-0001`)
        pending.push(db.del(`u${String(round).padStart(4, '0')}-0001`))
      }
      if (round % 40 === 5) {
        model.set('s001', `sync${round}`)
        pending.push(db.put('s001', `sync${round}`, { sync: true }))
      }
      // Seven, then five batches per turn (~0.6 and ~0.45 MB): each turn's
      // batches form a group large enough that its insert is still running
      // when the next group's WAL record has been written, and groups of
      // unequal length make sequences reused across groups come out wrong.
      if (round % 12 === 6 || round % 12 === 11) await new Promise(r => setImmediate(r))
    }
    await Promise.all(pending)
    t.is(readBackChecks, 96)
    const st = db.stats()
    t.true(st.overlappedGroups > 0, `some groups overlapped (${st.overlappedGroups})`)
    t.true(await eventually(() => db.stats().flushes > 0), 'memtables rotated between groups')

    const check = async (d: DB, when: string) => {
      const seen = new Map<string, string>()
      for await (const [k, v] of d.iterator()) seen.set(k.toString(), v.toString())
      t.is(seen.size, model.size, `${when}: entry count`)
      let wrong = 0
      for (const [k, v] of model) if (seen.get(k) !== v) wrong++
      t.is(wrong, 0, `${when}: every key has its last written value`)
    }
    await check(db, 'open')
    await db.close()
    const again = await DB.open(dir, opts)
    await check(again, 'reopened')
    await again.close()
  })

  test(`[${engine}] a reader never sees part of a large batch while groups overlap`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, memtableSize: 2 * 1024 * 1024 })
    // Each batch sets the same 400 keys to its own tag; a snapshot must find one tag throughout.
    const keys = Array.from({ length: 400 }, (_, i) => `k${String(i).padStart(4, '0')}`)
    const writes: Promise<void>[] = []
    let stop = false
    let snapshotsChecked = 0
    const reader = (async () => {
      while (!stop) {
        const tags = new Set<string>()
        for await (const [, v] of db.iterator()) tags.add(v.toString().split(':')[0]!)
        t.true(tags.size <= 1, `one batch's values throughout, saw ${[...tags].join(', ')}`)
        snapshotsChecked++
        await new Promise(r => setImmediate(r))
      }
    })()
    for (let b = 0; b < 80; b++) {
      writes.push(db.batch(keys.map(key => ({ type: 'put' as const, key, value: `t${b}:`.padEnd(200, '#') }))))
      if (b % 10 === 9) await new Promise(r => setImmediate(r))
    }
    await Promise.all(writes)
    stop = true
    await reader
    t.true(snapshotsChecked > 0)
    t.true(db.stats().overlappedGroups > 0, `overlapped ${JSON.stringify(db.stats().overlappedGroups)} of ${db.stats().writeGroups} groups`)
    const last = new Set<string>()
    for await (const [, v] of db.iterator()) last.add(v.toString().split(':')[0]!)
    t.deepEqual([...last], ['t79'])
    await db.close()
  })
}
