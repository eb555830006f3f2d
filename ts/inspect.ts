/**
 * Offline inspection of a database directory, for the `lsm-rust` CLI and for
 * tools: read-only views (no recovery writes, no new MANIFEST, no GC), table
 * walks that check every block, and {@link verifyDB}, which reads every
 * record and block of every live file and checks every checksum.
 *
 * Everything here takes the directory's LOCK first (a database open in
 * another process fails with LsmError `LOCKED`) and releases it when done.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { LsmError } from './errors.js'
import { DirLock } from './lock.js'
import { VersionSet } from './version-set.js'
import { Version } from './version.js'
import type { CoreMemtable, CoreReadView, CoreTable } from './core/core.js'
import type { EngineChoice } from './options.js'
import { selectCore } from './core/select.js'
import { Block } from './core/ts/block.js'
import { DecodeError, getFixed32, getFixed64 } from './core/ts/coding.js'
import { checkInternalKey, compareInternalKeys, Kind, kindOf, seqOf, userKeyOf } from './core/ts/internal-key.js'
import { MANIFEST_MAGIC, readLog, WAL_MAGIC } from './core/ts/log-format.js'
import { BLOCK_TRAILER_SIZE, COMPRESSION_SNAPPY, FOOTER_SIZE, Table, type TableProperties } from './core/ts/sst.js'
import { decodeCurrent, decodeVersionEdit, fileNames, parseFileName, type FileMeta, type VersionEdit } from './core/ts/version-edit.js'
import { readWal } from './core/ts/wal.js'
import { validateWriteGroup } from './core/ts/write-group.js'

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Fails with NOT_FOUND unless `dir` is a directory holding a database (a CURRENT file). */
export function requireDatabaseDir(dir: string): void {
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch {
    throw new LsmError('NOT_FOUND', `${dir} does not exist`)
  }
  if (!isDir) throw new LsmError('NOT_FOUND', `${dir} is not a directory`)
  if (!VersionSet.exists(dir)) throw new LsmError('NOT_FOUND', `${dir} holds no database (no CURRENT file)`)
}

/** Runs `fn` holding the directory's LOCK. */
export function withLock<T>(dir: string, fn: () => T): T {
  const lock = DirLock.acquire(dir)
  let async = false
  try {
    const r = fn()
    if (r instanceof Promise) {
      async = true
      return r.finally(() => lock.release()) as T
    }
    return r
  } finally {
    if (!async) lock.release()
  }
}

// ------------------------------------------------------------ table walks

/** One data block of a table, as walked by {@link walkTable}. */
export interface BlockInfo {
  /** Position in the table (0 = first data block). */
  index: number
  /** Offset of the block contents in the file. */
  offset: number
  /** Bytes of contents as stored, compressed or not (the 5-byte trailer excluded). */
  size: number
  /** How the block is stored (FORMAT.md §4.1); absent when the block could not be read. */
  compression?: 'none' | 'snappy'
  /** Bytes of the contents once decompressed; absent when the block could not be read. */
  rawSize?: number
  /** Entries decoded (0 when the block is damaged). */
  entries: number
  /** The last internal key of the block, as the index records it. */
  indexKey: Uint8Array
  /** Why the block could not be used, when it could not. */
  error?: string
}

/** What {@link walkTable} found. */
export interface TableWalk {
  blocks: BlockInfo[]
  /** Problems found: damaged blocks, order violations, mismatched properties. */
  problems: string[]
}

/**
 * Reads every data block of an open table (each block's checksum is verified
 * by the read) and decodes every entry. `onEntry` sees the entries of
 * undamaged blocks only, in order; a damaged block is reported whole and
 * skipped. Also checks entry order, index keys, the bloom filter (no false
 * negatives) and the properties block against what was read.
 */
