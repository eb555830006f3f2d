/**
 * The native implementation of {@link Core}: thin wrappers over the Rust
 * addon (crates/lsm-node), one N-API call per write group, point read and
 * iterator chunk.
 *
 * Two encodings keep each crossing cheap:
 * - a point read writes `fixed64(seq × 256 + kind) ‖ value` into a slab this module
 *   carves values from (as Node's Buffer pool does) and returns a number; the value is
 *   a view of the slab. Creating any ArrayBuffer per read, in native code or with
 *   `slice`, costs about a microsecond, more than the read itself;
 * - a chunk is one buffer `count u32 ‖ done u32 ‖ (klen u32 ‖ vlen u32 ‖ key ‖ value)*`,
 *   split here into `Uint8Array` views of it without copying (measured several times
 *   faster than one buffer per key and value).
 *
 * Errors arrive as messages prefixed with the core's code (`CORRUPTION: <file>: …`,
 * `INVALID_ARGUMENT: …`, `IO_ERROR: …`) and leave here as {@link LsmError}s.
 */
import { Buffer } from 'node:buffer'
import { basename } from 'node:path'
import { markAsUntransferable } from 'node:worker_threads'
import { corruption, invalidArgument, LsmError } from '../errors.js'
import type {
  CacheOptions, Chunk, CompactionJob, CompactionOutput, Core, CoreCaches, CoreCursor, CoreMemtable, CoreReadView,
  CoreTable, CursorOptions, Lookup, TableOptions, WrittenTable,
} from './core.js'
import {
  nativeBinding, type NativeBinding, type NativeCachesHandle, type NativeCursorHandle, type NativeCursorOptions, type NativeMemtableHandle,
  type NativeProperties, type NativeReadViewHandle, type NativeReadViewReader, type NativeTableHandle,
} from './native-binding.js'
import { asBuffer } from './ts/coding.js'
import type { Kind } from './ts/internal-key.js'
import type { TableProperties } from './ts/sst.js'

const PREFIX = /^(CORRUPTION|INVALID_ARGUMENT|IO_ERROR): ([\s\S]*)$/

/**
 * Turns an error thrown by the addon into an {@link LsmError}. `files` are the
 * base names of the tables the call could have read: a corruption message
 * starting with one of them names that file.
 */
export function mapError(e: unknown, files: readonly string[] = []): unknown {
  if (e instanceof LsmError || !(e instanceof Error)) return e
  const m = PREFIX.exec(e.message)
  if (m === null) {
    // A panic caught at the boundary (napi-rs reports it as GenericFailure):
    // a bug in the core, surfaced as an error instead of an abort.
    if ((e as { code?: unknown }).code === 'GenericFailure') return new LsmError('IO_ERROR', `internal error in the native core: ${e.message}`, { cause: e })
    // Otherwise the error comes from N-API argument conversion: a wrong type.
    return new LsmError('INVALID_ARGUMENT', e.message, { cause: e })
  }
  const code = m[1] as 'CORRUPTION' | 'INVALID_ARGUMENT' | 'IO_ERROR'
  const rest = m[2]!
  if (code !== 'CORRUPTION') return new LsmError(code, rest, { cause: e })
  const file = files.find(f => rest.startsWith(`${f}: `)) ?? /^([^\s:]+): /.exec(rest)?.[1]
  return file === undefined ? new LsmError('CORRUPTION', `corruption: ${rest}`) : corruption(file, rest.slice(file.length + 2))
}

/** Calls `fn`, mapping addon errors (see {@link mapError}). */
function call<T>(fn: () => T, files?: readonly string[]): T {
  try {
    return fn()
  } catch (e) {
    throw mapError(e, files)
  }
}

const NOT_FOUND: Lookup = Object.freeze({ found: false })

/** A `Uint8Array` view of a buffer's bytes (no copy). */
function view(b: Buffer, start = 0, length = b.length - start): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + start, length)
}

/**
 * Point reads write into a slab and hand out views of it, so a read allocates no
 * backing memory. A value keeps its slab alive, as a pooled Buffer keeps Node's pool
 * alive; values too big for a slab get memory of their own.
 */
