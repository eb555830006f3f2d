#!/usr/bin/env node
/**
 * `lsm-rust`: the command-line tool for lsm-rust database directories.
 * Run `lsm-rust --help` for the commands, options and exit codes.
 *
 * Read commands (`stats`, `get`, `scan`, `verify`, `dump-*`) never change the
 * directory: they read the MANIFEST, tables and WALs directly (no recovery,
 * no new MANIFEST). `compact` opens the database normally; `repair` rebuilds it.
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { DB } from './db.js'
import { LsmError, type ErrorCode } from './errors.js'
import { dirStats, DirView, readFooter, requireDatabaseDir, verifyDB, walkTable, type DirStats, type TableInfo } from './inspect.js'
import type { EngineChoice } from './options.js'
import { repairDB } from './repair.js'
import { formatBytes, renderShapeSvg } from './shape-svg.js'
import { DecodeError } from './core/ts/coding.js'
import { Kind, kindOf, seqOf, userKeyOf } from './core/ts/internal-key.js'
import { MANIFEST_MAGIC, readLog } from './core/ts/log-format.js'
import { Table } from './core/ts/sst.js'
import { decodeCurrent, decodeVersionEdit, fileNames, parseFileName, type VersionEdit } from './core/ts/version-edit.js'

/** Exit codes of the CLI (also listed in `--help`). */
export const EXIT = {
  OK: 0,
  /** `get`: the key is absent. */
  KEY_NOT_FOUND: 1,
  /** Bad command line. */
  USAGE: 2,
  /** The directory or file does not exist, or holds no database. */
  NO_DATABASE: 3,
  /** The database is open in another process (LOCK held). */
  LOCKED: 4,
  /** A damaged file (and `verify` finding damage). */
  CORRUPTION: 5,
  /** Anything else: I/O errors, an unavailable engine. */
  ERROR: 6,
} as const

const HELP = `lsm-rust — inspect and maintain lsm-rust database directories

usage: lsm-rust <command> [arguments] [options]

commands
  stats <dir> [--svg <file>] [--quick]
        levels, files, sizes, key ranges, write and space amplification;
        --svg draws the tree (levels as rows, tables sized by bytes, in key order);
        --quick skips reading every entry (no live size, no space amplification)
  get <dir> <key>              the value of a key
  scan <dir> [--gte k] [--gt k] [--lte k] [--lt k] [--limit n] [--reverse] [--keys-only]
                               entries in key order (tab-separated key and value)
  dump-sst <file> [--limit n]  a table: footer, properties, blocks, entries (at most n)
  dump-manifest <dir> [--file <MANIFEST-nnnnnn>]
                               every version edit of the live (or given) MANIFEST
  verify <dir>                 reads every record and block of every live file and
                               checks every checksum; reports per file
  compact <dir>                opens the database and compacts everything (drops
                               overwritten and deleted data)
  repair <dir>                 rebuilds a damaged database from the tables and WALs
                               present; reports what could not be kept; old files
                               go to <dir>/lost/

options
  --json            machine-readable output (errors too: {"error": {...}} on stdout)
  --hex             keys on the command line are hex (e.g. --gte 00ff)
  --engine <e>      auto (default), native or ts
  -h, --help        this text

Keys and values print as text when they are valid UTF-8 without control
characters, else as 0x-prefixed hex. Read commands take the directory's LOCK
but change nothing.

exit codes
  0  success
  1  get: key not found
  2  usage error (unknown command or option, missing or bad argument)
  3  no such directory or file, or no database in the directory
  4  database locked by another process
  5  corruption (a damaged file; verify found damage)
  6  other error (I/O, engine unavailable)
`

class UsageError extends Error {}

/** Where output goes: collected lines, written once at the end. */
class Out {
  readonly lines: string[] = []
  line(s = ''): void {
    this.lines.push(s)
  }
  json(v: unknown): void {
    // Buffer.toJSON runs before a replacer sees the value: look at the holder's raw field.
    this.lines.push(JSON.stringify(v, function (this: Record<string, unknown>, k, x) {
      const raw = this[k]
      return raw instanceof Uint8Array ? show(raw) : x
    }, 2))
  }
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f\ufffd]/

