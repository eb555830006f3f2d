/**
 * {@link repairDB}: rebuilds a database directory whose CURRENT, MANIFEST,
 * tables or WALs are damaged, in the spirit of LevelDB's `RepairDB`.
 *
 * 1. Takes the LOCK. Reads the MANIFEST CURRENT names (or the newest one) if
 *    it is intact: its live tables and log number say which files hold the
 *    database. Without a usable MANIFEST every table and WAL present is used
 *    (as LevelDB does; data deleted long ago may then reappear).
 * 2. Checks every table block by block; a table with damaged blocks keeps the
 *    entries of its intact blocks, a table that cannot be opened is lost.
 * 3. Reads every WAL still needed record by record, skipping damaged regions
 *    (a record is recognized by its header checksum, so reading resumes at the
 *    next intact record) and malformed write groups.
 * 4. Merges everything, keeping the newest version of each key and dropping
 *    deleted keys, into new tables in one level (written and fsynced), writes a
 *    new MANIFEST naming them, and switches CURRENT atomically.
 * 5. Moves every old file (tables, WALs, manifests) into `lost/` inside the
 *    directory; delete it once the repaired database looks right.
 *
 * The report says what could not be kept.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { LsmError } from './errors.js'
import { setCurrent, syncDir } from './env.js'
import { walkTable, withLock } from './inspect.js'
import { AUTO_LEVEL_BASE, DEFAULTS } from './options.js'
import { Version } from './version.js'
import { DecodeError, getFixed32, getFixed64 } from './core/ts/coding.js'
import { mcrc } from './core/ts/crc32c.js'
import { Kind, kindOf, seqOf, userKeyOf } from './core/ts/internal-key.js'
import type { InternalIterator } from './core/ts/iterator.js'
import { encodeLogFileHeader, encodeRecord, LOG_FILE_HEADER_SIZE, LOG_RECORD_HEADER_SIZE, MANIFEST_MAGIC, nextNonZero, readLog, WAL_MAGIC } from './core/ts/log-format.js'
import { Memtable } from './core/ts/memtable.js'
import { MergingIterator } from './core/ts/merge-iterator.js'
import { Table, TableBuilder } from './core/ts/sst.js'
import { decodeCurrent, decodeVersionEdit, encodeVersionEdit, fileNames, NUM_LEVELS, parseFileName, type FileMeta } from './core/ts/version-edit.js'
import { writeFileDurably } from './core/ts/compaction.js'

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Options of {@link repairDB}; the defaults are the engine's. */
export interface RepairOptions {
  /** Size at which an output table is cut (default 2 MiB). */
  targetFileSize?: number
  /** Data block size of the output tables (default 2048). */
  blockSize?: number
  /** Bloom filter bits per key of the output tables (default 10). */
  bitsPerKey?: number
  /** How the output tables store data blocks (default `'snappy'`). */
  compression?: 'snappy' | 'none'
}

/** What happened to one old table. */
export interface RepairedTable {
  /** The table's file name. */
  file: string
  /** `ok`: used whole; `salvaged`: intact blocks used; `lost`: unreadable; `unlisted`: not in the MANIFEST, not used; `missing`: listed but absent. */
  status: 'ok' | 'salvaged' | 'lost' | 'unlisted' | 'missing'
  /** Entries read from it (all versions and tombstones). */
  entries: number
  /** Data blocks that failed their checksum or did not decode. */
  droppedBlocks: number
  /** What was wrong with it. */
  problems: string[]
}

/** What happened to one old WAL. */
export interface RepairedWal {
  /** The WAL's file name. */
  file: string
  /** `used`: replayed; `skipped`: below the MANIFEST's log number (already in tables). */
  status: 'used' | 'skipped'
  /** Intact records (write groups) replayed. */
  records: number
  /** Operations in those records. */
  entries: number
  /** Bytes skipped as damaged (no intact record could start there). */
  droppedBytes: number
  /** Records whose checksums held but whose write group did not decode. */
  droppedRecords: number
  /** What was wrong with it. */
  problems: string[]
}

/** A table written by {@link repairDB}. */
export interface RebuiltTable {
  /** File name. */
  file: string
  /** Size in bytes. */
  bytes: number
  /** Entries (one per live key). */
  entries: number
}

