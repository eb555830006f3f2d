/**
 * The pure-TypeScript implementation of {@link Core}: the components in
 * `ts/core/ts/` behind the same batch-shaped interface as the native core.
 */
import { Buffer } from 'node:buffer'
import { markAsUntransferable } from 'node:worker_threads'
import { LsmError } from '../errors.js'
import type { CacheOptions, Chunk, CompactionJob, CoreCaches, CompactionOutput, Core, CoreCursor, CoreMemtable, CoreReadView, CoreTable, CursorOptions, Lookup, TableOptions, WrittenTable } from './core.js'
import { buildBloom, bloomMayContain, murmur3 } from './ts/bloom.js'
import { crc32c } from './ts/crc32c.js'
import { compareBytes, comparePrefix, findInLevel, userKeyOf, type Kind } from './ts/internal-key.js'
import type { InternalIterator } from './ts/iterator.js'
import { Memtable } from './ts/memtable.js'
import { MergingIterator, UserIterator } from './ts/merge-iterator.js'
import { LevelIterator } from './ts/level-iterator.js'
import { PooledFileSource, recycleBlock, Table } from './ts/sst.js'
import type { Block } from './ts/block.js'
import { BufferPool, FdPool, LruCache } from './ts/cache.js'
import { basename } from 'node:path'
import { forgetCachesInReadWorkers, forgetInReadWorkers, fromWorker, readInWorker, releaseWorker, retainWorker, runInWorker } from './ts/background.js'
import type { ReadBatchReply, ReadCachesSpec, ReadViewSpec } from './ts/read-service.js'
import { GroupWalker } from './ts/write-group.js'
import { copyPrefix, DecodeError } from './ts/coding.js'
import { setImmediate as nextTurn } from 'node:timers/promises'

/** Entries {@link TsMemtable.applyAsync} inserts per event-loop turn (about 2–4 ms of work). */
const APPLY_SLICE = 4096

class TsMemtable implements CoreMemtable {
  readonly inner = new Memtable()
  apply(group: Uint8Array): void {
    this.inner.apply(group)
  }
  /**
   * Validates the whole group first (all or nothing), then inserts it in
   * slices, reading each slice's entries straight from the group bytes.
   */
  async applyAsync(group: Uint8Array): Promise<void> {
    try {
      new GroupWalker(group).visit(Infinity, null)
    } catch (e) {
      if (e instanceof DecodeError) throw new LsmError('INVALID_ARGUMENT', `malformed write group: ${e.message}`, { cause: e })
      throw e
    }
    const walker = new GroupWalker(group)
    while (!this.inner.applySlice(walker, APPLY_SLICE)) await nextTurn()
  }
  get(userKey: Uint8Array, snapshotSeq: number): Lookup {
    return this.inner.get(userKey, snapshotSeq)
  }
  get approximateSize(): number {
    return this.inner.approximateSize
  }
  get entryCount(): number {
    return this.inner.entryCount
  }
  iterator(): InternalIterator {
    return this.inner.iterator()
  }
}

/** Tokens naming open table instances to the read threads (see `read-service.ts`). */
let nextToken = 1

class TsTable implements CoreTable {
  /** User-key range, for level searches. */
  readonly smallestUser: Uint8Array
  readonly largestUser: Uint8Array
  /** This open instance, to the read threads. */
  readonly token = nextToken++
  /**
   * @param path The file, for the read threads to open it too.
   * @param caches The caches it was opened with, if any.
   */
  constructor(readonly inner: Table, readonly path: string, readonly caches?: TsCaches) {
    this.smallestUser = userKeyOf(inner.properties.smallest)
    this.largestUser = userKeyOf(inner.properties.largest)
  }
  get fileSize(): number {
    return this.inner.fileSize
  }
  get properties() {
    return this.inner.properties
  }
  /** Largest internal key, for {@link LevelIterator}. */
  get largest(): Uint8Array {
    return this.inner.properties.largest
  }
  get(userKey: Uint8Array, snapshotSeq: number): Lookup {
    return this.inner.get(userKey, snapshotSeq)
  }
  iterator(): InternalIterator {
    return this.inner.iterator()
  }
  close(): void {
    this.inner.close()
    forgetInReadWorkers({ tables: [this.token] })
  }
}

