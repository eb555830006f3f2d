/**
 * Options of {@link DB.open} with their defaults and validation, in one place.
 */
import { invalidArgument } from './errors.js'
import type { ReadBatching } from './read-batcher.js'

/** Which core runs the engine: `auto` picks native when its binary loads. */
export type EngineChoice = 'auto' | 'native' | 'ts'

/** Options for opening a database. Every field is optional. */
export interface OpenOptions {
  /** Core to run: `'auto'` (default) uses the native addon when it loads, else pure TypeScript. */
  engine?: EngineChoice
  /** Create the database when the directory holds none (default true). */
  createIfMissing?: boolean
  /** Fail with INVALID_ARGUMENT when a database already exists (default false). */
  errorIfExists?: boolean
  /**
   * Bytes a memtable holds before it is frozen and flushed (default `'auto'`:
   * {@link AUTO_MEMTABLE_SIZE}, 4 MiB with the native engine and 8 MiB with
   * the pure-TypeScript one). Larger memtables mean fewer, larger L0 tables
   * and fewer bytes rewritten by compaction, at the price of memory (up to
   * `1 + maxImmutableMemtables` memtables) and of a slower insert into a
   * larger sorted map.
   */
  memtableSize?: number | 'auto'
  /**
   * Frozen memtables waiting for flush before writers stall (default 6). The
   * flush lane builds one table while the previous one's fsync runs, so with
   * 3 or more it always has a memtable to build; more than that lets a burst
   * of writes outrun the flushes for a while instead of stalling on them: a
   * batch fill of 1M entries (120 MB, 1000-entry batches) ran 2.88M → 3.09M
   * entries/s native and 0.90M → 1.10M pure TS going from 3 to 6 (medians
   * of 6 and of 4 runs), for up to 3 more memtables of memory (12 MiB native,
   * 24 MiB pure TS). Sustained random fills gained nothing and lost nothing.
   */
  maxImmutableMemtables?: number
  /** L0 table count that triggers an L0 → L1 compaction (default 4). */
  l0CompactionTrigger?: number
  /**
   * L0 table count at which each write group is delayed by 1 ms (default 12).
   * Measured on the bench's random writes: LevelDB's 8 (stop at 12) throttled
   * a 10M-key fill for 7.6 of its 34 s (298k ops/s) while the compaction
   * thread was busy anyway; RocksDB's 20 (stop at 36) ran it at 353k but left
   * 1.33× classic-level's disk use after a 1M overwrite; 12/20 gives 328k and
   * 1.22×.
   */
  l0SlowdownTrigger?: number
  /** L0 table count at which writers wait for compaction (default 20). */
  l0StopTrigger?: number
  /** Target size of a table written by compaction (default 2 MiB). */
  targetFileSize?: number
  /**
   * Size limit of L1; each deeper level is `levelMultiplier` times larger
   * (default `'auto'`: {@link AUTO_LEVEL_BASE}, 5 MiB with the native engine
   * and 10 MiB with the pure-TypeScript one).
   */
  maxBytesForLevelBase?: number | 'auto'
  /** Growth factor between levels (default 10). */
  levelMultiplier?: number
  /**
   * Most parts one compaction is split into by key range, merged in parallel
   * (default `'auto'`: 2 with the native engine, whose jobs each run on a
   * thread of their own; 1 with the pure-TypeScript engine, whose compactions
   * share one worker thread). Compactions of less than 4 × `targetFileSize`
   * stay whole. Splitting lets a compaction use a core the JS thread leaves
   * idle, so background work keeps up with faster writers.
   */
  maxSubcompactions?: number | 'auto'
  /**
   * How many dead table files are kept for compactions to write their new
   * tables over (default 16; 0 deletes every dead table at once). Rewriting
   * a file whose pages are already in the page cache costs the kernel far
   * less than filling a new file's fresh pages (docs/PERFORMANCE.md). The
   * kept files hold only dead data, are never read, count towards disk use
   * while the database is open (at most this many × about `targetFileSize`;
   * more for flushed L0 tables) and are deleted at close and by
   * `compactRange`.
   */
  recycleTableFiles?: number
  /**
   * Data block size in tables, before compression (default 2048). A point
   * read that misses the block cache verifies and decompresses one whole
   * block, so smaller blocks make such reads cheaper: against 4096, the
   * bench's random reads ran 15–25% faster with the native engine and ~5%
   * faster with the pure-TypeScript one, for ~5% more disk, slightly slower
   * scans (pure TypeScript: ~12%) and more memory for table indexes, which
   * stay in memory for every live table: per data block, its separator key
   * plus 28 bytes with the native engine and 20 with the pure-TypeScript one.
   * Scan-heavy or memory-tight workloads may prefer 4096 or more.
   */
  blockSize?: number
  /** Bloom filter bits per key; 0 disables filters (default 10). */
  bitsPerKey?: number
  /**
   * How table data blocks are stored (default `'snappy'`): `'snappy'` stores a
   * block compressed in the Snappy raw format when that saves at least an
   * eighth of it; `'none'` stores every block as it is. Only newly written
   * tables follow the option: both engines read either kind, so it may change
   * between opens.
   */
  compression?: 'snappy' | 'none'
  /** Most bytes one write group holds before the rest waits for the next group (default 4 MiB). */
  maxGroupBytes?: number
  /** Milliseconds the write leader waits for more writers before a group (default 0: no wait). */
  groupCommitDelay?: number
  /**
   * Bytes of data blocks cached in memory (default 8 MiB). Once the native
   * engine's cache is full, a block enters it only when it is read a second
   * time soon after the first: one-off reads (scans, compactions, reads spread
   * over far more data than fits) do not push out blocks that are reused.
   * The pure-TypeScript engine's two read threads (see `readBatching`) each
   * keep a cache of half this size besides the main thread's, and up to half
   * of `maxOpenFiles` descriptors each. The pure-TypeScript engine gains more
   * from a larger cache than the native one: it cannot map table files, so a
   * block it misses costs a file read and a decode in JavaScript (~9 µs
   * against ~2 µs); random reads over a working set that fits run 2–2.5×
   * faster (see docs/PERFORMANCE.md, twenty-sixth session).
   */
  blockCacheSize?: number
  /** Table files kept open at once (default 1000); index and filter of live tables stay in memory regardless. */
  maxOpenFiles?: number
  /**
   * Native engine: read table files through read-only memory maps, up to
   * `maxOpenFiles` of them, instead of with `pread` (default true). A block
   * read then needs no system call and no copy out of the kernel, which makes
   * point reads and seeks that miss the block cache about a fifth faster.
   * Checksums are verified either way. The cost: a disk read error under a
   * mapped page, or a table file truncated by another program while the
   * database is open, raises SIGBUS and ends the process instead of
   * throwing `IO_ERROR`/`CORRUPTION` (LevelDB and LMDB behave the same).
   * Set false to get errors instead. The pure-TypeScript engine always reads
   * with `pread`.
   */
  mmapReads?: boolean
  /**
   * How point reads (`get`) run. `'auto'` (default) runs them on the JS
   * thread, and hands them to other threads in batches while a measured
   * trial shows that reads more of them per second (many reads in flight
   * that miss the block cache); `'off'` always runs them on the JS thread;
   * `'always'` always batches them. The native engine reads batches on the
   * libuv thread pool; the pure-TypeScript engine reads the memtables on
   * the JS thread and the tables on two worker threads of its own. Either
   * way a read answers as of when it was called.
   */
  readBatching?: ReadBatching
}

