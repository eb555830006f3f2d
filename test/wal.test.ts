import test from 'ava'
import fc from 'fast-check'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { LsmError } from '../ts/errors.js'
import { DecodeError } from '../ts/core/ts/coding.js'
import { encodeLogFileHeader, encodeRecord, LOG_FILE_HEADER_SIZE, MANIFEST_MAGIC, readLog, WAL_MAGIC } from '../ts/core/ts/log-format.js'
import { BYTES_PER_SYNC, prepareSpareWal, readWal, readWalBytes, RUNWAY_BYTES, WalWriter } from '../ts/core/ts/wal.js'
import { errnoError, setFaultHook, setSyncListener } from '../ts/io.js'

const enc = (s: string) => new TextEncoder().encode(s)

function logBytes(payloads: Uint8Array[], fileNumber = 7, magic = WAL_MAGIC): Uint8Array {
  // A plain Uint8Array copy: Buffer#slice would share memory and let byte flips leak between cases.
  return new Uint8Array(Buffer.concat([encodeLogFileHeader(magic), ...payloads.map(p => encodeRecord(p, fileNumber))]))
}

test('writer and reader round-trip records through a real file', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, '000007.log')
  const w = new WalWriter(path, 7)
  const payloads = [enc('one'), new Uint8Array(0), enc('x'.repeat(100_000)), enc('four')]
  for (const p of payloads) w.append(p)
  await w.sync()
  w.close()
  const r = readWal(path, 7, true)
  t.deepEqual(r.groups.map(g => Buffer.from(g)), payloads.map(p => Buffer.from(p)))
  t.is(r.tornBytes, 0)
  t.deepEqual(new Uint8Array(readFileSync(path)), logBytes(payloads))
})

test('property: any truncation of the newest log is a torn tail holding a prefix of the records', t => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 12 }), fc.double({ min: 0, max: 1, noNaN: true }), (payloads, frac) => {
    const full = logBytes(payloads)
    const cut = Math.floor(full.length * frac)
    const r = readLog(full.subarray(0, cut), WAL_MAGIC, 7, true)
    t.deepEqual(r.records.map(x => Buffer.from(x)), payloads.slice(0, r.records.length).map(x => Buffer.from(x)))
    // Torn bytes are those up to the last non-zero one: trailing zeros are not counted.
    t.true(r.goodLength + r.tornBytes <= cut)
    t.true(full.subarray(r.goodLength + r.tornBytes, cut).every(b => b === 0))
    t.true(r.tornBytes === 0 || full[r.goodLength + r.tornBytes - 1] !== 0)
  }), { numRuns: 300 })
})

test('a torn tail in an older log is corruption', t => {
  const full = logBytes([enc('a'), enc('b')])
  t.throws(() => readWalBytes(full.subarray(0, full.length - 1), '000007.log', 7, false), { instanceOf: LsmError, message: /000007\.log/ })
  t.is(readWalBytes(full, '000007.log', 7, false).groups.length, 2)
})

test('any flipped byte of a complete record is corruption, the last record included', t => {
  const payloads = [enc('first'), enc('second'), enc('third')]
  const full = logBytes(payloads)
  for (let pos = LOG_FILE_HEADER_SIZE; pos < full.length; pos++) {
    const bad = full.slice()
    bad[pos]! ^= 0x01
    const err = t.throws(() => readWalBytes(bad, '000007.log', 7, true), { instanceOf: LsmError }, `flip at ${pos}`)
    t.is(err?.code, 'CORRUPTION')
    t.is(err?.file, '000007.log')
  }
})

test('a cut-short payload and a partial header are torn tails', t => {
  const full = logBytes([enc('first'), enc('second')])
  const r1 = readLog(full.subarray(0, full.length - 1), WAL_MAGIC, 7, true)
  t.is(r1.records.length, 1)
  t.is(r1.tornBytes, 16 + 5)
  const r2 = readLog(full.subarray(0, LOG_FILE_HEADER_SIZE + 16 + 5 + 10), WAL_MAGIC, 7, true)
  t.is(r2.records.length, 1)
  // Ten header bytes: crc, length, and the file number's first two bytes (07 00); the trailing zero is not counted.
  t.is(r2.tornBytes, 9)
})

