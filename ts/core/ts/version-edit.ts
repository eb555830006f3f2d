/**
 * Version edits, the records of the MANIFEST (docs/FORMAT.md §5), and the
 * `CURRENT` file that names the live MANIFEST (§6).
 */
import { ByteWriter, Cursor, DecodeError } from './coding.js'
import { mcrc } from './crc32c.js'
import { checkInternalKey } from './internal-key.js'

/** Field tags. On disk: never renumber. */
export const Tag = {
  LogNumber: 1,
  NextFileNumber: 2,
  LastSequence: 3,
  DeleteFile: 4,
  AddFile: 5,
  CompactPointer: 6,
} as const

export const NUM_LEVELS = 7

/** A table as the manifest records it. */
export interface FileMeta {
  /** The level the table belongs to (0 to `NUM_LEVELS - 1`). */
  level: number
  /** The number in the table's file name (`NNNNNN.sst`). */
  fileNumber: number
  /** Size of the table file, in bytes. */
  fileSize: number
  /** Smallest sequence number in the table. */
  minSeq: number
  /** Largest sequence number in the table. */
  maxSeq: number
  /** Smallest internal key. */
  smallest: Uint8Array
  /** Largest internal key. */
  largest: Uint8Array
}

/** One change to the set of live tables and counters. */
export interface VersionEdit {
  /** Oldest WAL still needed: WALs numbered below it are already in tables; recovery replays the rest. */
  logNumber?: number
  /** The next file number to hand out (numbers below it may already be in use). */
  nextFileNumber?: number
  /** Last sequence number used when the edit was written. */
  lastSequence?: number
  /** Where each level's round-robin size compaction resumes. */
  compactPointers?: {
    /** The level the pointer is for. */
    level: number
    /** Largest internal key of the level's last compaction; the next one starts at the first table past it. */
    key: Uint8Array
  }[]
  /** Tables removed from the version. */
  deletedFiles?: {
    /** The level the table was at. */
    level: number
    /** The table's file number. */
    fileNumber: number
  }[]
  /** Tables added to the version. */
  addedFiles?: FileMeta[]
}

const byLevelThenNumber = <T extends { level: number; fileNumber: number }>(a: T, b: T): number =>
  a.level - b.level || a.fileNumber - b.fileNumber

/** Encodes an edit with its fields in the canonical order 1, 2, 3, 6, 4, 5. */
export function encodeVersionEdit(e: VersionEdit): Uint8Array {
  const w = new ByteWriter(128)
  if (e.logNumber !== undefined) w.varint(Tag.LogNumber).varint(e.logNumber)
  if (e.nextFileNumber !== undefined) w.varint(Tag.NextFileNumber).varint(e.nextFileNumber)
  if (e.lastSequence !== undefined) w.varint(Tag.LastSequence).varint(e.lastSequence)
  for (const cp of [...(e.compactPointers ?? [])].sort((a, b) => a.level - b.level)) {
    w.varint(Tag.CompactPointer).varint(cp.level).lpbytes(cp.key)
  }
  for (const d of [...(e.deletedFiles ?? [])].sort(byLevelThenNumber)) {
    w.varint(Tag.DeleteFile).varint(d.level).varint(d.fileNumber)
  }
  for (const f of [...(e.addedFiles ?? [])].sort(byLevelThenNumber)) {
    w.varint(Tag.AddFile).varint(f.level).varint(f.fileNumber).varint(f.fileSize)
      .varint(f.minSeq).varint(f.maxSeq).lpbytes(f.smallest).lpbytes(f.largest)
  }
  return w.finish()
}

function level(c: Cursor): number {
  const l = c.varint32()
  if (l >= NUM_LEVELS) throw new DecodeError(`level ${l} is out of range`)
  return l
}

function ikey(c: Cursor): Uint8Array {
  const k = c.lpbytes().slice()
  checkInternalKey(k)
  return k
}

/** Decodes one edit; throws DecodeError on an unknown tag or malformed field. */
export function decodeVersionEdit(b: Uint8Array): VersionEdit {
  const c = new Cursor(b)
  const e: VersionEdit = {}
  while (c.remaining > 0) {
    const tag = c.varint32()
    switch (tag) {
      case Tag.LogNumber: e.logNumber = c.varint64(); break
      case Tag.NextFileNumber: e.nextFileNumber = c.varint64(); break
      case Tag.LastSequence: e.lastSequence = c.varint64(); break
      case Tag.CompactPointer:
        (e.compactPointers ??= []).push({ level: level(c), key: ikey(c) })
        break
      case Tag.DeleteFile:
        (e.deletedFiles ??= []).push({ level: level(c), fileNumber: c.varint64() })
        break
      case Tag.AddFile: {
        const f: FileMeta = {
          level: level(c), fileNumber: c.varint64(), fileSize: c.varint64(),
          minSeq: c.varint64(), maxSeq: c.varint64(), smallest: ikey(c), largest: ikey(c),
        }
        if (f.minSeq > f.maxSeq) throw new DecodeError(`file ${f.fileNumber} has minSeq > maxSeq`)
        ;(e.addedFiles ??= []).push(f)
        break
      }
      default:
        throw new DecodeError(`unknown version edit tag ${tag}`)
    }
  }
  return e
}

/** File names (FORMAT.md §7). */
export const fileNames = {
  wal: (n: number) => `${String(n).padStart(6, '0')}.log`,
  table: (n: number) => `${String(n).padStart(6, '0')}.sst`,
  manifest: (n: number) => `MANIFEST-${String(n).padStart(6, '0')}`,
  /** A dead table kept for a compaction to write over (`recycleTableFiles`); never read. */
  recycle: (n: number) => `${String(n).padStart(6, '0')}.recycle`,
  /** The next WAL, written ahead as a header and zeros; renamed to a `.log` name when used. */
  walSpare: 'WAL.spare',
  current: 'CURRENT',
  currentTmp: 'CURRENT.tmp',
  lock: 'LOCK',
} as const

/** Parses a file name into its kind and number, or undefined for a name that isn't ours. */
export function parseFileName(name: string): { kind: 'wal' | 'table' | 'manifest' | 'recycle'; number: number } | undefined {
  let m = /^(\d{6,})\.(log|sst|recycle)$/.exec(name)
  if (m) return { kind: m[2] === 'log' ? 'wal' : m[2] === 'sst' ? 'table' : 'recycle', number: Number(m[1]) }
  m = /^MANIFEST-(\d{6,})$/.exec(name)
  if (m) return { kind: 'manifest', number: Number(m[1]) }
  return undefined
}

/** Contents of `CURRENT` naming manifest number `n`. */
export function encodeCurrent(manifestNumber: number): Uint8Array {
  const name = fileNames.manifest(manifestNumber)
  const crc = mcrc(new TextEncoder().encode(name)).toString(16).padStart(8, '0')
  return new TextEncoder().encode(`${name} ${crc}\n`)
}

/** Parses `CURRENT`; returns the manifest number or throws DecodeError. */
export function decodeCurrent(b: Uint8Array): number {
  const text = Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1')
  const m = /^(MANIFEST-(\d{6,})) ([0-9a-f]{8})\n$/.exec(text)
  if (!m) throw new DecodeError('CURRENT is malformed')
  const expected = mcrc(new TextEncoder().encode(m[1]!)).toString(16).padStart(8, '0')
  if (expected !== m[3]) throw new DecodeError('CURRENT fails its checksum')
  return Number(m[2])
}
