import test from 'ava'
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'
import { DB } from '../ts/db.js'
import { LsmError } from '../ts/errors.js'
import { DirView } from '../ts/inspect.js'
import { AUTO_LEVEL_BASE, AUTO_MEMTABLE_SIZE } from '../ts/options.js'
import { engines, tempDir } from './helpers/engines.js'

const s = (b: Buffer | undefined) => b?.toString()

/** Memory maps and open descriptors of files under `dir` (Linux: /proc/self); undefined elsewhere. */
function filesHeld(dir: string): { maps: number; fds: number } | undefined {
  if (!existsSync('/proc/self/maps')) return undefined
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\n').filter(l => l.includes(dir)).length
  let fds = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).includes(dir)) fds++
    } catch { /* closed meanwhile */ }
  }
  return { maps, fds }
}

/** Nice values of this process's threads, by thread id (Linux: /proc/self/task). */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // Fields after the command's ')': state is the 3rd field, nice the 19th.
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]))
    } catch { /* the thread ended meanwhile */ }
  }
  return out
}

test('[ts] flushes and compactions run on threads below the JS thread\'s priority (Linux)', async t => {
  if (process.platform !== 'linux' || !existsSync('/proc/self/task')) return t.pass('per-thread nice values are a Linux feature')
  const base = threadNices().get(process.pid)!
  const dir = tempDir(t)
  const db = await DB.open(dir, { engine: 'ts', memtableSize: 64 << 10 })
  for (let i = 0; i < 3000; i++) await db.put(`key${String(i * 7919 % 3000).padStart(5, '0')}`, 'v'.repeat(100))
  await db.compactRange()
  const st = db.stats()
  t.true(st.flushes > 0 && st.compactions > 0, 'both kinds of job ran')
  const nices = threadNices()
  t.is(nices.get(process.pid), base, 'the JS thread keeps the process\'s priority')
  // The flush and compaction threads stay alive while the database is open.
  t.true([...nices.values()].filter(n => n === Math.max(10, base)).length >= (base >= 10 ? 1 : 2), `job threads at nice 10: ${JSON.stringify([...nices])}`)
  t.is(s(await db.get('key00042')), 'v'.repeat(100))
  await db.close()
})