function asTs<T>(x: unknown, cls: abstract new (...args: never[]) => T, what: string): T {
  if (!(x instanceof cls)) throw new LsmError('INVALID_ARGUMENT', `${what} does not belong to the pure-TypeScript core`)
  return x
}

/** Read views, numbered for the read threads. */
let nextView = 1

class TsReadView implements CoreReadView {
  /** This view, to the read threads. */
  private readonly id = nextView++
  constructor(private readonly memtables: readonly TsMemtable[], private readonly levels: readonly (readonly TsTable[])[]) {}

  /**
   * Reads the memtables here, then hands the keys they do not answer to a
   * read thread, which reads the tables (`read-service.ts`).
   */
  getBatch(userKeys: readonly Uint8Array[], snapshotSeqs: readonly number[]): Promise<(Lookup | Error)[]> {
    const n = userKeys.length
    if (snapshotSeqs.length !== n) return Promise.reject(new LsmError('INVALID_ARGUMENT', 'getBatch takes one snapshot per key'))
    const results: (Lookup | Error)[] = new Array(n)
    const rest: number[] = []
    let bytes = 0
    for (let i = 0; i < n; i++) {
      const k = userKeys[i]!
      let r: Lookup | undefined
      for (const m of this.memtables) {
        const l = m.get(k, snapshotSeqs[i]!)
        if (l.found) {
          r = l
          break
        }
      }
      if (r !== undefined) results[i] = r
      else {
        rest.push(i)
        bytes += k.length
      }
    }
    if (rest.length === 0 || this.levels.every(l => l.length === 0)) {
      for (const i of rest) results[i] = { found: false }
      return Promise.resolve(results)
    }
    const keys = new Uint8Array(bytes)
    const ends = new Uint32Array(rest.length)
    const seqs = new Float64Array(rest.length)
    let at = 0
    for (let j = 0; j < rest.length; j++) {
      const i = rest[j]!
      keys.set(userKeys[i]!, at)
      at += userKeys[i]!.length
      ends[j] = at
      seqs[j] = snapshotSeqs[i]!
    }
    return readInWorker(this.id, () => this.spec(), { keys, ends, seqs }).then(reply => {
      fillAnswers(results, rest, reply)
      return results
    })
  }

  /** The tables of this view, for a read thread. */
  private spec(): ReadViewSpec {
    let caches: ReadCachesSpec | undefined
    for (const level of this.levels) for (const t of level) caches ??= t.caches?.spec
    return { caches, levels: this.levels.map(l => l.map(t => ({ token: t.token, path: t.path, smallestUser: t.smallestUser, largestUser: t.largestUser }))) }
  }

  get(userKey: Uint8Array, snapshotSeq: number): Lookup {
    for (const m of this.memtables) {
      const r = m.get(userKey, snapshotSeq)
      if (r.found) return r
    }
    // One filter hash for every table the key is looked up in.
    let h = -1
    const l0 = this.levels[0] ?? []
    for (const t of l0) {
      if (compareBytes(userKey, t.smallestUser) < 0 || compareBytes(userKey, t.largestUser) > 0) continue
      if (h < 0) h = murmur3(userKey)
      const r = t.inner.get(userKey, snapshotSeq, h)
      if (r.found) return r
    }
    for (let i = 1; i < this.levels.length; i++) {
      const level = this.levels[i]!
      const j = findInLevel(level, userKey)
      if (j < 0) continue
      if (h < 0) h = murmur3(userKey)
      const r = level[j]!.inner.get(userKey, snapshotSeq, h)
      if (r.found) return r
    }
    return { found: false }
  }

  cursor(options: CursorOptions): CoreCursor {
    const children: InternalIterator[] = [
      ...this.memtables.map(m => m.iterator()),
      ...(this.levels[0] ?? []).map(t => t.iterator()),
      ...this.levels.slice(1).filter(l => l.length > 0).map(l => new LevelIterator(l)),
    ]
    return new TsCursor(new UserIterator(new MergingIterator(children), options.snapshotSeq), options)
  }
}

