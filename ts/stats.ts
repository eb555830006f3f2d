/**
 * Counters behind {@link DB.stats}: what the engine did (flushes,
 * compactions, stalls, bytes) and the derived write amplification.
 */

/** Per-level shape. */
export interface LevelStats {
  /** Level number: 0 for L0 (flushed memtables), 1..n below it. */
  level: number
  /** Number of table files in the level. */
  files: number
  /** Total size of the level's table files, in bytes. */
  bytes: number
  /**
   * Size above which the level is compacted into the next (levels 1 to 5:
   * `maxBytesForLevelBase` × `levelMultiplier`^(level − 1)); absent for L0,
   * compacted by file count, and for the last level.
   */
  maxBytes?: number
}

/** What {@link DB.stats} returns. */
export interface Stats {
  /** Which core runs the engine: the native Rust addon or the pure-TypeScript one. */
  engine: 'native' | 'ts'
  /** Shape of the current version, one entry per level starting at L0 (empty levels included). */
  levels: LevelStats[]
  /** The active (mutable) memtable. */
  memtable: {
    /** Approximate memory used, in bytes; rotated once it reaches `memtableSize`. */
    bytes: number
    /** Entries (puts and deletes) it holds. */
    entries: number
    /** The size at which it is frozen: the `memtableSize` option, `'auto'` resolved for the engine. */
    limit: number
  }
  /** Bytes held by the block cache. */
  blockCacheBytes: number
  /** Table files currently memory-mapped (native engine with `mmapReads`; 0 otherwise). */
  mappedTables: number
  /** Frozen memtables waiting to be flushed to L0. */
  immutableMemtables: number
  /** Sequence number of the last committed write (each put or delete takes one). */
  lastSequence: number
  /** Snapshots currently open (not yet released). */
  snapshots: number
  /** Iterators currently open (not yet closed). */
  iterators: number
  /** Table files kept only because a snapshot or iterator pins an older version. */
  pinnedFiles: number
  /** Operations (puts and deletes, batch members counted singly) committed since open. */
  writes: number
  /** Commit groups since open; each is one WAL append, so `writes / writeGroups` is the group-commit factor. */
  writeGroups: number
  /** WAL fsyncs done for `sync: true` writes since open. */
  walSyncs: number
  /** WALs since open that started from a spare written ahead on the libuv pool, not as new files. */
  walSpares: number
  /** Memtables flushed to L0 tables since open. */
  flushes: number
  /** Compactions that merged and rewrote tables since open (trivial moves not included). */
  compactions: number
  /** Compactions done by moving one table down a level without rewriting it, since open. */
  trivialMoves: number
  /**
   * Key-range parts of compactions merged in parallel with another part of the
   * same compaction, since open (a compaction split in two adds 2; see the
   * `maxSubcompactions` option).
   */
  subcompactions: number
  /** Write stalls since open: each time a write group waited on backpressure. */
  stalls: {
    /** Stalls of all reasons. */
    count: number
    /** Time spent stalled, in milliseconds. */
    totalMs: number
    /** Per reason: `'l0-slowdown'`, `'memtables'` (too many frozen memtables) or `'l0-stop'`. */
    byReason: Record<string, {
      /** Stalls of this reason. */
      count: number
      /** Time spent stalled for this reason, in milliseconds. */
      totalMs: number
    }>
  }
  /** Bytes written since open, by source. */
  bytesWritten: {
    /** Encoded operations submitted by callers (keys, values and per-op framing). */
    user: number
    /** Appended to the WAL, record framing included. */
    wal: number
    /** Table bytes written by flushes. */
    flush: number
    /** Table bytes written by compactions. */
    compaction: number
  }
  /** Bytes read since open, by consumer. */
  bytesRead: {
    /** Input table bytes read by compactions. */
    compaction: number
  }
  /** (WAL + flush + compaction bytes) / user bytes; 0 before any write. */
  writeAmplification: number
  /** Time spent in flushes since open, in milliseconds. */
  flushMs: number
  /** Time spent in compactions (trivial moves included) since open, in milliseconds. */
  compactionMs: number
  /** Bytes of torn WAL tail (an unfinished last write) discarded during recovery at open. */
  walTornBytes: number
  /** Obsolete files (tables, WALs, old MANIFESTs) deleted by garbage collection since open, dead tables moved into the recycle pool (`recycleTableFiles`) included; start-up cleanup not counted. */
  filesDeleted: number
  /** Point lookups ({@link DB.get} calls) since open. */
  gets: number
  /**
   * Point reads run in batches on the thread pool (native engine; see the
   * `readBatching` option): reads and batches so far, and the trials of
   * batching the `'auto'` policy ran and how many batching won.
   */
  readBatches: {
    /** Point reads answered through batches. */
    reads: number
    /** Batches read on the pool. */
    batches: number
    /** Comparison rounds that tried batching while reads were synchronous. */
    trials: number
    /** Of those, the rounds batching won. */
    trialsWon: number
  }
  /** Background errors raised since open (0 or 1: the first one stops writes until reopen). */
  backgroundErrors: number
  /** Message of the background error that stopped writes, if any. */
  backgroundError?: string | undefined
}

