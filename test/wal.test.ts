import test from 'ava'
import fc from 'fast-check'
import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LsmError } from '../ts/errors.js'
import { DecodeError } from '../ts/core/ts/coding.js'
import { encodeLogFileHeader, encodeRecord, LOG_FILE_HEADER_SIZE, MANIFEST_MAGIC, readLog, WAL_MAGIC } from '../ts/core/ts/log-format.js'
import { readWal, readWalBytes, WalWriter } from '../ts/core/ts/wal.js'

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
    t.is(r.goodLength + r.tornBytes, cut)
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
  t.is(r2.tornBytes, 10)
})

test('zero-filled tails (preallocated or torn pages) are torn tails', t => {
  const full = logBytes([enc('a'), enc('b')])
  const padded = Buffer.concat([full, new Uint8Array(4096)])
  const r = readLog(padded, WAL_MAGIC, 7, true)
  t.is(r.records.length, 2)
  t.is(r.tornBytes, 4096)
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

test('a real file truncated at every length reads as a prefix', t => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-wal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, '000003.log')
  const w = new WalWriter(path, 3)
  for (let i = 0; i < 5; i++) w.append(enc(`record-${i}`))
  w.syncNow()
  w.close()
  const size = readFileSync(path).length
  for (let len = size; len >= 0; len -= 7) {
    truncateSync(path, len)
    const r = readWal(path, 3, true)
    t.true(r.groups.length <= 5)
    r.groups.forEach((g, i) => t.is(Buffer.from(g).toString(), `record-${i}`))
  }
})
