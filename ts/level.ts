/**
 * {@link LsmLevel}: lsm-rust as an [abstract-level](https://github.com/Level/abstract-level)
 * database, so that it plugs into the Level ecosystem (sublevels, encodings,
 * hooks, `level-*` modules) like `classic-level` does.
 *
 * The adapter is built on the public {@link DB} API only:
 * - reads (`get`, `getSync`, `getMany`, `has`, `hasMany`) resolve in one
 *   synchronous core call, so each reads the state of the moment it was called
 *   (implicit snapshots);
 * - iterators take a {@link Snapshot} when created and pull entries from a
 *   {@link DBIterator} over it, so `seek()` works also after the end was reached;
 * - `db.snapshot()` gives explicit snapshots, usable by every read method;
 * - writes map 1:1 to `put`/`del`/`batch` (atomic, group-committed);
 * - the engine's `flush`, `compaction`, `stall` and `error` events are re-emitted.
 */
import { Buffer } from 'node:buffer'
import {
  AbstractIterator, AbstractKeyIterator, AbstractLevel, AbstractSnapshot, AbstractValueIterator,
  type AbstractDatabaseOptions, type AbstractOpenOptions,
} from 'abstract-level'
import { DB, type BatchOp, type Bytes, type Snapshot } from './db.js'
import type { DBIterator } from './iterator.js'
import { shareTurn } from './turn.js'
import { LsmError } from './errors.js'
import { DEFAULTS, type OpenOptions } from './options.js'
import type { Stats } from './stats.js'

/** Options of `new LsmLevel(location, options)`: Level's (encodings, `passive`) plus every {@link OpenOptions} field (`engine`, sizes, triggers). */
export interface LsmLevelOptions<K = string, V = string> extends AbstractDatabaseOptions<K, V>, Omit<OpenOptions, 'createIfMissing' | 'errorIfExists'> {}

/** Options of {@link LsmLevel.open}: Level's open options plus {@link OpenOptions}. */
export interface LsmLevelOpenOptions extends AbstractOpenOptions, Omit<OpenOptions, 'createIfMissing' | 'errorIfExists'> {}

/** Options of a write through {@link LsmLevel}: `sync` waits for stable storage. */
export interface LsmLevelWriteOptions {
  /** Resolve only once the write is on stable storage (fsync). Default false. */
  sync?: boolean
}

/** The encodings the private API handles natively (others are transcoded to these). */
type Format = 'utf8' | 'buffer' | 'view'

/** An error with a Level error code; the lsm-rust {@link LsmError} is its `cause`. */
export class LevelError extends Error {
  /** A Level error code such as `LEVEL_LOCKED` or `LEVEL_CORRUPTION`. */
  readonly code: string

  /** Wraps `cause` under a Level `code`. */
  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined)
    this.name = 'LevelError'
    this.code = code
  }
}

const LEVEL_CODES: Record<LsmError['code'], string> = {
  LOCKED: 'LEVEL_LOCKED',
  CLOSED: 'LEVEL_DATABASE_NOT_OPEN',
  NOT_FOUND: 'LEVEL_NOT_FOUND',
  INVALID_ARGUMENT: 'LEVEL_INVALID_ARGUMENT',
  CORRUPTION: 'LEVEL_CORRUPTION',
  IO_ERROR: 'LEVEL_IO_ERROR',
  NOT_SUPPORTED: 'LEVEL_NOT_SUPPORTED',
}

/** Maps an {@link LsmError} to a {@link LevelError} with the matching Level code; anything else passes through. */
export function toLevelError(e: unknown): unknown {
  if (!(e instanceof LsmError)) return e
  let code = LEVEL_CODES[e.code]
  if (e.code === 'INVALID_ARGUMENT') {
    if (/^key\b/.test(e.message)) code = 'LEVEL_INVALID_KEY'
    else if (/^value\b/.test(e.message)) code = 'LEVEL_INVALID_VALUE'
  }
  return new LevelError(code, e.message, e)
}

