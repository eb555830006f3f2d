/**
 * Block compression (FORMAT.md §4.1, type 1 = Snappy raw format): the TS codec
 * against the shared vectors, against the native codec (same compressed bytes
 * for the same input), strict decoding of malformed input, and compressed
 * tables written by either core and read by the other.
 */
import test from 'ava'
import fc from 'fast-check'
import { deepStrictEqual, ok } from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { vectorsDir } from '../scripts/gen-vectors.js'
import type { Core, TableOptions } from '../ts/core/core.js'
import { nativeBinding } from '../ts/core/native-binding.js'
import { nativeCore } from '../ts/core/native-core.js'
import { tsCore } from '../ts/core/ts-core.js'
import { DecodeError, putVarint } from '../ts/core/ts/coding.js'
import { mcrc } from '../ts/core/ts/crc32c.js'
import { compareInternalKeys, Kind, makeInternalKey } from '../ts/core/ts/internal-key.js'
import { compress, decompress, decompressedLength, MAX_DECOMPRESSED_LENGTH, maxCompressedLength } from '../ts/core/ts/snappy.js'
import { BytesSource, COMPRESSION_NONE, COMPRESSION_SNAPPY, Table, TableBuilder, worthCompressing } from '../ts/core/ts/sst.js'
import { encodeWriteGroup, type WriteOp } from '../ts/core/ts/write-group.js'
import { LsmError } from '../ts/errors.js'
import { resolveOptions } from '../ts/options.js'

const native = nativeCore as Core
const binding = nativeBinding!
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))
const MAX_SEQ = 2 ** 45 - 1

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-snappy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

// ---------------------------------------------------------------- codec

test('the TS codec reproduces every shared vector (test/vectors/snappy.json)', t => {
  const j = JSON.parse(readFileSync(join(vectorsDir, 'snappy.json'), 'utf8')) as { cases: { name: string; input: string; compressed: string }[] }
  t.true(j.cases.length >= 10)
  for (const c of j.cases) {
    const input = fromHex(c.input)
    t.is(hex(compress(input)), c.compressed, c.name)
    t.is(hex(decompress(fromHex(c.compressed))), c.input, c.name)
    t.is(decompressedLength(fromHex(c.compressed)), input.length)
  }
})

test('the native addon exports the codec', t => {
  t.is(typeof binding.snappyCompress, 'function')
  t.is(typeof binding.snappyDecompress, 'function')
})

/** Inputs of many shapes: random bytes, small alphabets, runs, repeated patterns, pieces of earlier input. */
const inputArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 5000, min: 97, max: 99 }),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3000 }))
    .map(([p, n]) => new Uint8Array(Array.from({ length: n }, (_, i) => p[i % p.length]!))),
  fc.array(fc.tuple(fc.uint8Array({ maxLength: 60 }), fc.nat(), fc.integer({ min: 1, max: 200 })), { maxLength: 40 }).map(parts => {
    const out: number[] = []
    for (const [fresh, back, len] of parts) {
      out.push(...fresh)
      if (out.length > 0) {
        const start = out.length - 1 - (back % out.length)
        for (let i = 0; i < len; i++) out.push(out[start + i]!)
      }
    }
    return new Uint8Array(out)
  }),
)

test('property: TS and native compress to the same bytes and read each other', t => {
  fc.assert(fc.property(inputArb, input => {
    const ts = compress(input)
    const rs = binding.snappyCompress!(input)
    deepStrictEqual(hex(ts), hex(rs))
    ok(ts.length <= maxCompressedLength(input.length))
    deepStrictEqual(hex(decompress(rs)), hex(input))
    deepStrictEqual(hex(binding.snappyDecompress!(ts)), hex(input))
  }), { numRuns: 1500 })
  t.pass()
})

test('large inputs: the 64 KiB window and long literals agree too', t => {
  let x = 7
  const rnd = (n: number) => Uint8Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 24))
  const r = rnd(70_000)
  for (const input of [r, Buffer.concat([r, r.subarray(0, 5000)]), Buffer.concat([rnd(40_000), new Uint8Array(100_000), r.subarray(0, 30_000)])]) {
    const ts = compress(input)
    t.is(hex(ts), hex(binding.snappyCompress!(input)))
    t.deepEqual(Buffer.from(decompress(ts)), Buffer.from(input))
  }
})

