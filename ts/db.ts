/**
 * DB: the entry point for every operation and every background process.
 *
 * - Writes go through the {@link WriteQueue} (group commit): one WAL append,
 *   at most one fsync and one memtable apply per group.
 * - A full memtable is frozen and a new memtable and WAL start. Two
 *   background lanes run at once: one flushes frozen memtables to L0, the
 *   other compacts level by level (one compaction at a time); each change is
 *   recorded in the MANIFEST before it is installed.
 * - Reads pin the current {@link ReadState} and resolve memtable → frozen
 *   memtables → L0 → L1..Ln in one core call.
 * - Table GC runs after every installed change and at open.
 */
import { Buffer } from 'node:buffer'
import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { LsmError, invalidArgument } from './errors.js'
import { ioError, syncDir } from './env.js'
import { check, syncDirAsync, syncFile, unlinkSync } from './io.js'
import type { CompactionOutput, Core, CoreCaches, CoreMemtable, CursorOptions, Lookup, TableOptions } from './core/core.js'
import { selectCore } from './core/select.js'
import { Kind, MAX_KEY_LENGTH } from './core/ts/internal-key.js'
import { fileNames, parseFileName, type FileMeta, type VersionEdit } from './core/ts/version-edit.js'
import { MAX_SPARE_BYTES, prepareSpareWal, readWal, RUNWAY_BYTES, WalWriter } from './core/ts/wal.js'
import { LOG_FILE_HEADER_SIZE } from './core/ts/log-format.js'
import { readShared, shareTurn } from './turn.js'
import { asBuffer, getFixed32, getFixed64 } from './core/ts/coding.js'
import { compactionOutputBound, maxBytesForLevel, pickCompaction, planManual, splitPlan, type CompactionPlan, type LevelOptions } from './compaction-picker.js'
import { DBIterator, type IteratorOptions } from './iterator.js'
import { AUTO_LEVEL_BASE, AUTO_MEMTABLE_SIZE, resolveOptions, type OpenOptions, type ResolvedOptions } from './options.js'
import { ReadBatcher } from './read-batcher.js'
import { ReadState } from './read-state.js'
import { DirLock } from './lock.js'
import { VersionSet } from './version-set.js'
import { entrySize, WriteQueue, type EncodedOp, type PlainOp, type Segment } from './write-queue.js'
import { DBStats, type Stats } from './stats.js'
import { verifyLocked, type VerifyReport } from './inspect.js'

/** A key or value as the API accepts it. */
export type Bytes = Buffer | Uint8Array | string

/** Options of a write. */
export interface WriteOptions {
  /** Wait until the write is on stable storage (fsync) before resolving (default false). */
  sync?: boolean
}

/** Options of a read. */
export interface ReadOptions {
  /** Read as of this snapshot. */
  snapshot?: Snapshot
}

/** One operation of {@link DB.batch}. */
export type BatchOp = {
  /** Set `key` to `value`. */
  type: 'put'
  /** The key to set (at most `MAX_KEY_LENGTH` bytes). */
  key: Bytes
  /** The value to store; strings are encoded as UTF-8. */
  value: Bytes
} | {
  /** Delete `key` (no error when absent). */
  type: 'del'
  /** The key to delete. */
  key: Bytes
}

/** A frozen memtable waiting for flush, with the WAL that holds its writes. */
interface Immutable {
  mem: CoreMemtable
  walNumber: number
  lastSeq: number
  /** Its table is being written (the flush lane took it). */
  flushing?: boolean
}

const MAX_BATCH_BYTES = 1024 * 1024 * 1024
/**
 * Write groups at least this large are applied to the memtable with
 * `applyAsync`. 64 KiB is about 550 bench-sized entries, ~0.2 ms of inserts:
 * below it the pool round trip (tens of µs) would cost more than it frees;
 * single puts from 64 writers make ~8 KiB groups and stay synchronous.
 */
const ASYNC_APPLY_BYTES = 64 * 1024

/** WAL bytes written after open before the first spare WAL is prepared (see `DB.spareAt`). */
const SPARE_AFTER_BYTES = 64 * 1024
/**
 * Batch operations one event-loop turn validates and encodes before further
 * writes wait for the next turn (~1–2 ms of work). When a group commits, all
 * its writers resume in the same turn; 36 writers of 1,000-op batches
 * re-encoding at once held the loop for ~10 ms.
 */
const TURN_OPS = 4096

function checkWriteOptions(options: WriteOptions | undefined): void {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgument('options must be an object')
}

function checkWriteSize(size: number): void {
  if (size > MAX_BATCH_BYTES) throw invalidArgument(`write of ${size} bytes exceeds ${MAX_BATCH_BYTES}`)
}

function toBytes(x: unknown, what: string): Uint8Array {
  if (x instanceof Uint8Array) return x
  if (typeof x === 'string') return Buffer.from(x, 'utf8')
  throw invalidArgument(`${what} must be a Buffer, Uint8Array or string, got ${x === null ? 'null' : typeof x}`)
}

/**
 * The encoded size of a batch whose keys and values are all `Uint8Array`s
 * (checked as {@link DB.batch} checks them), or -1 when some key or value
 * needs converting (then the general path checks and converts everything,
 * in order, so errors are the same).
 */
function plainBatchSize(ops: readonly BatchOp[]): number {
  let size = 0
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]
    if (op === null || typeof op !== 'object') return -1
    const key = op.key
    if (!(key instanceof Uint8Array) || key.length > MAX_KEY_LENGTH) return -1
    if (op.type === 'put') {
      const value = op.value
      if (!(value instanceof Uint8Array)) return -1
      size += entrySize(Kind.Put, key, value)
    } else if (op.type === 'del') {
      size += entrySize(Kind.Delete, key, undefined)
    } else {
      return -1
    }
  }
  return size
}

/**
 * The value a lookup found, as `get` returns it: undefined when absent or
 * deleted; bytes the result owns become the Buffer as they are, others (views
 * of cached blocks or memtable memory) are copied.
 */
function valueOf(r: Lookup): Buffer | undefined {
  if (!r.found || r.kind === Kind.Delete) return undefined
  return r.owned === true ? asBuffer(r.value) : Buffer.from(r.value)
}

function toKey(x: unknown): Uint8Array {
  const k = toBytes(x, 'key')
  if (k.length > MAX_KEY_LENGTH) throw invalidArgument(`key of ${k.length} bytes exceeds ${MAX_KEY_LENGTH}`)
  return k
}

