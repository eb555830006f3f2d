/**
 * Generates the golden vectors in test/vectors/ (docs/FORMAT.md §8) from a
 * fixed input. `npx tsx scripts/gen-vectors.ts` rewrites the files; the tests
 * call {@link buildVectors} and compare byte for byte, and the Rust test
 * rebuilds the same files from vectors.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildBloom } from '../ts/core/ts/bloom.js'
import { crc32c, maskCrc } from '../ts/core/ts/crc32c.js'
import { compareInternalKeys, Kind, makeInternalKey } from '../ts/core/ts/internal-key.js'
import { DecodeError } from '../ts/core/ts/coding.js'
import { encodeLogFileHeader, encodeRecord, MANIFEST_MAGIC, readLog, WAL_MAGIC } from '../ts/core/ts/log-format.js'
import { compress } from '../ts/core/ts/snappy.js'
import { TableBuilder } from '../ts/core/ts/sst.js'
import { encodeCurrent, encodeVersionEdit, type VersionEdit } from '../ts/core/ts/version-edit.js'
import { encodeWriteGroup, type WriteOp } from '../ts/core/ts/write-group.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

export interface VectorGroup {
  firstSeq: number
  ops: WriteOp[]
}

/** The fixed input: four write groups with puts, deletes, overwrites and binary keys. */
export function vectorInput(): VectorGroup[] {
  const groups: VectorGroup[] = []
  groups.push({
    firstSeq: 1,
    ops: [
      { kind: Kind.Put, key: enc('apple'), value: enc('red') },
      { kind: Kind.Put, key: enc('banana'), value: enc('yellow') },
      { kind: Kind.Delete, key: enc('cherry') },
    ],
  })
  const b: WriteOp[] = []
  for (let i = 0; i < 60; i++) {
    b.push({ kind: Kind.Put, key: enc(`key-${String((i * 7) % 60).padStart(3, '0')}`), value: enc(`value-${i}-${'x'.repeat(i % 13)}`) })
  }
  groups.push({ firstSeq: 4, ops: b })
  groups.push({
    firstSeq: 64,
    ops: [
      { kind: Kind.Delete, key: enc('key-010') },
      { kind: Kind.Put, key: enc('apple'), value: enc('green') },
      { kind: Kind.Put, key: new Uint8Array([0x00, 0xff, 0x80]), value: new Uint8Array(0) },
    ],
  })
  const d: WriteOp[] = []
  for (let i = 0; i < 20; i++) d.push({ kind: Kind.Put, key: enc(`key-${String(i).padStart(3, '0')}`), value: enc(`over-${i}`) })
  groups.push({ firstSeq: 67, ops: d })
  return groups
}

/** xorshift32: the deterministic "random" bytes of the vectors. */
function pseudoRandom(seed: number, n: number): Uint8Array {
  let x = seed >>> 0 || 1
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))