test('inputs at the 16-bit table boundary (64 KiB ± 1) compress alike in both engines', t => {
  let x = 11
  const rnd = (n: number) => Uint8Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 24))
  for (const n of [65_535, 65_536, 65_537]) {
    // Random bytes, then a repeat of an early stretch right at the end, so
    // positions near the top of the 16-bit range are hashed and matched.
    const input = rnd(n)
    input.set(input.subarray(100, 400), n - 300)
    const ts = compress(input)
    t.is(hex(ts), hex(binding.snappyCompress!(input)), `n = ${n}`)
    t.deepEqual(Buffer.from(decompress(ts)), Buffer.from(input))
  }
})

/** Each malformed stream, with the words its error must contain. */
const malformed: [number[], string][] = [
  [[], 'preamble'],
  [[0x80], 'preamble'],
  [[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 'preamble'],
  [[0xff, 0xff, 0xff, 0xff, 0x1f], 'preamble'],
  [[100], 'can encode'],
  [[43, 0, 0x61], 'can encode'],
  [[3, 2 << 2, 0x61, 0x62], 'truncated'],
  [[3, 61 << 2, 0], 'truncated'],
  [[3, 60 << 2], 'truncated'],
  [[5, 0, 0x61, 0b01], 'truncated'],
  [[5, 0, 0x61, 0b10, 1], 'truncated'],
  [[5, 0, 0x61, 0b11, 1, 0, 0], 'truncated'],
  [[5, 0, 0x61, 0b01, 0], 'offset 0'],
  [[5, 0, 0x61, (3 << 2) | 2, 0, 0], 'offset 0'],
  [[5, 0, 0x61, (3 << 2) | 3, 0, 0, 0, 0], 'offset 0'],
  [[5, 0, 0x61, 0b01, 2], 'back'],
  [[4, 0b01, 1], 'back'],
  [[5, 0, 0x61, (3 << 2) | 3, 0, 0, 0, 1], 'back'],
  [[2, 2 << 2, 0x61, 0x62, 0x63], 'exceeds'],
  [[4, 0, 0x61, 0b01, 1], 'exceeds'],
  [[1, 0, 0x61, 0, 0x62], 'exceeds'],
  [[5, 2 << 2, 0x61, 0x62, 0x63], 'shorter'],
  [[10, 0, 0x61], 'shorter'],
]

test('malformed streams are rejected by both codecs', t => {
  for (const [bytes, words] of malformed) {
    const input = Uint8Array.from(bytes)
    const e = t.throws(() => decompress(input), { instanceOf: DecodeError }, `${hex(input)}`)
    t.true(e!.message.includes(words), `${hex(input)}: ${e!.message}`)
    const n = t.throws(() => binding.snappyDecompress!(input))
    t.true(n!.message.startsWith('CORRUPTION: ') && n!.message.includes(words), `${hex(input)}: ${n!.message}`)
  }
  // Above the limit: refused before anything is allocated.
  const big = new Uint8Array(1005)
  putVarint(big, 0, MAX_DECOMPRESSED_LENGTH + 1)
  t.throws(() => decompress(big), { instanceOf: DecodeError, message: /limit/ })
  t.throws(() => decompressedLength(big), { instanceOf: DecodeError, message: /limit/ })
  t.deepEqual(Buffer.from(decompress(Uint8Array.from([5, 0, 0x61, 0b01, 1]))), Buffer.from('aaaaa'))
  t.deepEqual(Buffer.from(decompress(Uint8Array.from([7, 2 << 2, 0x61, 0x62, 0x63, (3 << 2) | 3, 2, 0, 0, 0]))), Buffer.from('abcbcbc'))
})

test('property: truncated or damaged streams throw DecodeError, never anything else', t => {
  fc.assert(fc.property(inputArb, fc.nat(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (input, cut, flips) => {
    const c = compress(input)
    try {
      decompress(c.subarray(0, cut % c.length))
      ok(false, 'a truncated stream decoded')
    } catch (e) {
      ok(e instanceof DecodeError, String(e))
    }
    const bad = c.slice()
    for (const [at, v] of flips) bad[at % bad.length] = v
    try {
      const out = decompress(bad)
      ok(out.length === decompressedLength(bad))
    } catch (e) {
      ok(e instanceof DecodeError, String(e))
    }
  }), { numRuns: 2000 })
  t.pass()
})

// ---------------------------------------------------------------- tables

/** Entries with values half random, half repeated (like the bench's), some deleted. */
function entries(n: number, seed = 1): [Uint8Array, Uint8Array][] {
  let x = seed
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 24)
  const out: [Uint8Array, Uint8Array][] = []
  for (let i = 0; i < n; i++) {
    const key = Buffer.from(`key${String(i).padStart(13, '0')}`)
    if (i % 17 === 5) out.push([makeInternalKey(key, n + i, Kind.Delete), new Uint8Array(0)])
    else out.push([makeInternalKey(key, n + i, Kind.Put), Uint8Array.from({ length: 100 }, (_, j) => (j < 50 ? rnd() : 0x61 + (i % 3)))])
  }
  return out.sort((a, b) => compareInternalKeys(a[0], b[0]))
}

function build(es: [Uint8Array, Uint8Array][], options: TableOptions) {
  const b = new TableBuilder(options)
  for (const [k, v] of es) b.add(k, v)
  return b.finish()
}

/** Data blocks of a table: stored type, stored size, decompressed size. */
function dataBlocks(bytes: Uint8Array): { type: number; size: number; raw: number }[] {
  const table = Table.open(new BytesSource(bytes), 'x.sst')
  const out = []
  for (let i = 0; i < table.blockCount; i++) {
    const h = table.blockHandle(i)
    const { type, contents } = table.readStoredBlock(h)
    out.push({ type, size: h.size, raw: contents.length })
  }
  return out
}

test('the builder compresses data blocks that shrink by an eighth, after cutting on raw sizes', t => {
  const es = entries(2000)
  const packed = build(es, {})
  const plain = build(es, { compression: 'none' })
  const pb = dataBlocks(packed.bytes)
  const nb = dataBlocks(plain.bytes)
  t.is(pb.length, nb.length, 'same cut')
  t.deepEqual(pb.map(b => b.raw), nb.map(b => b.size))
  t.true(pb.every(b => (b.type === COMPRESSION_SNAPPY) === (b.size < b.raw)))
  t.true(pb.filter(b => b.type === COMPRESSION_SNAPPY).length > pb.length / 2)
  t.is(packed.properties.dataBytes, pb.reduce((n, b) => n + b.size + 5, 0))
  t.is(plain.properties.dataBytes, nb.reduce((n, b) => n + b.size + 5, 0))
  t.true(packed.bytes.length < plain.bytes.length * 0.8, `${packed.bytes.length} vs ${plain.bytes.length}`)
  t.true(worthCompressing(800, 699) && !worthCompressing(800, 700) && !worthCompressing(9, 8))
  t.throws(() => new TableBuilder({ compression: 'zstd' as 'none' }), { instanceOf: RangeError })
  // Incompressible data stays type 0.
  let x = 3
  const noise = entries(50).filter(([, v]) => v.length > 0).map(([k]) => [k, Uint8Array.from({ length: 100 }, () => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 24))] as [Uint8Array, Uint8Array])
  const kinds = new Set(dataBlocks(build(noise, { blockSize: 256 }).bytes).map(b => b.type))
  t.true(kinds.has(COMPRESSION_NONE))
})

