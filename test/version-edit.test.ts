import test from 'ava'
import fc from 'fast-check'
import { DecodeError } from '../ts/core/ts/coding.js'
import { Kind, makeInternalKey } from '../ts/core/ts/internal-key.js'
import { decodeCurrent, decodeVersionEdit, encodeCurrent, encodeVersionEdit, parseFileName, type FileMeta, type VersionEdit } from '../ts/core/ts/version-edit.js'

const ikeyArb = fc.tuple(fc.uint8Array({ maxLength: 10 }), fc.integer({ min: 0, max: 2 ** 45 - 1 }), fc.constantFrom(Kind.Put, Kind.Delete))
  .map(([k, s, kind]) => makeInternalKey(k, s, kind))
const fileArb: fc.Arbitrary<FileMeta> = fc.record({
  level: fc.integer({ min: 0, max: 6 }), fileNumber: fc.maxSafeNat(), fileSize: fc.maxSafeNat(),
  minSeq: fc.integer({ min: 0, max: 1000 }), maxSeq: fc.integer({ min: 1000, max: 2000 }), smallest: ikeyArb, largest: ikeyArb,
})
const editArb: fc.Arbitrary<VersionEdit> = fc.record({
  logNumber: fc.maxSafeNat(), nextFileNumber: fc.maxSafeNat(), lastSequence: fc.maxSafeNat(),
  compactPointers: fc.uniqueArray(fc.record({ level: fc.integer({ min: 0, max: 6 }), key: ikeyArb }), { selector: c => c.level, maxLength: 3 }),
  deletedFiles: fc.uniqueArray(fc.record({ level: fc.integer({ min: 0, max: 6 }), fileNumber: fc.maxSafeNat() }), { selector: d => `${d.level}/${d.fileNumber}`, maxLength: 4 }),
  addedFiles: fc.uniqueArray(fileArb, { selector: f => `${f.level}/${f.fileNumber}`, maxLength: 4 }),
}, { requiredKeys: [] })

function canonical(e: VersionEdit): VersionEdit {
  const sortLF = <T extends { level: number; fileNumber: number }>(xs: T[]) => [...xs].sort((a, b) => a.level - b.level || a.fileNumber - b.fileNumber)
  const out: VersionEdit = {}
  if (e.logNumber !== undefined) out.logNumber = e.logNumber
  if (e.nextFileNumber !== undefined) out.nextFileNumber = e.nextFileNumber
  if (e.lastSequence !== undefined) out.lastSequence = e.lastSequence
  if (e.compactPointers?.length) out.compactPointers = [...e.compactPointers].sort((a, b) => a.level - b.level)
  if (e.deletedFiles?.length) out.deletedFiles = sortLF(e.deletedFiles)
  if (e.addedFiles?.length) out.addedFiles = sortLF(e.addedFiles)
  return out
}

test('property: version edits round-trip in canonical order', t => {
  fc.assert(fc.property(editArb, e => {
    const bytes = encodeVersionEdit(e)
    const back = decodeVersionEdit(bytes)
    t.deepEqual(back, canonical(e))
    t.deepEqual(encodeVersionEdit(back), bytes, 'canonical encoding is stable')
  }), { numRuns: 300 })
})

test('property: damaged edits decode to something or throw DecodeError, never anything else', t => {
  fc.assert(fc.property(editArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (e, pos, x) => {
    const bytes = encodeVersionEdit(e)
    if (bytes.length === 0) return
    const bad = bytes.slice()
    bad[pos % bad.length]! ^= x
    try {
      decodeVersionEdit(bad)
    } catch (err) {
      t.true(err instanceof DecodeError, String(err))
    }
    try {
      decodeVersionEdit(bytes.subarray(0, pos % bytes.length))
    } catch (err) {
      t.true(err instanceof DecodeError, String(err))
    }
  }), { numRuns: 500 })
})

test('unknown tags and bad levels are rejected', t => {
  t.throws(() => decodeVersionEdit(new Uint8Array([99, 1])), { instanceOf: DecodeError })
  t.throws(() => decodeVersionEdit(new Uint8Array([4, 7, 1])), { instanceOf: DecodeError, message: /level/ })
})

test('CURRENT names the manifest and is checksummed', t => {
  const b = encodeCurrent(5)
  t.regex(Buffer.from(b).toString(), /^MANIFEST-000005 [0-9a-f]{8}\n$/)
  t.is(decodeCurrent(b), 5)
  for (let i = 0; i < b.length; i++) {
    const bad = b.slice()
    bad[i]! ^= 0x04
    t.throws(() => decodeCurrent(bad), { instanceOf: DecodeError }, `flip at ${i}`)
  }
  t.throws(() => decodeCurrent(b.subarray(0, b.length - 1)), { instanceOf: DecodeError })
  t.is(decodeCurrent(encodeCurrent(12345678)), 12345678)
})

test('file names parse back to their kind and number', t => {
  t.deepEqual(parseFileName('000012.log'), { kind: 'wal', number: 12 })
  t.deepEqual(parseFileName('1234567.sst'), { kind: 'table', number: 1234567 })
  t.deepEqual(parseFileName('MANIFEST-000003'), { kind: 'manifest', number: 3 })
  t.deepEqual(parseFileName('000042.recycle'), { kind: 'recycle', number: 42 })
  t.is(parseFileName('CURRENT'), undefined)
  t.is(parseFileName('12.log'), undefined)
})
