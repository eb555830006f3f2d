/**
 * Corruption of a real database's files: flipped bytes in WALs (middle and
 * tail), tables (data blocks, index, footer), the MANIFEST and CURRENT, and
 * truncations. Open or read fails with CORRUPTION naming the file; wrong data
 * is never returned; `db.verify()` finds what a read would.
 */
import test from 'ava'
import { cpSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DB } from '../ts/db.js'
import { LsmError } from '../ts/errors.js'
import { verifyDB } from '../ts/inspect.js'
import { engines, tempDir } from './helpers/engines.js'
import { Rng } from './helpers/random.js'

const small = { memtableSize: 8192, l0CompactionTrigger: 100, l0SlowdownTrigger: 200, l0StopTrigger: 300, blockSize: 512 }
const N = 600
const valueOf = (i: number) => `value-${i}-${'z'.repeat(i % 40)}`

/** A database with several tables and unflushed writes in its WAL. */
async function buildDb(dir: string, engine: 'ts' | 'native'): Promise<void> {
  const db = await DB.open(dir, { engine, ...small })
  for (let i = 0; i < N; i += 20) {
    await db.batch(Array.from({ length: 20 }, (_, j) => ({ type: 'put' as const, key: `key${String(i + j).padStart(4, '0')}`, value: valueOf(i + j) })), { sync: true })
  }
  await db.close()
}

/** Opens and reads everything; returns the error or undefined. Asserts no wrong value is ever returned. */
async function openAndReadAll(dir: string, engine: 'ts' | 'native', t: { fail: (m: string) => void }): Promise<LsmError | undefined> {
  let db: DB | undefined
  try {
    db = await DB.open(dir, { engine, ...small })
    for (let i = 0; i < N; i++) {
      const v = (await db.get(`key${String(i).padStart(4, '0')}`))?.toString()
      if (v !== undefined && v !== valueOf(i)) t.fail(`wrong value for key ${i}: ${v}`)
    }
    for await (const [k, v] of db.iterator()) {
      const i = Number(k.toString().slice(3))
      if (v.toString() !== valueOf(i)) t.fail(`iterator returned a wrong value for ${k}`)
    }
    return undefined
  } catch (e) {
    if (!(e instanceof LsmError)) throw e
    return e
  } finally {
    await db?.close().catch(() => {})
  }
}

function flip(path: string, pos: number): void {
  const b = readFileSync(path)
  b[pos]! ^= 0x40
  writeFileSync(path, b)
}

for (const engine of engines()) {
  test(`[${engine}] flipped bytes in every kind of file are reported as CORRUPTION naming the file`, async t => {
    const base = tempDir(t)
    await buildDb(base, engine)
    const names = readdirSync(base)
    const tables = names.filter(n => n.endsWith('.sst'))
    const wal = names.find(n => n.endsWith('.log'))!
    const manifest = names.find(n => n.startsWith('MANIFEST-'))!
    t.true(tables.length >= 3, 'several tables')
    t.true(statSync(join(base, wal)).size > 100, 'unflushed writes in the WAL')
    const rng = new Rng(99)
    const cases: [string, number][] = [['CURRENT', 3], ['CURRENT', 20]]
    const walSize = statSync(join(base, wal)).size
    cases.push([wal, 20], [wal, Math.floor(walSize / 2)], [wal, walSize - 1], [wal, walSize - 30])
    const manSize = statSync(join(base, manifest)).size
    cases.push([manifest, 5], [manifest, 30], [manifest, manSize - 1])
    for (const tb of tables.slice(0, 3)) {
      const size = statSync(join(base, tb)).size
      cases.push([tb, rng.int(size - 64)], [tb, size - 10], [tb, size - 40], [tb, 0])
    }
    let detected = 0
    for (const [file, pos] of cases) {
      const dir = tempDir(t)
      cpSync(base, dir, { recursive: true })
      flip(join(dir, file), pos)
      const report = verifyDB(dir)
      const err = await openAndReadAll(dir, engine, t)
      t.truthy(err, `${file}@${pos}: damage must be reported`)
      if (err) {
        t.is(err.code, 'CORRUPTION', `${file}@${pos}: ${err.message}`)
        t.is(err.file, file, `${file}@${pos}: the error names the file (${err.message})`)
        detected++
      }
      t.false(report.ok, `${file}@${pos}: verify finds it`)
      t.is(report.files.find(f => f.status !== 'ok' && f.status !== 'warning')?.file, file)
    }
    t.log(`${detected} of ${cases.length} corruptions detected`)
  })

  test(`[${engine}] truncations: a cut WAL tail is a torn write; a cut table or MANIFEST middle is corruption`, async t => {
    const base = tempDir(t)
    await buildDb(base, engine)
    const names = readdirSync(base)
    const wal = names.find(n => n.endsWith('.log'))!
    const table = names.find(n => n.endsWith('.sst'))!
    const manifest = names.find(n => n.startsWith('MANIFEST-'))!

    // WAL tail cut: recovery keeps the complete records (all earlier acknowledged batches).
    let dir = tempDir(t)
    cpSync(base, dir, { recursive: true })
    truncateSync(join(dir, wal), statSync(join(dir, wal)).size - 7)
    t.is(await openAndReadAll(dir, engine, t), undefined)

    dir = tempDir(t)
    cpSync(base, dir, { recursive: true })
    truncateSync(join(dir, table), Math.floor(statSync(join(dir, table)).size / 2))
    const e1 = await openAndReadAll(dir, engine, t)
    t.is(e1?.code, 'CORRUPTION')
    t.is(e1?.file, table)

    dir = tempDir(t)
    cpSync(base, dir, { recursive: true })
    truncateSync(join(dir, manifest), 10)
    const e2 = await openAndReadAll(dir, engine, t)
    t.is(e2?.code, 'CORRUPTION')
    t.is(e2?.file, manifest)
  })

  test(`[${engine}] db.verify() checks every live file`, async t => {
    const dir = tempDir(t)
    await buildDb(dir, engine)
    const db = await DB.open(dir, { engine, ...small })
    const r = await db.verify()
    t.true(r.ok)
    t.true(r.files.filter(f => f.kind === 'table').length >= 3)
    t.true(r.files.some(f => f.kind === 'manifest' && f.status === 'ok'))
    t.true(r.files.filter(f => f.kind === 'table').every(f => f.status === 'ok' && (f.counts.entries ?? 0) > 0), JSON.stringify(r.files))
    await db.close()
  })
}