function guard<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    throw toLevelError(e)
  }
}

async function guardAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw toLevelError(e)
  }
}

/** Output in the format the private API was asked for. */
function decode(b: Buffer, format: Format | string | undefined): string | Buffer | Uint8Array {
  if (format === 'utf8') return b.toString('utf8')
  if (format === 'view') return new Uint8Array(b.buffer, b.byteOffset, b.length)
  return b
}

const OPEN_OPTION_NAMES = Object.keys(DEFAULTS) as (keyof OpenOptions)[]
/** Open options abstract-level itself knows; they stay with the Level options. */
const LEVEL_OPEN_OPTIONS = new Set(['createIfMissing', 'errorIfExists'])

/** Splits constructor options: engine options are kept by LsmLevel, the rest goes to abstract-level. */
function splitOptions(o: object | undefined): { levelOptions: Record<string, unknown>; engineOptions: OpenOptions } {
  const levelOptions: Record<string, unknown> = {}
  const engineOptions: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o ?? {})) {
    if ((OPEN_OPTION_NAMES as string[]).includes(k) && !LEVEL_OPEN_OPTIONS.has(k)) engineOptions[k] = v
    else levelOptions[k] = v
  }
  return { levelOptions, engineOptions: engineOptions as OpenOptions }
}

function pickOpenOptions(o: Record<string, unknown>): OpenOptions {
  const out: Record<string, unknown> = {}
  for (const k of OPEN_OPTION_NAMES) if (o[k] !== undefined) out[k] = o[k]
  return out as OpenOptions
}

/** Private-API options of reads (already encoded by abstract-level). */
interface PrivateReadOptions {
  keyEncoding: Format
  valueEncoding: Format
  snapshot?: unknown
}

/** Private-API options of iterators and `clear` (range already encoded). */
interface PrivateRangeOptions {
  gt?: Bytes
  gte?: Bytes
  lt?: Bytes
  lte?: Bytes
  reverse: boolean
  limit: number
  keys?: boolean
  values?: boolean
  keyEncoding: Format
  valueEncoding?: Format
  snapshot?: unknown
}

/** A private-API batch operation (encoded, with per-operation encodings). */
interface PrivateBatchOp {
  type: 'put' | 'del'
  key: Bytes
  value?: Bytes
}

/** A DB snapshot shared by an explicit snapshot and the iterators reading from it. */
class SnapshotRef {
  private refs = 1
  constructor(readonly snapshot: Snapshot) {}
  acquire(): this {
    this.refs++
    return this
  }
  release(): void {
    if (--this.refs === 0) this.snapshot.release()
  }
}

// The published type declares no constructor arguments; the class takes `{ owner }`.
const SnapshotBase = AbstractSnapshot as unknown as new (options: { owner: unknown }) => AbstractSnapshot

/** An explicit snapshot of an {@link LsmLevel} (from `db.snapshot()`): pass it as `{ snapshot }` to reads. Close it when done. */
export class LsmLevelSnapshot extends SnapshotBase {
  /** @internal */
  readonly handle: SnapshotRef

  /** @internal */
  constructor(options: { owner: unknown }, snapshot: Snapshot) {
    super(options)
    this.handle = new SnapshotRef(snapshot)
  }

  /** @internal */
  async _close(): Promise<void> {
    this.handle.release()
  }
}

function snapshotOf(o: { snapshot?: unknown }): Snapshot | undefined {
  const s = o.snapshot
  if (s === undefined || s === null) return undefined
  if (!(s instanceof LsmLevelSnapshot)) throw new LevelError('LEVEL_NOT_SUPPORTED', 'snapshot was not created by an LsmLevel database')
  return s.handle.snapshot
}

/**
 * The read side of every iterator kind: a {@link DBIterator} over a snapshot
 * taken at creation. A DBIterator releases itself at its end; a later `seek`
 * starts a new one on the same snapshot, so it still sees the same data.
 */