export function walkTable(table: Table, onEntry?: (ikey: Uint8Array, value: Uint8Array) => void): TableWalk {
  const problems: string[] = []
  const blocks: BlockInfo[] = []
  const seen = { entries: 0, deletions: 0, rawKeyBytes: 0, rawValueBytes: 0, minSeq: Infinity, maxSeq: 0 }
  let first: Uint8Array | undefined
  let prev: Uint8Array | undefined
  let expectedOffset = 0
  let allBlocksRead = true
  for (let index = 0; index < table.blockCount; index++) {
    const indexKey = table.indexKey(index).slice()
    let info: BlockInfo
    try {
      const h = table.blockHandle(index)
      info = { index, offset: h.offset, size: h.size, entries: 0, indexKey }
      if (h.offset !== expectedOffset) problems.push(`data block ${index} starts at ${h.offset}, expected ${expectedOffset}`)
      expectedOffset = h.offset + h.size + BLOCK_TRAILER_SIZE
      const entries: [Uint8Array, Uint8Array][] = []
      const { contents, type } = table.readStoredBlock(h)
      info.compression = type === COMPRESSION_SNAPPY ? 'snappy' : 'none'
      info.rawSize = contents.length
      const bi = new Block(contents).iterator()
      bi.seekToFirst()
      while (bi.valid()) {
        const k = bi.key()
        checkInternalKey(k)
        entries.push([k, bi.value()])
        bi.next()
      }
      if (entries.length === 0) throw new DecodeError('block holds no entries')
      const last = entries[entries.length - 1]![0]
      if (compareInternalKeys(last, indexKey) !== 0) throw new DecodeError('last key differs from the index key')
      info.entries = entries.length
      for (const [k, v] of entries) {
        if (prev !== undefined && compareInternalKeys(prev, k) >= 0) problems.push(`data block ${index}: keys out of order`)
        prev = k
        first ??= k
        const uk = userKeyOf(k)
        if (!table.mayContain(uk)) problems.push(`bloom filter misses a key of data block ${index}`)
        const seq = seqOf(k)
        seen.entries++
        if (kindOf(k) === Kind.Delete) seen.deletions++
        seen.rawKeyBytes += uk.length
        seen.rawValueBytes += v.length
        if (seq < seen.minSeq) seen.minSeq = seq
        if (seq > seen.maxSeq) seen.maxSeq = seq
        onEntry?.(k, v)
      }
    } catch (e) {
      allBlocksRead = false
      info ??= { index, offset: -1, size: 0, entries: 0, indexKey }
      info.error = message(e)
      problems.push(`data block ${index}${info.offset >= 0 ? ` at offset ${info.offset}` : ''}: ${info.error}`)
    }
    blocks.push(info)
  }
  const p = table.properties
  if (p.dataBlockCount !== blocks.length) problems.push(`properties say ${p.dataBlockCount} data blocks, the index lists ${blocks.length}`)
  if (allBlocksRead) {
    const check = (what: string, stated: number, found: number) => {
      if (stated !== found) problems.push(`properties say ${what} ${stated}, the blocks hold ${found}`)
    }
    check('entryCount', p.entryCount, seen.entries)
    check('deletionCount', p.deletionCount, seen.deletions)
    check('rawKeyBytes', p.rawKeyBytes, seen.rawKeyBytes)
    check('rawValueBytes', p.rawValueBytes, seen.rawValueBytes)
    check('dataBytes', p.dataBytes, expectedOffset)
    if (seen.entries > 0) {
      check('minSeq', p.minSeq, seen.minSeq)
      check('maxSeq', p.maxSeq, seen.maxSeq)
      if (first && compareInternalKeys(first, p.smallest) !== 0) problems.push('properties name a different smallest key')
      if (prev && compareInternalKeys(prev, p.largest) !== 0) problems.push('properties name a different largest key')
    }
  }
  return { blocks, problems }
}