/**
 * The memtable size `'auto'` picks for each engine. The native engine's random
 * fills are bound by the JS thread, where the skiplist insert grows with the
 * memtable (8 and 16 MiB measured 5–30% slower on random puts and deletes);
 * the pure-TypeScript engine's by its compaction worker, which a larger
 * memtable spares: 8 MiB measured +20% random fill and +30% overwrite, with
 * no workload slower (docs/PERFORMANCE.md, tenth session).
 */
export const AUTO_MEMTABLE_SIZE = {
  /** With the native engine: 4 MiB. */
  native: 4 * 1024 * 1024,
  /** With the pure-TypeScript engine: 8 MiB. */
  ts: 8 * 1024 * 1024,
} as const

/**
 * The L1 size limit `'auto'` picks for each engine. With the native engine,
 * 5 MiB is about what one L0 compaction brings: an L0 → L1 merge then rewrites
 * little of L1, and L1 → L2 merges, which drop overwritten versions, start
 * sooner (disk after a 1M-key random overwrite 98–102 → 89–93 MiB, random fills
 * unchanged). The pure-TypeScript engine's compaction worker is its random
 * fills' bottleneck, and the extra L1 → L2 work cost it 15–20% of its
 * overwrite speed for 3–6% less disk, so it keeps 10 MiB
 * (docs/PERFORMANCE.md, twelfth session).
 */