class RangeCursor {
  private it: DBIterator
  private readonly snap: SnapshotRef

  constructor(private readonly db: DB, private readonly o: PrivateRangeOptions) {
    const given = o.snapshot as LsmLevelSnapshot | undefined
    if (given !== undefined && given !== null) {
      if (!(given instanceof LsmLevelSnapshot)) throw new LevelError('LEVEL_NOT_SUPPORTED', 'snapshot was not created by an LsmLevel database')
      // ref() throws LEVEL_SNAPSHOT_NOT_OPEN when the snapshot is closed or closing.
      given.ref()
      given.unref()
      this.snap = given.handle.acquire()
    } else {
      this.snap = new SnapshotRef(guard(() => db.snapshot()))
    }
    try {
      this.it = this.start()
    } catch (e) {
      this.snap.release()
      throw e
    }
  }

  private start(): DBIterator {
    const { gt, gte, lt, lte, reverse } = this.o
    return guard(() => this.db.iterator({
      ...(gt !== undefined && { gt }), ...(gte !== undefined && { gte }),
      ...(lt !== undefined && { lt }), ...(lte !== undefined && { lte }),
      reverse, snapshot: this.snap.snapshot,
    }))
  }

  /** Up to `n` entries; empty at the end. */
  take(n: number): [Buffer, Buffer][] {
    const out: [Buffer, Buffer][] = []
    const it = this.it
    guard(() => {
      while (out.length < n && !it.isClosed) {
        const e = it.nextSync()
        if (e === undefined) break
        out.push(e)
      }
    })
    return out
  }

  seek(target: Bytes): void {
    const t = typeof target === 'string' ? Buffer.from(target, 'utf8') : target
    if (this.it.isClosed) this.it = this.start()
    guard(() => this.it.seek(t))
  }

  close(): void {
    this.it.close()
    this.snap.release()
  }
}

const ALL_CHUNK = 1000

/** Everything left in a cursor (up to `room` entries), mapped: the body of every `_all`. */
function takeAll<T>(cursor: RangeCursor, room: number, map: (e: [Buffer, Buffer]) => T): T[] {
  const out: T[] = []
  for (;;) {
    const n = Math.min(ALL_CHUNK, room - out.length)
    if (n <= 0) break
    const chunk = cursor.take(n)
    if (chunk.length === 0) break
    for (const e of chunk) out.push(map(e))
  }
  return out
}

/** Entry iterator of {@link LsmLevel} (`db.iterator()`). */
export class LsmLevelIterator<K = unknown, V = unknown> extends AbstractIterator<LsmLevel<K, V>, K, V> {
  private readonly cursor: RangeCursor
  private readonly keyFormat: Format
  private readonly valueFormat: Format | undefined
  private readonly wantKeys: boolean
  private readonly wantValues: boolean

  /** @internal */
  constructor(db: LsmLevel<K, V>, inner: DB, options: PrivateRangeOptions) {
    const cursor = new RangeCursor(inner, options)
    super(db, options as never)
    this.cursor = cursor
    this.keyFormat = options.keyEncoding
    this.valueFormat = options.valueEncoding
    this.wantKeys = options.keys !== false
    this.wantValues = options.values !== false
  }

  private entry(e: [Buffer, Buffer]): [unknown, unknown] {
    return [this.wantKeys ? decode(e[0], this.keyFormat) : undefined, this.wantValues ? decode(e[1], this.valueFormat) : undefined]
  }

  /** @internal */
  async _next(): Promise<[unknown, unknown] | undefined> {
    const e = this.cursor.take(1)[0]
    return shareTurn(e === undefined ? undefined : this.entry(e))
  }

  /** @internal */
  async _nextv(size: number): Promise<[unknown, unknown][]> {
    return shareTurn(this.cursor.take(size).map(e => this.entry(e)))
  }