/** Text when the bytes are valid UTF-8 without control characters, else 0x-hex. */
export function show(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8')
  if (!CONTROL.test(s) && !s.startsWith('0x') && Buffer.byteLength(s) === b.length) return s
  return `0x${Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')}`
}

function describeInternalKey(k: Uint8Array): string {
  return `${show(userKeyOf(k))} @${seqOf(k)} ${kindOf(k) === Kind.Put ? 'put' : 'del'}`
}

function ikeyJson(k: Uint8Array): { key: string; seq: number; kind: 'put' | 'del' } {
  return { key: show(userKeyOf(k)), seq: seqOf(k), kind: kindOf(k) === Kind.Put ? 'put' : 'del' }
}

function pad(s: string | number, n: number, right = false): string {
  const t = String(s)
  return right ? t.padStart(n) : t.padEnd(n)
}

const ratio = (x: number | undefined): string => (x === undefined ? 'n/a' : x.toFixed(2))

// ------------------------------------------------------------ commands

interface Ctx {
  out: Out
  json: boolean
  engine: EngineChoice
  key(s: string): Uint8Array
  values: Record<string, string | boolean | undefined>
}

function cmdStats(ctx: Ctx, dir: string): number {
  const v = DirView.open(dir, ctx.engine)
  let s: DirStats
  try {
    s = dirStats(v, { scan: ctx.values.quick !== true })
  } finally {
    v.close()
  }
  // Tables in key order within each level (L0 is kept newest first by the engine).
  const byKey = (ts: TableInfo[]) => [...ts].sort((a, b) => Buffer.compare(a.smallest, b.smallest) || a.fileNumber - b.fileNumber)
  const svgPath = ctx.values.svg as string | undefined
  if (svgPath !== undefined) {
    const svg = renderShapeSvg(s.levels.map(l => ({
      level: l.level,
      tables: byKey(l.tables).map(t => ({ fileNumber: t.fileNumber, bytes: t.bytes, smallest: show(t.smallest), largest: show(t.largest), entries: t.entries })),
      ...(l.smallest && { smallest: show(l.smallest) }),
      ...(l.largest && { largest: show(l.largest) }),
    })), { title: `${basename(s.dir)} — ${s.tableFiles} tables, ${formatBytes(s.tableBytes)}` })
    writeFileSync(svgPath, svg)
  }
  const o = ctx.out
  if (ctx.json) {
    o.json({
      ...s,
      levels: s.levels.map(l => ({ ...l, tables: byKey(l.tables) })),
      ...(svgPath !== undefined && { svg: svgPath }),
    })
    return EXIT.OK
  }
  o.line(`database   ${s.dir}`)
  o.line(`manifest   ${s.manifest} (last sequence ${s.lastSequence}, next file ${s.nextFileNumber}, log ${s.logNumber})`)
  o.line()
  o.line(`${pad('level', 7)}${pad('files', 7, true)}${pad('bytes', 12, true)}${pad('entries', 11, true)}${pad('deletes', 10, true)}  key range`)
  for (const l of s.levels) {
    if (l.files === 0) continue
    o.line(`${pad(`L${l.level}`, 7)}${pad(l.files, 7, true)}${pad(formatBytes(l.bytes), 12, true)}${pad(l.entries, 11, true)}${pad(l.deletions, 10, true)}  ${show(l.smallest!)} … ${show(l.largest!)}`)
    for (const t of byKey(l.tables)) {
      o.line(`  ${pad(t.file, 12)}${pad(formatBytes(t.bytes), 12, true)}${pad(t.entries, 11, true)}${pad(t.deletions, 10, true)}  ${show(t.smallest)} … ${show(t.largest)}  (seq ${t.minSeq}..${t.maxSeq})`)
    }
  }
  o.line(`${pad('total', 7)}${pad(s.tableFiles, 7, true)}${pad(formatBytes(s.tableBytes), 12, true)}`)
  o.line()
  o.line(`WAL        ${v.wals.length} file(s), ${formatBytes(s.walBytes)}, ${s.walEntries} entries not yet in tables`)
  if (s.live) o.line(`live data  ${s.live.keys} keys, ${formatBytes(s.live.bytes)} of keys and values`)
  o.line(`space amplification  ${ratio(s.spaceAmplification)}${s.live ? '  (table + WAL bytes / live key + value bytes)' : '  (--quick: not measured)'}`)
  o.line(`write amplification  ≥ ${ratio(s.writeAmplificationEstimate)}  (estimate from the shape: WAL + flush + one rewrite per level; lifetime counters are not stored on disk)`)
  if (s.otherFiles.length > 0) o.line(`other files: ${s.otherFiles.join(', ')}`)
  if (svgPath !== undefined) o.line(`shape drawn to ${svgPath}`)
  return EXIT.OK
}