/** Puts a read thread's answers for keys `rest[j]` into `results`. */
function fillAnswers(results: (Lookup | Error)[], rest: readonly number[], reply: ReadBatchReply): void {
  const { meta, values } = reply
  const buf = Buffer.from(values.buffer, values.byteOffset, values.byteLength)
  let at = 0
  for (let j = 0; j < rest.length; j++) {
    const tag = meta[3 * j]!
    if (tag === 0) {
      results[rest[j]!] = { found: false }
      continue
    }
    const len = meta[3 * j + 2]!
    results[rest[j]!] = { found: true, kind: (tag - 1) as Kind, seq: meta[3 * j + 1]!, value: buf.subarray(at, at + len) }
    at += len
  }
  for (const e of reply.errors) results[rest[e.index]!] = fromWorker(e)
}

/** Chunked user-level iteration with bounds, over a {@link UserIterator}. */
class TsCursor implements CoreCursor {
  private started = false
  private pendingSeek: Uint8Array | undefined

  constructor(private readonly it: UserIterator, private readonly o: CursorOptions) {}

  seek(userKey: Uint8Array): void {
    this.pendingSeek = userKey
    this.started = false
  }

  /** Where the user key `k[0..klen)` lies against the bounds. */
  private inBounds(k: Uint8Array, klen = k.length): 'below' | 'in' | 'above' {
    const o = this.o
    if (o.lower !== undefined) {
      const c = comparePrefix(k, klen, o.lower, o.lower.length)
      if (c < 0 || (c === 0 && o.lowerExclusive)) return 'below'
    }
    if (o.upper !== undefined) {
      const c = comparePrefix(k, klen, o.upper, o.upper.length)
      if (c > 0 || (c === 0 && !o.upperInclusive)) return 'above'
    }
    return 'in'
  }

  private position(): void {
    const { it, o } = this
    const target = this.pendingSeek
    this.pendingSeek = undefined
    if (!o.reverse) {
      let start = o.lower
      if (target !== undefined && (start === undefined || Buffer.compare(target, start) > 0)) start = target
      if (start === undefined) it.seekToFirst()
      else it.seek(start)
      if (it.valid() && o.lowerExclusive && o.lower !== undefined && Buffer.compare(it.key(), o.lower) === 0) it.next()
    } else {
      let start = o.upper
      if (target !== undefined && (start === undefined || Buffer.compare(target, start) < 0)) start = target
      if (start === undefined) it.seekToLast()
      else it.seekForPrev(start)
      if (it.valid() && o.upper !== undefined && start === o.upper && !o.upperInclusive && Buffer.compare(it.key(), o.upper) === 0) it.prev()
    }
  }

  close(): void {
    this.it.close()
  }

  nextChunk(maxEntries: number, maxBytes = Infinity): Chunk {
    if (!this.started) {
      this.position()
      this.started = true
    }
    const keys: Uint8Array[] = []
    const values: Uint8Array[] = []
    const it = this.it
    const stop = this.o.reverse ? 'below' : 'above'
    let bytes = 0
    // Keys and values are copied into shared slabs and handed out as Buffer
    // views: one allocation per slab instead of one ArrayBuffer per key and
    // per value (a malloc each, and work for V8's array-buffer sweeper).
    let slab = EMPTY
    let pos = 0
    // Slabs start small (a seek reading ten entries) and double up to 64 KiB.
    let slabSize = 4096
    while (it.valid() && keys.length < maxEntries && bytes < maxBytes) {
      // The key as array + length, not as a view (see UserIterator.keySource).
      const k = it.keySource()
      const klen = it.keyLength()
      const where = this.inBounds(k, klen)
      if (where === stop) break
      if (where === 'in') {
        const v = it.value()
        const need = klen + v.length
        if (pos + need > slab.length) {
          slab = Buffer.allocUnsafeSlow(Math.max(slabSize, need))
          // Entries are views of it: transferring one entry's memory away must
          // not empty the entries the iterator has yet to hand out.
          markAsUntransferable(slab.buffer)
          slabSize = Math.min(2 * slabSize, CHUNK_SLAB_BYTES)
          pos = 0
        }
        const ab = slab.buffer
        copyPrefix(slab, pos, k, klen)
        keys.push(Buffer.from(ab, slab.byteOffset + pos, klen))
        pos += klen
        slab.set(v, pos)
        values.push(Buffer.from(ab, slab.byteOffset + pos, v.length))
        pos += v.length
        bytes += need
      }
      if (this.o.reverse) it.prev()
      else it.next()
    }
    const done = !it.valid() || this.inBounds(it.keySource(), it.keyLength()) === stop
    return { keys, values, done }
  }
}