  /** @internal */
  async _all(): Promise<[unknown, unknown][]> {
    return shareTurn(takeAll(this.cursor, this.limit - this.count, e => this.entry(e)))
  }

  /** @internal */
  _seek(target: Bytes): void {
    this.cursor.seek(target)
  }

  /** @internal */
  async _close(): Promise<void> {
    this.cursor.close()
  }
}

/** Key iterator of {@link LsmLevel} (`db.keys()`). */
export class LsmLevelKeyIterator<K = unknown> extends AbstractKeyIterator<LsmLevel<K, unknown>, K> {
  private readonly cursor: RangeCursor
  private readonly keyFormat: Format

  /** @internal */
  constructor(db: LsmLevel<K, unknown>, inner: DB, options: PrivateRangeOptions) {
    const cursor = new RangeCursor(inner, options)
    super(db, options as never)
    this.cursor = cursor
    this.keyFormat = options.keyEncoding
  }

  /** @internal */
  async _next(): Promise<unknown> {
    const e = this.cursor.take(1)[0]
    return shareTurn(e === undefined ? undefined : decode(e[0], this.keyFormat))
  }

  /** @internal */
  async _nextv(size: number): Promise<unknown[]> {
    return shareTurn(this.cursor.take(size).map(e => decode(e[0], this.keyFormat)))
  }

  /** @internal */
  async _all(): Promise<unknown[]> {
    return shareTurn(takeAll(this.cursor, this.limit - this.count, e => decode(e[0], this.keyFormat)))
  }

  /** @internal */
  _seek(target: Bytes): void {
    this.cursor.seek(target)
  }

  /** @internal */
  async _close(): Promise<void> {
    this.cursor.close()
  }
}

/** Value iterator of {@link LsmLevel} (`db.values()`). */
export class LsmLevelValueIterator<K = unknown, V = unknown> extends AbstractValueIterator<LsmLevel<K, V>, K, V> {
  private readonly cursor: RangeCursor
  private readonly valueFormat: Format | undefined

  /** @internal */
  constructor(db: LsmLevel<K, V>, inner: DB, options: PrivateRangeOptions) {
    const cursor = new RangeCursor(inner, options)
    super(db, options as never)
    this.cursor = cursor
    this.valueFormat = options.valueEncoding
  }

  /** @internal */
  async _next(): Promise<unknown> {
    const e = this.cursor.take(1)[0]
    return shareTurn(e === undefined ? undefined : decode(e[1], this.valueFormat))
  }

  /** @internal */
  async _nextv(size: number): Promise<unknown[]> {
    return shareTurn(this.cursor.take(size).map(e => decode(e[1], this.valueFormat)))
  }

  /** @internal */
  async _all(): Promise<unknown[]> {
    return shareTurn(takeAll(this.cursor, this.limit - this.count, e => decode(e[1], this.valueFormat)))
  }

  /** @internal */
  _seek(target: Bytes): void {
    this.cursor.seek(target)
  }

  /** @internal */
  async _close(): Promise<void> {
    this.cursor.close()
  }
}

/** Engine events re-emitted by {@link LsmLevel}. */
const FORWARDED_EVENTS = ['flush', 'compaction', 'stall'] as const

/** Keys deleted per atomic batch by `clear()`. */
const CLEAR_BATCH = 10_000

/**
 * lsm-rust as an abstract-level database.
 *
 * ```ts
 * import { LsmLevel } from 'lsm-rust'
 * const db = new LsmLevel('./my-db', { engine: 'auto', valueEncoding: 'json' })
 * await db.put('a', { x: 1 })
 * for await (const [k, v] of db.iterator({ gte: 'a' })) console.log(k, v)
 * await db.close()
 * ```
 *
 * Besides the Level API it has {@link LsmLevel.compactRange}, {@link LsmLevel.stats}
 * and {@link LsmLevel.engine}, and emits the engine's `flush`, `compaction`,
 * `stall` and `error` events. Errors carry Level codes (`LEVEL_LOCKED`,
 * `LEVEL_CORRUPTION`, `LEVEL_IO_ERROR`, ...) with the lsm-rust {@link LsmError}
 * as their `cause`.
 */