/** The footer's block handles (FORMAT.md §4.5), read from the last 64 bytes. */
export function readFooter(path: string): { filter: [number, number]; properties: [number, number]; index: [number, number]; formatVersion: number } {
  const bytes = readFileSync(path)
  if (bytes.length < FOOTER_SIZE) throw new LsmError('CORRUPTION', `table of ${bytes.length} bytes is shorter than its footer`, { file: path })
  const f = bytes.subarray(bytes.length - FOOTER_SIZE)
  const pair = (off: number): [number, number] => [getFixed64(f, off), getFixed64(f, off + 8)]
  return { filter: pair(0), properties: pair(16), index: pair(32), formatVersion: getFixed32(f, 48) }
}

// ------------------------------------------------------------ read-only view

/** A table of the live version, with its manifest record and properties. */
export interface TableInfo {
  level: number
  fileNumber: number
  file: string
  bytes: number
  /** Smallest and largest user key. */
  smallest: Uint8Array
  largest: Uint8Array
  minSeq: number
  maxSeq: number
  entries: number
  deletions: number
}

/**
 * A read-only view of a database directory: the live version from CURRENT and
 * its MANIFEST, plus the writes of WALs not yet in tables, replayed into a
 * memtable. Nothing in the directory changes (LevelDB's `OpenDB` would flush
 * and write a new MANIFEST; this does not). Holds the LOCK until closed.
 */
export class DirView {
  /** Manifest counters. */
  readonly lastSequence: number
  readonly logNumber: number
  readonly nextFileNumber: number
  readonly manifest: string
  /** WALs replayed (at or above the log number), with their sizes. */
  readonly wals: { file: string; bytes: number }[]
  /** Entries replayed from the WALs. */
  readonly walEntries: number
  /** The live version's tables, level by level. */
  readonly levels: TableInfo[][]
  /** The read view over the replayed memtable and the tables. */
  readonly view: CoreReadView

  private constructor(
    readonly dir: string,
    private readonly lock: DirLock,
    private readonly versions: VersionSet,
    mem: CoreMemtable,
    tables: CoreTable[][],
    seq: number,
    wals: { file: string; bytes: number }[],
    manifest: string,
  ) {
    this.lastSequence = seq
    this.logNumber = versions.logNumber
    this.nextFileNumber = versions.nextFileNumber
    this.manifest = manifest
    this.wals = wals
    this.walEntries = mem.entryCount
    this.levels = versions.current.levels.map((files, level) => files.map((f, i): TableInfo => {
      const p = tables[level]![i]!.properties
      return {
        level, fileNumber: f.fileNumber, file: fileNames.table(f.fileNumber), bytes: f.fileSize,
        smallest: userKeyOf(f.smallest), largest: userKeyOf(f.largest), minSeq: f.minSeq, maxSeq: f.maxSeq,
        entries: p.entryCount, deletions: p.deletionCount,
      }
    }))
    this.view = versions.core.newReadView([mem], tables)
  }

  /** Opens `dir` read-only with the given core (`'auto'`: native when it loads). */
  static open(dir: string, engine: EngineChoice = 'auto'): DirView {
    requireDatabaseDir(dir)
    const lock = DirLock.acquire(dir)
    const core = selectCore(engine)
    const versions = new VersionSet(dir, core)
    try {
      versions.recover()
      const manifest = fileNames.manifest(decodeCurrent(readFileSync(join(dir, fileNames.current))))
      const wals = readdirSync(dir).map(parseFileName)
        .filter(p => p?.kind === 'wal' && p.number >= versions.logNumber).map(p => p!.number).sort((a, b) => a - b)
      const mem = core.newMemtable()
      let seq = versions.lastSequence
      const walInfo: { file: string; bytes: number }[] = []
      wals.forEach((n, i) => {
        const path = join(dir, fileNames.wal(n))
        walInfo.push({ file: fileNames.wal(n), bytes: statSync(path).size })
        for (const g of readWal(path, n, i === wals.length - 1).groups) {
          try {
            mem.apply(g)
          } catch (e) {
            throw new LsmError('CORRUPTION', `corruption: bad write group in WAL: ${message(e)}`, { file: fileNames.wal(n) })
          }
          seq = Math.max(seq, getFixed64(g, 0) + getFixed32(g, 8) - 1)
        }
      })
      const tables = versions.tablesOf(versions.current)
      return new DirView(dir, lock, versions, mem, tables, seq, walInfo, manifest)
    } catch (e) {
      versions.close()
      lock.release()
      throw e
    }
  }

