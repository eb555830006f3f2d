/**
 * Spare WALs: the next WAL is written ahead on the libuv pool (a header and
 * durable zeros) and renamed when a memtable rotates. After open the first
 * spare waits for the WAL's first few KiB of writes. A spare is never read:
 * one a crash leaves is deleted at open, close deletes it, and a spare that
 * cannot be written only means the next WAL is created the ordinary way.
 */
import test from 'ava'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DB } from '../ts/db.js'
import { encodeLogFileHeader, encodeRecord, WAL_MAGIC } from '../ts/core/ts/log-format.js'
import { fileNames } from '../ts/core/ts/version-edit.js'
import { errnoError, setFaultHook } from '../ts/io.js'
import { engines, eventually, tempDir } from './helpers/engines.js'

const small = { memtableSize: 16 * 1024 }
const value = (i: number) => `value-${i}-`.padEnd(100, 'x')

async function fill(db: DB, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 50) {
    await db.batch(Array.from({ length: Math.min(50, to - i) }, (_, j) => ({ type: 'put' as const, key: `k${String(i + j).padStart(6, '0')}`, value: value(i + j) })))
  }
}

async function expectKeys(t: { is: (a: unknown, b: unknown, m?: string) => void }, db: DB, n: number): Promise<void> {
  let count = 0
  for await (const [k, v] of db.iterator()) {
    t.is(v.toString(), value(Number(k.toString().slice(1))), k.toString())
    count++
  }
  t.is(count, n, 'every write is there')
}

test.afterEach.always(() => setFaultHook(undefined))

for (const engine of engines()) {
  test.serial(`[${engine}] rotations start new WALs from spares; close deletes the spare; every write reads back`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small })
    const spare = join(dir, fileNames.walSpare)
    await new Promise(r => setTimeout(r, 50))
    t.false(existsSync(spare), 'no spare before the first writes')
    await fill(db, 0, 50)
    t.true(await eventually(() => existsSync(spare) && statSync(spare).size === 16 + small.memtableSize), 'a spare is written once the WAL has a few KiB')
    for (let i = 50; i < 3000; i += 300) {
      await fill(db, i, Math.min(3000, i + 300))
      // Give the pool time to write the next spare, as a slower writer would.
      await eventually(() => existsSync(spare))
    }
    const s = db.stats()
    t.true(s.walSpares >= 3, `WALs from spares: ${s.walSpares} of ${s.flushes} flushes`)
    await db.close()
    t.false(existsSync(spare), 'close deletes the spare')
    const db2 = await DB.open(dir, { engine, ...small })
    t.teardown(() => db2.close())
    await expectKeys(t, db2, 3000)
  })

  test.serial(`[${engine}] a spare left by a crash is deleted at open, never replayed`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small })
    await db.put('a', '1')
    await db.close()
    // A leftover spare holding a valid-looking WAL record: not a WAL, so never read.
    writeFileSync(join(dir, fileNames.walSpare), Buffer.concat([encodeLogFileHeader(WAL_MAGIC), encodeRecord(new Uint8Array([1, 2, 3]), 1)]))
    const db2 = await DB.open(dir, { engine, ...small })
    t.is((await db2.get('a'))?.toString(), '1')
    t.false(existsSync(join(dir, fileNames.walSpare)), 'the leftover is gone at open')
    await fill(db2, 0, 50)
    t.true(await eventually(() => statSync(join(dir, fileNames.walSpare), { throwIfNoEntry: false })?.size === 16 + small.memtableSize))
    const spare = readFileSync(join(dir, fileNames.walSpare))
    t.true(spare.subarray(16).every(b => b === 0), 'replaced by a fresh spare')
    await db2.close()
    t.deepEqual(readdirSync(dir).filter(n => n.includes('spare')), [])
  })

  test.serial(`[${engine}] a DB opened to read or for a few writes writes no spare`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small })
    await fill(db, 0, 100)
    await db.close()
    let spareWrites = 0
    setFaultHook((op, p) => {
      if (p.endsWith(fileNames.walSpare) && op !== 'unlink') spareWrites++
    })
    const db2 = await DB.open(dir, { engine, ...small })
    t.is((await db2.get('k000042'))?.toString(), value(42))
    await db2.put('one', 'more')
    await new Promise(r => setTimeout(r, 50))
    await db2.close()
    t.is(spareWrites, 0, 'no spare created, written or synced (open only deletes a leftover)')
    const db3 = await DB.open(dir, { engine, ...small })
    t.teardown(() => db3.close())
    t.is((await db3.get('one'))?.toString(), 'more')
  })

  test.serial(`[${engine}] a spare that cannot be written costs nothing but the spare`, async t => {
    const dir = tempDir(t)
    let failures = 0
    setFaultHook((op, p) => {
      if (op === 'write' && p.endsWith(fileNames.walSpare)) {
        failures++
        throw errnoError('ENOSPC', op, p)
      }
    })
    const db = await DB.open(dir, { engine, ...small })
    await fill(db, 0, 1500)
    t.true(failures >= 1, `spare writes failed: ${failures}`)
    t.is(db.stats().walSpares, 0)
    t.is(db.stats().backgroundError, undefined)
    setFaultHook(undefined)
    // The next rotations write spares again.
    for (let i = 1500; i < 3000; i += 300) {
      await fill(db, i, i + 300)
      await eventually(() => existsSync(join(dir, fileNames.walSpare)))
    }
    t.true(db.stats().walSpares >= 1)
    await db.close()
    t.false(existsSync(join(dir, fileNames.walSpare)))
    const db2 = await DB.open(dir, { engine, ...small })
    t.teardown(() => db2.close())
    await expectKeys(t, db2, 3000)
  })
}