function cmdGet(ctx: Ctx, dir: string, key: string): number {
  const k = ctx.key(key)
  const v = DirView.open(dir, ctx.engine)
  let value: Uint8Array | undefined
  try {
    value = v.get(k)
    value = value && Buffer.from(value)
  } finally {
    v.close()
  }
  if (ctx.json) ctx.out.json({ key: show(k), found: value !== undefined, ...(value && { value: show(value) }) })
  else if (value !== undefined) ctx.out.line(show(value))
  else process.stderr.write(`lsm-rust: key ${show(k)} not found\n`)
  return value === undefined ? EXIT.KEY_NOT_FOUND : EXIT.OK
}

function cmdScan(ctx: Ctx, dir: string): number {
  const o = ctx.values
  const limitS = o.limit as string | undefined
  const limit = limitS === undefined ? Infinity : Number(limitS)
  if (!(Number.isInteger(limit) && limit >= 0) && limit !== Infinity) throw new UsageError(`--limit must be a non-negative integer, got ${limitS}`)
  const v = DirView.open(dir, ctx.engine)
  const rows: [Uint8Array, Uint8Array][] = []
  try {
    const lower = (o.gte ?? o.gt) as string | undefined
    const upper = (o.lte ?? o.lt) as string | undefined
    const c = v.view.cursor({
      snapshotSeq: v.lastSequence,
      reverse: o.reverse === true,
      ...(lower !== undefined && { lower: ctx.key(lower), lowerExclusive: o.gte === undefined }),
      ...(upper !== undefined && { upper: ctx.key(upper), upperInclusive: o.lte !== undefined }),
    })
    while (rows.length < limit) {
      const chunk = c.nextChunk(Math.min(1024, limit - rows.length), 1 << 20)
      for (let i = 0; i < chunk.keys.length; i++) rows.push([chunk.keys[i]!, chunk.values[i]!])
      if (chunk.done) break
    }
  } finally {
    v.close()
  }
  const keysOnly = o['keys-only'] === true
  if (ctx.json) ctx.out.json(rows.map(([k, val]) => (keysOnly ? { key: show(k) } : { key: show(k), value: show(val) })))
  else for (const [k, val] of rows) ctx.out.line(keysOnly ? show(k) : `${show(k)}\t${show(val)}`)
  return EXIT.OK
}

