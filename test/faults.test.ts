/**
 * Fault injection: chosen file operations fail with EIO or ENOSPC during WAL
 * appends and syncs, flushes, compactions, manifest writes and CURRENT
 * replacement. The failing operation rejects with IO_ERROR; when the state is
 * uncertain the database refuses further writes (a sticky background error);
 * nothing acknowledged is lost; reopening works.
 */
import test from 'ava'
import { readdirSync } from 'node:fs'
import { basename } from 'node:path'
import { DB } from '../ts/db.js'
import { LsmError } from '../ts/errors.js'
import { errnoError, setFaultHook, type IoOp } from '../ts/io.js'
import { engines, tempDir } from './helpers/engines.js'

// The hook is process-wide: these tests must not overlap.
const serial = test.serial

let injected = 0

/** Fails the `nth` matching operation (1-based) with `code`, then lets everything pass. */
function failNth(match: (op: IoOp, path: string) => boolean, nth: number, code: 'EIO' | 'ENOSPC' = 'EIO'): void {
  let seen = 0
  setFaultHook((op, path) => {
    if (!match(op, path)) return
    if (++seen === nth) {
      injected++
      throw errnoError(code, op, path)
    }
  })
}

test.afterEach.always(() => setFaultHook(undefined))
test.after(t => t.log(`faults injected: ${injected}`))

const small = { memtableSize: 4096, l0CompactionTrigger: 2, targetFileSize: 4096, maxBytesForLevelBase: 16384, levelMultiplier: 4 }
const isWal = (p: string) => p.endsWith('.log')

async function expectAll(t: { is: (a: unknown, b: unknown, m?: string) => void }, db: DB, acked: Map<string, string>): Promise<void> {
  for (const [k, v] of acked) t.is((await db.get(k))?.toString(), v, `acknowledged ${k}`)
}

for (const engine of engines()) {
  for (const code of ['EIO', 'ENOSPC'] as const) {
    serial(`[${engine}] a failed WAL append (${code}) rejects with IO_ERROR and stops writes until reopen`, async t => {
      const dir = tempDir(t)
      const db = await DB.open(dir, { engine })
      const acked = new Map<string, string>()
      for (let i = 0; i < 20; i++) {
        await db.put(`k${i}`, `v${i}`)
        acked.set(`k${i}`, `v${i}`)
      }
      failNth((op, p) => op === 'write' && isWal(p), 1, code)
      const err = await t.throwsAsync(db.put('bad', 'x'), { instanceOf: LsmError })
      t.is(err?.code, 'IO_ERROR')
      t.regex(err!.message, new RegExp(code))
      setFaultHook(undefined)
      await t.throwsAsync(db.put('after', 'x'), { code: 'IO_ERROR' }, 'writes stay refused: the log state is uncertain')
      t.is((await db.get('k3'))?.toString(), 'v3', 'reads still work')
      t.truthy(db.stats().backgroundError)
      await db.close()
      const db2 = await DB.open(dir, { engine })
      await expectAll(t, db2, acked)
      t.is(await db2.get('after'), undefined)
      await db2.put('again', 'ok')
      t.is((await db2.get('again'))?.toString(), 'ok')
      await db2.close()
    })
  }

  serial(`[${engine}] a large batch's WAL append (on the libuv pool) is recovered, and its failure rejects with IO_ERROR`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    // Over 64 KiB each: the WAL write goes off the JS thread.
    const batch = (prefix: string) => Array.from({ length: 1500 }, (_, i) => ({ type: 'put' as const, key: `${prefix}${i}`, value: `${prefix}`.repeat(60) }))
    await db.batch(batch('ok'))
    await db.put('small', 's')
    failNth((op, p) => op === 'write' && isWal(p), 1)
    await t.throwsAsync(db.batch(batch('bad')), { code: 'IO_ERROR' })
    t.is(await db.get('bad7'), undefined, 'the failed batch is not visible')
    setFaultHook(undefined)
    await t.throwsAsync(db.put('after', 'x'), { code: 'IO_ERROR' }, 'writes stay refused: the log state is uncertain')
    await db.close()
    const db2 = await DB.open(dir, { engine })
    t.is((await db2.get('ok1499'))?.toString(), 'ok'.repeat(60))
    t.is((await db2.get('small'))?.toString(), 's')
    t.is(await db2.get('bad7'), undefined)
    t.is(await db2.get('after'), undefined)
    await db2.close()
  })

  serial(`[${engine}] a failed fsync of a sync write rejects with IO_ERROR`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    await db.put('a', '1', { sync: true })
    failNth((op, p) => op === 'sync' && isWal(p), 1)
    await t.throwsAsync(db.put('b', '2', { sync: true }), { code: 'IO_ERROR' })
    await t.throwsAsync(db.put('c', '3'), { code: 'IO_ERROR' })
    await db.close()
    setFaultHook(undefined)
    const db2 = await DB.open(dir, { engine })
    t.is((await db2.get('a'))?.toString(), '1')
    await db2.close()
  })

  serial(`[${engine}] a failed fsync of a large synced batch (inserted while the fsync runs) rejects with IO_ERROR`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    await db.put('a', '1', { sync: true })
    failNth((op, p) => op === 'sync' && isWal(p), 1)
    // Over 64 KiB: the memtable insert goes off the JS thread while the fsync fails.
    const big = Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: `big${i}`, value: 'v'.repeat(100) }))
    await t.throwsAsync(db.batch(big, { sync: true }), { code: 'IO_ERROR' })
    await t.throwsAsync(db.put('c', '3'), { code: 'IO_ERROR' })
    t.is(await db.get('big7'), undefined, 'the failed batch is not visible')
    await db.close()
    setFaultHook(undefined)
    const db2 = await DB.open(dir, { engine })
    t.is((await db2.get('a'))?.toString(), '1')
    await db2.close()
  })

  serial(`[${engine}] a failed MANIFEST append during a flush becomes a background error; nothing acknowledged is lost`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small })
    const errors: Error[] = []
    db.on('error', e => errors.push(e))
    failNth((op, p) => op === 'write' && basename(p).startsWith('MANIFEST-'), 1)
    const acked = new Map<string, string>()
    let rejected = 0
    for (let i = 0; i < 400; i++) {
      try {
        await db.put(`key${i}`, `value${i}-${'x'.repeat(40)}`)
        acked.set(`key${i}`, `value${i}-${'x'.repeat(40)}`)
      } catch (e) {
        t.is((e as LsmError).code, 'IO_ERROR')
        rejected++
      }
    }
    t.true(rejected > 0, 'writes are refused once the background job failed')
    t.true(errors.length >= 1 && errors.every(e => (e as LsmError).code === 'IO_ERROR'), 'an error event was emitted')
    await db.close()
    setFaultHook(undefined)
    const db2 = await DB.open(dir, { engine, ...small })
    await expectAll(t, db2, acked)
    await db2.close()
  })

  const jobFaults = {
    'flush job': (o: IoOp) => o === 'flush',
    'compact job': (o: IoOp) => o === 'compact',
    // The flush lane fsyncs each new table apart from writing it (overlapping the next build).
    'table fsync': (o: IoOp, p: string) => o === 'sync' && p.endsWith('.sst'),
  }
  for (const [op, match] of Object.entries(jobFaults)) {
    serial(`[${engine}] a failed ${op} stops writes with IO_ERROR and recovers on reopen`, async t => {
      const dir = tempDir(t)
      const db = await DB.open(dir, { engine, ...small })
      failNth(match, 1)
      const acked = new Map<string, string>()
      let rejected = 0
      for (let i = 0; i < 2000; i++) {
        const v = `value${i}-${'x'.repeat(50)}`
        try {
          await db.put(`key${i % 300}`, v)
          acked.set(`key${i % 300}`, v)
        } catch (e) {
          t.is((e as LsmError).code, 'IO_ERROR')
          rejected++
        }
      }
      t.true(rejected > 0, `writes refused after the failed ${op}`)
      await db.close()
      setFaultHook(undefined)
      const db2 = await DB.open(dir, { engine, ...small })
      await expectAll(t, db2, acked)
      await db2.close()
    })
  }

  serial(`[${engine}] a failed CURRENT rename at open fails the open; the next open works`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    await db.put('a', '1', { sync: true })
    await db.close()
    failNth((op, p) => op === 'rename' && basename(p) === 'CURRENT', 1)
    await t.throwsAsync(DB.open(dir, { engine }), { code: 'IO_ERROR' })
    setFaultHook(undefined)
    const db2 = await DB.open(dir, { engine })
    t.is((await db2.get('a'))?.toString(), '1')
    await db2.close()
  })

  serial(`[${engine}] a failed WAL read at open fails the open with IO_ERROR`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    await db.put('a', '1', { sync: true })
    await db.close()
    failNth((op, p) => op === 'read' && isWal(p), 1)
    await t.throwsAsync(DB.open(dir, { engine }), { code: 'IO_ERROR' })
    setFaultHook(undefined)
    const db2 = await DB.open(dir, { engine })
    t.is((await db2.get('a'))?.toString(), '1')
    await db2.close()
  })
}

