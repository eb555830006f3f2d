/**
 * LsmLevel beyond the abstract-level compliance suite (test/level-suite.ts):
 * engine options, encodings, seek after the end, explicit snapshots held by
 * iterators, events, additional methods, and error codes.
 */
import test from 'ava'
import { join } from 'node:path'
import { LsmLevel, LsmLevelSnapshot, LevelError } from '../ts/level.js'
import { DB } from '../ts/db.js'
import { engines, tempDir } from './helpers/engines.js'

for (const engine of engines()) {
  test(`[${engine}] engine and DB options reach the engine; manifest is honest`, async t => {
    const db = new LsmLevel(tempDir(t), { engine, memtableSize: 4096 })
    await db.open()
    t.is(db.engine, engine)
    t.is(db.status, 'open')
    const s = db.supports
    t.true(s.permanence && s.seek && s.implicitSnapshots && s.explicitSnapshots && s.has && s.createIfMissing && s.errorIfExists)
    t.true(s.additionalMethods.compactRange && s.additionalMethods.stats)
    t.true(s.events.flush && s.events.compaction && s.events.stall)
    t.true(s.encodings.buffer && s.encodings.view && s.encodings.utf8 && s.encodings.json)
    await db.close()
    t.is(db.engine, undefined)
  })

  test(`[${engine}] encodings: utf8 strings, Buffers, plain Uint8Array views, json`, async t => {
    const db = new LsmLevel<string, unknown>(tempDir(t), { engine, valueEncoding: 'json' })
    await db.put('a', { x: 1 })
    t.deepEqual(await db.get('a'), { x: 1 })
    t.is(await db.get('a', { valueEncoding: 'utf8' }), '{"x":1}')
    const buf = await db.get('a', { valueEncoding: 'buffer' })
    t.true(Buffer.isBuffer(buf))
    const view = await db.get('a', { valueEncoding: 'view' })
    t.true(view instanceof Uint8Array && !Buffer.isBuffer(view), 'view gives a plain Uint8Array')
    await db.put(Buffer.from([0xff, 0]) as unknown as string, 'bin', { keyEncoding: 'buffer' })
    const keys = await db.keys({ keyEncoding: 'buffer' }).all()
    t.deepEqual(keys.map(k => (k as unknown as Buffer).toString('hex')), ['61', 'ff00'], 'bytewise order')
    t.is(db.getSync('a', { valueEncoding: 'utf8' }), '{"x":1}')
    await db.close()
  })

  test(`[${engine}] seek works after the iterator reached its end, on the same snapshot`, async t => {
    const db = new LsmLevel(tempDir(t), { engine })
    await db.batch('abcde'.split('').map(k => ({ type: 'put' as const, key: k, value: k.toUpperCase() })))
    t.deepEqual((await db.iterator({ gte: 'b' }).all()).map(([k]) => k), ['b', 'c', 'd', 'e'])
    const it2 = db.iterator({ gte: 'b' })
    t.is((await it2.nextv(10)).length, 4)
    t.deepEqual(await it2.nextv(10), [], 'at the end')
    await db.put('c2', 'new')
    it2.seek('c')
    t.deepEqual(await it2.nextv(10), [['c', 'C'], ['d', 'D'], ['e', 'E']], 'the iterator still reads its own snapshot')
    it2.seek('a')
    t.deepEqual((await it2.next())?.[0], 'b', 'seek stays within the range')
    await it2.close()
    const rev = db.iterator({ reverse: true, lt: 'e' })
    rev.seek('c')
    t.deepEqual(await rev.nextv(5), [['c', 'C'], ['b', 'B'], ['a', 'A']], 'reverse seek: keys ≤ the target')
    await rev.close()
    await db.close()
  })

  test(`[${engine}] explicit snapshots: reads and iterators; closing releases the engine snapshot`, async t => {
    const db = new LsmLevel(tempDir(t), { engine })
    await db.put('k', 'old')
    const snap = db.snapshot()
    t.true(snap instanceof LsmLevelSnapshot)
    await db.put('k', 'new')
    await db.put('j', 'new')
    t.is(await db.get('k', { snapshot: snap }), 'old')
    t.deepEqual(await db.getMany(['j', 'k'], { snapshot: snap }), [undefined, 'old'])
    t.false(await db.has('j', { snapshot: snap }))
    t.deepEqual(await db.hasMany(['j', 'k']), [true, true])
    const it = db.iterator({ snapshot: snap })
    t.deepEqual(await it.next(), ['k', 'old'])
    await snap.close()
    await t.throwsAsync(it.next(), { code: 'LEVEL_SNAPSHOT_NOT_OPEN' })
    await t.throwsAsync(db.get('k', { snapshot: snap }), { code: 'LEVEL_SNAPSHOT_NOT_OPEN' })
    t.throws(() => db.iterator({ snapshot: snap }), { code: 'LEVEL_SNAPSHOT_NOT_OPEN' })
    t.is(db.stats().snapshots, 1, 'the open iterator still holds the engine snapshot')
    await it.close()
    t.is(db.stats().snapshots, 0, 'every engine snapshot released')
    await db.close()
  })

  test(`[${engine}] clear with a range, a limit and reverse`, async t => {
    const db = new LsmLevel(tempDir(t), { engine })
    await db.batch(Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: `k${String(i).padStart(2, '0')}`, value: 'v' })))
    await db.clear({ gte: 'k05', lt: 'k10' })
    await db.clear({ reverse: true, limit: 3 })
    t.deepEqual(await db.keys().all(), ['k00', 'k01', 'k02', 'k03', 'k04', 'k10', 'k11', 'k12', 'k13', 'k14', 'k15', 'k16'])
    await db.close()
  })

  test(`[${engine}] engine events, compactRange and stats`, async t => {
    const db = new LsmLevel(tempDir(t), { engine, memtableSize: 4096, l0CompactionTrigger: 2 })
    const flushes: unknown[] = []
    const compactions: unknown[] = []
    db.on('flush', (e: unknown) => flushes.push(e))
    db.on('compaction', (e: unknown) => compactions.push(e))
    const sub = db.sublevel('s')
    for (let i = 0; i < 400; i++) await sub.put(`key${i}`, 'x'.repeat(100))
    await db.compactRange()
    t.true(flushes.length > 0)
    t.true(compactions.length > 0)
    const st = db.stats()
    t.true(st.flushes > 0)
    t.is(st.levels[0]!.files, 0, 'compactRange emptied L0')
    t.is(await sub.get('key7'), 'x'.repeat(100))
    await db.compactRange('!s!key1', '!s!key2')
    await db.close()
    t.throws(() => db.stats(), { code: 'LEVEL_DATABASE_NOT_OPEN' })
  })

  test(`[${engine}] data survives reopen of the same instance and a new one`, async t => {
    const dir = tempDir(t)
    const db = new LsmLevel(dir, { engine })
    await db.put('a', '1')
    await db.close()
    await db.open()
    t.is(await db.get('a'), '1')
    await db.close()
    const again = new LsmLevel(dir, { engine, createIfMissing: false, errorIfExists: false })
    t.is(await again.get('a'), '1')
    await again.close()
  })

  test(`[${engine}] errors carry Level codes with the LsmError as cause`, async t => {
    const dir = tempDir(t)
    const first = new LsmLevel(dir, { engine })
    await first.open()
    const second = new LsmLevel(dir, { engine })
    const err = await t.throwsAsync(second.open()) as Error & { code: string; cause: LevelError }
    t.is(err.code, 'LEVEL_DATABASE_NOT_OPEN')
    t.is(err.cause.code, 'LEVEL_LOCKED')
    t.is((err.cause.cause as { code: string }).code, 'LOCKED')
    await first.close()

    const missing = new LsmLevel(join(dir, 'nope'), { engine, createIfMissing: false })
    const e2 = await t.throwsAsync(missing.open()) as Error & { cause: LevelError }
    t.is(e2.cause.code, 'LEVEL_NOT_FOUND')

    const bad = new LsmLevel(tempDir(t), { engine, memtableSize: 3 })
    const e3 = await t.throwsAsync(bad.open()) as Error & { cause: LevelError }
    t.is(e3.cause.code, 'LEVEL_INVALID_ARGUMENT')

    const db = new LsmLevel(tempDir(t), { engine })
    await t.throwsAsync(db.put('x'.repeat(70_000), 'v'), { code: 'LEVEL_INVALID_KEY' })
    const other = await DB.open(tempDir(t), { engine })
    await t.throwsAsync(db.get('a', { snapshot: other.snapshot() as never }))
    await other.close()
    await db.close()
    t.throws(() => new LsmLevel('' as string), { instanceOf: TypeError })
  })
}
