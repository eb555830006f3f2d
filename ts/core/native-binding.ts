/**
 * Loads the native addon through node-gyp-build (prebuilds/<platform>-<arch>/),
 * once. When it cannot be loaded, {@link nativeBinding} is undefined and
 * {@link nativeLoadError} says why; the pure-TypeScript engine is used instead.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CursorOptions } from './core.js'

/** The functions the Rust addon (crates/lsm-node) exports. */
export interface NativeBinding {
  coreVersion(): string
  crc32c(data: Uint8Array, init?: number): number
  maskCrc(crc: number): number
  bloomBuild(keys: Uint8Array[], bitsPerKey: number): Buffer
  bloomMayContain(filter: Uint8Array, key: Uint8Array): boolean
  /** Snappy raw format, as table blocks are compressed (absent from builds before compression). */
  snappyCompress?(data: Uint8Array): Buffer
  /** Inverse of `snappyCompress`; malformed input throws `CORRUPTION: …`. */
  snappyDecompress?(data: Uint8Array): Buffer
  /** Test hook: panics inside the addon (a panic must surface as an exception, never abort Node). */
  testPanic?(message: string): void
  // --- The native Core (wrapped by ts/core/native-core.ts). Point reads write
  // `fixed64(seq × 256 + kind) ‖ value` into `out` at `outOffset` and return its
  // length, -1 when not found, or minus the room needed (< -1: make room, ask again).
  // `out` must not overlap the key. Chunks are packed (see NativeCursorHandle).
  NativeMemtable: new () => NativeMemtableHandle
  NativeTable: { open(path: string, caches?: NativeCachesHandle): NativeTableHandle }
  /** `NativeTable.open` on a libuv pool thread (absent from addons built before it). */
  openTableAsync?(path: string, caches?: NativeCachesHandle): Promise<NativeTableHandle>
  NativeCaches: new (blockCacheBytes: number, maxOpenFiles: number, mmapReads?: boolean) => NativeCachesHandle
  NativeReadView: new (memtables: NativeMemtableHandle[], levels: NativeTableHandle[][]) => NativeReadViewHandle
  /** `NativeReadViewHandle.get` through the view's `reader` (a free function: less per-call work in napi-rs than a method). */
  readViewGet(reader: NativeReadViewReader, userKey: Uint8Array, snapshotSeq: number, out: Uint8Array, outOffset: number): number
  /**
   * {@link readViewGet} as a plain N-API callback, without napi-rs's per-call
   * argument bookkeeping (~90 ns less per read). Absent from addons built before it.
   */
  readViewGetRaw?(reader: NativeReadViewReader, userKey: Uint8Array, snapshotSeq: number, out: Uint8Array, outOffset: number): number
  /**
   * Point reads of many keys on a libuv pool thread: `keys` back to back, key `i`
   * ending at `ends[i]`, read at `seqs[i]`. Resolves to one record per key: an
   * i32 `n`, then the entry's `n` bytes when `n >= 0`; -1 not found; -2, then a
   * u32 length and the UTF-8 message of that key's error.
   */
  readViewGetBatch?(reader: NativeReadViewReader, keys: Uint8Array, ends: Float64Array, seqs: Float64Array): Promise<Buffer>
  /**
   * `NativeReadViewHandle.scan` through the view's `reader`, the options as
   * arguments (`flags`: 1 `lower` given, 2 exclusive, 4 `upper` given, 8
   * inclusive, 16 reverse; a bound not given is ignored), the chunk written
   * into `out` (which must not overlap the bounds). Returns the packed length,
   * or minus the length needed when `out` is too small (nothing written).
   * Absent from addons built before it.
   */
  readViewScan?(
    reader: NativeReadViewReader, snapshotSeq: number, flags: number, lower: Uint8Array, upper: Uint8Array,
    maxEntries: number, maxBytes: number, out: Uint8Array,
  ): number
  /** Runs on a Rust thread; resolves once the table is fsynced. */
  flush(memtable: NativeMemtableHandle, path: string, options?: NativeTableOptions, sync?: boolean): Promise<NativeWrittenTable>
  /** Runs on a Rust thread; resolves once every output is fsynced. */
  compact(job: NativeCompactionJob): Promise<(NativeWrittenTable & { path: string })[]>
}