export class LsmLevel<KDefault = string, VDefault = string> extends AbstractLevel<string | Buffer | Uint8Array, KDefault, VDefault> {
  private readonly dir: string
  /** Engine options given to the constructor (Level's own options go to abstract-level). */
  private readonly engineOptions: OpenOptions
  private inner: DB | undefined
  private readonly forwarders = new Map<string, (...args: unknown[]) => void>()

  /**
   * @param location directory of the database (created when missing, unless `createIfMissing: false`)
   * @param options encodings, `engine` and every other {@link OpenOptions} field
   */
  constructor(location: string, options?: LsmLevelOptions<KDefault, VDefault>) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError("The first argument 'location' must be a non-empty string")
    }
    const { levelOptions, engineOptions } = splitOptions(options)
    super({
      encodings: { buffer: true, view: true, utf8: true },
      permanence: true,
      seek: true,
      implicitSnapshots: true,
      explicitSnapshots: true,
      has: true,
      getSync: true,
      createIfMissing: true,
      errorIfExists: true,
      additionalMethods: { compactRange: true, stats: true },
      events: { flush: true, compaction: true, stall: true, error: true },
    } as never, levelOptions as AbstractDatabaseOptions<KDefault, VDefault>)
    this.dir = location
    this.engineOptions = engineOptions
  }

  /** The directory passed to the constructor. */
  get location(): string {
    return this.dir
  }

  /** Which core runs the open database (`'native'` or `'ts'`); undefined while not open. */
  get engine(): 'native' | 'ts' | undefined {
    return this.inner?.engine
  }

  private get db(): DB {
    const db = this.inner
    if (db === undefined) throw new LevelError('LEVEL_DATABASE_NOT_OPEN', 'Database is not open')
    return db
  }

  /** @internal */
  async _open(options: Record<string, unknown>): Promise<void> {
    const db = await guardAsync(() => DB.open(this.dir, { ...this.engineOptions, ...pickOpenOptions(options) }))
    for (const name of FORWARDED_EVENTS) {
      const f = (...args: unknown[]) => {
        this.emit(name, ...args)
      }
      this.forwarders.set(name, f)
      db.on(name, f)
    }
    const onError = (e: unknown) => {
      if (this.listenerCount('error') > 0) this.emit('error', toLevelError(e))
    }
    this.forwarders.set('error', onError)
    db.on('error', onError)
    this.inner = db
  }

  /** @internal */
  async _close(): Promise<void> {
    const db = this.inner
    if (db === undefined) return
    await guardAsync(() => db.close())
    for (const [name, f] of this.forwarders) db.off(name, f)
    this.forwarders.clear()
    this.inner = undefined
  }

  /** @internal */
  _getSync(key: Bytes, options: PrivateReadOptions): unknown {
    const db = this.db
    return guard(() => {
      const snapshot = snapshotOf(options)
      const v = db.getSync(key, snapshot ? { snapshot } : undefined)
      return v === undefined ? undefined : decode(v, options.valueEncoding)
    })
  }

  /** @internal */
  async _get(key: Bytes, options: PrivateReadOptions): Promise<unknown> {
    return shareTurn(this._getSync(key, options))
  }

  /** @internal */
  async _getMany(keys: Bytes[], options: PrivateReadOptions): Promise<unknown[]> {
    const db = this.db
    return shareTurn(guard(() => {
      const snapshot = snapshotOf(options)
      const ro = snapshot ? { snapshot } : undefined
      return keys.map(k => {
        const v = db.getSync(k, ro)
        return v === undefined ? undefined : decode(v, options.valueEncoding)
      })
    }))
  }

  /** @internal */
  async _has(key: Bytes, options: PrivateReadOptions): Promise<boolean> {
    const db = this.db
    return shareTurn(guard(() => {
      const snapshot = snapshotOf(options)
      return db.getSync(key, snapshot ? { snapshot } : undefined) !== undefined
    }))
  }

  /** @internal */
  async _hasMany(keys: Bytes[], options: PrivateReadOptions): Promise<boolean[]> {
    const db = this.db
    return shareTurn(guard(() => {
      const snapshot = snapshotOf(options)
      const ro = snapshot ? { snapshot } : undefined
      return keys.map(k => db.getSync(k, ro) !== undefined)
    }))
  }

  /** @internal */
  async _put(key: Bytes, value: Bytes, options: LsmLevelWriteOptions): Promise<void> {
    const db = this.db
    return guardAsync(() => db.put(key, value, { sync: options.sync === true }))
  }

  /** @internal */
  async _del(key: Bytes, options: LsmLevelWriteOptions): Promise<void> {
    const db = this.db
    return guardAsync(() => db.del(key, { sync: options.sync === true }))
  }

  /** @internal */
  async _batch(operations: PrivateBatchOp[], options: LsmLevelWriteOptions): Promise<void> {
    const db = this.db
    const ops: BatchOp[] = operations.map(op =>
      op.type === 'put' ? { type: 'put', key: op.key, value: op.value as Bytes } : { type: 'del', key: op.key })
    return guardAsync(() => db.batch(ops, { sync: options.sync === true }))
  }

  /** @internal */
  async _clear(options: PrivateRangeOptions): Promise<void> {
    const db = this.db
    const cursor = new RangeCursor(db, options)
    try {
      let left = options.limit < 0 ? Infinity : options.limit
      while (left > 0) {
        const entries = cursor.take(Math.min(CLEAR_BATCH, left))
        if (entries.length === 0) break
        left -= entries.length
        await guardAsync(() => db.batch(entries.map(([key]) => ({ type: 'del' as const, key }))))
      }
    } finally {
      cursor.close()
    }
  }

  /** @internal */
  _iterator(options: PrivateRangeOptions): LsmLevelIterator<KDefault, VDefault> {
    return new LsmLevelIterator(this, this.db, options)
  }

  /** @internal */
  _keys(options: PrivateRangeOptions): LsmLevelKeyIterator<KDefault> {
    return new LsmLevelKeyIterator(this as LsmLevel<KDefault, unknown>, this.db, options)
  }

  /** @internal */
  _values(options: PrivateRangeOptions): LsmLevelValueIterator<KDefault, VDefault> {
    return new LsmLevelValueIterator(this, this.db, options)
  }

  /** @internal */
  _snapshot(options: { owner: unknown }): LsmLevelSnapshot {
    const db = this.db
    return new LsmLevelSnapshot(options, guard(() => db.snapshot()))
  }

  /**
   * Compacts the key range [`start`, `end`] (omitted = unbounded) so that
   * overwritten and deleted data in it is dropped. Keys go through the key
   * encoding (the database's default, or `options.keyEncoding`).
   */
  async compactRange(start?: KDefault, end?: KDefault, options?: { keyEncoding?: string }): Promise<void> {
    if (this.status === 'opening') return this.deferAsync(() => this.compactRange(start, end, options))
    const db = this.db
    const enc = this.keyEncoding((options?.keyEncoding ?? undefined) as never) as unknown as { encode(x: unknown): Bytes }
    const lo = start === undefined ? undefined : enc.encode(start)
    const hi = end === undefined ? undefined : enc.encode(end)
    return guardAsync(() => db.compactRange(lo, hi))
  }

  /** The engine's numbers: levels, flushes, compactions, stalls, write amplification ({@link DB.stats}). */
  stats(): Stats {
    return this.db.stats()
  }
}
