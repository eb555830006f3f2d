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
import { encodeLogFileHeader, encodeRecord, MANIFEST_MAGIC, WAL_MAGIC } from '../ts/core/ts/log-format.js'
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
  const sstOptions = { blockSize: 256, bitsPerKey: 10, restartInterval: 16 }

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
    manifest: { fileNumber: MANIFEST_NUMBER, file: 'MANIFEST-000002', edits: edits.map(editJson) },
    current: { file: 'CURRENT', manifestNumber: MANIFEST_NUMBER },
    crc32c: crcInputs.map(d => ({ data: hex(d), crc: crc32c(d), masked: maskCrc(crc32c(d)) })),
    bloom: { bitsPerKey: 10, keys: bloomKeys.map(hex), filter: hex(buildBloom(bloomKeys, 10)) },
  }
  const jsonBytes = enc(JSON.stringify(json, null, 2) + '\n')
  return {
    files: {
      '000003.log': wal,
      '000004.sst': sst,
      'MANIFEST-000002': manifest,
      CURRENT: encodeCurrent(MANIFEST_NUMBER),
      'vectors.json': jsonBytes,
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