  /** The value of `key` as of the newest write, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    const r = this.view.get(key, this.lastSequence)
    // A copy: the value may lie in a cached block whose memory is reused later.
    return r.found && r.kind === Kind.Put ? r.value.slice() : undefined
  }

  /** Releases the tables and the LOCK. */
  close(): void {
    this.versions.close()
    this.lock.release()
  }
}

// ------------------------------------------------------------------ stats

/** One level in {@link DirStats}. */
export interface LevelShape {
  level: number
  files: number
  bytes: number
  entries: number
  deletions: number
  /** Smallest and largest user key of the level (absent when empty). */
  smallest?: Uint8Array
  largest?: Uint8Array
  tables: TableInfo[]
}

/** What {@link dirStats} reports about a database directory. */
export interface DirStats {
  dir: string
  manifest: string
  lastSequence: number
  nextFileNumber: number
  logNumber: number
  levels: LevelShape[]
  tableFiles: number
  tableBytes: number
  walBytes: number
  walEntries: number
  /** Visible keys and their key + value bytes (absent when the scan was skipped). */
  live?: { keys: number; bytes: number }
  /** (table + WAL bytes) / live key + value bytes; absent without a scan or when nothing is live. */
  spaceAmplification?: number
  /**
   * Lower bound of write amplification from the tree's shape: each stored byte
   * was written to the WAL, flushed to L0 and rewritten once per level it
   * descended (bytes at level L count L + 2 writes). Lifetime write counters are
   * not kept on disk; a running database reports measured ones in `DB.stats()`.
   */
  writeAmplificationEstimate: number
  /** Files in the directory that are not part of the database's live state. */
  otherFiles: string[]
}

/** Shape and amplification numbers of an open {@link DirView}; `scan: false` skips reading every entry. */
export function dirStats(v: DirView, options: { scan?: boolean } = {}): DirStats {
  const levels: LevelShape[] = v.levels.map((tables, level) => {
    const s: LevelShape = { level, files: tables.length, bytes: 0, entries: 0, deletions: 0, tables }
    for (const t of tables) {
      s.bytes += t.bytes
      s.entries += t.entries
      s.deletions += t.deletions
      if (s.smallest === undefined || Buffer.compare(t.smallest, s.smallest) < 0) s.smallest = t.smallest
      if (s.largest === undefined || Buffer.compare(t.largest, s.largest) > 0) s.largest = t.largest
    }
    return s
  })
  const tableBytes = levels.reduce((n, l) => n + l.bytes, 0)
  const walBytes = v.wals.reduce((n, w) => n + w.bytes, 0)
  const weighted = levels.reduce((n, l) => n + l.bytes * (l.level + 2), 0)
  const live = new Set<string>([fileNames.current, fileNames.lock, v.manifest, ...v.wals.map(w => w.file), ...v.levels.flat().map(t => t.file)])
  const stats: DirStats = {
    dir: v.dir, manifest: v.manifest, lastSequence: v.lastSequence, nextFileNumber: v.nextFileNumber, logNumber: v.logNumber,
    levels, tableFiles: levels.reduce((n, l) => n + l.files, 0), tableBytes, walBytes, walEntries: v.walEntries,
    writeAmplificationEstimate: tableBytes > 0 ? weighted / tableBytes : 0,
    otherFiles: readdirSync(v.dir).filter(f => !live.has(f)).sort(),
  }
  if (options.scan !== false) {
    let keys = 0
    let bytes = 0
    const c = v.view.cursor({ snapshotSeq: v.lastSequence })
    for (;;) {
      const chunk = c.nextChunk(1024, 1 << 20)
      for (let i = 0; i < chunk.keys.length; i++) bytes += chunk.keys[i]!.length + chunk.values[i]!.length
      keys += chunk.keys.length
      if (chunk.done) break
    }
    stats.live = { keys, bytes }
    if (bytes > 0) stats.spaceAmplification = (tableBytes + walBytes) / bytes
  }
  return stats
}