for (const [writer, reader] of [['ts', 'native'], ['native', 'ts']] as const) {
  test(`a compressed table flushed by the ${writer} core reads alike in the ${reader} core`, async t => {
    const dir = tempDir(t)
    const cores: Record<string, Core> = { ts: tsCore, native }
    const ops: WriteOp[] = entries(3000, 9).map(([k, v]) => ({ kind: v.length === 0 ? Kind.Delete : Kind.Put, key: k.subarray(0, k.length - 8), ...(v.length > 0 && { value: v }) }) as WriteOp)
    const w = cores[writer]!
    const m = w.newMemtable()
    m.apply(encodeWriteGroup(1, ops))
    const path = join(dir, '000007.sst')
    const written = await w.flush(m, path, { compression: 'snappy' })
    const raw = readFileSync(path)
    t.true(dataBlocks(raw).some(b => b.type === COMPRESSION_SNAPPY))
    t.true(written.properties.dataBytes < written.properties.rawValueBytes)
    for (const core of [cores[reader]!, w]) {
      const caches = core.newCaches({ blockCacheBytes: 1 << 20, maxOpenFiles: 10 })
      const table = core.openTable(path, caches)
      const view = core.newReadView([], [[table]])
      ops.forEach((op, i) => {
        const r = table.get(op.key, MAX_SEQ)
        ok(r.found && r.seq === i + 1 && r.kind === op.kind && (op.kind === Kind.Delete || Buffer.from(r.value).equals(op.value!)), `${core.name} key ${i}`)
      })
      const c = view.cursor({ snapshotSeq: MAX_SEQ })
      const chunk = c.nextChunk(10_000)
      t.is(chunk.keys.length, ops.filter(o => o.kind === Kind.Put).length, core.name)
      // The block cache is charged at decompressed sizes.
      t.true(caches.blockCacheUsage >= written.properties.rawValueBytes, `${core.name}: ${caches.blockCacheUsage}`)
      c.close?.()
      table.close()
      await caches.close()
    }
  })
}

