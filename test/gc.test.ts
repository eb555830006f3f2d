import test from 'ava'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { DB } from '../ts/db.js'
import { engines, eventually, tempDir } from './helpers/engines.js'

const small = { memtableSize: 4096, l0CompactionTrigger: 2, targetFileSize: 4096, maxBytesForLevelBase: 16384, levelMultiplier: 4 }

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).filter(f => f.endsWith(ext)).sort()
}

for (const engine of engines()) {
  test(`[${engine}] after heavy overwrite and compaction only live files remain`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small })
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 500; i += 25) {
        await Promise.all(Array.from({ length: 25 }, (_, j) => db.put(`key${i + j}`, `round${round}-${'x'.repeat(40)}`)))
      }
    }
    await db.compactRange()
    const st = db.stats()
    t.true(st.compactions > 3, `compactions: ${st.compactions}`)
    const liveTables = st.levels.reduce((n, l) => n + l.files, 0)
    t.is(files(dir, '.sst').length, liveTables, 'table files on disk = tables in the current version')
    t.is(files(dir, '.log').length, 1 + st.immutableMemtables, 'only the WALs of live memtables')
    t.is(readdirSync(dir).filter(f => f.startsWith('MANIFEST-')).length, 1)
    await db.close()
  })

  test(`[${engine}] a snapshot keeps its files alive until released`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small })
    await Promise.all(Array.from({ length: 300 }, (_, i) => db.put(`key${i}`, `old-${'x'.repeat(40)}`)))
    await db.compactRange()
    const before = files(dir, '.sst')
    t.true(before.length > 0)
    const snap = db.snapshot()
    await Promise.all(Array.from({ length: 300 }, (_, i) => db.put(`key${i}`, `new-${'y'.repeat(40)}`)))
    await db.compactRange()
    for (const f of before) t.true(existsSync(join(dir, f)), `${f} must stay while the snapshot lives`)
    t.true(db.stats().pinnedFiles > 0)
    t.is((await db.get('key7', { snapshot: snap }))?.toString().slice(0, 4), 'old-')
    snap.release()
    // Released files are unlinked on the libuv pool, off the event loop.
    t.true(await eventually(() => before.every(f => !existsSync(join(dir, f)))), 'the pinned files are deleted once released')
    t.is(db.stats().pinnedFiles, 0)
    await db.close()
  })

  test(`[${engine}] an open iterator pins its files; closing it frees them`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small })
    await Promise.all(Array.from({ length: 300 }, (_, i) => db.put(`key${String(i).padStart(3, '0')}`, `old-${'x'.repeat(40)}`)))
    await db.compactRange()
    const it = db.iterator()
    const first = await it.next()
    await Promise.all(Array.from({ length: 300 }, (_, i) => db.put(`key${String(i).padStart(3, '0')}`, `new`)))
    await db.compactRange()
    let n = 1
    for await (const [, v] of it) {
      t.true(v.toString().startsWith('old-'))
      n++
    }
    t.is(first.value?.[0].toString(), 'key000')
    t.is(n, 300)
    t.is(db.stats().pinnedFiles, 0, 'exhausting the iterator released it')
    await db.close()
  })

  test(`[${engine}] at open, files the manifest does not list are deleted`, async t => {
    const dir = tempDir(t)
    let db = await DB.open(dir, { engine, ...small })
    await db.put('a', '1')
    await db.close()
    writeFileSync(join(dir, '999990.sst'), 'orphan')
    writeFileSync(join(dir, 'MANIFEST-999991'), 'stale')
    writeFileSync(join(dir, 'CURRENT.tmp'), 'half')
    writeFileSync(join(dir, '999992.recycle'), 'a dead table a crash left in the recycle pool')
    writeFileSync(join(dir, 'notes.txt'), 'not ours')
    db = await DB.open(dir, { engine, ...small })
    t.false(existsSync(join(dir, '999990.sst')))
    t.false(existsSync(join(dir, 'MANIFEST-999991')))
    t.false(existsSync(join(dir, 'CURRENT.tmp')))
    t.false(existsSync(join(dir, '999992.recycle')))
    t.true(existsSync(join(dir, 'notes.txt')), 'files that are not ours are left alone')
    t.is((await db.get('a'))?.toString(), '1')
    await db.close()
  })

  test(`[${engine}] compactions write over recycled dead tables; close and compactRange leave none`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small, recycleTableFiles: 8 })
    const inodes = (ext: string) => new Set(files(dir, ext).map(f => { try { return statSync(join(dir, f)).ino } catch { return -1 } }))
    const seen = new Set<number>()
    let reused = false
    let last = 0
    for (let round = 0; round < 12 && !reused; round++) {
      last = round
      for (let i = 0; i < 500; i += 25) {
        await Promise.all(Array.from({ length: 25 }, (_, j) => db.put(`key${i + j}`, `round${round}-${'x'.repeat(40)}`)))
      }
      for (const ino of inodes('.recycle')) seen.add(ino)
      for (const ino of inodes('.sst')) if (seen.has(ino)) reused = true
      t.true(files(dir, '.recycle').length <= 8, 'the pool keeps at most recycleTableFiles files')
    }
    t.true(seen.size > 0, 'dead tables were kept for reuse')
    t.true(reused, 'a later table took over a recycled file')
    const want = `round${last}-${'x'.repeat(40)}`
    for (let i = 0; i < 500; i++) t.is((await db.get(`key${i}`))?.toString(), want)
    await db.compactRange()
    t.deepEqual(files(dir, '.recycle'), [], 'compactRange gives the pool back')
    await db.put('more', 'x')
    await db.close()
    t.deepEqual(files(dir, '.recycle'), [], 'close leaves only live files')
    const again = await DB.open(dir, { engine, ...small })
    for (let i = 0; i < 500; i += 7) t.is((await again.get(`key${i}`))?.toString(), want)
    t.is((await again.get('more'))?.toString(), 'x')
    await again.close()
  })

  test(`[${engine}] recycleTableFiles: 0 deletes every dead table`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, ...small, recycleTableFiles: 0 })
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 500; i += 25) {
        await Promise.all(Array.from({ length: 25 }, (_, j) => db.put(`key${i + j}`, `round${round}-${'x'.repeat(40)}`)))
      }
      t.deepEqual(files(dir, '.recycle'), [])
    }
    t.true(db.stats().compactions > 0)
    await db.close()
  })

  test(`[${engine}] the event loop stays responsive during a long compaction`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, memtableSize: 256 * 1024, l0CompactionTrigger: 100, l0SlowdownTrigger: 100, l0StopTrigger: 100 })
    const value = 'v'.repeat(100)
    for (let b = 0; b < 40; b++) {
      await db.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: `key${String((i * 7919 + b) % 40000).padStart(6, '0')}`, value })))
    }
    const h = monitorEventLoopDelay({ resolution: 5 })
    h.enable()
    const t0 = performance.now()
    await db.compactRange()
    const ms = performance.now() - t0
    h.disable()
    const p99 = h.percentile(99) / 1e6
    t.log(`compactRange took ${ms.toFixed(0)} ms; event-loop delay p99 ${p99.toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`)
    t.true(p99 < 100, `event-loop delay p99 ${p99} ms`)
    await db.close()
  })
}
