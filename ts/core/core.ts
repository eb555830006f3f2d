/**
 * The Core interface: the work on bytes that both engines implement — the
 * pure-TypeScript components (`ts/core/ts/`) and the Rust crate behind N-API
 * (`crates/`). TypeScript above it decides what happens and when (write
 * queue, manifest, compaction picking, GC); the core does the byte work.
 *
 * It is deliberately batch-shaped so that the native implementation crosses
 * the N-API boundary once per write group, once per point read and once per
 * iterator chunk, never once per key inside a loop:
 *
 * - {@link CoreMemtable.apply} takes one encoded write group (FORMAT.md §2.2);
 * - {@link CoreReadView.get} resolves memtable → immutable memtables → tables
 *   in one call;
 * - {@link CoreCursor.nextChunk} returns many entries at a time;
 * - {@link Core.flush} and {@link Core.compact} do whole jobs off the JS thread.
 */
import type { Kind } from './ts/internal-key.js'
import type { TableProperties } from './ts/sst.js'

/** Which implementation of the core is running. */
export type EngineName = 'native' | 'ts'

/** Result of a point lookup: the newest version visible at the snapshot, if any. */
export type Lookup =
  | {
    /** No version of the key is visible at the snapshot. */
    found: false
  }
  | {
    /** A version is visible; a `Delete` one means the key is absent. */
    found: true
    /** `Kind.Put` or `Kind.Delete` (a tombstone). */
    kind: Kind
    /** Sequence number of the version found. */
    seq: number
    /** The value (empty for a delete); may be a view into core memory, so copy it to keep it. */
    value: Uint8Array
    /** True when `value`'s bytes belong to this result alone (never rewritten): it may be kept without a copy. */
    owned?: boolean
  }

/** Options for writing a table (FORMAT.md §4). */
export interface TableOptions {
  /** Target size of a data block in bytes (default 2048). */
  blockSize?: number
  /** Entries between restart points in data blocks (default 16). */
  restartInterval?: number
  /** Bloom filter bits per key; 0 disables the filter (default 10). */
  bitsPerKey?: number
  /**
   * How data blocks are stored (FORMAT.md §4.1; default `'snappy'`): `'snappy'`
   * stores a block Snappy-compressed when that saves at least an eighth of it,
   * `'none'` stores every block as it is. Either core reads both.
   */
  compression?: 'snappy' | 'none'
}

/** What writing a table produced. */
export interface WrittenTable {
  /** Size of the table file, in bytes. */
  fileSize: number
  /** What the table holds (counts, sequence and key range), as stored in its properties block. */
  properties: TableProperties
}

/**
 * One compaction: the merge loop of the design's compaction thread. The
 * TypeScript side picks the inputs and the output level; the core merges.
 *
 * Drop rules, applied per user key while merging in internal-key order:
 * - a version is dropped when a newer version of the same user key exists
 *   whose sequence is ≤ `smallestSnapshot` (every reader sees that newer one);
 * - a DELETE with sequence ≤ `smallestSnapshot` is dropped when `dropDeletes`
 *   (the output level is the last that can hold the key), together with the
 *   older versions it hides.
 * With `dropDeletes`, a PUT with sequence ≤ `smallestSnapshot` that survives
 * these rules is the only version of its key that any reader can reach below
 * the newer ones; it is written with sequence 0 (FORMAT.md §2.1), which
 * compresses to almost nothing in a block.
 * Outputs are cut when a table reaches `targetFileSize`, but only between two
 * different user keys, so that the versions of one key never span two tables.
 * "Reaches" is measured exactly, so both cores cut at the same entry: before
 * adding the first entry of a new user key, the output is finished when
 * (bytes already written, data blocks as stored: compressed or not) +
 * (estimated uncompressed size of the open data block, FORMAT.md §4.2) +
 * 2 × (distinct user keys so far, when a filter is built) is ≥ `targetFileSize`.
 */