test('both cores read the golden compressed table (000005.sst) as the uncompressed one', t => {
  for (const core of [tsCore, native]) {
    const a = core.openTable(join(vectorsDir, '000004.sst'))
    const b = core.openTable(join(vectorsDir, '000005.sst'))
    t.teardown(() => { a.close(); b.close() })
    const ca = core.newReadView([], [[a]]).cursor({ snapshotSeq: 86 }).nextChunk(1000)
    const cb = core.newReadView([], [[b]]).cursor({ snapshotSeq: 86 }).nextChunk(1000)
    t.deepEqual(cb.keys.map(hex), ca.keys.map(hex), core.name)
    t.deepEqual(cb.values.map(hex), ca.values.map(hex), core.name)
    t.true(cb.keys.length > 50)
  }
})

test('a compressed block is checked by crc first, then decoded strictly: CORRUPTION naming the file in both cores', async t => {
  const dir = tempDir(t)
  const { bytes } = build(entries(300), { blockSize: 1024 })
  const [first] = dataBlocks(bytes)
  t.is(first!.type, COMPRESSION_SNAPPY)
  const end = first!.size
  const reseal = (m: Uint8Array) => {
    const crc = mcrc(m.subarray(0, end + 1))
    Buffer.from(m.buffer, m.byteOffset).writeUInt32LE(crc, end + 1)
  }
  const cases: [string, (m: Uint8Array) => void, RegExp][] = [
    ['flipped bit', m => { m[10]! ^= 4 }, /checksum/],
    ['declared length + 1', m => { m[0]! += 1; reseal(m) }, /snappy/],
    ['copies reaching back too far', m => { m.fill(0xff, 2, end); reseal(m) }, /snappy copy/],
    ['unknown type', m => { m[end] = 7; reseal(m) }, /unknown compression type 7/],
  ]
  for (const [what, damage, msg] of cases) {
    const m = bytes.slice()
    damage(m)
    const path = join(dir, '000012.sst')
    writeFileSync(path, m)
    const [firstKey, firstValue] = entries(300)[0]!
    for (const core of [tsCore, native]) {
      // With a block cache that has room, a read decodes the whole block; without one, both
      // cores decode only as far as the entry they want (the checksum still covers all).
      for (const cached of [true, false]) {
        const how = `${what} (${core.name}, ${cached ? 'cached' : 'uncached'})`
        const table = cached ? core.openTable(path, core.newCaches({ blockCacheBytes: 1 << 20, maxOpenFiles: 16 })) : core.openTable(path)
        const get = () => table.get(firstKey.subarray(0, 16), MAX_SEQ)
        if (!cached && what === 'declared length + 1') {
          // The damage lies past the first entry, which is all this read decodes.
          const r = get()
          t.true(r.found && Buffer.from(r.value).equals(Buffer.from(firstValue)), how)
        } else {
          const e = t.throws(get, { instanceOf: LsmError }, how)
          t.is(e!.code, 'CORRUPTION', how)
          t.is(e!.file, '000012.sst', `${how}: ${e!.message}`)
          t.regex(e!.message, msg, how)
        }
        table.close()
      }
    }
    rmSync(join(dir, '000012.sst'))
  }
})

test('the compression option: default snappy, validated', t => {
  t.is(resolveOptions({}).compression, 'snappy')
  t.is(resolveOptions({ compression: 'none' }).compression, 'none')
  for (const bad of ['zstd', 1, true]) {
    const e = t.throws(() => resolveOptions({ compression: bad as 'none' }), { instanceOf: LsmError })
    t.is(e!.code, 'INVALID_ARGUMENT')
  }
})

test('the native core refuses an unknown compression name', async t => {
  const dir = tempDir(t)
  const m = native.newMemtable()
  m.apply(encodeWriteGroup(1, [{ kind: Kind.Put, key: Buffer.from('a'), value: Buffer.from('b') }]))
  const e = await t.throwsAsync(native.flush(m, join(dir, 'x.sst'), { compression: 'lz4' as 'none' }), { instanceOf: LsmError })
  t.is(e!.code, 'INVALID_ARGUMENT')
})