test('zero-filled tails (a WAL runway, or pages a crash left unwritten) end the log and are not counted as torn', t => {
  const full = logBytes([enc('a'), enc('b')])
  const padded = Buffer.concat([full, new Uint8Array(4096)])
  const r = readLog(padded, WAL_MAGIC, 7, true)
  t.is(r.records.length, 2)
  t.is(r.goodLength, full.length)
  t.is(r.tornBytes, 0)
  t.throws(() => readLog(padded, WAL_MAGIC, 7, false), { instanceOf: DecodeError, message: /torn tail/ }, 'an older log must not end in zeros')
})

/** A log of three 1500-byte records (each spans several 512-byte sectors) followed by a zeroed runway. */
function runwayLog(): { bytes: Uint8Array; starts: number[] } {
  const payloads = [0, 1, 2].map(i => new Uint8Array(1500).fill(0x41 + i))
  const full = logBytes(payloads)
  const starts = [0, 1, 2].map(i => LOG_FILE_HEADER_SIZE + i * (16 + 1500))
  return { bytes: new Uint8Array(Buffer.concat([full, new Uint8Array(8192)])), starts }
}

test('a record with a sector never written (zeros) at the tail is a torn tail, header or payload', t => {
  const { starts } = runwayLog()
  const last = starts[2]!
  // Sectors that meet the last record: its header's, its payload's, the one where it ends.
  const firstSector = Math.floor(last / 512) * 512
  for (let s = firstSector; s < last + 16 + 1500; s += 512) {
    const bad = runwayLog().bytes
    bad.fill(0, Math.max(s, last), Math.min(s + 512, last + 16 + 1500))
    const r = readLog(bad, WAL_MAGIC, 7, true)
    t.is(r.records.length, 2, `sector at ${s}`)
    t.is(r.goodLength, last)
    t.true(r.tornBytes > 0 && r.tornBytes <= 16 + 1500)
  }
  // The sectors of a later, unsynced write may reach the disk before an earlier one's:
  // the log ends at the first torn record, whatever follows it.
  const outOfOrder = runwayLog().bytes
  outOfOrder.fill(0, 2048, 2560) // a whole sector inside the second record's payload
  const r = readLog(outOfOrder, WAL_MAGIC, 7, true)
  t.is(r.records.length, 1)
  t.is(r.tornBytes, 2 * (16 + 1500))
  t.throws(() => readLog(outOfOrder, WAL_MAGIC, 7, false), { instanceOf: DecodeError, message: /torn tail/ })
})

test('a changed byte of the last record before zeros is corruption (it leaves no zero sector)', t => {
  const { starts } = runwayLog()
  // A flipped bit has no zero sector: corruption even in the last record, runway or not.
  for (const pos of [starts[2]! + 3, starts[2]! + 16 + 700, starts[2]! + 16 + 1499]) {
    const bad = runwayLog().bytes
    bad[pos]! ^= 0x10
    t.throws(() => readLog(bad, WAL_MAGIC, 7, true), { instanceOf: DecodeError }, `flip at ${pos}`)
  }
})

test('a record from another log file (other number) is corruption', t => {
  const other = logBytes([enc('a')], 8)
  t.throws(() => readLog(other, WAL_MAGIC, 7, true), { instanceOf: DecodeError, message: /log file 8/ })
})

test('file header: short file is an empty newest log; bad magic, version or crc is corruption', t => {
  t.is(readLog(new Uint8Array(5), WAL_MAGIC, 7, true).records.length, 0)
  const full = logBytes([enc('a')])
  t.throws(() => readLog(full, MANIFEST_MAGIC, 7, true), { instanceOf: DecodeError })
  for (const pos of [0, 8, 12]) {
    const bad = full.slice()
    bad[pos]! ^= 1
    t.throws(() => readLog(bad, WAL_MAGIC, 7, true), { instanceOf: DecodeError })
  }
})