const SLAB_SIZE = 64 << 10
let slab = newSlab()
/** `slab.buffer`, kept: the `buffer` getter is a call into V8's runtime (~3% of a cached read). */
let slabBuffer: ArrayBufferLike = slab.buffer
let slabUsed = 0

/**
 * A new slab, untransferable (as Node's own Buffer pool is): a caller that hands a
 * value's ArrayBuffer to another thread in a transfer list would otherwise detach
 * the slab under every read that follows (they failed, "outOffset lies outside the
 * output buffer"). Such a transfer now copies the bytes or throws, per Node version.
 */
function newSlab(): Uint8Array {
  const s = new Uint8Array(SLAB_SIZE)
  markAsUntransferable(s.buffer)
  return s
}

/** Decodes the entry at `at` of `buf` (which starts at byte `base` of its ArrayBuffer `ab`): `fixed64(seq × 256 + kind) ‖ value` of `n` bytes. */
function entryAt(buf: Uint8Array, ab: ArrayBufferLike, at: number, n: number, base = 0): Lookup {
  const seq = (buf[at + 4]! | (buf[at + 5]! << 8) | (buf[at + 6]! << 16)) * 0x1000000 + (buf[at + 1]! | (buf[at + 2]! << 8) | (buf[at + 3]! << 16))
  // Slab bytes are written once and never reused, so the value is the caller's own.
  // A Buffer view: `DB.get` returns it as it is.
  return { found: true, kind: buf[at]! as Kind, seq, value: Buffer.from(ab, base + at + 8, n - 8), owned: true }
}

type PointReader = { get(userKey: Uint8Array, snapshotSeq: number, out: Uint8Array, outOffset: number): number }

/** A native point read (see NativeBinding) into the slab; `files` name tables for corruption reports. */
function pointRead(h: PointReader, key: Uint8Array, snapshotSeq: number, files?: readonly string[]): Lookup {
  try {
    // A key that is itself a value handed out from this slab is fine: the
    // native side copies a key lying in its output before writing there.
    let n = h.get(key, snapshotSeq, slab, slabUsed)
    if (n < -1) {
      if (-n > SLAB_SIZE / 4) {
        const own = new Uint8Array(-n)
        n = h.get(key, snapshotSeq, own, 0)
        return n < 0 ? NOT_FOUND : entryAt(own, own.buffer, 0, n)
      }
      slab = newSlab()
      slabBuffer = slab.buffer
      slabUsed = 0
      n = h.get(key, snapshotSeq, slab, 0)
    }
    if (n < 0) return NOT_FOUND
    const found = entryAt(slab, slabBuffer, slabUsed, n)
    slabUsed += (n + 7) & ~7
    return found
  } catch (e) {
    throw mapError(e, files)
  }
}

/** The answers of `readViewGetBatch` (see NativeBinding), one per key, values as views of `out`. */
function unpackBatch(out: Buffer, n: number, files: readonly string[]): (Lookup | Error)[] {
  const ab = out.buffer
  const base = out.byteOffset
  const bytes = new Uint8Array(ab, base, out.length)
  const results: (Lookup | Error)[] = new Array(n)
  let at = 0
  for (let i = 0; i < n; i++) {
    const len = out.readInt32LE(at)
    at += 4
    if (len >= 0) {
      results[i] = entryAt(bytes, ab, at, len, base)
      at += len
    } else if (len === -1) {
      results[i] = NOT_FOUND
    } else {
      const m = out.readUInt32LE(at)
      results[i] = mapError(new Error(out.toString('utf8', at + 4, at + 4 + m)), files) as Error
      at += 4 + m
    }
  }
  return results
}

function toProperties(p: NativeProperties): TableProperties {
  return {
    entryCount: p.entryCount, deletionCount: p.deletionCount, dataBlockCount: p.dataBlockCount,
    rawKeyBytes: p.rawKeyBytes, rawValueBytes: p.rawValueBytes, dataBytes: p.dataBytes,
    minSeq: p.minSeq, maxSeq: p.maxSeq, smallest: view(p.smallest), largest: view(p.largest),
  }
}