const EMPTY = Buffer.alloc(0)
/** Largest slab a cursor chunk's keys and values are copied into. */
const CHUNK_SLAB_BYTES = 64 * 1024

/** The most memory a block cache's {@link BufferPool} keeps for reuse. */
const BLOCK_POOL_BYTES = 1024 * 1024

/** Caches objects, numbered for the read threads. */
let nextCaches = 1

class TsCaches implements CoreCaches {
  /**
   * What each read thread keeps for these tables: half the block cache (two
   * threads read batches) and half the open files.
   */
  readonly spec: ReadCachesSpec
  readonly blocks: LruCache<Block>
  /** Memory of dropped blocks, for the next ones read. */
  readonly pool: BufferPool
  readonly fds: FdPool
  private closed = false
  constructor(o: CacheOptions) {
    const pool = new BufferPool(Math.min(BLOCK_POOL_BYTES, o.blockCacheBytes))
    this.pool = pool
    this.blocks = new LruCache<Block>(o.blockCacheBytes, b => recycleBlock(pool, b))
    this.fds = new FdPool(o.maxOpenFiles)
    this.spec = { id: nextCaches++, blockCacheBytes: Math.floor(o.blockCacheBytes / 2), maxOpenFiles: Math.max(1, Math.floor(o.maxOpenFiles / 2)) }
    retainWorker()
  }
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.fds.closeAll()
    await forgetCachesInReadWorkers(this.spec.id)
    await releaseWorker()
  }
  get mappedTables(): number {
    return 0
  }
  get blockCacheUsage(): number {
    return this.blocks.usedBytes
  }
}

/** The pure-TypeScript core. */
export const tsCore: Core = {
  name: 'ts',
  crc32c: (data, init) => crc32c(data, init),
  buildBloom: (keys, bitsPerKey) => buildBloom(keys, bitsPerKey),
  bloomMayContain: (filter, key) => bloomMayContain(filter, key),
  newMemtable: () => new TsMemtable(),
  newCaches: o => new TsCaches(o),
  openTable(path, caches) {
    if (caches === undefined) return new TsTable(Table.openFile(path), path)
    const c = asTs(caches, TsCaches, 'caches')
    const src = new PooledFileSource(path, c.fds)
    try {
      return new TsTable(Table.open(src, basename(path), c.blocks, c.pool), path, c)
    } catch (e) {
      src.close()
      throw e
    }
  },
  async flush(memtable: CoreMemtable, path: string, options?: TableOptions, sync?: boolean): Promise<WrittenTable> {
    // The arena is shared with the worker, not copied: the memtable is frozen.
    const frozen = asTs(memtable, TsMemtable, 'memtable').inner.frozen()
    return runInWorker<WrittenTable>({ type: 'flush', memtable: frozen, path, ...(options && { options }), ...(sync === false && { sync }) })
  },
  async compact(job: CompactionJob): Promise<CompactionOutput[]> {
    return runInWorker<CompactionOutput[]>({ type: 'compact', job })
  },
  newReadView(memtables, levels) {
    return new TsReadView(
      memtables.map(m => asTs(m, TsMemtable, 'memtable')),
      levels.map(l => l.map(t => asTs(t, TsTable, 'table'))),
    )
  },
}