/** What {@link repairDB} did. */
export interface RepairReport {
  /** The repaired directory. */
  dir: string
  /** The MANIFEST whose live set was used, when one could be read. */
  manifestUsed: string | undefined
  /** Why no MANIFEST was used, when none was. */
  manifestProblem?: string
  /** Every table file found (and any the MANIFEST listed but that is absent). */
  tables: RepairedTable[]
  /** Every WAL found. */
  wals: RepairedWal[]
  /** The new MANIFEST. */
  manifest: string
  /** The level the rebuilt tables were placed in. */
  level: number
  /** The rebuilt tables. */
  outputs: RebuiltTable[]
  /** Keys in the repaired database. */
  keys: number
  /** The largest sequence number found; the repaired database continues after it. */
  lastSequence: number
  /** Old files moved into `lost/`. */
  movedToLost: string[]
  /** One line per thing that could not be kept (empty when nothing was lost). */
  lost: string[]
}

/** Records of a log file, resuming after damage at the next intact record. */
function scanLog(buf: Uint8Array, fileNumber: number): { records: Uint8Array[]; droppedBytes: number; problems: string[] } {
  const fn32 = fileNumber % 0x1_0000_0000
  const problems: string[] = []
  const validAt = (p: number): number => {
    if (buf.length - p < LOG_RECORD_HEADER_SIZE) return -1
    if (getFixed32(buf, p) !== mcrc(buf.subarray(p + 4, p + 16))) return -1
    const len = getFixed32(buf, p + 4)
    if (getFixed32(buf, p + 8) !== fn32 || p + LOG_RECORD_HEADER_SIZE + len > buf.length) return -1
    if (getFixed32(buf, p + 12) !== mcrc(buf.subarray(p + 16, p + 16 + len))) return -1
    return len
  }
  const records: Uint8Array[] = []
  let dropped = 0
  if (buf.length < LOG_FILE_HEADER_SIZE) return { records, droppedBytes: buf.length, problems: buf.length > 0 ? ['shorter than its header'] : [] }
  try {
    readLog(buf.subarray(0, LOG_FILE_HEADER_SIZE), WAL_MAGIC, fileNumber, true)
  } catch (e) {
    problems.push(`file header: ${message(e)}`)
  }
  let p = LOG_FILE_HEADER_SIZE
  while (p < buf.length) {
    // Zeros to the end: unwritten space (a WAL's runway for synced writes), not damage.
    if (nextNonZero(buf, p) === buf.length) break
    const len = validAt(p)
    if (len >= 0) {
      records.push(buf.subarray(p + LOG_RECORD_HEADER_SIZE, p + LOG_RECORD_HEADER_SIZE + len))
      p += LOG_RECORD_HEADER_SIZE + len
      continue
    }
    let q = p + 1
    while (q < buf.length && validAt(q) < 0) q++
    dropped += q - p
    problems.push(q < buf.length ? `damaged bytes ${p}..${q} skipped` : `torn or damaged tail of ${buf.length - p} bytes dropped`)
    p = q
  }
  return { records, droppedBytes: dropped, problems }
}

/** The live state a readable MANIFEST describes, or why there is none. */
function readOldManifest(dir: string, manifests: number[]): { name: string; files: FileMeta[]; logNumber: number } | { problem: string } {
  let number: number | undefined
  let why = ''
  try {
    number = decodeCurrent(readFileSync(join(dir, fileNames.current)))
  } catch (e) {
    why = `CURRENT unusable (${message(e)})`
    number = manifests.length > 0 ? Math.max(...manifests) : undefined
  }
  if (number === undefined) return { problem: `${why || 'no CURRENT'}; no MANIFEST found` }
  const name = fileNames.manifest(number)
  try {
    const log = readLog(readFileSync(join(dir, name)), MANIFEST_MAGIC, number, true)
    if (log.records.length === 0) throw new DecodeError('it holds no snapshot record')
    let v = Version.empty()
    let logNumber = 0
    for (const r of log.records) {
      const e = decodeVersionEdit(r)
      v = v.apply(e, name)
      if (e.logNumber !== undefined) logNumber = e.logNumber
    }
    return { name, files: v.levels.flat(), logNumber }
  } catch (e) {
    return { problem: `${why ? `${why}; ` : ''}${name} unusable (${message(e)})` }
  }
}

/** A sorted source for the merge: a table read in place, or entries salvaged into memory. */
type Source = { it: InternalIterator; close(): void }

/**
 * Repairs the database in `dir` (see the module description). Throws LsmError
 * `NOT_FOUND` when the directory is missing or holds no database files and
 * `LOCKED` when the database is open elsewhere; what could not be kept is in
 * the report, not an error.
 */