function asNative<T>(x: unknown, cls: abstract new (...args: never[]) => T, what: string): T {
  if (!(x instanceof cls)) throw new LsmError('INVALID_ARGUMENT', `${what} does not belong to the native core`)
  return x
}

class NativeMemtable implements CoreMemtable {
  constructor(readonly handle: NativeMemtableHandle) {}
  apply(group: Uint8Array): void {
    call(() => this.handle.apply(group))
  }
  async applyAsync(group: Uint8Array): Promise<void> {
    try {
      await this.handle.applyAsync(group)
    } catch (e) {
      throw mapError(e)
    }
  }
  get(userKey: Uint8Array, snapshotSeq: number): Lookup {
    return pointRead(this.handle, userKey, snapshotSeq)
  }
  get approximateSize(): number {
    return call(() => this.handle.approximateSize)
  }
  get entryCount(): number {
    return call(() => this.handle.entryCount)
  }
  release(): void {
    call(() => this.handle.release())
  }
}

/** One database's block cache and descriptor pool, in Rust. */
class NativeCaches implements CoreCaches {
  constructor(readonly handle: NativeCachesHandle) {}
  get blockCacheUsage(): number {
    return this.handle.blockCacheUsage
  }
  get mappedTables(): number {
    return this.handle.mappedTables
  }
  async close(): Promise<void> {
    this.handle.close()
  }
}

class NativeTable implements CoreTable {
  readonly fileSize: number
  readonly properties: TableProperties
  /** Base name, as corruption reports name it. */
  readonly name: string
  constructor(readonly handle: NativeTableHandle, path: string) {
    this.name = basename(path)
    this.fileSize = handle.fileSize
    this.properties = toProperties(handle.properties())
  }
  get(userKey: Uint8Array, snapshotSeq: number): Lookup {
    return pointRead(this.handle, userKey, snapshotSeq, [this.name])
  }
  close(): void {
    this.handle.close()
  }
}

class NativeCursor implements CoreCursor {
  constructor(private readonly handle: NativeCursorHandle, private readonly files: readonly string[]) {}
  seek(userKey: Uint8Array): void {
    call(() => this.handle.seek(userKey))
  }
  nextChunk(maxEntries: number, maxBytes?: number): Chunk {
    return unpackChunk(call(() => this.handle.nextChunk(maxEntries, maxBytes), this.files))
  }
  /**
   * Frees the native cursor (its iterators, the blocks they stand on, the sources it
   * pins) at once: Node finalizes N-API objects only when the event loop turns, so a
   * loop of iterators over resolved promises would otherwise keep every one alive.
   */
  close(): void {
    this.handle.close()
  }
}

/** Splits a packed chunk (`count u32 ‖ done u32 ‖ (klen u32 ‖ vlen u32 ‖ key ‖ value)*`) into Buffer views. */
function unpackChunk(b: Buffer): Chunk {
  // Its entries are views of one buffer: transferring one entry's memory away
  // must not empty the entries the iterator has yet to hand out.
  const ab = b.buffer
  markAsUntransferable(ab)
  const n = b.readUInt32LE(0)
  const keys: Uint8Array[] = new Array<Uint8Array>(n)
  const values: Uint8Array[] = new Array<Uint8Array>(n)
  const base = b.byteOffset
  let pos = 8
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32LE(pos)
    const vl = b.readUInt32LE(pos + 4)
    pos += 8
    // Buffers (views, no copy): the iterator hands them out as they are.
    keys[i] = Buffer.from(ab, base + pos, kl)
    pos += kl
    values[i] = Buffer.from(ab, base + pos, vl)
    pos += vl
  }
  return { keys, values, done: b[4] === 1 }
}

function nativeCursorOptions(o: CursorOptions): NativeCursorOptions {
  const options: NativeCursorOptions = { snapshotSeq: o.snapshotSeq }
  if (o.lower !== undefined) options.lower = o.lower
  if (o.lowerExclusive !== undefined) options.lowerExclusive = o.lowerExclusive
  if (o.upper !== undefined) options.upper = o.upper
  if (o.upperInclusive !== undefined) options.upperInclusive = o.upperInclusive
  if (o.reverse !== undefined) options.reverse = o.reverse
  return options
}