function cmdDumpSst(ctx: Ctx, path: string): number {
  const limitS = ctx.values.limit as string | undefined
  const limit = limitS === undefined ? Infinity : Number(limitS)
  if (!(Number.isInteger(limit) && limit >= 0) && limit !== Infinity) throw new UsageError(`--limit must be a non-negative integer, got ${limitS}`)
  let table: Table
  try {
    table = Table.openFile(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new LsmError('NOT_FOUND', `${path} does not exist`)
    throw e
  }
  const entries: { ikey: Uint8Array; value: Uint8Array }[] = []
  let total = 0
  let walk
  try {
    walk = walkTable(table, (ikey, value) => {
      if (total++ < limit) entries.push({ ikey: ikey.slice(), value: value.slice() })
    })
  } finally {
    table.close()
  }
  const footer = readFooter(path)
  const p = table.properties
  const o = ctx.out
  if (ctx.json) {
    o.json({
      file: path, fileSize: table.fileSize, formatVersion: footer.formatVersion,
      footer: Object.fromEntries((['filter', 'properties', 'index'] as const).map(k => [k, { offset: footer[k][0], size: footer[k][1] }])),
      properties: { ...p, smallest: ikeyJson(p.smallest), largest: ikeyJson(p.largest) },
      blocks: walk.blocks.map(b => ({
        index: b.index, offset: b.offset, size: b.size,
        ...(b.compression && { compression: b.compression, rawSize: b.rawSize }),
        entries: b.entries, lastKey: ikeyJson(b.indexKey), ...(b.error && { error: b.error }),
      })),
      entries: entries.map(e => ({ ...ikeyJson(e.ikey), value: show(e.value) })),
      entriesShown: entries.length,
      problems: walk.problems,
    })
  } else {
    const h = ([off, size]: [number, number]) => (size === 0 ? 'none' : `offset ${off}, ${size} bytes`)
    o.line(`file        ${path} (${table.fileSize} bytes, format version ${footer.formatVersion})`)
    o.line(`footer      filter: ${h(footer.filter)}; properties: ${h(footer.properties)}; index: ${h(footer.index)}`)
    o.line(`properties  ${p.entryCount} entries (${p.deletionCount} deletions), ${p.dataBlockCount} data blocks, ${p.dataBytes} data bytes`)
    o.line(`            raw key bytes ${p.rawKeyBytes}, raw value bytes ${p.rawValueBytes}, sequences ${p.minSeq}..${p.maxSeq}`)
    o.line(`            smallest ${describeInternalKey(p.smallest)}, largest ${describeInternalKey(p.largest)}`)
    o.line(`blocks`)
    for (const b of walk.blocks) {
      const stored = b.compression === 'snappy' ? ` (snappy, ${b.rawSize} raw)` : ''
      o.line(`  #${pad(b.index, 5)} offset ${pad(b.offset, 10)} size ${pad(b.size, 7)}${stored} entries ${pad(b.entries, 5)} last ${describeInternalKey(b.indexKey)}${b.error ? `  DAMAGED: ${b.error}` : ''}`)
    }
    o.line(`entries${entries.length < total ? ` (first ${entries.length} of ${total})` : ''}`)
    for (const e of entries) o.line(`  ${describeInternalKey(e.ikey)}${kindOf(e.ikey) === Kind.Put ? ` = ${show(e.value)}` : ''}`)
    for (const pr of walk.problems) o.line(`problem: ${pr}`)
  }
  return walk.problems.length > 0 ? EXIT.CORRUPTION : EXIT.OK
}

function editJson(e: VersionEdit) {
  return {
    ...(e.logNumber !== undefined && { logNumber: e.logNumber }),
    ...(e.nextFileNumber !== undefined && { nextFileNumber: e.nextFileNumber }),
    ...(e.lastSequence !== undefined && { lastSequence: e.lastSequence }),
    ...(e.compactPointers && { compactPointers: e.compactPointers.map(c => ({ level: c.level, key: ikeyJson(c.key) })) }),
    ...(e.deletedFiles && { deletedFiles: e.deletedFiles }),
    ...(e.addedFiles && {
      addedFiles: e.addedFiles.map(f => ({ level: f.level, fileNumber: f.fileNumber, fileSize: f.fileSize, minSeq: f.minSeq, maxSeq: f.maxSeq, smallest: ikeyJson(f.smallest), largest: ikeyJson(f.largest) })),
    }),
  }
}

function cmdDumpManifest(ctx: Ctx, dir: string): number {
  const given = ctx.values.file as string | undefined
  let path: string
  let current: string | undefined
  if (given !== undefined) {
    path = given.includes('/') ? given : join(dir, given)
  } else {
    requireDatabaseDir(dir)
    let n: number
    try {
      n = decodeCurrent(readFileSync(join(dir, fileNames.current)))
    } catch (e) {
      throw e instanceof DecodeError ? new LsmError('CORRUPTION', `corruption: ${e.message}`, { file: fileNames.current }) : e
    }
    current = fileNames.manifest(n)
    path = join(dir, current)
  }
  const p = parseFileName(basename(path))
  if (p?.kind !== 'manifest') throw new UsageError(`${basename(path)} is not a MANIFEST file name`)
  let bytes: Uint8Array
  try {
    bytes = readFileSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new LsmError(current ? 'CORRUPTION' : 'NOT_FOUND', `${basename(path)} does not exist${current ? ' (CURRENT names it)' : ''}`)
    throw e
  }
  let edits: VersionEdit[]
  let torn = 0
  try {
    const log = readLog(bytes, MANIFEST_MAGIC, p.number, true)
    edits = log.records.map(r => decodeVersionEdit(r))
    torn = log.tornBytes
  } catch (e) {
    if (e instanceof DecodeError) throw new LsmError('CORRUPTION', `corruption: ${e.message}`, { file: basename(path) })
    throw e
  }
  const o = ctx.out
  if (ctx.json) {
    o.json({ ...(current && { current }), manifest: basename(path), bytes: bytes.length, tornBytes: torn, edits: edits.map(editJson) })
    return EXIT.OK
  }
  if (current) o.line(`CURRENT -> ${current}`)
  o.line(`${basename(path)}: ${bytes.length} bytes, ${edits.length} edit(s)${torn > 0 ? `, torn tail of ${torn} bytes (never acknowledged; dropped at open)` : ''}`)
  edits.forEach((e, i) => {
    const counters = [
      e.logNumber !== undefined && `log number ${e.logNumber}`,
      e.nextFileNumber !== undefined && `next file ${e.nextFileNumber}`,
      e.lastSequence !== undefined && `last sequence ${e.lastSequence}`,
    ].filter(Boolean)
    o.line(`edit #${i}${counters.length > 0 ? `: ${counters.join(', ')}` : ''}`)
    for (const c of e.compactPointers ?? []) o.line(`  compact pointer L${c.level} at ${describeInternalKey(c.key)}`)
    for (const d of e.deletedFiles ?? []) o.line(`  delete L${d.level} ${fileNames.table(d.fileNumber)}`)
    for (const f of e.addedFiles ?? []) {
      o.line(`  add    L${f.level} ${fileNames.table(f.fileNumber)} ${formatBytes(f.fileSize)}, ${show(userKeyOf(f.smallest))} … ${show(userKeyOf(f.largest))}, seq ${f.minSeq}..${f.maxSeq}`)
    }
  })
  return EXIT.OK
}

function cmdVerify(ctx: Ctx, dir: string): number {
  const r = verifyDB(dir)
  if (ctx.json) {
    ctx.out.json(r)
  } else {
    const o = ctx.out
    for (const f of r.files) {
      const c = f.counts
      const parts: string[] = []
      if (c.level !== undefined) parts.push(`L${c.level}`)
      if (c.blocks !== undefined) parts.push(`${c.blocks} blocks`)
      if (c.records !== undefined) parts.push(`${c.records} records`)
      if (c.entries !== undefined) parts.push(`${c.entries} entries`)
      o.line(`${pad(f.file, 18)}${pad(f.status, 9)}${parts.join(', ')}`.trimEnd())
      for (const p of f.problems) o.line(`    ${p}`)
    }
    if (r.unreferenced.length > 0) o.line(`not part of the database: ${r.unreferenced.join(', ')}`)
    const bad = r.files.filter(f => f.status === 'damaged' || f.status === 'missing').length
    o.line(r.ok ? `OK: ${r.files.length} files checked` : `DAMAGED: ${bad} of ${r.files.length} files (try: lsm-rust repair ${dir})`)
  }
  return r.ok ? EXIT.OK : EXIT.CORRUPTION
}

async function cmdCompact(ctx: Ctx, dir: string): Promise<number> {
  requireDatabaseDir(dir)
  const db = await DB.open(dir, { createIfMissing: false, engine: ctx.engine })
  const shape = () => db.stats().levels.filter(l => l.files > 0).map(l => ({ level: l.level, files: l.files, bytes: l.bytes }))
  let before, after
  const t0 = performance.now()
  try {
    before = shape()
    await db.compactRange()
    after = shape()
  } finally {
    await db.close()
  }
  const ms = performance.now() - t0
  const o = ctx.out
  if (ctx.json) {
    o.json({ dir, engine: db.engine, before, after, durationMs: Math.round(ms) })
  } else {
    const fmt = (ls: { level: number; files: number; bytes: number }[]) => (ls.length === 0 ? '(empty)' : ls.map(l => `L${l.level} ${l.files} file(s) ${formatBytes(l.bytes)}`).join(', '))
    o.line(`before  ${fmt(before)}`)
    o.line(`after   ${fmt(after)}`)
    o.line(`compacted in ${(ms / 1000).toFixed(2)} s (${db.engine} engine)`)
  }
  return EXIT.OK
}

function cmdRepair(ctx: Ctx, dir: string): number {
  const r = repairDB(dir)
  const o = ctx.out
  if (ctx.json) {
    o.json(r)
    return EXIT.OK
  }
  o.line(r.manifestUsed ? `used ${r.manifestUsed} for the live set` : `no usable MANIFEST (${r.manifestProblem}): used every table and WAL present`)
  for (const t of r.tables) o.line(`  ${pad(t.file, 14)}${pad(t.status, 10)}${t.entries} entries${t.droppedBlocks > 0 ? `, ${t.droppedBlocks} block(s) dropped` : ''}${t.problems.length > 0 ? `  (${t.problems.join('; ')})` : ''}`)
  for (const w of r.wals) o.line(`  ${pad(w.file, 14)}${pad(w.status, 10)}${w.records} records, ${w.entries} entries${w.droppedBytes > 0 ? `, ${w.droppedBytes} bytes skipped` : ''}${w.problems.length > 0 ? `  (${w.problems.join('; ')})` : ''}`)
  o.line(`rebuilt ${r.keys} keys into ${r.outputs.length} table(s) at L${r.level}: ${r.outputs.map(x => x.file).join(', ') || '(none)'}`)
  o.line(`new ${r.manifest}, last sequence ${r.lastSequence}; CURRENT points at it`)
  if (r.movedToLost.length > 0) o.line(`moved ${r.movedToLost.length} old file(s) to ${join(dir, 'lost')}/ (delete it once the database looks right)`)
  if (r.lost.length === 0) o.line('nothing was lost')
  else {
    o.line('could not keep:')
    for (const l of r.lost) o.line(`  - ${l}`)
  }
  return EXIT.OK
}

// ------------------------------------------------------------ main

const COMMANDS: Record<string, { args: string[]; options: string[] }> = {
  stats: { args: ['dir'], options: ['svg', 'quick'] },
  get: { args: ['dir', 'key'], options: ['hex'] },
  scan: { args: ['dir'], options: ['gte', 'gt', 'lte', 'lt', 'limit', 'reverse', 'keys-only', 'hex'] },
  'dump-sst': { args: ['file'], options: ['limit'] },
  'dump-manifest': { args: ['dir'], options: ['file'] },
  verify: { args: ['dir'], options: [] },
  compact: { args: ['dir'], options: [] },
  repair: { args: ['dir'], options: [] },
}
const GLOBAL_OPTIONS = ['json', 'engine', 'help']

function exitCodeOf(code: ErrorCode): number {
  switch (code) {
    case 'NOT_FOUND': return EXIT.NO_DATABASE
    case 'LOCKED': return EXIT.LOCKED
    case 'CORRUPTION': return EXIT.CORRUPTION
    case 'INVALID_ARGUMENT': return EXIT.USAGE
    default: return EXIT.ERROR
  }
}

/** Runs the CLI on `argv` (without `node` and the script); returns the exit code and the output lines. */
export async function run(argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const out = new Out()
  const stderr: string[] = []
  let json = argv.includes('--json')
  const fail = (code: number, codeName: string, msg: string, file?: string) => {
    stderr.push(`lsm-rust: ${msg}`)
    if (json) out.json({ error: { code: codeName, message: msg, exitCode: code, ...(file !== undefined && { file }) } })
    return { code, stdout: out.lines, stderr }
  }
  try {
    let parsed
    try {
      parsed = parseArgs({
        args: argv, allowPositionals: true, strict: true,
        options: {
          json: { type: 'boolean' }, hex: { type: 'boolean' }, engine: { type: 'string' }, help: { type: 'boolean', short: 'h' },
          svg: { type: 'string' }, quick: { type: 'boolean' }, file: { type: 'string' },
          gte: { type: 'string' }, gt: { type: 'string' }, lte: { type: 'string' }, lt: { type: 'string' },
          limit: { type: 'string' }, reverse: { type: 'boolean' }, 'keys-only': { type: 'boolean' },
        },
      })
    } catch (e) {
      throw new UsageError((e as Error).message)
    }
    const { values, positionals } = parsed
    json = values.json === true
    if (values.help || positionals.length === 0) {
      out.line(HELP.trimEnd())
      return { code: values.help ? EXIT.OK : EXIT.USAGE, stdout: out.lines, stderr }
    }
    const [command, ...args] = positionals as [string, ...string[]]
    const spec = COMMANDS[command]
    if (spec === undefined) throw new UsageError(`unknown command ${command} (see lsm-rust --help)`)
    if (args.length !== spec.args.length) throw new UsageError(`${command} takes ${spec.args.map(a => `<${a}>`).join(' ')} (see lsm-rust --help)`)
    for (const k of Object.keys(values)) {
      if (!GLOBAL_OPTIONS.includes(k) && !spec.options.includes(k)) throw new UsageError(`--${k} does not apply to ${command}`)
    }
    const engine = (values.engine ?? 'auto') as EngineChoice
    if (!['auto', 'native', 'ts'].includes(engine)) throw new UsageError(`--engine must be auto, native or ts`)
    if (values.gt !== undefined && values.gte !== undefined) throw new UsageError('give --gt or --gte, not both')
    if (values.lt !== undefined && values.lte !== undefined) throw new UsageError('give --lt or --lte, not both')
    const hex = values.hex === true
    const ctx: Ctx = {
      out, json, engine, values,
      key: s => {
        if (!hex) return Buffer.from(s, 'utf8')
        const h = s.startsWith('0x') ? s.slice(2) : s
        if (!/^(?:[0-9a-fA-F]{2})*$/.test(h)) throw new UsageError(`${s} is not hex`)
        return Buffer.from(h, 'hex')
      },
    }
    const a0 = args[0]!
    let code: number
    switch (command) {
      case 'stats': code = cmdStats(ctx, a0); break
      case 'get': code = cmdGet(ctx, a0, args[1]!); break
      case 'scan': code = cmdScan(ctx, a0); break
      case 'dump-sst': code = cmdDumpSst(ctx, a0); break
      case 'dump-manifest': code = cmdDumpManifest(ctx, a0); break
      case 'verify': code = cmdVerify(ctx, a0); break
      case 'compact': code = await cmdCompact(ctx, a0); break
      default: code = cmdRepair(ctx, a0); break
    }
    return { code, stdout: out.lines, stderr }
  } catch (e) {
    if (e instanceof UsageError) return fail(EXIT.USAGE, 'USAGE', e.message)
    if (e instanceof LsmError) return fail(exitCodeOf(e.code), e.code, e.message, e.file)
    return fail(EXIT.ERROR, 'ERROR', (e as Error)?.stack ?? String(e))
  }
}

async function main(): Promise<void> {
  // The engine choice is the user's; the "falling back to TypeScript" notice is noise here.
  process.env.LSM_RUST_QUIET ??= '1'
  // `lsm-rust scan db | head`: a closed pipe ends the output quietly.
  process.stdout.on('error', e => {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw e
  })
  const r = await run(process.argv.slice(2))
  if (r.stdout.length > 0) process.stdout.write(r.stdout.join('\n') + '\n')
  if (r.stderr.length > 0) process.stderr.write(r.stderr.join('\n') + '\n')
  process.exitCode = r.code
}

function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url || realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isEntryPoint()) void main()