test('a real file truncated at every length reads as a prefix', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, '000003.log')
  const w = new WalWriter(path, 3)
  for (let i = 0; i < 5; i++) w.append(enc(`record-${i}`))
  await w.sync()
  w.close()
  const size = readFileSync(path).length
  for (let len = size; len >= 0; len -= 7) {
    truncateSync(path, len)
    const r = readWal(path, 3, true)
    t.true(r.groups.length <= 5)
    r.groups.forEach((g, i) => t.is(Buffer.from(g).toString(), `record-${i}`))
  }
})

test.serial('every BYTES_PER_SYNC appended bytes a background fdatasync starts; sync() waits for it and syncs the rest', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, '000009.log')
  const synced: number[] = []
  setSyncListener((p, n) => { if (p === path) synced.push(n) })
  t.teardown(() => setSyncListener(undefined))
  const w = new WalWriter(path, 9)
  const payloads = Array.from({ length: 40 }, (_, i) => new Uint8Array(64 * 1024).fill(i))
  for (const p of payloads.slice(0, 20)) w.append(p)
  // 20 × 64 KiB crossed the first threshold: one sync started, none awaited.
  await w.settle()
  t.true(synced.length >= 1, `background syncs: ${synced.length}`)
  t.true(synced[0]! >= BYTES_PER_SYNC && synced[0]! < w.size, `first background sync covered ${synced[0]} of ${w.size}`)
  for (const p of payloads.slice(20)) w.append(p)
  await w.sync()
  t.is(synced[synced.length - 1], w.size, 'sync() made everything durable')
  t.true(synced.length >= 3)
  w.close()
  const r = readWal(path, 9, true)
  t.deepEqual(r.groups.map(g => Buffer.from(g)), payloads.map(p => Buffer.from(p)))
})

test.serial('a failed background sync makes every later append and sync of that WAL fail', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, '000011.log')
  t.teardown(() => setFaultHook(undefined))
  const w = new WalWriter(path, 11)
  setFaultHook((op, p) => { if (op === 'sync' && p === path) throw errnoError('EIO', op, p) })
  const chunk = new Uint8Array(BYTES_PER_SYNC)
  w.append(chunk) // starts the background sync, which fails
  await w.settle()
  setFaultHook(undefined)
  t.throws(() => w.append(enc('after')), { message: /EIO/ })
  await t.throwsAsync(w.sync(), { message: /EIO/ })
  await t.throwsAsync(w.retire(), { message: /EIO/ })
  w.close()
})

test.serial('closing with a background sync in flight closes the file once it ends', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, '000012.log')
  const w = new WalWriter(path, 12)
  w.append(new Uint8Array(BYTES_PER_SYNC + 10).fill(3))
  w.close()
  w.close() // twice is fine
  await new Promise(r => setTimeout(r, 50))
  const r = readWal(path, 12, true)
  t.is(r.groups.length, 1)
  t.is(r.groups[0]!.length, BYTES_PER_SYNC + 10)
})