/** `readViewScan` flags (see NativeBinding). */
const SCAN_LOWER = 1
const SCAN_LOWER_EXCLUSIVE = 2
const SCAN_UPPER = 4
const SCAN_UPPER_INCLUSIVE = 8
const SCAN_REVERSE = 16
/** Stands for a bound not given. */
const NO_BOUND = new Uint8Array(0)
/** Size of the buffer `readViewScan` writes into: a seek's few entries fit many times over. */
const SCAN_STAGING_BYTES = 64 << 10
/** Where `readViewScan` writes a chunk, made on first use; its bytes are copied out at once. */
let scanStaging: Buffer | undefined

class NativeReadView implements CoreReadView {
  /** Point reads go through `readViewGetRaw` (else `readViewGet`) on the view's `reader`. */
  private readonly point: PointReader
  /** The view as `readViewGet` and `readViewScan` take it (the getter makes a new one per call). */
  private readonly reader: NativeReadViewReader
  constructor(private readonly handle: NativeReadViewHandle, private readonly files: readonly string[], private readonly b: NativeBinding) {
    const reader = (this.reader = handle.reader)
    const get = b.readViewGetRaw ?? b.readViewGet
    this.point = { get: (key, seq, out, off) => get(reader, key, seq, out, off) }
    if (typeof b.readViewGetBatch === 'function') this.getBatch = (k, s) => this.readBatch(k, s)
  }
  get(userKey: Uint8Array, snapshotSeq: number): Lookup {
    return pointRead(this.point, userKey, snapshotSeq, this.files)
  }
  /** Present when the addon has `readViewGetBatch` (see CoreReadView.getBatch). */
  readonly getBatch?: (userKeys: readonly Uint8Array[], snapshotSeqs: readonly number[]) => Promise<(Lookup | Error)[]>
  private async readBatch(userKeys: readonly Uint8Array[], snapshotSeqs: readonly number[]): Promise<(Lookup | Error)[]> {
    const n = userKeys.length
    if (snapshotSeqs.length !== n) throw invalidArgument('getBatch takes one snapshot per key')
    const ends = new Float64Array(n)
    let total = 0
    for (let i = 0; i < n; i++) ends[i] = total += userKeys[i]!.length
    const keys = Buffer.allocUnsafe(total)
    for (let i = 0, at = 0; i < n; i++) {
      keys.set(userKeys[i]!, at)
      at = ends[i]!
    }
    let out: Buffer
    try {
      out = await this.b.readViewGetBatch!(this.handle.reader, keys, ends, Float64Array.from(snapshotSeqs))
    } catch (e) {
      throw mapError(e, this.files)
    }
    return unpackBatch(out, n, this.files)
  }
  cursor(o: CursorOptions): CoreCursor {
    const options = nativeCursorOptions(o)
    return new NativeCursor(call(() => this.handle.cursor(options)), this.files)
  }
  scan(o: CursorOptions, maxEntries: number, maxBytes?: number): Chunk {
    const scanInto = this.b.readViewScan
    if (scanInto === undefined) {
      const options = nativeCursorOptions(o)
      return unpackChunk(call(() => this.handle.scan(options, maxEntries, maxBytes), this.files))
    }
    const lower = o.lower
    const upper = o.upper
    let flags = o.reverse === true ? SCAN_REVERSE : 0
    if (lower !== undefined) flags |= o.lowerExclusive === true ? SCAN_LOWER | SCAN_LOWER_EXCLUSIVE : SCAN_LOWER
    if (upper !== undefined) flags |= o.upperInclusive === true ? SCAN_UPPER | SCAN_UPPER_INCLUSIVE : SCAN_UPPER
    const mb = maxBytes ?? Infinity
    let out = (scanStaging ??= Buffer.allocUnsafeSlow(SCAN_STAGING_BYTES))
    let n: number
    try {
      n = scanInto(this.reader, o.snapshotSeq, flags, lower ?? NO_BOUND, upper ?? NO_BOUND, maxEntries, mb, out)
      if (n < 0) {
        // Too large for the staging buffer: ask again with room (the view
        // is immutable, so the answer is the same) and hand that buffer out.
        out = Buffer.allocUnsafeSlow(-n)
        n = scanInto(this.reader, o.snapshotSeq, flags, lower ?? NO_BOUND, upper ?? NO_BOUND, maxEntries, mb, out)
        if (n < 0) throw new LsmError('IO_ERROR', `internal error in the native core: a scan needed ${-n} bytes after asking for ${out.length}`)
        return unpackChunk(out.subarray(0, n))
      }
    } catch (e) {
      throw mapError(e, this.files)
    }
    // The staging buffer is reused by the next scan: the entries get bytes of their own.
    const b = Buffer.allocUnsafe(n)
    out.copy(b, 0, 0, n)
    return unpackChunk(b)
  }
  release(): void {
    call(() => this.handle.release())
  }
}