export interface CompactionJob {
  /** Paths of the input tables. */
  inputs: string[]
  /** Paths for the output tables, used in order; the job fails if it needs more. */
  outputs: string[]
  /** Sequence of the oldest snapshot any reader holds (the last sequence when none is open); see the drop rules above. */
  smallestSnapshot: number
  /** Drop deletes (and what they hide) at or below `smallestSnapshot`: true when no deeper level can hold the keys. */
  dropDeletes: boolean
  /** Size in bytes at which an output table is finished (cut only between user keys). */
  targetFileSize: number
  /** How the output tables are written (block size, restart interval, bloom bits, compression). */
  tableOptions?: TableOptions
  /**
   * Merge only user keys ≥ `start` (all keys when absent). A compaction split
   * into sub-ranges runs one job per range; bounds are user keys, so all the
   * versions of a key fall in one job. `start` must sort before `end`.
   */
  start?: Uint8Array
  /** Merge only user keys < `end` (all keys when absent). */
  end?: Uint8Array
  /**
   * Dead table files (no version lists them, nothing reads them) the job may
   * reuse, in order: output `i` is written over `recycle[i]` (renamed to
   * `outputs[i]`, overwritten from offset 0, cut to the new table's length,
   * fsynced) instead of into a new file, so the kernel fills page-cache pages
   * the old file already had rather than fresh ones. The table is the same
   * either way. Files beyond the outputs the job writes are left where they
   * are; one that cannot be renamed is skipped for a new file.
   */
  recycle?: string[]
}

/** One table a compaction wrote (fsynced). */
export interface CompactionOutput extends WrittenTable {
  /** The table's path: the next unused entry of {@link CompactionJob.outputs}. */
  path: string
}

/** A mutable sorted map of internal keys: the newest writes. */
export interface CoreMemtable {
  /**
   * Applies one encoded write group (FORMAT.md §2.2). Groups must come in
   * ascending sequence order (the native core refuses one that does not start
   * after the last). Throws LsmError INVALID_ARGUMENT on malformed input.
   */
  apply(group: Uint8Array): void
  /**
   * {@link apply} for a large group without holding the JS thread for the
   * whole insert: the native core inserts on a libuv pool thread, the TS core
   * in slices between event-loop turns. Same checks and errors as `apply`
   * (as a rejection). Until it settles the caller must not change `group` or
   * apply anything else to this memtable; reads may run meanwhile and see
   * none of the group's sequences until the caller publishes them.
   */
  applyAsync(group: Uint8Array): Promise<void>
  /** Newest version of `userKey` with sequence ≤ `snapshotSeq`. */
  get(userKey: Uint8Array, snapshotSeq: number): Lookup
  /** Approximate memory held, in bytes; the engine flushes when it passes `memtableSize`. */
  readonly approximateSize: number
  /** Number of entries (every version counts). */
  readonly entryCount: number
  /**
   * Lets go of this handle's share of the entries now rather than when the
   * garbage collector frees the handle (native core: its arena is memory V8
   * does not see); read views, cursors and flushes that hold the memtable
   * keep it until they end. Every later call on the handle throws
   * INVALID_ARGUMENT. The pure-TS core has nothing to release early.
   */
  release?(): void
}

/** An open table file. Its index, filter and properties stay in memory. */
export interface CoreTable {
  /** Size of the table file, in bytes. */
  readonly fileSize: number
  /** The table's properties block (counts, sequence and key range). */
  readonly properties: TableProperties
  /** Newest version of `userKey` with sequence ≤ `snapshotSeq`: bloom → index → one block. */
  get(userKey: Uint8Array, snapshotSeq: number): Lookup
  /** Releases the file handle. */
  close(): void
}

/** Range and snapshot of a user-level iteration. Bounds are user keys. */
export interface CursorOptions {
  /** Only versions with sequence ≤ this are visible. */
  snapshotSeq: number
  /** Lower bound; inclusive unless `lowerExclusive`. */
  lower?: Uint8Array
  /** Exclude `lower` itself (default false). */
  lowerExclusive?: boolean
  /** Upper bound; exclusive unless `upperInclusive`. */
  upper?: Uint8Array
  /** Include `upper` itself (default false). */
  upperInclusive?: boolean
  /** Iterate from the largest key down (default false). */
  reverse?: boolean
}

/** A batch of iterator output: parallel arrays of user keys and values. */
export interface Chunk {
  /** User keys, in iteration order. */
  keys: Uint8Array[]
  /** Values: `values[i]` belongs to `keys[i]`. */
  values: Uint8Array[]
  /** True when the cursor is exhausted (no entry follows this chunk). */
  done: boolean
}

/** A user-level iterator: newest visible version of each user key, deletions hidden. */
export interface CoreCursor {
  /** Repositions: the next chunk starts at the first key ≥ `userKey` (≤ when reverse), within bounds. */
  seek(userKey: Uint8Array): void
  /** Up to `maxEntries` entries (fewer when `maxBytes` of keys and values is reached). */
  nextChunk(maxEntries: number, maxBytes?: number): Chunk
  /** Optional: releases what the cursor holds now rather than when it is collected. No call may follow. */
  close?(): void
}