test.serial('synced writes keep a zeroed runway ahead of the data; retiring or closing cuts the file back to its data', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, '000013.log')
  const synced: number[] = []
  setSyncListener((p, n) => { if (p === path) synced.push(n) })
  t.teardown(() => setSyncListener(undefined))
  const w = new WalWriter(path, 13)
  w.append(enc('plain'))
  t.is(statSync(path).size, w.size, 'no runway before a synced write')
  w.append(enc('synced'))
  await w.sync()
  t.is(statSync(path).size, w.size + RUNWAY_BYTES, 'the runway follows the data')
  t.is(synced.at(-1), w.size, 'the durable length is that of the data')
  // Records overwrite the runway; it is topped up once less than a quarter of it is left.
  const big = new Uint8Array(RUNWAY_BYTES / 2).fill(7)
  w.append(big)
  await w.sync()
  t.is(statSync(path).size, w.size + RUNWAY_BYTES / 2 - 16, 'half the runway used: not yet topped up')
  w.append(big)
  t.is(statSync(path).size, w.size, 'an append past the runway extends the file')
  await w.sync()
  t.is(statSync(path).size, w.size + RUNWAY_BYTES)
  const live = readWal(path, 13, true)
  t.is(live.groups.length, 4)
  t.is(live.tornBytes, 0, 'the runway is not a torn tail')
  t.throws(() => readWal(path, 13, false), { message: /torn tail/ }, 'an older WAL must not end in zeros')
  await w.retire()
  t.is(statSync(path).size, w.size)
  t.is(synced.at(-1), w.size)
  t.is(readWal(path, 13, false).groups.length, 4, 'a retired WAL reads as complete')
  w.append(enc('more'))
  await w.sync()
  t.true(statSync(path).size > w.size)
  w.close()
  t.is(statSync(path).size, w.size, 'close cuts the runway')
  t.is(readWal(path, 13, false).groups.length, 5)
})

test.serial('a WAL started from a spare writes over its durable zeros; retiring cuts it back to its records', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const synced: [string, number][] = []
  setSyncListener((p, n) => synced.push([basename(p), n]))
  t.teardown(() => setSyncListener(undefined))
  const sparePath = join(dir, 'WAL.spare')
  const length = 64 * 1024
  await prepareSpareWal(sparePath, length)
  const bytes = readFileSync(sparePath)
  t.is(bytes.length, length)
  t.deepEqual(new Uint8Array(bytes.subarray(0, LOG_FILE_HEADER_SIZE)), encodeLogFileHeader(WAL_MAGIC))
  t.true(bytes.subarray(LOG_FILE_HEADER_SIZE).every(b => b === 0), 'zeros after the header')
  t.deepEqual(synced, [['WAL.spare', length]], 'the spare is durable before it is used')

  const path = join(dir, '000014.log')
  const w = new WalWriter(path, 14, 16 * 1024, { path: sparePath, length })
  t.false(existsSync(sparePath), 'renamed, not copied')
  w.append(enc('one'))
  await w.appendAsync(enc('two'))
  t.is(statSync(path).size, length, 'records overwrite the zeros')
  const live = readWal(path, 14, true)
  t.deepEqual(live.groups.map(g => Buffer.from(g).toString()), ['one', 'two'], 'the newest WAL reads up to the zeros')
  t.is(live.tornBytes, 0)
  await w.sync()
  t.is(synced.at(-1)![1], w.size)
  t.is(statSync(path).size, length, 'no runway written: the zeros ahead are durable already')
  const big = new Uint8Array(length).fill(9)
  w.append(big)
  t.is(statSync(path).size, w.size, 'a WAL that outgrows its spare extends the file')
  await w.retire()
  t.is(statSync(path).size, w.size)
  w.close()
  const r = readWal(path, 14, false)
  t.is(r.groups.length, 3, 'a retired WAL reads as complete')
  t.deepEqual(Buffer.from(r.groups[2]!), Buffer.from(big))
})

test.serial('a spare WAL used in part is cut back to its records when retired or closed', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const how of ['retire', 'close'] as const) {
    const sparePath = join(dir, 'WAL.spare')
    await prepareSpareWal(sparePath, 32 * 1024)
    const path = join(dir, how === 'retire' ? '000015.log' : '000016.log')
    const w = new WalWriter(path, how === 'retire' ? 15 : 16, RUNWAY_BYTES, { path: sparePath, length: 32 * 1024 })
    w.append(enc(how))
    t.throws(() => readWal(path, w.fileNumber, false), { message: /torn tail/ }, 'until then it ends in zeros, as only the newest WAL may')
    if (how === 'retire') await w.retire()
    w.close()
    t.is(statSync(path).size, w.size, how)
    t.deepEqual(readWal(path, w.fileNumber, false).groups.map(g => Buffer.from(g).toString()), [how])
  }
})