/** A consistent point-in-time view for reads. Release it when done (or use `using`). */
export class Snapshot {
  private released = false
  /**
   * The pinned read state.
   * @internal
   */
  readonly state: ReadState

  /** @internal */
  constructor(
    /** The sequence number this snapshot reads at. */
    readonly sequence: number,
    state: ReadState,
    private readonly onRelease: (s: Snapshot, versionFreed: boolean) => void,
  ) {
    this.state = state
  }

  /** Lets the database reclaim what this snapshot kept alive. Safe to call twice. */
  release(): void {
    if (this.released) return
    this.released = true
    this.onRelease(this, this.state.unpin())
  }

  /** Whether {@link Snapshot.release} has been called (directly, by `using`, or by {@link DB.close}). */
  get isReleased(): boolean {
    return this.released
  }

  /** Releases the snapshot at the end of a `using` block; same as {@link Snapshot.release}. */
  [Symbol.dispose](): void {
    this.release()
  }
}

/** An embedded LSM-tree key-value database. Open with {@link DB.open}. */
export class DB extends EventEmitter {
  /** Which core runs this database: `'native'` or `'ts'`. */
  readonly engine: 'native' | 'ts'
  /** The directory of the database. */
  readonly location: string

  private readonly opts: ResolvedOptions
  /** `opts.memtableSize` with `'auto'` resolved for the engine. */
  private readonly memtableSize: number
  /** The level-shaping options, `maxBytesForLevelBase` `'auto'` resolved for the engine. */
  private readonly levelOpts: LevelOptions
  private readonly core: Core
  private readonly versions: VersionSet
  private readonly caches: CoreCaches
  private readonly lock: DirLock
  private readonly queue: WriteQueue
  private readonly tableOptions: TableOptions
  private mem!: CoreMemtable
  private wal!: WalWriter
  /**
   * The next WAL, written ahead on the libuv pool (`prepareSpareWal`): a
   * rotation that finds it ready renames it instead of creating a new file.
   */
  private spare: { path: string; length: number; ready: boolean; failed: boolean; job: Promise<void> } | undefined
  /** Size of the last WAL retired because its memtable was full (sizes the next spare). */
  private fullWalBytes: number | undefined
  /**
   * WAL size at which the first WAL after open starts its spare (Infinity once
   * started): a DB opened only to read, or for a few writes, does not write,
   * sync and delete a spare the size of a memtable. Small, so that a fill
   * still finds the spare ready at its first rotation (half a memtable
   * measured ~9% slower fillseq: the first rotation created its WAL).
   */
  private spareAt = 0
  private imms: Immutable[] = []
  private state!: ReadState
  /** Last sequence number visible to readers. */
  private lastSeq = 0
  private readonly snapshots = new Set<Snapshot>()
  private readonly iterators = new Set<DBIterator>()
  private closed = false
  private closing: Promise<void> | undefined
  /** A failure that left the state uncertain: every later write fails with it. */
  private bgError: LsmError | undefined
  /** Batch operations validated and encoded in the current event-loop turn (see TURN_OPS). */
  private turnOps = 0
  /** Set while writes wait for the next turn; every write arriving meanwhile queues behind it. */
  private deferring: Promise<void> | undefined
  /** The flush lane: flushes frozen memtables, oldest first, while any wait. */
  private flushRunning: Promise<void> | undefined
  /** The compaction lane: manual compactions, then the picker's, one at a time. */
  private compactRunning: Promise<void> | undefined
  private readonly manualQueue: { level: number; lo?: Uint8Array; hi?: Uint8Array; resolve: () => void; reject: (e: Error) => void }[] = []
  /** Wakes writers stalled on background work (after each flush and compaction). */
  private progressWaiters: (() => void)[] = []
  private readonly statsData = new DBStats()
  /** Decides whether point reads run synchronously or in batches on the pool. */
  private readonly batcher: ReadBatcher<Buffer | undefined>

  private constructor(location: string, opts: ResolvedOptions, core: Core, lock: DirLock) {
    super()
    this.location = location
    this.opts = opts
    this.core = core
    this.engine = core.name
    this.memtableSize = opts.memtableSize === 'auto' ? AUTO_MEMTABLE_SIZE[core.name] : opts.memtableSize
    this.levelOpts = {
      l0CompactionTrigger: opts.l0CompactionTrigger,
      levelMultiplier: opts.levelMultiplier,
      maxBytesForLevelBase: opts.maxBytesForLevelBase === 'auto' ? AUTO_LEVEL_BASE[core.name] : opts.maxBytesForLevelBase,
    }
    this.lock = lock
    this.caches = core.newCaches({ blockCacheBytes: opts.blockCacheSize, maxOpenFiles: opts.maxOpenFiles, mmapReads: opts.mmapReads })
    this.versions = new VersionSet(location, core, this.caches)
    this.versions.recycleLimit = opts.recycleTableFiles
    this.tableOptions = { blockSize: opts.blockSize, bitsPerKey: opts.bitsPerKey, compression: opts.compression }
    this.queue = new WriteQueue(seg => this.commitGroup(seg), opts.maxGroupBytes, opts.groupCommitDelay)
    // Only the native core reads off the JS thread: the TS engine's reads stay synchronous (no trial rounds).
    this.batcher = new ReadBatcher(opts.readBatching, undefined, valueOf, e => ioError(e, 'read failed'))
  }

  /**
   * Opens (or creates) the database in `location`. Recovers from the MANIFEST
   * and replays WALs written since the last flush; a torn tail of the newest
   * WAL (a crash mid-append) is dropped, any other damage is CORRUPTION.
   */
  static async open(location: string, options?: OpenOptions): Promise<DB> {
    if (typeof location !== 'string' || location.length === 0) throw invalidArgument('location must be a non-empty string')
    const opts = resolveOptions(options)
    const core = selectCore(opts.engine)
    if (opts.createIfMissing) {
      try {
        mkdirSync(location, { recursive: true })
      } catch (e) {
        throw ioError(e, `cannot create ${location}`)
      }
    }
    try {
      if (!statSync(location).isDirectory()) throw invalidArgument(`${location} is not a directory`)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new LsmError('NOT_FOUND', `database ${location} does not exist (createIfMissing is false)`)
      throw e instanceof LsmError ? e : ioError(e, `cannot open ${location}`)
    }
    let lock: DirLock
    try {
      lock = DirLock.acquire(location)
    } catch (e) {
      throw e instanceof LsmError ? e : ioError(e, `cannot lock ${location}`)
    }
    const db = new DB(location, opts, core, lock)
    try {
      await db.recover()
    } catch (e) {
      db.versions.close()
      lock.release()
      await db.caches.close()
      throw e instanceof LsmError ? e : ioError(e, `cannot open ${location}`)
    }
    return db
  }

