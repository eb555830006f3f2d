/**
 * Counters behind {@link DB.stats}: what the engine did (flushes,
 * compactions, stalls, bytes) and the derived write amplification.
 */

/** Per-level shape. */
export interface LevelStats {
  level: number
  files: number
  bytes: number
}

/** What {@link DB.stats} returns. */
export interface Stats {
  engine: 'native' | 'ts'
  levels: LevelStats[]
  memtable: { bytes: number; entries: number }
  /** Bytes held by the block cache. */
  blockCacheBytes: number
  immutableMemtables: number
  lastSequence: number
  snapshots: number
  iterators: number
  /** Table files kept only because a snapshot or iterator pins an older version. */
  pinnedFiles: number
  writes: number
  writeGroups: number
  walSyncs: number
  flushes: number
  compactions: number
  trivialMoves: number
  stalls: { count: number; totalMs: number; byReason: Record<string, { count: number; totalMs: number }> }
  bytesWritten: { user: number; wal: number; flush: number; compaction: number }
  bytesRead: { compaction: number }
  /** (WAL + flush + compaction bytes) / user bytes; 0 before any write. */
  writeAmplification: number
  flushMs: number
  compactionMs: number
  walTornBytes: number
  filesDeleted: number
  gets: number
  backgroundErrors: number
  backgroundError?: string | undefined
}

type Shape = Pick<Stats, 'engine' | 'levels' | 'memtable' | 'blockCacheBytes' | 'immutableMemtables' | 'lastSequence' | 'snapshots' | 'iterators' | 'pinnedFiles' | 'writeGroups' | 'writes' | 'backgroundError'>

/** Mutable counters owned by one DB. */
export class DBStats {
  userBytes = 0
  walBytes = 0
  walSyncs = 0
  flushBytes = 0
  flushes = 0
  flushMs = 0
  compactions = 0
  trivialMoves = 0
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

  recordCompaction(read: number, written: number, ms: number, trivial: boolean): void {
    if (trivial) this.trivialMoves++
    else this.compactions++
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
      flushes: this.flushes,
      compactions: this.compactions,
      trivialMoves: this.trivialMoves,
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