export const AUTO_LEVEL_BASE = {
  /** With the native engine: 5 MiB. */
  native: 5 * 1024 * 1024,
  /** With the pure-TypeScript engine: 10 MiB. */
  ts: 10 * 1024 * 1024,
} as const

/** Options with every default filled in. */
export type ResolvedOptions = Required<OpenOptions>

export const DEFAULTS: ResolvedOptions = {
  engine: 'auto',
  createIfMissing: true,
  errorIfExists: false,
  memtableSize: 'auto',
  maxImmutableMemtables: 6,
  l0CompactionTrigger: 4,
  l0SlowdownTrigger: 12,
  l0StopTrigger: 20,
  targetFileSize: 2 * 1024 * 1024,
  maxBytesForLevelBase: 'auto',
  levelMultiplier: 10,
  maxSubcompactions: 'auto',
  recycleTableFiles: 16,
  blockSize: 2048,
  bitsPerKey: 10,
  compression: 'snappy',
  maxGroupBytes: 4 * 1024 * 1024,
  groupCommitDelay: 0,
  blockCacheSize: 8 * 1024 * 1024,
  maxOpenFiles: 1000,
  mmapReads: true,
  readBatching: 'auto',
}

function int(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(`option ${name} must be an integer in ${min}..${max}, got ${String(v)}`)
  }
  return v
}

/** Fills defaults and checks every option; throws INVALID_ARGUMENT on a bad one. */
export function resolveOptions(o: OpenOptions | undefined): ResolvedOptions {
  if (o !== undefined && (typeof o !== 'object' || o === null)) throw invalidArgument('options must be an object')
  const r: ResolvedOptions = { ...DEFAULTS }
  for (const [k, v] of Object.entries(o ?? {})) {
    if (v === undefined) continue
    if (!(k in DEFAULTS)) throw invalidArgument(`unknown option ${k}`)
    ;(r as Record<string, unknown>)[k] = v
  }
  if (!['auto', 'native', 'ts'].includes(r.engine)) throw invalidArgument(`option engine must be 'auto', 'native' or 'ts'`)
  if (!['auto', 'off', 'always'].includes(r.readBatching)) throw invalidArgument(`option readBatching must be 'auto', 'off' or 'always'`)
  if (r.compression !== 'snappy' && r.compression !== 'none') {
    throw invalidArgument(`option compression must be 'snappy' or 'none', got ${String(r.compression)}`)
  }
  for (const b of ['createIfMissing', 'errorIfExists', 'mmapReads'] as const) {
    if (typeof r[b] !== 'boolean') throw invalidArgument(`option ${b} must be a boolean`)
  }
  if (r.memtableSize !== 'auto') int('memtableSize', r.memtableSize, 1024)
  int('maxImmutableMemtables', r.maxImmutableMemtables, 1, 64)
  int('l0CompactionTrigger', r.l0CompactionTrigger, 1, 1000)
  int('l0SlowdownTrigger', r.l0SlowdownTrigger, r.l0CompactionTrigger, 1000)
  int('l0StopTrigger', r.l0StopTrigger, r.l0SlowdownTrigger, 1000)
  int('targetFileSize', r.targetFileSize, 1024)
  if (r.maxBytesForLevelBase !== 'auto') int('maxBytesForLevelBase', r.maxBytesForLevelBase, 1024)
  int('levelMultiplier', r.levelMultiplier, 2, 1000)
  if (r.maxSubcompactions !== 'auto') int('maxSubcompactions', r.maxSubcompactions, 1, 64)
  int('recycleTableFiles', r.recycleTableFiles, 0, 10_000)
  int('blockSize', r.blockSize, 64, 1 << 24)
  int('bitsPerKey', r.bitsPerKey, 0, 64)
  int('maxGroupBytes', r.maxGroupBytes, 1024)
  int('groupCommitDelay', r.groupCommitDelay, 0, 1000)
  int('blockCacheSize', r.blockCacheSize, 0)
  int('maxOpenFiles', r.maxOpenFiles, 10, 1_000_000)
  return r
}
