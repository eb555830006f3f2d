/**
 * Bad input on the public API: arbitrary keys, values, options and batches
 * never produce anything but the documented LsmError codes, and leave the
 * database intact.
 */
import test from 'ava'
import fc from 'fast-check'
import { DB } from '../ts/db.js'
import { LsmError } from '../ts/errors.js'
import { errnoError, setFaultHook } from '../ts/io.js'
import { engines, tempDir } from './helpers/engines.js'

const DOCUMENTED = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'CLOSED', 'LOCKED', 'CORRUPTION', 'IO_ERROR', 'NOT_SUPPORTED'])

/** Runs `fn`; it may succeed or throw an LsmError with a documented code — nothing else. */
async function onlyDocumented(t: { true: (v: boolean, m?: string) => void }, what: string, fn: () => unknown): Promise<void> {
  try {
    await fn()
  } catch (e) {
    t.true(e instanceof LsmError && DOCUMENTED.has(e.code), `${what} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`)
  }
}

const anything = fc.oneof(
  fc.constant(undefined), fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string(), fc.uint8Array({ maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }), fc.constant(Symbol('s')), fc.constant(() => 1), fc.bigInt(),
  fc.uint8Array({ minLength: 65537, maxLength: 65540 }),
)

for (const engine of engines()) {
  test(`[${engine}] arbitrary arguments only ever raise documented errors and leave the DB intact`, async t => {
    const db = await DB.open(tempDir(t), { engine, memtableSize: 4096 })
    await db.put('sentinel', 'intact')
    await fc.assert(fc.asyncProperty(anything, anything, anything, async (a, b, c) => {
      await onlyDocumented(t, 'put', () => db.put(a as never, b as never, c as never))
      await onlyDocumented(t, 'get', () => db.get(a as never, b as never))
      await onlyDocumented(t, 'del', () => db.del(a as never, b as never))
      await onlyDocumented(t, 'has', () => db.has(a as never))
      await onlyDocumented(t, 'getMany', () => db.getMany(a as never))
      await onlyDocumented(t, 'batch', () => db.batch(a as never, b as never))
      await onlyDocumented(t, 'batch ops', () => db.batch([{ type: 'put', key: a, value: b }, { type: c, key: a }] as never))
      await onlyDocumented(t, 'iterator', async () => {
        const it = db.iterator({ gt: a, lt: b, limit: c } as never)
        await it.nextv(5)
        it.close()
      })
      await onlyDocumented(t, 'iterator options', async () => {
        const it = db.iterator(a as never)
        await it.next()
        it.close()
      })
    }), { numRuns: 150 })
    t.is((await db.get('sentinel'))?.toString(), 'intact')
    t.true((await db.verify()).ok)
    await db.close()
  })

  test(`[${engine}] empty keys and values are ordinary keys and values`, async t => {
    const db = await DB.open(tempDir(t), { engine })
    await db.put('', 'empty key')
    await db.put('k', '')
    t.is((await db.get(''))?.toString(), 'empty key')
    t.is((await db.get('k'))?.toString(), '')
    const keys: string[] = []
    for await (const [k] of db.iterator()) keys.push(k.toString())
    t.deepEqual(keys, ['', 'k'])
    await db.close()
  })

  test(`[${engine}] a 64 MiB value is written, read back, survives reopen`, async t => {
    const dir = tempDir(t)
    let db = await DB.open(dir, { engine })
    const big = Buffer.alloc(64 * 1024 * 1024, 7)
    big[12345] = 1
    await db.put('big', big)
    await db.put('small', 'x')
    t.true((await db.get('big'))?.equals(big))
    await db.close()
    db = await DB.open(dir, { engine })
    const back = await db.get('big')
    t.is(back?.length, big.length)
    t.true(back?.equals(big))
    await db.compactRange()
    t.true((await db.get('big'))?.equals(big))
    await db.close()
  })

  test.serial(`[${engine}] an unwritable directory gives IO_ERROR and leaves nothing half-made`, async t => {
    const dir = tempDir(t)
    setFaultHook((op, path) => {
      if (op === 'open' && path.startsWith(dir)) throw errnoError('EACCES', op, path)
    })
    try {
      await t.throwsAsync(DB.open(dir, { engine }), { instanceOf: LsmError, code: 'IO_ERROR' })
    } finally {
      setFaultHook(undefined)
    }
    const db = await DB.open(dir, { engine })
    await db.put('a', '1')
    t.is((await db.get('a'))?.toString(), '1')
    await db.close()
  })
}