/**
 * An immutable view of the sources a read consults, newest first: the
 * memtable, the immutable memtables, then tables (L0 newest first, then
 * L1..Ln). The engine builds a new view whenever the version changes.
 */
export interface CoreReadView {
  /** Newest version of `userKey` with sequence ≤ `snapshotSeq`, searching the sources newest first. */
  get(userKey: Uint8Array, snapshotSeq: number): Lookup
  /** A cursor merging all sources, over the range and snapshot of `options`. */
  cursor(options: CursorOptions): CoreCursor
  /**
   * Optional: the first chunk of `cursor(options)`, without keeping a cursor
   * (a short iteration in one call).
   */
  scan?(options: CursorOptions, maxEntries: number, maxBytes?: number): Chunk
  /**
   * Optional: lets go of the sources now rather than when the view is
   * collected (cursors made from it keep theirs). No read may follow.
   */
  release?(): void
  /**
   * Optional: point reads of `userKeys[i]` at `snapshotSeqs[i]` off the JS
   * thread (the native core reads them on a libuv pool thread, the
   * TypeScript core its tables on a read worker thread), in order; a
   * key whose read failed gets its error in its place. The caller keeps the
   * view's files (its read state pinned) until the promise settles.
   */
  getBatch?(userKeys: readonly Uint8Array[], snapshotSeqs: readonly number[]): Promise<(Lookup | Error)[]>
}

/** Sizes of the caches one database's tables share. */
export interface CacheOptions {
  /** Bytes of data blocks kept in memory (the block cache). */
  blockCacheBytes: number
  /** Table files kept open at once; others are reopened on demand. */
  maxOpenFiles: number
  /**
   * Memory-map up to `maxOpenFiles` tables and read their blocks from the
   * mapping instead of with `pread` (native core only; the TypeScript core
   * always reads with `pread`). Default false.
   */
  mmapReads?: boolean
}

/** Opaque caches made by {@link Core.newCaches}, passed to {@link Core.openTable}. */
export interface CoreCaches {
  /** Bytes currently held by the block cache. */
  readonly blockCacheUsage: number
  /** Tables currently memory-mapped. */
  readonly mappedTables: number
  /** Frees the caches (the database is closing); tables opened with them must be closed first. */
  close(): Promise<void>
}

/** The byte work of the engine, one implementation per engine. */
export interface Core {
  /** Which implementation this is. */
  readonly name: EngineName
  /** CRC-32C of `data`, extending `init` (a finished CRC of earlier bytes). */
  crc32c(data: Uint8Array, init?: number): number
  /** A bloom filter (FORMAT.md §4.3) over the distinct keys given. */
  buildBloom(keys: Uint8Array[], bitsPerKey: number): Uint8Array
  /** False only when `key` is certainly not among the keys `filter` was built from; a malformed filter answers true. */
  bloomMayContain(filter: Uint8Array, key: Uint8Array): boolean
  /** A new, empty memtable. */
  newMemtable(): CoreMemtable
  /** Caches for the tables of one database. */
  newCaches(options: CacheOptions): CoreCaches
  /**
   * Opens a table file; a damaged one throws LsmError CORRUPTION naming it.
   * With `caches`, data blocks go through its block cache and the file
   * descriptor through its bounded pool.
   */
  openTable(path: string, caches?: CoreCaches): CoreTable
  /**
   * {@link openTable} off the JS thread, where the core can (native: on the
   * libuv pool). Absent when it cannot: callers then open with openTable.
   */
  openTableAsync?(path: string, caches?: CoreCaches): Promise<CoreTable>
  /**
   * Flush: writes every entry of `memtable` (which no longer changes) to a new
   * table file at `path`, fsynced before the promise resolves unless `sync`
   * is false (default true): then the caller must fsync the file before a
   * manifest edit names it. Runs off the JS thread (libuv pool / worker
   * thread).
   */
  flush(memtable: CoreMemtable, path: string, options?: TableOptions, sync?: boolean): Promise<WrittenTable>
  /**
   * Compaction: merges the input tables into new tables, dropping versions
   * no snapshot can see. Runs off the JS thread.
   */
  compact(job: CompactionJob): Promise<CompactionOutput[]>
  /**
   * A read view: `memtables` newest first (the active one, then immutables);
   * `levels[0]` the L0 tables newest first (they may overlap); `levels[i ≥ 1]`
   * each sorted by key with no overlap (searched by binary search).
   */
  newReadView(memtables: readonly CoreMemtable[], levels: readonly (readonly CoreTable[])[]): CoreReadView
}