function makeNativeCore(b: NativeBinding): Core {
  return {
    name: 'native',
    crc32c: (data, init) => call(() => (init === undefined ? b.crc32c(data) : b.crc32c(data, init))),
    buildBloom: (keys, bitsPerKey) => view(call(() => b.bloomBuild(keys, bitsPerKey))),
    bloomMayContain: (filter, key) => call(() => b.bloomMayContain(filter, key)),
    newMemtable: () => new NativeMemtable(new b.NativeMemtable()),
    newCaches: (o: CacheOptions) => new NativeCaches(call(() => new b.NativeCaches(o.blockCacheBytes, o.maxOpenFiles, o.mmapReads === true))),
    openTable(path: string, caches?: CoreCaches) {
      const c = caches === undefined ? undefined : asNative(caches, NativeCaches, 'caches').handle
      const handle = call(() => (c === undefined ? b.NativeTable.open(path) : b.NativeTable.open(path, c)), [basename(path)])
      return new NativeTable(handle, path)
    },
    ...(typeof b.openTableAsync === 'function' && {
      async openTableAsync(path: string, caches?: CoreCaches): Promise<CoreTable> {
        const c = caches === undefined ? undefined : asNative(caches, NativeCaches, 'caches').handle
        let handle: NativeTableHandle
        try {
          handle = await b.openTableAsync!(path, c)
        } catch (e) {
          throw mapError(e, [basename(path)])
        }
        return new NativeTable(handle, path)
      },
    }),
    async flush(memtable: CoreMemtable, path: string, options?: TableOptions, sync?: boolean): Promise<WrittenTable> {
      const mem = asNative(memtable, NativeMemtable, 'memtable')
      try {
        const w = await b.flush(mem.handle, path, options, sync)
        return { fileSize: w.fileSize, properties: toProperties(w.properties) }
      } catch (e) {
        throw mapError(e)
      }
    },
    async compact(job: CompactionJob): Promise<CompactionOutput[]> {
      try {
        // The addon takes the range bounds as Buffers.
        const { start, end } = job
        const outs = await b.compact({
          ...job,
          ...(start !== undefined && { start: asBuffer(start) }),
          ...(end !== undefined && { end: asBuffer(end) }),
        })
        return outs.map(o => ({ path: o.path, fileSize: o.fileSize, properties: toProperties(o.properties) }))
      } catch (e) {
        throw mapError(e, job.inputs.map(p => basename(p)))
      }
    },
    newReadView(memtables, levels) {
      const mems = memtables.map(m => asNative(m, NativeMemtable, 'memtable').handle)
      const tables = levels.map(l => l.map(t => asNative(t, NativeTable, 'table')))
      const files = tables.flatMap(l => l.map(t => t.name))
      const handle = call(() => new b.NativeReadView(mems, tables.map(l => l.map(t => t.handle))))
      return new NativeReadView(handle, files, b)
    },
  }
}

/**
 * The native core, or undefined when the addon did not load (or is an older
 * build without the core classes); callers then use the pure-TypeScript core.
 */
export const nativeCore: Core | undefined =
  nativeBinding !== undefined && typeof nativeBinding.NativeMemtable === 'function' && typeof nativeBinding.readViewGet === 'function'
    ? makeNativeCore(nativeBinding)
    : undefined