// A dead table is deleted (recycleTableFiles: 0) or renamed into the recycle
// pool; when that fails in the background, the failure is reported once and
// a later GC (at the latest the one at the next open) retries the file.
const deadTableFaults = [
  { what: 'a table that cannot be deleted in the background', op: 'unlink', recycleTableFiles: 0, message: /cannot delete \d+\.sst/ },
  { what: 'a dead table that cannot be moved into the recycle pool', op: 'rename', recycleTableFiles: 16, message: /cannot recycle \d+\.sst/ },
] as const

for (const engine of engines()) {
  for (const c of deadTableFaults) {
    serial(`[${engine}] ${c.what} is reported, and deleted later`, async t => {
      const dir = tempDir(t)
      const db = await DB.open(dir, { engine, ...small, recycleTableFiles: c.recycleTableFiles })
      const errors: LsmError[] = []
      db.on('error', e => errors.push(e as LsmError))
      failNth((op, path) => op === c.op && path.endsWith('.sst'), 1)
      for (let i = 0; i < 400; i += 20) {
        await Promise.all(Array.from({ length: 20 }, (_, j) => db.put(`key${i + j}`, 'v'.repeat(60))))
      }
      await db.compactRange()
      setFaultHook(undefined)
      t.is(errors.length, 1, `the failed ${c.op} is reported once`)
      t.is(errors[0]?.code, 'IO_ERROR')
      t.regex(errors[0]?.message ?? '', c.message)
      t.is((await db.get('key7'))?.toString(), 'v'.repeat(60), 'reads and writes go on')
      await db.put('more', 'x')
      await db.close()
      const again = await DB.open(dir, { engine, ...small })
      const live = again.stats().levels.reduce((n, l) => n + l.files, 0)
      await again.close()
      t.is(readdirSync(dir).filter(f => f.endsWith('.sst')).length, live, 'only live tables remain')
      t.deepEqual(readdirSync(dir).filter(f => f.endsWith('.recycle')), [])
    })
  }
}