  private async recover(): Promise<void> {
    const { opts, versions, location } = this
    const exists = VersionSet.exists(location)
    if (exists && opts.errorIfExists) throw invalidArgument(`database ${location} already exists (errorIfExists)`)
    if (!exists && !opts.createIfMissing) throw new LsmError('NOT_FOUND', `database ${location} does not exist (createIfMissing is false)`)
    if (exists) versions.recover()

    // File numbers handed out since the last edit (a WAL, say) must never be reused.
    const names = readdirSync(location)
    for (const name of names) {
      const p = parseFileName(name)
      if (p !== undefined && p.number >= versions.nextFileNumber) versions.nextFileNumber = p.number + 1
    }

    // Replay WALs not yet in tables, oldest first; only the newest may have a torn tail.
    const wals = names.map(parseFileName).filter(p => p?.kind === 'wal' && p.number >= versions.logNumber).map(p => p!.number).sort((a, b) => a - b)
    const added: FileMeta[] = []
    let mem = this.core.newMemtable()
    let maxSeq = versions.lastSequence
    const flushRecovered = async () => {
      if (mem.entryCount === 0) return
      const t0 = performance.now()
      const meta = await this.writeL0(mem)
      this.statsData.recordFlush(meta.fileSize, performance.now() - t0)
      added.push(meta)
      mem.release?.()
      mem = this.core.newMemtable()
    }
    let prevLast = 0
    for (let i = 0; i < wals.length; i++) {
      const n = wals[i]!
      const contents = readWal(join(location, fileNames.wal(n)), n, i === wals.length - 1)
      this.statsData.walTornBytes += contents.tornBytes
      for (const g of contents.groups) {
        const first = getFixed64(g, 0)
        const last = first + getFixed32(g, 8) - 1
        if (first <= prevLast) throw new LsmError('CORRUPTION', `corruption: WAL sequence ${first} does not follow ${prevLast}`, { file: fileNames.wal(n) })
        prevLast = last
        try {
          mem.apply(g)
        } catch (e) {
          throw new LsmError('CORRUPTION', `corruption: bad write group in WAL: ${(e as Error).message}`, { file: fileNames.wal(n) })
        }
        maxSeq = Math.max(maxSeq, last)
        if (mem.approximateSize >= this.memtableSize) await flushRecovered()
      }
    }
    await flushRecovered()

    // A fresh manifest names every table (the recovered ones included) and a new WAL.
    const walNumber = versions.newFileNumber()
    const edit: VersionEdit = { addedFiles: added, logNumber: walNumber, lastSequence: maxSeq }
    versions.applyLocally(edit)
    versions.writeNewManifest()
    for (const f of added) versions.pendingOutputs.delete(f.fileNumber)
    this.lastSeq = maxSeq
    this.mem = this.core.newMemtable()
    // A spare a crash left behind: its contents are unknown.
    try {
      unlinkSync(join(location, fileNames.walSpare))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
    this.wal = new WalWriter(join(location, fileNames.wal(walNumber)), walNumber, this.walRunway())
    syncDir(location)
    this.state = this.buildState()
    // Start-up GC: old WALs and manifests, and tables the manifest doesn't list.
    versions.collectGarbage(new Set([walNumber]))
    this.spareAt = Math.min(SPARE_AFTER_BYTES, this.memtableSize >> 2)
    this.maybeScheduleBackground()
  }

  /**
   * Flushes a memtable to a new L0 table file and returns its metadata. The
   * file is fsynced unless `sync` is false: then the caller must fsync it
   * (`syncFile`) before a manifest edit names it.
   */
  private async writeL0(mem: CoreMemtable, sync = true): Promise<FileMeta> {
    const number = this.versions.newFileNumber()
    this.versions.pendingOutputs.add(number)
    const path = join(this.location, fileNames.table(number))
    check('flush', path)
    const w = await this.core.flush(mem, path, this.tableOptions, sync)
    return { level: 0, fileNumber: number, fileSize: w.fileSize, minSeq: w.properties.minSeq, maxSeq: w.properties.maxSeq, smallest: w.properties.smallest, largest: w.properties.largest }
  }

  private buildState(): ReadState {
    const memtables = [this.mem, ...this.imms.map(i => i.mem)]
    const version = this.versions.current
    const view = this.core.newReadView(memtables, this.versions.tablesOf(version))
    return new ReadState(view, memtables, version, this.versions)
  }

  private refreshState(): void {
    const old = this.state
    this.state = this.buildState()
    if (old.unpin()) this.collectGarbage()
  }

  private checkOpen(): void {
    if (this.closed || this.closing) throw new LsmError('CLOSED', 'database is closed')
  }

  // ---------------------------------------------------------------- writes

  /** Sets `key` to `value`. */
  put(key: Bytes, value: Bytes, options?: WriteOptions): Promise<void> {
    // Not `async`: the hot path returns the group's shared promise directly.
    try {
      this.checkOpen()
      if (this.deferring !== undefined) return this.afterDeferred(() => this.submitOne(Kind.Put, toKey(key), toBytes(value, 'value'), options))
      return this.submitOne(Kind.Put, toKey(key), toBytes(value, 'value'), options)
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /** Deletes `key` (no error when absent). */
  del(key: Bytes, options?: WriteOptions): Promise<void> {
    try {
      this.checkOpen()
      if (this.deferring !== undefined) return this.afterDeferred(() => this.submitOne(Kind.Delete, toKey(key), undefined, options))
      return this.submitOne(Kind.Delete, toKey(key), undefined, options)
    } catch (e) {
      return Promise.reject(e)
    }
  }

  /** Applies all operations atomically: after a crash either all or none are present. */
  async batch(ops: readonly BatchOp[], options?: WriteOptions): Promise<void> {
    this.checkOpen()
    if (!Array.isArray(ops)) throw invalidArgument('batch takes an array of operations')
    if (ops.length === 0) return
    // Bound the batch work (validation, encoding) done in one event-loop turn;
    // later writes queue behind a deferred one, so call order is kept.
    while (this.deferring !== undefined || this.turnOps >= TURN_OPS) await this.nextTurn()
    if (this.turnOps === 0) setImmediate(() => { this.turnOps = 0 })
    this.turnOps += ops.length
    checkWriteOptions(options)
    // The common case, every key and value already bytes: validated and
    // encoded straight from `ops`, with no object per operation (a 1M-entry
    // batch fill made 1M of them, all garbage a moment later).
    const plainSize = plainBatchSize(ops)
    if (plainSize >= 0) {
      if (this.bgError) throw this.bgError
      checkWriteSize(plainSize)
      this.statsData.userBytes += plainSize
      return this.queue.submitPlain(ops as readonly PlainOp[], plainSize, options?.sync === true)
    }
    let size = 0
    const encoded: EncodedOp[] = ops.map((op, i) => {
      if (op === null || typeof op !== 'object') throw invalidArgument(`batch operation ${i} must be an object`)
      let e: EncodedOp
      if (op.type === 'put') e = { kind: Kind.Put, key: toKey(op.key), value: toBytes(op.value, 'value') }
      else if (op.type === 'del') e = { kind: Kind.Delete, key: toKey(op.key) }
      else throw invalidArgument(`batch operation ${i} has unknown type ${String((op as { type?: unknown }).type)}`)
      size += entrySize(e.kind, e.key, e.value)
      return e
    })
    if (this.bgError) throw this.bgError
    checkWriteSize(size)
    this.statsData.userBytes += size
    return this.queue.submitMany(encoded, size, options?.sync === true)
  }

  private submitOne(kind: Kind, key: Uint8Array, value: Uint8Array | undefined, options: WriteOptions | undefined): Promise<void> {
    checkWriteOptions(options)
    if (this.bgError) return Promise.reject(this.bgError)
    const size = entrySize(kind, key, value)
    checkWriteSize(size)
    this.statsData.userBytes += size
    return this.queue.submitOne(kind, key, value, size, options?.sync === true)
  }

  /** Runs `submit` once no write is deferred any more (in call order with the deferred ones). */
  private afterDeferred(submit: () => Promise<void>): Promise<void> {
    const d = this.deferring
    return d === undefined ? submit() : d.then(() => this.afterDeferred(submit))
  }

  /** A promise of the next event-loop turn, shared by every write deferred to it. */
  private nextTurn(): Promise<void> {
    this.deferring ??= new Promise<void>(resolve => setImmediate(() => {
      this.deferring = undefined
      this.turnOps = 0
      resolve()
    }))
    return this.deferring
  }

  /**
   * Commits one group: make room, WAL append (+fsync), memtable apply,
   * publish. The common case (room in the memtable, no fsync, a small group)
   * runs synchronously and returns undefined; a promise only when it waits.
   */
  private commitGroup(seg: Segment): Promise<void> | undefined {
    if (this.bgError) throw this.bgError
    const l0 = this.versions.current.levels[0]!.length
    if (l0 >= this.opts.l0SlowdownTrigger || this.mem.approximateSize >= this.memtableSize) return this.commitAfterRoom(seg)
    return this.commitNow(seg)
  }

  private async commitAfterRoom(seg: Segment): Promise<void> {
    await this.makeRoomForWrite()
    if (this.bgError) throw this.bgError
    await this.commitNow(seg)
  }

  private commitNow(seg: Segment): Promise<void> | undefined {
    const firstSeq = this.lastSeq + 1
    seg.seal(firstSeq)
    const group = seg.group
    if (group.length >= ASYNC_APPLY_BYTES) return this.commitLarge(seg, group, firstSeq)
    try {
      // Synchronous: a pool round trip per group halved fill throughput
      // (measured 530k → 285k ops/s at 64 writers) and did not lower the
      // event-loop delay.
      this.wal.append(group)
    } catch (e) {
      // The log's state is unknown: refuse further writes until reopen.
      throw this.setBackgroundError(ioError(e, 'WAL write failed'))
    }
    this.statsData.walBytes += group.length + 16
    if (this.wal.size >= this.spareAt) this.prepareSpare()
    // A large group (a big batch) is inserted off the JS thread (native) or
    // in slices (TS) so the event loop keeps turning; writers meanwhile fill
    // the next group. Small groups are cheaper inserted in place.
    if (seg.sync || group.length >= ASYNC_APPLY_BYTES) return this.finishCommit(seg, group, firstSeq)
    this.applyOrStop(() => this.mem.apply(group))
    this.lastSeq = firstSeq + seg.count - 1
    return undefined
  }

  /**
   * A commit of a large group (a big batch, or many joined): the WAL write,
   * too, runs on the libuv pool. Copying 4 MiB into the page cache takes
   * ~0.8 ms here, and 10–12 ms whenever the kernel must first find fresh
   * pages (measured with 4 MiB writes): event-loop delay if done on the JS
   * thread. The leader waits for each commit, so appends stay in order and
   * never overlap.
   */
  private async commitLarge(seg: Segment, group: Uint8Array, firstSeq: number): Promise<void> {
    try {
      await this.wal.appendAsync(group)
    } catch (e) {
      throw this.setBackgroundError(ioError(e, 'WAL write failed'))
    }
    this.statsData.walBytes += group.length + 16
    if (this.wal.size >= this.spareAt) this.prepareSpare()
    await this.finishCommit(seg, group, firstSeq)
  }

  /**
   * The waiting part of a commit: the fsync, and the memtable apply of a
   * large group. The apply runs while the fsync is in flight: the entries
   * stay invisible (reads see sequences up to `lastSeq`) until `lastSeq`
   * moves past them after both are done.
   */
  private async finishCommit(seg: Segment, group: Uint8Array, firstSeq: number): Promise<void> {
    const syncing = seg.sync ? this.wal.sync() : undefined
    // Awaited below; until then (or when a failed apply returns first) a
    // failed fsync must not count as an unhandled rejection.
    syncing?.catch(() => undefined)
    const mem = this.mem
    if (group.length >= ASYNC_APPLY_BYTES) {
      try {
        await mem.applyAsync(group)
      } catch (e) {
        throw this.applyFailed(e)
      }
    } else {
      this.applyOrStop(() => mem.apply(group))
    }
    if (syncing !== undefined) {
      try {
        await syncing
      } catch (e) {
        throw this.setBackgroundError(ioError(e, 'WAL write failed'))
      }
      this.statsData.walSyncs++
    }
    this.lastSeq = firstSeq + seg.count - 1
  }

  /**
   * Runs a memtable apply. The group is in the WAL by then, so a failure
   * would leave the log and the memtable disagreeing: it stops all writes
   * until reopen.
   */
  private applyOrStop(apply: () => void): void {
    try {
      apply()
    } catch (e) {
      throw this.applyFailed(e)
    }
  }

  private applyFailed(e: unknown): LsmError {
    return this.setBackgroundError(e instanceof LsmError ? e : ioError(e, 'memtable insert failed'))
  }

  /** Write stalls and memtable rotation (backpressure instead of unbounded memory). */
  private async makeRoomForWrite(): Promise<void> {
    let slowed = false
    for (;;) {
      if (this.bgError) return
      const l0 = this.versions.current.levels[0]!.length
      if (!slowed && l0 >= this.opts.l0SlowdownTrigger && l0 < this.opts.l0StopTrigger) {
        // Gradual backpressure: delay this group a little, once.
        slowed = true
        const t0 = performance.now()
        await new Promise(r => setTimeout(r, 1))
        this.statsData.recordStall('l0-slowdown', performance.now() - t0)
        continue
      }
      if (this.mem.approximateSize < this.memtableSize) return
      if (this.imms.length >= this.opts.maxImmutableMemtables) {
        await this.waitForBackground('memtables')
        continue
      }
      if (l0 >= this.opts.l0StopTrigger) {
        await this.waitForBackground('l0-stop')
        continue
      }
      await this.rotateMemtable()
      return
    }
  }

  private async waitForBackground(reason: 'memtables' | 'l0-stop'): Promise<void> {
    const t0 = performance.now()
    this.maybeScheduleBackground()
    await new Promise<void>(r => this.progressWaiters.push(r))
    const ms = performance.now() - t0
    this.statsData.recordStall(reason, ms)
    if (this.listenerCount('stall') > 0) this.emit('stall', { reason, durationMs: ms })
  }

  private wakeWriters(): void {
    const w = this.progressWaiters
    this.progressWaiters = []
    for (const r of w) r()
  }

  /**
   * Freezes the memtable and starts a new one with a new WAL. Crash argument:
   * the old WAL is cut back to its data and fsynced before the new one
   * exists, so only the newest WAL can ever end torn or in zeros, and a synced
   * write in the new WAL never follows a hole.
   */
  private async rotateMemtable(): Promise<void> {
    const n = this.versions.newFileNumber()
    let next: WalWriter
    if (this.mem.approximateSize >= this.memtableSize) this.fullWalBytes = this.wal.size
    try {
      await this.wal.retire()
      next = this.newWal(n)
      await syncDirAsync(this.location)
    } catch (e) {
      throw this.setBackgroundError(ioError(e, 'cannot start a new WAL'))
    }
    // The switch itself has no await in it: while the fsyncs above ran, a
    // finishing flush still saw the old WAL as current (so it could not move
    // the log number past it), and GC never deletes a WAL numbered above the
    // log number, so the new, not yet used file was safe.
    const old = this.wal
    old.close()
    this.wal = next
    this.imms.unshift({ mem: this.mem, walNumber: old.fileNumber, lastSeq: this.lastSeq })
    this.mem = this.core.newMemtable()
    this.refreshState()
    this.prepareSpare()
    this.maybeScheduleBackground()
  }

  /**
   * Creates WAL `n`: from the spare when it is ready (the rename is made
   * durable by the caller's directory sync, before any write to the WAL can
   * be acknowledged as synced), else as a new file.
   */
  private newWal(n: number): WalWriter {
    const path = join(this.location, fileNames.wal(n))
    const spare = this.spare
    if (spare?.ready === true) {
      this.spare = undefined
      try {
        const w = new WalWriter(path, n, this.walRunway(), spare)
        this.statsData.walSpares++
        return w
      } catch (e) {
        // Not renamed (else the new file's creation below fails with the rename's target taken).
        if (!existsSync(path)) return new WalWriter(path, n, this.walRunway())
        throw e
      }
    }
    return new WalWriter(path, n, this.walRunway())
  }

  /**
   * Starts writing the next WAL's spare on the pool, unless one is there or
   * being written. A failure only means no spare: the next WAL is created
   * the ordinary way.
   */
  private prepareSpare(): void {
    this.spareAt = Infinity
    if ((this.spare !== undefined && !this.spare.failed) || this.closed || this.closing !== undefined || this.bgError !== undefined) return
    // About what one WAL holds: an eighth more than the last WAL retired with a
    // full memtable (its records take less room than the memtable's accounting
    // of them: 2.9 MiB per 4 MiB native memtable of 16-byte keys and 100-byte
    // values), else the memtable size. A WAL that outgrows it extends the file.
    const expected = this.fullWalBytes === undefined ? this.memtableSize : this.fullWalBytes + (this.fullWalBytes >> 3)
    const length = LOG_FILE_HEADER_SIZE + Math.min(expected, MAX_SPARE_BYTES)
    const spare = { path: join(this.location, fileNames.walSpare), length, ready: false, failed: false, job: Promise.resolve() }
    spare.job = prepareSpareWal(spare.path, length).then(
      () => { spare.ready = true },
      () => { spare.failed = true },
    )
    this.spare = spare
  }

  /** A WAL's zeroed runway for synced writes: no more than the WAL will hold before it is retired. */
  private walRunway(): number {
    return Math.min(RUNWAY_BYTES, this.memtableSize)
  }

  private setBackgroundError(e: LsmError): LsmError {
    if (this.bgError === undefined) {
      this.bgError = e
      this.statsData.backgroundErrors++
      if (this.listenerCount('error') > 0) this.emit('error', e)
      this.wakeWriters()
    }
    return this.bgError
  }

  // ------------------------------------------------------- background work

  /**
   * Starts whichever background lane has work and is idle. Two lanes run at
   * once: flushes never wait behind a long compaction (writers would stall on
   * full memtables meanwhile), and compactions run one at a time. Version
   * edits from both are serialized by `VersionSet.logAndApply`.
   */
  private maybeScheduleBackground(): void {
    if (this.bgError || this.closed) return
    if (this.flushRunning === undefined && this.imms.length > 0) {
      this.flushRunning = this.flushLoop().finally(() => {
        this.flushRunning = undefined
        this.wakeWriters()
        // Work may have arrived while the loop was finishing.
        this.maybeScheduleBackground()
      })
    }
    // While closing, frozen memtables are still flushed, but a compaction starts
    // only for writers queued before close that wait on a full L0.
    if (this.compactRunning === undefined && this.compactionsAllowed() &&
      (this.manualQueue.length > 0 || pickCompaction(this.versions.current, this.levelOpts, this.versions.compactPointers) !== undefined)) {
      this.compactRunning = this.compactionLoop().finally(() => {
        this.compactRunning = undefined
        this.wakeWriters()
        if (this.compactionsAllowed()) this.maybeScheduleBackground()
      })
    }
  }

  private compactionsAllowed(): boolean {
    return this.closing === undefined || this.versions.current.levels[0]!.length >= this.opts.l0StopTrigger
  }

  /** Resolves when neither background lane is running. */
  private async backgroundIdle(): Promise<void> {
    while (this.flushRunning !== undefined || this.compactRunning !== undefined) {
      await Promise.all([this.flushRunning, this.compactRunning])
    }
  }

  /**
   * The flush lane. Tables are built one after another, oldest memtable
   * first; each table's fsync runs on the libuv pool while the next one is
   * built (the fsync was ~2 of the ~10 ms a 4 MiB flush took), and the
   * installs follow in memtable order, each after its own fsync.
   */
  private async flushLoop(): Promise<void> {
    let installed: Promise<void> = Promise.resolve()
    let failure: { error: unknown } | undefined
    try {
      for (;;) {
        if (failure !== undefined) throw failure.error
        if (this.bgError) break
        let imm: Immutable | undefined
        for (let i = this.imms.length - 1; i >= 0; i--) {
          if (this.imms[i]!.flushing !== true) {
            imm = this.imms[i]
            break
          }
        }
        if (imm === undefined) break
        imm.flushing = true
        const t0 = performance.now()
        const meta = await this.writeL0(imm.mem, false)
        const synced = syncFile(join(this.location, fileNames.table(meta.fileNumber)))
        // Awaited in order below; a failure before then is not unhandled.
        synced.catch(() => undefined)
        const before = installed
        const taken = imm
        installed = (async () => {
          await before
          await synced
          await this.installFlush(taken, meta, t0)
        })()
        installed.catch((e: unknown) => {
          failure ??= { error: e }
        })
      }
    } catch (e) {
      failure ??= { error: e }
    }
    // Installs already under way finish (or fail) before the lane counts as idle.
    await installed.catch(() => undefined)
    if (failure !== undefined) this.failBackground(failure.error)
  }

  /** Manual compactions first, then the picker's choice, until nothing is due. */
  private async compactionLoop(): Promise<void> {
    try {
      while (!this.bgError && this.compactionsAllowed()) {
        if (this.manualQueue.length > 0) {
          const req = this.manualQueue[0]!
          try {
            const plan = planManual(this.versions.current, req.level, req.lo, req.hi)
            if (plan) await this.runCompaction(plan)
            this.manualQueue.shift()
            req.resolve()
          } catch (e) {
            this.manualQueue.shift()
            req.reject(e as Error)
            throw e
          }
        } else {
          const plan = pickCompaction(this.versions.current, this.levelOpts, this.versions.compactPointers)
          if (plan === undefined) return
          await this.runCompaction(plan)
        }
        this.wakeWriters()
      }
    } catch (e) {
      this.failBackground(e)
    }
  }

  private failBackground(e: unknown): void {
    this.setBackgroundError(e instanceof LsmError ? e : ioError(e, 'background job failed'))
    for (const r of this.manualQueue.splice(0)) r.reject(this.bgError!)
  }

  /**
   * Installs the table of the oldest frozen memtable: one manifest edit (the
   * table, and the next WAL still needed as the log number), then the read
   * state without that memtable.
   */
  private async installFlush(imm: Immutable, meta: FileMeta, t0: number): Promise<void> {
    if (this.imms[this.imms.length - 1] !== imm) throw new Error('flushes must install oldest first')
    // The next WAL after this memtable's becomes the oldest one still needed.
    const nextWal = this.imms.length >= 2 ? this.imms[this.imms.length - 2]!.walNumber : this.wal.fileNumber
    await this.versions.preopen([meta.fileNumber])
    await this.versions.logAndApply({ addedFiles: [meta], logNumber: nextWal }, imm.lastSeq)
    this.versions.pendingOutputs.delete(meta.fileNumber)
    this.imms.pop()
    this.refreshState()
    // Readers still on an older state hold the memtable through their read
    // views; this handle's share goes now (see CoreMemtable.release).
    imm.mem.release?.()
    this.collectGarbage()
    const ms = performance.now() - t0
    this.statsData.recordFlush(meta.fileSize, ms)
    if (this.listenerCount('flush') > 0) this.emit('flush', { fileNumber: meta.fileNumber, bytes: meta.fileSize, durationMs: ms })
    this.wakeWriters()
    // A new L0 table may call for a compaction.
    this.maybeScheduleBackground()
  }

  private smallestSnapshot(): number {
    let s = this.lastSeq
    for (const snap of this.snapshots) if (snap.sequence < s) s = snap.sequence
    return s
  }

  private async runCompaction(plan: CompactionPlan): Promise<void> {
    const t0 = performance.now()
    const { versions } = this
    const outLevel = plan.level + 1
    const deleted = [...plan.inputs.map(f => ({ level: plan.level, fileNumber: f.fileNumber })), ...plan.next.map(f => ({ level: outLevel, fileNumber: f.fileNumber }))]
    const cp = [{ level: plan.level, key: plan.inputs[plan.inputs.length - 1]!.largest }]
    if (plan.trivialMove) {
      const moved = plan.inputs.map(f => ({ ...f, level: outLevel }))
      await versions.logAndApply({ compactPointers: cp, deletedFiles: deleted, addedFiles: moved }, this.lastSeq)
      this.statsData.recordCompaction(0, 0, performance.now() - t0, true)
      this.refreshState()
      return
    }
    const inputBytes = [...plan.inputs, ...plan.next].reduce((n, f) => n + f.fileSize, 0)
    const maxParts = this.opts.maxSubcompactions === 'auto' ? (this.engine === 'native' ? 2 : 1) : this.opts.maxSubcompactions
    const parts = splitPlan(plan, maxParts, 4 * this.opts.targetFileSize).map(part => {
      const outCount = compactionOutputBound(part.files.map(f => versions.table(f.fileNumber).properties), this.opts.targetFileSize)
      return { ...part, outNumbers: Array.from({ length: outCount }, () => versions.newFileNumber()) }
    })
    const outNumbers = parts.flatMap(p => p.outNumbers)
    for (const n of outNumbers) versions.pendingOutputs.add(n)
    try {
      check('compact', join(this.location, fileNames.table(outNumbers[0]!)))
      // Dead tables to write the outputs over: about as many as each part
      // is expected to write (its input bytes in target-size tables), never
      // more than it has names for.
      const recycle = parts.map(part => versions.takeRecycled(Math.min(part.outNumbers.length,
        Math.ceil(part.files.reduce((n, f) => n + f.fileSize, 0) / this.opts.targetFileSize) + 1)))
      const smallestSnapshot = this.smallestSnapshot()
      // The parts merge in parallel (each native job on a thread of its own);
      // their outputs, in key order, replace the inputs in one manifest edit.
      const settled = await Promise.allSettled(parts.map((part, i) => this.core.compact({
        inputs: part.files.map(f => join(this.location, fileNames.table(f.fileNumber))),
        outputs: part.outNumbers.map(n => join(this.location, fileNames.table(n))),
        smallestSnapshot,
        dropDeletes: plan.dropDeletes,
        targetFileSize: this.opts.targetFileSize,
        tableOptions: this.tableOptions,
        ...(part.start && { start: part.start }),
        ...(part.end && { end: part.end }),
        ...(recycle[i]!.length > 0 && { recycle: recycle[i] }),
      })))
      // Files a part did not reach go back to the pool; a failed part's are
      // deleted, as what it did with them is unknown.
      settled.forEach((r, i) => versions.settleRecycled(recycle[i]!, r.status === 'fulfilled' ? r.value.length : undefined))
      const failed = settled.find(r => r.status === 'rejected')
      // A failed job removed its own outputs; the tables the other parts
      // finished are in no version, so the collectGarbage below deletes them.
      if (failed !== undefined) throw failed.reason
      const outputs = settled.flatMap((r, i) => (r as PromiseFulfilledResult<CompactionOutput[]>).value.map((o, j) => ({ ...o, fileNumber: parts[i]!.outNumbers[j]! })))
      const added: FileMeta[] = outputs.map(o => ({
        level: outLevel, fileNumber: o.fileNumber, fileSize: o.fileSize, minSeq: o.properties.minSeq, maxSeq: o.properties.maxSeq,
        smallest: o.properties.smallest, largest: o.properties.largest,
      }))
      await versions.preopen(added.map(f => f.fileNumber))
      await versions.logAndApply({ compactPointers: cp, deletedFiles: deleted, addedFiles: added }, this.lastSeq)
      const outBytes = added.reduce((n, f) => n + f.fileSize, 0)
      this.statsData.recordCompaction(inputBytes, outBytes, performance.now() - t0, false, parts.length)
      this.refreshState()
      if (this.listenerCount('compaction') > 0) {
        this.emit('compaction', { level: plan.level, reason: plan.reason, inputFiles: plan.inputs.length + plan.next.length, outputFiles: added.length, parts: parts.length, bytesRead: inputBytes, bytesWritten: outBytes, durationMs: performance.now() - t0 })
      }
    } finally {
      for (const n of outNumbers) versions.pendingOutputs.delete(n)
      this.collectGarbage()
    }
  }

  private collectGarbage(): void {
    const keep = new Set<number>([this.wal.fileNumber, ...this.imms.map(i => i.walNumber)])
    // Failing to delete a file loses nothing; report it and go on.
    const report = (e: unknown) => {
      if (this.listenerCount('error') > 0) this.emit('error', e)
    }
    try {
      const { deleted } = this.versions.collectGarbage(keep, report)
      this.statsData.filesDeleted += deleted.length
    } catch (e) {
      report(e)
    }
  }

  /**
   * Compacts the key range [start, end] (user keys; omitted = unbounded):
   * flushes the memtable, then merges the range down level by level, so that
   * overwritten and deleted data in it is dropped. Resolves once the replaced
   * table files are deleted (except those a snapshot or iterator still pins).
   */
  async compactRange(start?: Bytes, end?: Bytes): Promise<void> {
    this.checkOpen()
    const lo = start === undefined ? undefined : toKey(start)
    const hi = end === undefined ? undefined : toKey(end)
    await this.queue.idle()
    if (this.mem.entryCount > 0) {
      await this.queue.exclusive(async () => {
        if (this.mem.entryCount > 0) await this.rotateMemtable()
      })
    }
    // Flushes run on their own lane: let every frozen memtable reach L0 first,
    // so the compactions below include its data.
    while (this.imms.length > 0) {
      if (this.bgError) throw this.bgError
      await new Promise<void>(r => {
        this.progressWaiters.push(r)
        this.maybeScheduleBackground()
      })
    }
    let deepest = 0
    this.versions.current.levels.forEach((l, i) => { if (l.length > 0) deepest = i })
    for (let level = 0; level < Math.max(1, deepest); level++) {
      await new Promise<void>((resolve, reject) => {
        this.manualQueue.push({ level, ...(lo && { lo }), ...(hi && { hi }), resolve, reject })
        this.maybeScheduleBackground()
      })
    }
    // The replaced files are unlinked in the background: resolve once their
    // space is given back (files a snapshot or iterator pins stay), those
    // kept for recycling included.
    await this.versions.emptyRecyclePool()
  }

  // ----------------------------------------------------------------- reads

  private readAt(options: ReadOptions | undefined): { state: ReadState; seq: number } {
    const snap = options?.snapshot
    if (snap !== undefined) {
      if (!(snap instanceof Snapshot) || snap.isReleased) throw invalidArgument('snapshot is not a live snapshot of this database')
      return { state: snap.state, seq: snap.sequence }
    }
    return { state: this.state, seq: this.lastSeq }
  }

  /**
   * The value of `key`, or undefined when absent. The read itself is
   * synchronous; its promise resolves at once, or on the next turn of the
   * event loop when reads have kept it from turning for 2 ms (see `turn.ts`).
   */
  get(key: Bytes, options?: ReadOptions): Promise<Buffer | undefined> {
    if (this.batcher.batching) return this.getBatched(key, options)
    // readShared's work, without a closure per read.
    let value: Buffer | undefined
    try {
      value = this.getSync(key, options)
    } catch (e) {
      return Promise.reject(e)
    }
    this.batcher.count()
    return shareTurn(value)
  }

  /** {@link get} through a batch read on the thread pool (see `read-batcher.ts`). */
  private getBatched(key: Bytes, options?: ReadOptions): Promise<Buffer | undefined> {
    let state: ReadState
    let seq: number
    let k: Uint8Array
    try {
      this.checkOpen()
      k = toKey(key)
      state = this.state
      seq = this.lastSeq
      if (options !== undefined) ({ state, seq } = this.readAt(options))
    } catch (e) {
      return Promise.reject(e)
    }
    if (state.view.getBatch === undefined) return readShared(() => this.getSync(key, options))
    this.statsData.gets++
    // Settles with `valueOf` of the lookup, or the read's error as an LsmError.
    return this.batcher.read(state, k, seq)
  }

  /** Synchronous {@link get}: the read resolves in one core call without I/O waits beyond page reads. */
  getSync(key: Bytes, options?: ReadOptions): Buffer | undefined {
    this.checkOpen()
    const k = toKey(key)
    let state = this.state
    let seq = this.lastSeq
    if (options !== undefined) ({ state, seq } = this.readAt(options))
    let r
    try {
      r = state.view.get(k, seq)
    } catch (e) {
      throw ioError(e, 'read failed')
    }
    this.statsData.gets++
    return valueOf(r)
  }

  /** Values of many keys (undefined where absent), in order. */
  async getMany(keys: readonly Bytes[], options?: ReadOptions): Promise<(Buffer | undefined)[]> {
    if (!Array.isArray(keys)) throw invalidArgument('getMany takes an array of keys')
    return shareTurn(keys.map(k => this.getSync(k, options)))
  }

  /** True when `key` is present. */
  async has(key: Bytes, options?: ReadOptions): Promise<boolean> {
    return (await this.get(key, options)) !== undefined
  }

  /** A consistent view for later reads; release it when done. */
  snapshot(): Snapshot {
    this.checkOpen()
    const s = new Snapshot(this.lastSeq, this.state.pin(), (x, freed) => {
      this.snapshots.delete(x)
      if (freed && !this.closed) this.collectGarbage()
    })
    this.snapshots.add(s)
    return s
  }

  /** Iterates `[key, value]` in key order within the given range. */
  iterator(options: IteratorOptions = {}): DBIterator {
    this.checkOpen()
    if (typeof options !== 'object' || options === null) throw invalidArgument('iterator options must be an object')
    const { state, seq } = this.readAt(options.snapshot !== undefined ? { snapshot: options.snapshot as Snapshot } : undefined)
    const co: CursorOptions = { snapshotSeq: seq, reverse: options.reverse === true }
    if (options.gte !== undefined) co.lower = toKey(options.gte)
    else if (options.gt !== undefined) {
      co.lower = toKey(options.gt)
      co.lowerExclusive = true
    }
    if (options.lte !== undefined) {
      co.upper = toKey(options.lte)
      co.upperInclusive = true
    } else if (options.lt !== undefined) co.upper = toKey(options.lt)
    const limit = options.limit ?? -1
    if (typeof limit !== 'number' || Number.isNaN(limit)) throw invalidArgument('limit must be a number')
    state.pin()
    let it: DBIterator
    try {
      it = new DBIterator(state, co, limit === Infinity ? -1 : limit, (x, freed) => {
        this.iterators.delete(x)
        if (freed && !this.closed) this.collectGarbage()
      })
    } catch (e) {
      if (state.unpin() && !this.closed) this.collectGarbage()
      throw e
    }
    this.iterators.add(it)
    return it
  }

  /** Deletes every key in the range (all keys when no range is given), atomically per batch of 10,000. */
  async clear(options: Omit<IteratorOptions, 'snapshot'> = {}): Promise<void> {
    const it = this.iterator({ ...options })
    try {
      for (;;) {
        const entries = await it.nextv(10_000)
        if (entries.length === 0) break
        await this.batch(entries.map(([key]) => ({ type: 'del' as const, key })))
      }
    } finally {
      it.close()
    }
  }

  /**
   * Checks every checksum of every live file (tables, WALs, MANIFEST, CURRENT)
   * and reports per file. Reads the files from disk; the database stays usable.
   */
  async verify(): Promise<VerifyReport> {
    this.checkOpen()
    return verifyLocked(this.location)
  }

  // ----------------------------------------------------------------- stats

  /** Numbers that show the shape and health of the tree. */
  stats(): Stats {
    const v = this.versions.current
    return this.statsData.snapshot({
      engine: this.engine,
      levels: v.levels.map((l, i) => ({
        level: i, files: l.length, bytes: v.levelBytes(i),
        ...(i > 0 && i < v.levels.length - 1 && { maxBytes: maxBytesForLevel(this.levelOpts, i) }),
      })),
      memtable: { bytes: this.mem.approximateSize, entries: this.mem.entryCount, limit: this.memtableSize },
      blockCacheBytes: this.caches.blockCacheUsage,
      mappedTables: this.caches.mappedTables,
      immutableMemtables: this.imms.length,
      lastSequence: this.lastSeq,
      snapshots: this.snapshots.size,
      iterators: this.iterators.size,
      pinnedFiles: this.versions.pinnedOnlyFiles(),
      writeGroups: this.queue.groups,
      writes: this.queue.writes,
      readBatches: { reads: this.batcher.stats.batchedReads, batches: this.batcher.stats.batches, trials: this.batcher.stats.trials, trialsWon: this.batcher.stats.trialsWon },
      backgroundError: this.bgError?.message,
    })
  }

  // ----------------------------------------------------------------- close

  /** Waits for queued writes and running background jobs, then releases everything. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    // Writes deferred to the next turn were issued before close: let them queue.
    while (this.deferring !== undefined) await this.deferring
    await this.queue.idle()
    await this.batcher.idle()
    await this.backgroundIdle()
    for (const r of this.manualQueue.splice(0)) r.reject(new LsmError('CLOSED', 'database closed before the compaction ran'))
    for (const it of [...this.iterators]) it.close()
    for (const s of [...this.snapshots]) s.release()
    this.closed = true
    // The current state's read view holds every live table and memtable:
    // let go of it now, so that closing the tables below unmaps them and
    // closes their descriptors at once, not when the garbage collector
    // frees this object (a deleted table's disk space stays in use while
    // mapped, and freeing it later lands in someone else's fsync).
    this.state.unpin()
    await this.wal.settle()
    const spare = this.spare
    if (spare !== undefined) {
      this.spare = undefined
      await spare.job
      try {
        unlinkSync(spare.path)
      } catch {
        // Deleted at the next open.
      }
    }
    await this.versions.emptyRecyclePool(true)
    try {
      this.wal.close()
    } finally {
      this.versions.close()
      this.lock.release()
      await this.caches.close()
    }
  }
}