// ------------------------------------------------------------------ verify

/** The verdict on one file. */
export interface FileReport {
  /** File name inside the database directory (e.g. `000012.sst`), not a full path. */
  file: string
  /** Which kind of database file it is. */
  kind: 'current' | 'manifest' | 'table' | 'wal'
  /** `ok`; `warning` (e.g. a torn MANIFEST or WAL tail: an unacknowledged write); `damaged`; `missing`. */
  status: 'ok' | 'warning' | 'damaged' | 'missing'
  /** What is wrong (damaged, missing) or worth knowing (warning). */
  problems: string[]
  /** Counts read: records, edits, blocks, entries. */
  counts: Record<string, number>
}

/** What {@link verifyDB} found. */
export interface VerifyReport {
  /** The database directory that was checked, as given. */
  dir: string
  /** True when no file is damaged or missing (warnings allowed). */
  ok: boolean
  /** One report per file checked: CURRENT, the MANIFEST, live tables, then the WALs still needed. */
  files: FileReport[]
  /** Files present that no live state names (they would be deleted at the next open). */
  unreferenced: string[]
}

function report(file: string, kind: FileReport['kind']): FileReport {
  return { file, kind, status: 'ok', problems: [], counts: {} }
}

function damaged(r: FileReport, problem: string): void {
  r.status = 'damaged'
  r.problems.push(problem)
}

/** Checks one table file against its manifest record (when given). */
export function verifyTable(path: string, file: string, meta?: FileMeta): FileReport {
  const r = report(file, 'table')
  if (!existsSync(path)) {
    r.status = 'missing'
    r.problems.push('the MANIFEST lists this table but the file does not exist')
    return r
  }
  let table: Table
  try {
    table = Table.openFile(path)
  } catch (e) {
    damaged(r, message(e))
    return r
  }
  try {
    const w = walkTable(table)
    r.counts = { blocks: w.blocks.length, entries: w.blocks.reduce((n, b) => n + b.entries, 0), damagedBlocks: w.blocks.filter(b => b.error).length }
    for (const p of w.problems) damaged(r, p)
    if (meta) {
      const p: TableProperties = table.properties
      if (meta.fileSize !== table.fileSize) damaged(r, `MANIFEST says ${meta.fileSize} bytes, the file has ${table.fileSize}`)
      if (compareInternalKeys(meta.smallest, p.smallest) !== 0 || compareInternalKeys(meta.largest, p.largest) !== 0) damaged(r, 'MANIFEST key range differs from the table\'s')
      if (meta.minSeq !== p.minSeq || meta.maxSeq !== p.maxSeq) damaged(r, 'MANIFEST sequence range differs from the table\'s')
    }
  } finally {
    table.close()
  }
  return r
}

/**
 * Reads every record and block of every live file of the database in `dir`
 * and checks every checksum: CURRENT, the MANIFEST (each edit decoded and
 * applied, level invariants checked), every live table (footer, properties,
 * index, filter, every data block and entry, against its manifest record) and
 * every WAL still needed (each write group decoded, sequences increasing).
 * Nothing is modified. Takes the LOCK (LsmError `LOCKED` when the database is
 * open elsewhere); a missing directory or database is LsmError `NOT_FOUND`.
 */
export function verifyDB(dir: string): VerifyReport {
  requireDatabaseDir(dir)
  return withLock(dir, () => verifyLocked(dir))
}