for (const engine of engines()) {
  test(`[${engine}] close unmaps the tables and closes every descriptor at once, not at the next GC`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, memtableSize: 64 << 10 })
    for (let i = 0; i < 4000; i++) await db.put(`key${String(i * 7919 % 4000).padStart(5, '0')}`, 'v'.repeat(100))
    await db.compactRange()
    for (let i = 0; i < 4000; i += 13) t.is(s(await db.get(`key${String(i).padStart(5, '0')}`)), 'v'.repeat(100))
    const open = filesHeld(dir)
    if (open === undefined) return t.pass('no /proc here')
    t.true(open.fds + open.maps > 0, 'the open database holds its files')
    // `db` stays referenced: only close() can have let go of them.
    await db.close()
    t.deepEqual(filesHeld(dir), { maps: 0, fds: 0 })
    t.is(db.engine, engine)
  })

  test(`[${engine}] a value read back is usable as a key (also one lying in the output the read writes to)`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    // Chained: each value is the next key. Native reads hand out values as views
    // of the memory the next read writes into.
    const chain = Array.from({ length: 50 }, (_, i) => Buffer.from(`link-${i}`))
    for (let i = 0; i + 1 < chain.length; i++) await db.put(chain[i]!, chain[i + 1]!)
    await db.put(chain[49]!, Buffer.from('end'))
    let k: Buffer = chain[0]!
    for (let i = 1; i < chain.length; i++) {
      const v = db.getSync(k)
      t.deepEqual(v, chain[i], `link ${i}`)
      k = v!
    }
    t.is(db.getSync(k)?.toString(), 'end')
    const again = await db.get(chain[0]!)
    t.is((await db.get(again!))?.toString(), 'link-2', 'async as well')
    await db.close()
  })

  test(`[${engine}] put, get, del, batch, has, getMany`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    t.is(db.engine, engine)
    await db.put('a', '1')
    await db.put(Buffer.from('b'), new Uint8Array([50]))
    t.is(s(await db.get('a')), '1')
    t.is(s(await db.get('b')), '2')
    t.is(await db.get('zz'), undefined)
    await db.del('a')
    t.is(await db.get('a'), undefined)
    await db.batch([{ type: 'put', key: 'c', value: '3' }, { type: 'del', key: 'b' }, { type: 'put', key: 'd', value: '' }])
    t.deepEqual((await db.getMany(['a', 'b', 'c', 'd'])).map(s), [undefined, undefined, '3', ''])
    t.true(await db.has('d'))
    t.false(await db.has('b'))
    await db.close()
  })

  test(`[${engine}] iterator ranges, reverse, limit, seek`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    await db.batch('abcdefgh'.split('').map(k => ({ type: 'put' as const, key: k, value: k.toUpperCase() })))
    const keys = async (o: Parameters<DB['iterator']>[0]) => {
      const out: string[] = []
      for await (const [k] of db.iterator(o)) out.push(k.toString())
      return out.join('')
    }
    t.is(await keys({}), 'abcdefgh')
    t.is(await keys({ gt: 'b', lte: 'e' }), 'cde')
    t.is(await keys({ gte: 'b', lt: 'e', reverse: true }), 'dcb')
    t.is(await keys({ limit: 3, reverse: true }), 'hgf')
    t.is(await keys({ gt: 'h' }), '')
    const it = db.iterator({ gte: 'b' })
    it.seek(Buffer.from('f'))
    t.is(s((await it.next()).value?.[0]), 'f')
    it.seek(Buffer.from('a'))
    t.is(s((await it.next()).value?.[0]), 'b', 'seek stays within the range')
    it.close()
    await db.close()
  })

  test(`[${engine}] snapshots see the state of their moment`, async t => {
    const db = await DB.open(tempDir(t), { engine, memtableSize: 4096 })
    await db.put('k', 'old')
    const snap = db.snapshot()
    await db.put('k', 'new')
    await db.del('gone')
    for (let i = 0; i < 500; i++) await db.put(`fill${i}`, 'x'.repeat(50)) // forces flushes
    await db.compactRange()
    t.is(s(await db.get('k', { snapshot: snap })), 'old')
    t.is(s(await db.get('k')), 'new')
    let n = 0
    for await (const _ of db.iterator({ snapshot: snap })) n++
    t.is(n, 1)
    snap.release()
    t.throws(() => db.getSync('k', { snapshot: snap }), { instanceOf: LsmError })
    await db.close()
  })

  test(`[${engine}] the last level stores the versions every reader sees with sequence 0; snapshots still read their moment`, async t => {
    const dir = tempDir(t)
    const k = (i: number) => `key${String(i).padStart(4, '0')}`
    const tableSeqs = () => {
      const v = DirView.open(dir, engine)
      try {
        return v.levels.flat().map(f => [f.minSeq, f.maxSeq])
      } finally {
        v.close()
      }
    }
    let db = await DB.open(dir, { engine, memtableSize: 4096 })
    for (let i = 0; i < 200; i++) await db.put(k(i), `v1-${i}`) // sequences 1..200
    const snap = db.snapshot()
    for (let i = 0; i < 100; i++) await db.put(k(i), `v2-${i}`) // 201..300
    await db.compactRange()
    // Seen by the snapshot and oldest: sequence 0. Newer than the snapshot: kept as is.
    t.is(s(await db.get(k(5), { snapshot: snap })), 'v1-5')
    t.is(s(await db.get(k(5))), 'v2-5')
    t.is(s(await db.get(k(150))), 'v1-150')
    const seen: string[] = []
    for await (const [key, value] of db.iterator({ snapshot: snap })) seen.push(`${key}=${value}`)
    t.deepEqual(seen, Array.from({ length: 200 }, (_, i) => `${k(i)}=v1-${i}`))
    snap.release()
    await db.close()
    let seqs = tableSeqs()
    t.true(seqs.length > 0)
    t.is(Math.min(...seqs.map(([lo]) => lo!)), 0, 'the versions below the snapshot lost their sequence')
    t.is(Math.max(...seqs.map(([, hi]) => hi!)), 300, 'the newer versions kept theirs')

    db = await DB.open(dir, { engine, memtableSize: 4096 })
    for (let i = 0; i < 200; i++) await db.put(k(i), `v3-${i}`) // 301..500
    await db.compactRange()
    await db.close()
    seqs = tableSeqs()
    t.deepEqual([...new Set(seqs.flat())], [0], 'with no snapshot, every surviving version is stored with sequence 0')
    db = await DB.open(dir, { engine, memtableSize: 4096 })
    t.is(s(await db.get(k(5))), 'v3-5')
    t.is(s(await db.get(k(150))), 'v3-150')
    await db.put(k(5), 'v4') // a new sequence above the manifest's last one, and above 0
    await db.del(k(150))
    t.is(s(await db.get(k(5))), 'v4')
    t.is(await db.get(k(150)), undefined)
    let n = 0
    for await (const _ of db.iterator()) n++
    t.is(n, 199)
    await db.close()
  })

  test(`[${engine}] data survives close and reopen, through flushes and compactions`, async t => {
    const dir = tempDir(t)
    let db = await DB.open(dir, { engine, memtableSize: 8 * 1024 })
    for (let i = 0; i < 3000; i++) await db.put(`key${i % 1000}`, `v${i}`)
    await db.close()
    db = await DB.open(dir, { engine, memtableSize: 8 * 1024 })
    for (let i = 0; i < 1000; i++) t.is(s(await db.get(`key${i}`)), `v${2000 + i}`)
    const st = db.stats()
    t.true(st.levels.some(l => l.files > 0))
    await db.close()
  })

  test(`[${engine}] memtableSize 'auto' (the default) picks the engine's size, and the memtable rotates there`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    const limit = AUTO_MEMTABLE_SIZE[engine]
    t.is(db.stats().memtable.limit, limit)
    // 5 MiB of puts: past the native engine's 4 MiB, short of the TS engine's 8 MiB.
    const value = Buffer.alloc(1024, 7)
    for (let i = 0; i < 5 * 1024; i += 256) {
      await db.batch(Array.from({ length: 256 }, (_, j) => ({ type: 'put' as const, key: `k${String(i + j).padStart(6, '0')}`, value })))
    }
    const st = db.stats()
    if (limit < 5 * 1024 * 1024) t.true(st.immutableMemtables + st.flushes > 0, 'rotated past the limit')
    else t.is(st.immutableMemtables + st.flushes, 0, 'no rotation below the limit')
    t.true(st.memtable.bytes < limit)
    await db.close()
    const small = await DB.open(tempDir(t), { engine, memtableSize: 4096 })
    t.is(small.stats().memtable.limit, 4096)
    await small.close()
  })

  test(`[${engine}] maxBytesForLevelBase 'auto' (the default) picks the engine's L1 limit; stats show each level's limit`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    const limits = db.stats().levels.map(l => l.maxBytes)
    t.is(limits[1], AUTO_LEVEL_BASE[engine])
    t.deepEqual(limits, [undefined, ...[0, 1, 2, 3, 4].map(i => AUTO_LEVEL_BASE[engine] * 10 ** i), undefined])
    await db.close()
    const set = await DB.open(tempDir(t), { engine, maxBytesForLevelBase: 1 << 20, levelMultiplier: 4 })
    t.deepEqual(set.stats().levels.map(l => l.maxBytes).slice(1, 4), [1 << 20, 4 << 20, 16 << 20])
    await set.close()
    await t.throwsAsync(DB.open(tempDir(t), { engine, maxBytesForLevelBase: 'big' as unknown as number }), { instanceOf: LsmError, message: /maxBytesForLevelBase/ })
  })

  test(`[${engine}] mmapReads maps tables on the native engine only, with the same answers`, async t => {
    const dir = tempDir(t)
    const keys = Array.from({ length: 3000 }, (_, i) => `key${String(i * 7919 % 3000).padStart(5, '0')}`)
    let db = await DB.open(dir, { engine, memtableSize: 32 << 10, targetFileSize: 16 << 10 })
    for (let i = 0; i < keys.length; i += 100) {
      await db.batch(keys.slice(i, i + 100).map(k => ({ type: 'put' as const, key: k, value: `${k}=`.repeat(5) })))
    }
    await db.compactRange()
    const tables = db.stats().levels.reduce((n, l) => n + l.files, 0)
    t.true(tables > 1)
    t.is(db.stats().mappedTables, engine === 'native' ? tables : 0)
    const read = async (d: DB) => {
      const all: string[] = []
      for await (const [k, v] of d.iterator({ gte: 'key00100', lt: 'key02900' })) all.push(`${k}:${v}`)
      const got = await d.getMany(['key00000', 'key01234', 'key02999', 'nokey'])
      return { all, got: got.map(s) }
    }
    const mapped = await read(db)
    await db.close()
    db = await DB.open(dir, { engine, mmapReads: false })
    t.is(db.stats().mappedTables, 0)
    t.deepEqual(await read(db), mapped)
    t.is(mapped.all.length, 2800)
    t.is(mapped.got[1], 'key01234='.repeat(5))
    await db.close()
  })

  test(`[${engine}] short iterations (small limit) match long ones, across tables, and still seek`, async t => {
    const db = await DB.open(tempDir(t), { engine, memtableSize: 16 << 10 })
    const keys = Array.from({ length: 400 }, (_, i) => `k${String(i).padStart(4, '0')}`)
    for (let i = 0; i < keys.length; i += 50) await db.batch(keys.slice(i, i + 50).map(k => ({ type: 'put' as const, key: k, value: `v-${k}`.repeat(20) })))
    await db.del('k0101')
    const all = async (o: Parameters<DB['iterator']>[0]) => {
      const out: string[] = []
      for await (const [k] of db.iterator(o)) out.push(k.toString())
      return out
    }
    const live = keys.filter(k => k !== 'k0101')
    for (const limit of [1, 2, 7, 16, 17]) {
      t.deepEqual(await all({ gte: 'k0100', limit }), live.filter(k => k >= 'k0100').slice(0, limit))
      t.deepEqual(await all({ lt: 'k0103', reverse: true, limit }), live.filter(k => k < 'k0103').reverse().slice(0, limit))
      t.deepEqual(await all({ gt: 'k0395', limit }), live.filter(k => k > 'k0395').slice(0, limit))
    }
    // A seek after a short read repositions (the limit counts across it).
    const it = db.iterator({ gte: 'k0010', limit: 3 })
    t.is(it.nextSync()?.[0].toString(), 'k0010')
    it.seek(Buffer.from('k0200'))
    t.deepEqual([it.nextSync()?.[0].toString(), it.nextSync()?.[0].toString(), it.nextSync()], ['k0200', 'k0201', undefined])
    t.true(it.isClosed)
    await db.close()
  })

  test(`[${engine}] batches of bytes (no per-operation objects) and of strings write the same; a bad operation anywhere writes nothing`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    const B = (x: string) => Buffer.from(x)
    await db.batch([{ type: 'put', key: B('k1'), value: B('v1') }, { type: 'put', key: new Uint8Array([107, 50]), value: new Uint8Array([118, 50]) }, { type: 'put', key: B('k3'), value: B('') }])
    await db.batch([{ type: 'del', key: B('k1') }, { type: 'put', key: B('k4'), value: B('v4') }, { type: 'put', key: 'k5', value: B('v5') }, { type: 'put', key: B('k6'), value: 'v6' }])
    t.deepEqual(await Promise.all(['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].map(async k => s(await db.get(k)))), [undefined, 'v2', '', 'v4', 'v5', 'v6'])
    // Each bad batch starts with valid byte operations: nothing of it is written.
    const bad: [string, unknown[]][] = [
      ['unknown type', [{ type: 'put', key: B('x1'), value: B('1') }, { type: 'nope', key: B('x2') }]],
      ['not an object', [{ type: 'put', key: B('x1'), value: B('1') }, null]],
      ['key too long', [{ type: 'put', key: B('x1'), value: B('1') }, { type: 'put', key: Buffer.alloc(70000), value: B('2') }]],
      ['bad value', [{ type: 'put', key: B('x1'), value: B('1') }, { type: 'put', key: B('x2'), value: 5 }]],
      ['bad key', [{ type: 'del', key: B('x1') }, { type: 'del', key: {} }]],
    ]
    for (const [what, ops] of bad) await t.throwsAsync(db.batch(ops as never), { code: 'INVALID_ARGUMENT' }, what)
    t.is(await db.get('x1'), undefined)
    t.is(await db.get('x2'), undefined)
    await db.close()
  })

  test(`[${engine}] errors: CLOSED, LOCKED, INVALID_ARGUMENT, NOT_FOUND`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    await t.throwsAsync(DB.open(dir, { engine }), { instanceOf: LsmError, code: 'LOCKED' })
    await t.throwsAsync(db.put(undefined as never, 'x'), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(db.put('k', null as never), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(db.put(Buffer.alloc(70000), 'x'), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(db.batch([{ type: 'nope' } as never]), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(DB.open(dir, { engine, memtableSize: -1 }), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(DB.open(dir, { engine, memtableSize: 'big' as never }), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(DB.open(dir, { engine, mmapReads: 'yes' as never }), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(DB.open(dir, { engine, maxSubcompactions: 0 }), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(DB.open(dir, { engine, maxSubcompactions: 'many' as never }), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(DB.open(dir, { engine, recycleTableFiles: -1 }), { code: 'INVALID_ARGUMENT' })
    await t.throwsAsync(DB.open(dir, { engine, recycleTableFiles: 1.5 }), { code: 'INVALID_ARGUMENT' })
    await db.close()
    await db.close() // twice is fine
    await t.throwsAsync(db.put('a', 'b'), { instanceOf: LsmError, code: 'CLOSED' })
    await t.throwsAsync(db.get('a'), { code: 'CLOSED' })
    t.throws(() => db.iterator(), { code: 'CLOSED' })
    await t.throwsAsync(DB.open(join(dir, 'missing'), { engine, createIfMissing: false }), { code: 'NOT_FOUND' })
    await t.throwsAsync(DB.open(dir, { engine, errorIfExists: true }), { code: 'INVALID_ARGUMENT' })
    const file = join(dir, 'afile')
    writeFileSync(file, 'x')
    await t.throwsAsync(DB.open(file, { engine }), { instanceOf: LsmError })
  })

  test(`[${engine}] a stale LOCK of a dead process is taken over`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    await db.put('a', '1')
    await db.close()
    writeFileSync(join(dir, 'LOCK'), '999999999\n')
    const db2 = await DB.open(dir, { engine })
    t.is(s(await db2.get('a')), '1')
    await db2.close()
    t.false(existsSync(join(dir, 'LOCK')))
  })

  test(`[${engine}] close waits for queued writes`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    const writes = Array.from({ length: 200 }, (_, i) => db.put(`k${i}`, `v${i}`))
    await db.close()
    await Promise.all(writes)
    const db2 = await DB.open(dir, { engine })
    t.is(s(await db2.get('k199')), 'v199')
    await db2.close()
  })

  test(`[${engine}] large batches (applied off the JS thread) interleave with puts and reads, and survive reopen`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine, memtableSize: 1 << 20 })
    const value = (b: number, i: number) => `batch${b}-${i}-${'x'.repeat(40)}`
    // Each batch is ~100 KiB, above the size at which groups are applied asynchronously.
    const batches = Array.from({ length: 12 }, (_, b) => db.batch(Array.from({ length: 1500 }, (_, i) => ({ type: 'put' as const, key: `b${String(i).padStart(5, '0')}`, value: value(b, i) }))))
    const puts = Array.from({ length: 300 }, (_, i) => db.put(`p${i}`, `v${i}`))
    let reads = 0
    while (reads < 50) {
      // A key never shows a half-applied batch: it is absent or holds some batch's whole value.
      const v = await db.get(`b${String(reads * 29).padStart(5, '0')}`)
      t.true(v === undefined || /^batch\d+-\d+-x+$/.test(v.toString()))
      reads++
    }
    await Promise.all([...batches, ...puts])
    // Batches commit in submission order, so the last one wins every key.
    for (const i of [0, 777, 1499]) t.is(s(await db.get(`b${String(i).padStart(5, '0')}`)), value(11, i))
    t.is(s(await db.get('p299')), 'v299')
    await db.close()
    const db2 = await DB.open(dir, { engine })
    for (const i of [0, 777, 1499]) t.is(s(await db2.get(`b${String(i).padStart(5, '0')}`)), value(11, i))
    t.is(s(await db2.get('p0')), 'v0')
    await db2.close()
  })

  test(`[${engine}] writes keep call order when big batches are spread over event-loop turns, also across close`, async t => {
    const dir = tempDir(t)
    const db = await DB.open(dir, { engine })
    const big = (tag: string) => Array.from({ length: 3000 }, (_, i) => ({ type: 'put' as const, key: `k${i % 50}`, value: `${tag}-${i}` }))
    // Issued in one turn without awaiting: more batch work than one turn does,
    // so later calls wait for later turns, and must still land in call order.
    const writes = [db.batch(big('a')), db.put('k7', 'p1'), db.batch(big('b')), db.del('k8'), db.batch(big('c')), db.put('k9', 'p2')]
    const closing = db.close()
    await Promise.all(writes)
    await closing
    const db2 = await DB.open(dir, { engine })
    t.is(s(await db2.get('k7')), 'c-2957')
    t.is(s(await db2.get('k8')), 'c-2958')
    t.is(s(await db2.get('k9')), 'p2')
    t.is(s(await db2.get('k0')), 'c-2950')
    await db2.close()
  })

  test(`[${engine}] close with writes queued against a full L0 still commits them`, async t => {
    t.timeout(60_000)
    const dir = tempDir(t)
    // Small groups each fill a memtable, and writers stop at 3 L0 tables: close
    // is called with dozens of groups queued, so they wait for L0 compactions
    // while the database is closing.
    const db = await DB.open(dir, { engine, memtableSize: 4096, maxGroupBytes: 4096, l0CompactionTrigger: 3, l0SlowdownTrigger: 3, l0StopTrigger: 3 })
    const writes: Promise<void>[] = []
    for (let turn = 0; turn < 40; turn++) {
      for (let i = 0; i < 60; i++) writes.push(db.put(`t${String(turn).padStart(3, '0')}-${i}`, 'v'.repeat(40)))
    }
    await db.close()
    await Promise.all(writes)
    const db2 = await DB.open(dir, { engine })
    t.is(s(await db2.get('t039-59')), 'v'.repeat(40))
    let n = 0
    for await (const _ of db2.iterator()) n++
    t.is(n, 40 * 60)
    await db2.close()
  })

  test(`[${engine}] transferring a value's memory to another thread leaves later reads and iterator entries intact`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    const keys = Array.from({ length: 40 }, (_, i) => `key-${String(i).padStart(2, '0')}`)
    await db.batch(keys.map(k => ({ type: 'put' as const, key: k, value: `value of ${k}` })))
    const { port1, port2 } = new MessageChannel()
    // Node either copies an untransferable buffer or throws; both leave ours attached.
    const transfer = (b: Buffer) => {
      try {
        port1.postMessage(b, [b.buffer as ArrayBuffer])
      } catch {
        // refused: nothing detached
      }
    }
    try {
      // Point reads: native values are views of a slab the next reads write into.
      const first = (await db.get(keys[0]!))!
      t.is(first.toString(), 'value of key-00')
      transfer(first)
      for (const k of keys) t.is(s(await db.get(k)), `value of ${k}`, `get ${k} after a transfer`)
      t.is(s(db.getSync(keys[1]!)), 'value of key-01')
      // Iterators: a chunk's entries are views of one buffer.
      const seen: string[] = []
      for await (const [k, v] of db.iterator()) {
        if (seen.length === 0) transfer(v)
        seen.push(`${k.toString()}=${seen.length === 0 ? 'value of key-00' : v.toString()}`)
      }
      t.deepEqual(seen, keys.map(k => `${k}=value of ${k}`))
    } finally {
      port1.close()
      port2.close()
      await db.close()
    }
  })

  test(`[${engine}] group commit: concurrent sync writers share fsyncs`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    await Promise.all(Array.from({ length: 256 }, (_, i) => db.put(`k${i}`, 'v', { sync: true })))
    const st = db.stats()
    t.is(st.writes, 256)
    t.true(st.walSyncs < 256 / 4, `${st.walSyncs} fsyncs for 256 sync writes`)
    await db.close()
  })
}
