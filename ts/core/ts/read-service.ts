/**
 * Batched point reads of the pure-TS core, run on a read worker thread (the
 * main-thread side is in `ts-core.ts`, `TsReadView.getBatch`).
 *
 * A worker keeps its own open tables and block caches: JS objects cannot be
 * shared between threads, and tables are immutable files, so a second reader
 * of them needs nothing from the main thread but their paths. The main thread
 * names each table by a token unique to its open instance (a path can be
 * reused after a database is destroyed and made again) and tells the worker
 * when an instance closes, and each batch is read against one read view: the
 * tables of each level. A batch carries its view's tables only when the
 * worker's current view is another one (messages to a worker arrive in the
 * order they were sent, so the main thread knows which view that is).
 */
import { basename } from 'node:path'
import type { Block } from './block.js'
import { murmur3 } from './bloom.js'
import { BufferPool, FdPool, LruCache } from './cache.js'
import { compareBytes, findInLevel } from './internal-key.js'
import { PooledFileSource, recycleBlock, Table, type LookupResult } from './sst.js'

/** The caches a database's tables use in one read worker. */
export interface ReadCachesSpec {
  /** Unique per main-thread caches object (per open database). */
  id: number
  blockCacheBytes: number
  maxOpenFiles: number
}

/** A table of a read view: its open instance's token, its file and its user-key range. */
export interface ReadTableSpec {
  token: number
  path: string
  smallestUser: Uint8Array
  largestUser: Uint8Array
}

/** One read view's tables, per level (L0 newest first). */
export interface ReadViewSpec {
  caches: ReadCachesSpec | undefined
  levels: ReadTableSpec[][]
}

/** A batch of point reads: key i is `keys[ends[i-1]..ends[i])`, read at `seqs[i]`. */
export interface ReadBatchRequest {
  view: number
  /** Present when the worker's current view is not `view`. */
  spec?: ReadViewSpec
  keys: Uint8Array
  ends: Uint32Array
  seqs: Float64Array
}

/**
 * The answers: for key i, `meta[3i]` is 0 (not found) or its kind + 1,
 * `meta[3i+1]` its sequence number and `meta[3i+2]` the length of its value;
 * the values of the found keys follow each other in `values`. A key whose
 * read failed has 0 in `meta[3i]` and its error in `errors`.
 */
export interface ReadBatchReply {
  meta: Float64Array
  values: Uint8Array
  errors: { index: number; message: string; code?: string; file?: string }[]
}

/** What a worker forgets: closed table instances, or a database's caches (it closed). */
export interface ForgetRequest {
  tables?: number[]
  caches?: number
}

interface Caches {
  blocks: LruCache<Block>
  pool: BufferPool
  fds: FdPool
}

interface OpenTable {
  table: Table
  caches: number
}

const caches = new Map<number, Caches>()
const tables = new Map<number, OpenTable>()
let current: { id: number; caches: number; levels: ReadTableSpec[][] } | undefined

function cachesFor(spec: ReadCachesSpec | undefined): number {
  if (spec === undefined) return 0
  if (!caches.has(spec.id)) {
    const pool = new BufferPool(Math.min(1024 * 1024, spec.blockCacheBytes))
    caches.set(spec.id, {
      pool,
      blocks: new LruCache<Block>(spec.blockCacheBytes, b => recycleBlock(pool, b)),
      fds: new FdPool(spec.maxOpenFiles),
    })
  }
  return spec.id
}

/** The open instance `token` (opened now, from `path`, on first use). */
function tableFor(token: number, path: string, cachesId: number): Table {
  const t = tables.get(token)
  if (t !== undefined) return t.table
  const c = caches.get(cachesId)
  let table: Table
  if (c === undefined) table = Table.openFile(path)
  else {
    const src = new PooledFileSource(path, c.fds)
    try {
      table = Table.open(src, basename(path), c.blocks, c.pool)
    } catch (e) {
      src.close()
      throw e
    }
  }
  tables.set(token, { table, caches: cachesId })
  return table
}

const NOT_FOUND: LookupResult = { found: false }

/** Newest visible version of `key` in the current view (L0 newest first, then a binary search per level). */
function lookup(key: Uint8Array, seq: number): LookupResult {
  const view = current!
  const levels = view.levels
  // One filter hash for every table the key is looked up in.
  let h = -1
  for (const e of levels[0] ?? []) {
    if (compareBytes(key, e.smallestUser) < 0 || compareBytes(key, e.largestUser) > 0) continue
    if (h < 0) h = murmur3(key)
    const r = tableFor(e.token, e.path, view.caches).get(key, seq, h)
    if (r.found) return r
  }
  for (let li = 1; li < levels.length; li++) {
    const level = levels[li]!
    const j = findInLevel(level, key)
    if (j < 0) continue
    const e = level[j]!
    if (h < 0) h = murmur3(key)
    const r = tableFor(e.token, e.path, view.caches).get(key, seq, h)
    if (r.found) return r
  }
  return NOT_FOUND
}

/** Answers one batch (see {@link ReadBatchReply}); the caller transfers `meta` and `values`. */
export function readBatch(req: ReadBatchRequest): ReadBatchReply {
  if (req.spec !== undefined) {
    const cachesId = cachesFor(req.spec.caches)
    current = { id: req.view, caches: cachesId, levels: req.spec.levels }
  }
  if (current === undefined || current.id !== req.view) throw new Error(`read view ${req.view} was never described to this worker`)
  const n = req.ends.length
  const meta = new Float64Array(3 * n)
  const errors: ReadBatchReply['errors'] = []
  // A found value is a view into a cached block, which a later read of the batch may evict
  // (and its memory be reused): copy it out before the next lookup.
  let values = new Uint8Array(4096)
  let bytes = 0
  let start = 0
  for (let i = 0; i < n; i++) {
    const end = req.ends[i]!
    const key = req.keys.subarray(start, end)
    start = end
    let r: LookupResult
    try {
      r = lookup(key, req.seqs[i]!)
    } catch (e) {
      const err = e as { message?: string; code?: string; file?: string }
      errors.push({ index: i, message: String(err.message ?? e), code: err.code, file: err.file })
      continue
    }
    if (!r.found) continue
    meta[3 * i] = r.kind + 1
    meta[3 * i + 1] = r.seq
    meta[3 * i + 2] = r.value.length
    if (bytes + r.value.length > values.length) {
      const grown = new Uint8Array(Math.max(2 * values.length, bytes + r.value.length))
      grown.set(values.subarray(0, bytes))
      values = grown
    }
    values.set(r.value, bytes)
    bytes += r.value.length
  }
  return { meta, values: values.slice(0, bytes), errors }
}

/** Closes forgotten table instances, or every table and file of forgotten caches. */
export function forget(req: ForgetRequest): void {
  for (const token of req.tables ?? []) {
    tables.get(token)?.table.close()
    tables.delete(token)
  }
  if (req.caches !== undefined) {
    for (const [token, t] of tables) {
      if (t.caches !== req.caches) continue
      t.table.close()
      tables.delete(token)
    }
    caches.get(req.caches)?.fds.closeAll()
    caches.delete(req.caches)
    if (current?.caches === req.caches) current = undefined
  }
}