/**
 * {@link verifyDB} without taking the LOCK: for a caller that already holds
 * it (an open database verifying itself).
 */
export function verifyLocked(dir: string): VerifyReport {
  const files: FileReport[] = []
  const names = readdirSync(dir)
  // The spare WAL, like LOCK, belongs to the engine and is never read.
  const referenced = new Set<string>([fileNames.current, fileNames.lock, fileNames.walSpare])

  // CURRENT
  const cur = report(fileNames.current, 'current')
  files.push(cur)
  let manifestNumber: number | undefined
  try {
    manifestNumber = decodeCurrent(readFileSync(join(dir, fileNames.current)))
  } catch (e) {
    damaged(cur, message(e))
  }

  // MANIFEST: every edit applied in order, as recovery would.
  let version: Version | undefined
  let logNumber = 0
  if (manifestNumber !== undefined) {
    const name = fileNames.manifest(manifestNumber)
    referenced.add(name)
    const m = report(name, 'manifest')
    files.push(m)
    const path = join(dir, name)
    if (!existsSync(path)) {
      m.status = 'missing'
      m.problems.push('CURRENT names this MANIFEST but it does not exist')
    } else {
      try {
        const log = readLog(readFileSync(path), MANIFEST_MAGIC, manifestNumber, true)
        m.counts = { records: log.records.length }
        if (log.records.length === 0) throw new DecodeError('MANIFEST holds no snapshot record')
        let v = Version.empty()
        let next = 0
        for (const rec of log.records) {
          const e: VersionEdit = decodeVersionEdit(rec)
          v = v.apply(e, name)
          if (e.logNumber !== undefined) logNumber = e.logNumber
          if (e.nextFileNumber !== undefined) next = e.nextFileNumber
        }
        for (const n of v.fileNumbers()) if (n >= next) throw new DecodeError(`file ${n} is not below the next file number ${next}`)
        version = v
        if (log.tornBytes > 0) {
          m.status = 'warning'
          m.problems.push(`torn tail of ${log.tornBytes} bytes (an edit that was never acknowledged; dropped at open)`)
        }
      } catch (e) {
        damaged(m, message(e))
      }
    }
  }

  // Tables of the live version.
  if (version) {
    for (const f of version.levels.flat()) {
      const name = fileNames.table(f.fileNumber)
      referenced.add(name)
      const t = verifyTable(join(dir, name), name, f)
      t.counts = { level: f.level, ...t.counts }
      files.push(t)
    }
  }

  // WALs still needed (all of them when the MANIFEST could not be read).
  const wals = names.map(parseFileName).filter(p => p?.kind === 'wal' && p.number >= logNumber).map(p => p!.number).sort((a, b) => a - b)
  let prevLast = 0
  wals.forEach((n, i) => {
    const name = fileNames.wal(n)
    referenced.add(name)
    const w = report(name, 'wal')
    files.push(w)
    try {
      const log = readLog(readFileSync(join(dir, name)), WAL_MAGIC, n, i === wals.length - 1)
      let entries = 0
      for (const g of log.records) {
        entries += validateWriteGroup(g)
        const firstSeq = getFixed64(g, 0)
        if (firstSeq <= prevLast) throw new DecodeError(`write group sequence ${firstSeq} does not follow ${prevLast}`)
        prevLast = firstSeq + getFixed32(g, 8) - 1
      }
      w.counts = { records: log.records.length, entries }
      if (log.tornBytes > 0) {
        w.status = 'warning'
        w.problems.push(`torn tail of ${log.tornBytes} bytes (a write cut off by a crash; dropped at open)`)
      }
    } catch (e) {
      damaged(w, message(e))
    }
  })

  return {
    dir,
    ok: files.every(f => f.status === 'ok' || f.status === 'warning'),
    files,
    unreferenced: names.filter(n => !referenced.has(n)).sort(),
  }
}