type Shape = Pick<Stats, 'engine' | 'levels' | 'memtable' | 'blockCacheBytes' | 'mappedTables' | 'immutableMemtables' | 'lastSequence' | 'snapshots' | 'iterators' | 'pinnedFiles' | 'writeGroups' | 'writes' | 'readBatches' | 'backgroundError'>

/** Mutable counters owned by one DB. */
export class DBStats {
  userBytes = 0
  walBytes = 0
  walSyncs = 0
  walSpares = 0
  flushBytes = 0
  flushes = 0
  flushMs = 0
  compactions = 0
  trivialMoves = 0
  subcompactions = 0
  compactionRead = 0
  compactionWritten = 0
  compactionMs = 0
  walTornBytes = 0
  filesDeleted = 0
  gets = 0
  backgroundErrors = 0
  private readonly stalls = new Map<string, { count: number; totalMs: number }>()

  recordFlush(bytes: number, ms: number): void {
    this.flushes++
    this.flushBytes += bytes
    this.flushMs += ms
  }

  recordCompaction(read: number, written: number, ms: number, trivial: boolean, parts = 1): void {
    if (trivial) this.trivialMoves++
    else this.compactions++
    if (parts > 1) this.subcompactions += parts
    this.compactionRead += read
    this.compactionWritten += written
    this.compactionMs += ms
  }

  recordStall(reason: string, ms: number): void {
    const s = this.stalls.get(reason) ?? { count: 0, totalMs: 0 }
    s.count++
    s.totalMs += ms
    this.stalls.set(reason, s)
  }

  snapshot(shape: Shape): Stats {
    let count = 0
    let totalMs = 0
    const byReason: Record<string, { count: number; totalMs: number }> = {}
    for (const [r, s] of this.stalls) {
      count += s.count
      totalMs += s.totalMs
      byReason[r] = { ...s }
    }
    const disk = this.walBytes + this.flushBytes + this.compactionWritten
    return {
      ...shape,
      walSyncs: this.walSyncs,
      walSpares: this.walSpares,
      flushes: this.flushes,
      compactions: this.compactions,
      trivialMoves: this.trivialMoves,
      subcompactions: this.subcompactions,
      stalls: { count, totalMs, byReason },
      bytesWritten: { user: this.userBytes, wal: this.walBytes, flush: this.flushBytes, compaction: this.compactionWritten },
      bytesRead: { compaction: this.compactionRead },
      writeAmplification: this.userBytes > 0 ? disk / this.userBytes : 0,
      flushMs: this.flushMs,
      compactionMs: this.compactionMs,
      walTornBytes: this.walTornBytes,
      filesDeleted: this.filesDeleted,
      gets: this.gets,
      backgroundErrors: this.backgroundErrors,
    }
  }
}