/** Inputs of the Snappy vectors (snappy.json): every element form and boundary the compressor writes. */
export function snappyInputs(): { name: string; input: Uint8Array }[] {
  const r = pseudoRandom(1, 3000)
  const far = pseudoRandom(2, 66_000)
  // Bench-style records: 16-byte key, 50 random bytes, 50 repeated bytes.
  const records: Uint8Array[] = []
  for (let i = 0; i < 40; i++) records.push(enc(`key${String(i).padStart(13, '0')}`), pseudoRandom(100 + i, 50), new Uint8Array(50).fill(0x76))
  return [
    { name: 'empty', input: new Uint8Array(0) },
    { name: 'one byte', input: enc('a') },
    { name: 'three bytes (below the 4-byte minimum match)', input: enc('abc') },
    { name: 'four equal bytes', input: enc('aaaa') },
    { name: 'a run of 100 (overlapping copy, offset 1)', input: enc('a'.repeat(100)) },
    { name: 'period 3 (overlapping copy, offset 3)', input: enc('abc'.repeat(67)) },
    { name: 'text', input: enc('the quick brown fox jumps over the lazy dog. '.repeat(20)) },
    { name: 'random 100 (one literal)', input: pseudoRandom(3, 100) },
    { name: 'literal of 61 (one length byte)', input: pseudoRandom(4, 61) },
    { name: 'literal of 300 (two length bytes)', input: pseudoRandom(5, 300) },
    { name: 'zeros 5000 (copies of 64, split at 68)', input: new Uint8Array(5000) },
    { name: 'copies of 65..67 and 68 (split as 60 + rest, 64 + 4)', input: concat(pseudoRandom(6, 10), pseudoRandom(6, 10), enc('x'.repeat(66)), enc('-'), enc('y'.repeat(69))) },
    { name: 'short copy at offset ≥ 2048 (2-byte offset)', input: concat(r, r.subarray(0, 8)) },
    { name: 'short copy at offset < 2048 (1-byte offset)', input: concat(r.subarray(0, 1000), r.subarray(0, 9)) },
    { name: 'long copy at offset < 2048 (2-byte offset)', input: concat(r.subarray(0, 1000), r.subarray(0, 40)) },
    { name: 'bench records (4.6 KiB: like a data block)', input: concat(...records) },
    { name: 'random 66000 then a repeat beyond 65535 (three length bytes, no match)', input: concat(far, far.subarray(0, 64)) },
  ]
}

/**
 * Inputs of the log vectors (logs.json): ways a WAL can end — cleanly, in a
 * zeroed runway, cut short, with a sector of zeros in a record (a partial
 * write into zeroed space), with changed bytes — each read by both engines'
 * log readers with the outcome FORMAT.md §3 gives.
 */
export function logCases(): { name: string; fileNumber: number; bytes: Uint8Array }[] {
  const N = 7
  const payloads = [0, 1, 2].map(i => new Uint8Array(1500).fill(0x41 + i))
  const base = new Uint8Array(Buffer.concat([encodeLogFileHeader(WAL_MAGIC), ...payloads.map(p => encodeRecord(p, N))]))
  // Records start at 16, 1532 and 3048 and span several 512-byte sectors each.
  const last = 16 + 2 * 1516
  const runway = (b: Uint8Array) => new Uint8Array(Buffer.concat([b, new Uint8Array(4096)]))
  const edit = (b: Uint8Array, f: (c: Uint8Array) => void) => {
    const c = b.slice()
    f(c)
    return c
  }
  return [
    { name: 'clean', fileNumber: N, bytes: base },
    { name: 'zeroed runway after the last record', fileNumber: N, bytes: runway(base) },
    { name: 'cut inside the last payload', fileNumber: N, bytes: base.slice(0, base.length - 100) },
    { name: 'cut inside the last record header', fileNumber: N, bytes: base.slice(0, last + 10) },
    { name: 'a sector of zeros in the last record, runway after', fileNumber: N, bytes: edit(runway(base), c => c.fill(0, 3584, 4096)) },
    { name: 'a sector of zeros in the second record, a valid third after', fileNumber: N, bytes: edit(runway(base), c => c.fill(0, 2048, 2560)) },
    { name: 'a sector of zeros across the end of one record and the next header', fileNumber: N, bytes: edit(runway(base), c => c.fill(0, 2560, 3072)) },
    { name: 'a flipped bit in the last payload, runway after', fileNumber: N, bytes: edit(runway(base), c => { c[last + 16 + 700]! ^= 0x10 }) },
    { name: 'a flipped bit in the last record header', fileNumber: N, bytes: edit(base, c => { c[last + 5]! ^= 0x01 }) },
    { name: 'a flipped bit in the first payload', fileNumber: N, bytes: edit(base, c => { c[100]! ^= 0x01 }) },
    { name: 'a file header of zeros', fileNumber: N, bytes: edit(base, c => c.fill(0, 0, 16)) },
    { name: 'a file shorter than its header', fileNumber: N, bytes: base.slice(0, 10) },
    { name: 'a record of another log file after the last', fileNumber: N, bytes: new Uint8Array(Buffer.concat([base, encodeRecord(enc('foreign'), N + 1)])) },
    { name: 'non-zero bytes after the last record', fileNumber: N, bytes: new Uint8Array(Buffer.concat([base, new Uint8Array(100).fill(0xaa)])) },
    { name: 'ten non-zero bytes, then zeros, after the last record', fileNumber: N, bytes: runway(new Uint8Array(Buffer.concat([base, new Uint8Array(10).fill(0xaa)]))) },
  ]
}