/** A block cache and a bounded pool of open table files, shared by one database's tables. */
export interface NativeCachesHandle {
  readonly blockCacheUsage: number
  readonly blockCacheHits: number
  readonly blockCacheMisses: number
  readonly openFiles: number
  readonly mappedTables: number
  /** Drops every cached block and closes every pooled file. */
  close(): void
}

export interface NativeMemtableHandle {
  apply(group: Uint8Array): void
  applyAsync(group: Uint8Array): Promise<void>
  get(userKey: Uint8Array, snapshotSeq: number, out: Uint8Array, outOffset: number): number
  readonly approximateSize: number
  readonly entryCount: number
  release(): void
}

export interface NativeTableHandle {
  readonly fileSize: number
  properties(): NativeProperties
  get(userKey: Uint8Array, snapshotSeq: number, out: Uint8Array, outOffset: number): number
  close(): void
}

/** Cursor options as the addon takes them: the core's, with only the set fields present. */
export type NativeCursorOptions = CursorOptions

/** The opaque handle of {@link NativeReadViewHandle.reader}. */
export type NativeReadViewReader = object

export interface NativeReadViewHandle {
  /** The same view as an external value for {@link NativeBinding.readViewGet}. */
  readonly reader: NativeReadViewReader
  release(): void
  cursor(options: NativeCursorOptions): NativeCursorHandle
  /** The first chunk of a cursor with these options, packed as {@link NativeCursorHandle.nextChunk}; no cursor is kept. */
  scan(options: NativeCursorOptions, maxEntries: number, maxBytes?: number): Buffer
}

export interface NativeCursorHandle {
  seek(userKey: Uint8Array): void
  /** `count u32 ‖ done u32 ‖ (klen u32 ‖ vlen u32 ‖ key ‖ value)*`, little-endian. */
  nextChunk(maxEntries: number, maxBytes?: number): Buffer
  /** Frees the cursor's native state now; later calls throw. Idempotent. */
  close(): void
}

export interface NativeTableOptions {
  blockSize?: number
  restartInterval?: number
  bitsPerKey?: number
  /** `'snappy'` (the default) or `'none'`. */
  compression?: string
}

export interface NativeProperties {
  entryCount: number
  deletionCount: number
  dataBlockCount: number
  rawKeyBytes: number
  rawValueBytes: number
  dataBytes: number
  minSeq: number
  maxSeq: number
  smallest: Buffer
  largest: Buffer
}

export interface NativeWrittenTable {
  fileSize: number
  properties: NativeProperties
}

export interface NativeCompactionJob {
  inputs: string[]
  outputs: string[]
  smallestSnapshot: number
  dropDeletes: boolean
  targetFileSize: number
  tableOptions?: NativeTableOptions
  start?: Uint8Array
  end?: Uint8Array
  recycle?: string[]
}

const require = createRequire(import.meta.url)
/** Package root: this file sits at ts/core/ (sources) or dist/core/ (compiled). */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function load(): { binding?: NativeBinding; error?: Error } {
  if (process.env.LSM_RUST_DISABLE_NATIVE === '1') return { error: new Error('disabled by LSM_RUST_DISABLE_NATIVE=1') }
  try {
    const gypBuild = require('node-gyp-build') as (dir: string) => unknown
    return { binding: gypBuild(packageRoot) as NativeBinding }
  } catch (e) {
    return { error: e as Error }
  }
}

const loaded = load()
/** The native addon, or undefined when it could not be loaded. */
export const nativeBinding: NativeBinding | undefined = loaded.binding
/** Why the native addon could not be loaded, when it could not. */
export const nativeLoadError: Error | undefined = loaded.error