export function repairDB(dir: string, options: RepairOptions = {}): RepairReport {
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch { /* reported below */ }
  if (!isDir) throw new LsmError('NOT_FOUND', `${dir} does not exist or is not a directory`)
  const names = readdirSync(dir)
  const parsed = names.map(n => ({ name: n, p: parseFileName(n) })).filter(x => x.p !== undefined) as { name: string; p: NonNullable<ReturnType<typeof parseFileName>> }[]
  if (parsed.length === 0) throw new LsmError('NOT_FOUND', `${dir} holds no database files`)
  return withLock(dir, () => repairLocked(dir, names, parsed, options))
}

function repairLocked(dir: string, names: string[], parsed: { name: string; p: NonNullable<ReturnType<typeof parseFileName>> }[], options: RepairOptions): RepairReport {
  const targetFileSize = options.targetFileSize ?? DEFAULTS.targetFileSize
  const tableOptions = {
    blockSize: options.blockSize ?? DEFAULTS.blockSize,
    bitsPerKey: options.bitsPerKey ?? DEFAULTS.bitsPerKey,
    compression: options.compression ?? DEFAULTS.compression,
  }
  const numbers = (kind: string) => parsed.filter(x => x.p.kind === kind).map(x => x.p.number).sort((a, b) => a - b)
  const tableNumbers = numbers('table')
  const walNumbers = numbers('wal')
  const manifestNumbers = numbers('manifest')
  let nextNumber = Math.max(0, ...parsed.map(x => x.p.number)) + 1
  const lost: string[] = []

  const old = readOldManifest(dir, manifestNumbers)
  const listed = 'files' in old ? new Set(old.files.map(f => f.fileNumber)) : undefined
  const logNumber = 'files' in old ? old.logNumber : 0
  if ('problem' in old) lost.push(`no usable MANIFEST: ${old.problem}; every table and WAL present was used, so keys deleted long ago may reappear`)

  // Tables: whole when intact, their intact blocks when damaged.
  const sources: Source[] = []
  const tables: RepairedTable[] = []
  let maxSeq = 0
  const closeAll = () => { for (const s of sources) s.close() }
  try {
    for (const n of tableNumbers) {
      const file = fileNames.table(n)
      const r: RepairedTable = { file, status: 'ok', entries: 0, droppedBlocks: 0, problems: [] }
      tables.push(r)
      if (listed && !listed.has(n)) {
        r.status = 'unlisted'
        r.problems.push('not in the MANIFEST (left by an unfinished job or not yet deleted); not used')
        continue
      }
      let table: Table
      try {
        table = Table.openFile(join(dir, file))
      } catch (e) {
        r.status = 'lost'
        r.problems.push(message(e))
        lost.push(`${file}: unreadable (${message(e)}); all of its entries are lost`)
        continue
      }
      const w = walkTable(table)
      r.entries = w.blocks.reduce((s, b) => s + b.entries, 0)
      maxSeq = Math.max(maxSeq, table.properties.maxSeq)
      if (w.problems.length === 0) {
        sources.push({ it: table.iterator(), close: () => table.close() })
        continue
      }
      // Keep what reads cleanly; a memtable re-sorts it whatever order it came in.
      const mem = new Memtable()
      walkTable(table, (k, v) => {
        mem.add(seqOf(k), kindOf(k), userKeyOf(k), v)
      })
      table.close()
      r.status = 'salvaged'
      r.problems.push(...w.problems)
      r.droppedBlocks = w.blocks.filter(b => b.error).length
      if (r.droppedBlocks > 0) {
        const bytes = w.blocks.filter(b => b.error).reduce((s, b) => s + b.size, 0)
        lost.push(`${file}: ${r.droppedBlocks} damaged data block(s), about ${bytes} bytes of entries, dropped`)
      }
      sources.push({ it: mem.iterator(), close: () => {} })
    }
    if (listed) {
      for (const n of listed) {
        if (tableNumbers.includes(n)) continue
        tables.push({ file: fileNames.table(n), status: 'missing', entries: 0, droppedBlocks: 0, problems: ['listed in the MANIFEST but absent'] })
        lost.push(`${fileNames.table(n)}: listed in the MANIFEST but absent; its entries are lost`)
      }
    }

    // WALs not yet in tables, oldest first, damaged regions skipped.
    const wals: RepairedWal[] = []
    const walMem = new Memtable()
    for (const n of walNumbers) {
      const file = fileNames.wal(n)
      const r: RepairedWal = { file, status: 'used', records: 0, entries: 0, droppedBytes: 0, droppedRecords: 0, problems: [] }
      wals.push(r)
      if (n < logNumber) {
        r.status = 'skipped'
        r.problems.push('below the MANIFEST\'s log number: already in tables')
        continue
      }
      const scan = scanLog(readFileSync(join(dir, file)), n)
      r.droppedBytes = scan.droppedBytes
      r.problems.push(...scan.problems)
      for (const g of scan.records) {
        try {
          const before = walMem.entryCount
          const last = walMem.apply(g)
          r.entries += walMem.entryCount - before
          r.records++
          maxSeq = Math.max(maxSeq, last, getFixed64(g, 0))
        } catch (e) {
          r.droppedRecords++
          r.problems.push(`malformed write group skipped: ${message(e)}`)
        }
      }
      if (r.droppedBytes > 0 || r.droppedRecords > 0) {
        lost.push(`${file}: ${r.droppedBytes} damaged byte(s) and ${r.droppedRecords} malformed record(s) skipped; the writes in them are lost`)
      }
    }
    sources.push({ it: walMem.iterator(), close: () => {} })

    // Merge: newest version of each key, deleted keys dropped.
    const outputs: { file: string; bytes: number; entries: number; meta: FileMeta }[] = []
    let builder: TableBuilder | undefined
    const finish = () => {
      if (builder === undefined) return
      const number = nextNumber++
      const file = fileNames.table(number)
      const { bytes, properties } = builder.finish()
      writeFileDurably(join(dir, file), bytes)
      outputs.push({
        file, bytes: bytes.length, entries: properties.entryCount,
        meta: { level: 1, fileNumber: number, fileSize: bytes.length, minSeq: properties.minSeq, maxSeq: properties.maxSeq, smallest: properties.smallest, largest: properties.largest },
      })
      builder = undefined
    }
    let keys = 0
    try {
      const merged = new MergingIterator(sources.map(s => s.it))
      let lastUser: Uint8Array | undefined
      for (merged.seekToFirst(); merged.valid(); merged.next()) {
        const k = merged.key()
        const uk = userKeyOf(k)
        if (lastUser !== undefined && Buffer.compare(uk, lastUser) === 0) continue
        lastUser = uk.slice()
        maxSeq = Math.max(maxSeq, seqOf(k))
        if (kindOf(k) !== Kind.Put) continue
        builder ??= new TableBuilder(tableOptions)
        builder.add(k.slice(), merged.value())
        keys++
        if (builder.estimatedSize >= targetFileSize) finish()
      }
      finish()
    } catch (e) {
      for (const o of outputs) try { unlinkSync(join(dir, o.file)) } catch { /* best effort */ }
      throw e
    }
    closeAll()
    sources.length = 0
    // The shallowest level whose size target holds the data, so no compaction is due right away.
    const total = outputs.reduce((n, o) => n + o.bytes, 0)
    let level = 1
    while (level < NUM_LEVELS - 1 && total > AUTO_LEVEL_BASE.native * DEFAULTS.levelMultiplier ** (level - 1)) level++
    for (const o of outputs) o.meta.level = level

    // The new MANIFEST, then CURRENT: until CURRENT switches, the old state stands.
    const manifestNumber = nextNumber++
    const manifest = fileNames.manifest(manifestNumber)
    const edit = {
      logNumber: manifestNumber + 1,
      nextFileNumber: manifestNumber + 2,
      lastSequence: maxSeq,
      addedFiles: outputs.map(o => o.meta),
    }
    const bytes = Buffer.concat([encodeLogFileHeader(MANIFEST_MAGIC), encodeRecord(encodeVersionEdit(edit), manifestNumber)])
    writeFileDurably(join(dir, manifest), bytes)
    syncDir(dir)
    setCurrent(dir, manifestNumber)

    // Old files into lost/.
    const lostDir = join(dir, 'lost')
    mkdirSync(lostDir, { recursive: true })
    const keep = new Set([manifest, ...outputs.map(o => o.file)])
    const moved: string[] = []
    for (const name of names) {
      const p = parseFileName(name)
      if ((p === undefined && name !== fileNames.currentTmp) || keep.has(name)) continue
      let target = join(lostDir, name)
      for (let i = 1; existsSync(target); i++) target = join(lostDir, `${name}.${i}`)
      renameSync(join(dir, name), target)
      moved.push(name)
    }
    syncDir(lostDir)
    syncDir(dir)

    return {
      dir,
      manifestUsed: 'name' in old ? old.name : undefined,
      ...('problem' in old && { manifestProblem: old.problem }),
      tables, wals, manifest, level,
      outputs: outputs.map(({ file, bytes, entries }) => ({ file, bytes, entries })),
      keys, lastSequence: maxSeq, movedToLost: moved, lost,
    }
  } finally {
    closeAll()
  }
}