/** What a log reader must make of `bytes`: as the newest WAL (a torn tail allowed) and as an older one. */
function logOutcome(bytes: Uint8Array, fileNumber: number): unknown {
  const read = (allowTornTail: boolean) => {
    try {
      const r = readLog(bytes, WAL_MAGIC, fileNumber, allowTornTail)
      return { records: r.records.length, goodLength: r.goodLength, tornBytes: r.tornBytes }
    } catch (e) {
      if (e instanceof DecodeError) return 'corruption'
      throw e
    }
  }
  return { newest: read(true), older: read(false) }
}

export interface Vectors {
  files: Record<string, Uint8Array>
  json: unknown
}

/** Builds every golden file in memory. */
export function buildVectors(): Vectors {
  const groups = vectorInput()
  const WAL_NUMBER = 3
  const SST_NUMBER = 4
  const MANIFEST_NUMBER = 2
  const COMPRESSED_SST_NUMBER = 5
  const sstOptions = { blockSize: 256, bitsPerKey: 10, restartInterval: 16, compression: 'none' as const }
  const compressedSstOptions = { ...sstOptions, compression: 'snappy' as const }

  // WAL: file header, then one record per group.
  const walParts: Uint8Array[] = [encodeLogFileHeader(WAL_MAGIC)]
  for (const g of groups) walParts.push(encodeRecord(encodeWriteGroup(g.firstSeq, g.ops), WAL_NUMBER))
  const wal = Buffer.concat(walParts)

  // SST: every entry of every group, sorted by internal key.
  const entries: [Uint8Array, Uint8Array][] = []
  for (const g of groups) {
    g.ops.forEach((op, i) => entries.push([makeInternalKey(op.key, g.firstSeq + i, op.kind), op.value ?? new Uint8Array(0)]))
  }
  entries.sort((x, y) => compareInternalKeys(x[0], y[0]))
  const tb = new TableBuilder(sstOptions)
  for (const [k, v] of entries) tb.add(k, v)
  const { bytes: sst, properties } = tb.finish()
  // The same entries with Snappy-compressed data blocks (where that saves an eighth).
  const ctb = new TableBuilder(compressedSstOptions)
  for (const [k, v] of entries) ctb.add(k, v)
  const compressedSst = ctb.finish().bytes

  const lastSeq = 86
  const table = {
    fileNumber: SST_NUMBER, fileSize: sst.length, minSeq: properties.minSeq, maxSeq: properties.maxSeq,
    smallest: properties.smallest, largest: properties.largest,
  }
  const edits: VersionEdit[] = [
    { logNumber: 1, nextFileNumber: 3, lastSequence: 0 },
    { logNumber: 5, nextFileNumber: 6, lastSequence: lastSeq, addedFiles: [{ level: 0, ...table }] },
    {
      compactPointers: [{ level: 0, key: properties.largest }],
      deletedFiles: [{ level: 0, fileNumber: SST_NUMBER }],
      addedFiles: [{ level: 1, ...table }],
    },
  ]
  const manParts: Uint8Array[] = [encodeLogFileHeader(MANIFEST_MAGIC)]
  for (const e of edits) manParts.push(encodeRecord(encodeVersionEdit(e), MANIFEST_NUMBER))
  const manifest = Buffer.concat(manParts)

  const crcInputs = [enc('123456789'), new Uint8Array(0), new Uint8Array(32), Uint8Array.from({ length: 32 }, (_, i) => i), enc('lsm-rust')]
  const bloomKeys = Array.from({ length: 20 }, (_, i) => enc(`bloom-${i}`))

  const editJson = (e: VersionEdit) => ({
    ...(e.logNumber !== undefined && { logNumber: e.logNumber }),
    ...(e.nextFileNumber !== undefined && { nextFileNumber: e.nextFileNumber }),
    ...(e.lastSequence !== undefined && { lastSequence: e.lastSequence }),
    ...(e.compactPointers && { compactPointers: e.compactPointers.map(c => ({ level: c.level, key: hex(c.key) })) }),
    ...(e.deletedFiles && { deletedFiles: e.deletedFiles }),
    ...(e.addedFiles && { addedFiles: e.addedFiles.map(f => ({ ...f, smallest: hex(f.smallest), largest: hex(f.largest) })) }),
  })

  const json = {
    comment: 'Golden vectors for docs/FORMAT.md; generated by scripts/gen-vectors.ts. Do not edit by hand.',
    groups: groups.map(g => ({
      firstSeq: g.firstSeq,
      entries: g.ops.map(op => (op.kind === Kind.Put ? { kind: 1, key: hex(op.key), value: hex(op.value!) } : { kind: 0, key: hex(op.key) })),
    })),
    wal: { fileNumber: WAL_NUMBER, file: '000003.log' },
    sst: { fileNumber: SST_NUMBER, file: '000004.sst', ...sstOptions },
    compressedSst: { fileNumber: COMPRESSED_SST_NUMBER, file: '000005.sst', ...compressedSstOptions },
    manifest: { fileNumber: MANIFEST_NUMBER, file: 'MANIFEST-000002', edits: edits.map(editJson) },
    current: { file: 'CURRENT', manifestNumber: MANIFEST_NUMBER },
    crc32c: crcInputs.map(d => ({ data: hex(d), crc: crc32c(d), masked: maskCrc(crc32c(d)) })),
    bloom: { bitsPerKey: 10, keys: bloomKeys.map(hex), filter: hex(buildBloom(bloomKeys, 10)) },
  }
  const jsonBytes = enc(JSON.stringify(json, null, 2) + '\n')
  const snappy = {
    comment: 'Snappy raw-format vectors (docs/FORMAT.md §4.1): the compressor of both engines must turn each input into exactly its compressed bytes. Generated by scripts/gen-vectors.ts. Do not edit by hand.',
    cases: snappyInputs().map(c => ({ name: c.name, input: hex(c.input), compressed: hex(compress(c.input)) })),
  }
  const snappyBytes = enc(JSON.stringify(snappy, null, 2) + '\n')
  const logs = {
    comment: 'Log reading vectors (docs/FORMAT.md §3): for each log file (hex), what both engines\' readers make of it as the newest WAL (records kept, where the good part ends, torn bytes counted) and as an older WAL; "corruption" is an error. Generated by scripts/gen-vectors.ts. Do not edit by hand.',
    cases: logCases().map(c => ({ name: c.name, fileNumber: c.fileNumber, bytes: hex(c.bytes), ...(logOutcome(c.bytes, c.fileNumber) as object) })),
  }
  const logsBytes = enc(JSON.stringify(logs, null, 2) + '\n')
  return {
    files: {
      '000003.log': wal,
      '000004.sst': sst,
      '000005.sst': compressedSst,
      'MANIFEST-000002': manifest,
      CURRENT: encodeCurrent(MANIFEST_NUMBER),
      'vectors.json': jsonBytes,
      'snappy.json': snappyBytes,
      'logs.json': logsBytes,
    },
    json,
  }
}

export const vectorsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors')

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(vectorsDir, { recursive: true })
  for (const [name, bytes] of Object.entries(buildVectors().files)) {
    writeFileSync(join(vectorsDir, name), bytes)
    console.log(`wrote test/vectors/${name} (${bytes.length} bytes)`)
  }
}
