/**
 * The workloads, modelled on LevelDB's db_bench, and the shapes of the
 * results that engine-runner.ts writes and run.ts reads.
 */
import type { IoCounters, LoopDelay } from './measure.js'

export const ALL_WORKLOADS = [
  'fillseq',
  'fillbatch',
  'fillsync',
  'fillrandom',
  'overwrite',
  'readrandom',
  'readhot',
  'readmissing',
  'readseq',
  'readreverse',
  'seekrandom',
  'deleterandom',
] as const
export type WorkloadName = (typeof ALL_WORKLOADS)[number]

/** Workloads that write to a fresh database (or, overwrite, to the fillrandom one) and report disk use and write amplification. */
export const FILL_WORKLOADS: ReadonlySet<WorkloadName> = new Set(['fillseq', 'fillbatch', 'fillsync', 'fillrandom', 'overwrite'])

/** Workloads that run on the database fillrandom built (it is filled untimed when fillrandom is not selected). */
export const NEEDS_RANDOM_DB: ReadonlySet<WorkloadName> = new Set(['overwrite', 'readrandom', 'readhot', 'readmissing', 'readseq', 'readreverse', 'seekrandom', 'deleterandom'])

export const BATCH_SIZE = 1000
export const SEEK_NEXTS = 10

/** How many operations a workload performs for N keys. */
export function opsFor(w: WorkloadName, n: number): number {
  switch (w) {
    case 'fillsync':
      return Math.max(1, Math.floor(n / 100))
    case 'seekrandom':
      return Math.max(1, Math.floor(n / SEEK_NEXTS))
    default:
      return n
  }
}

export const DESCRIPTIONS: Record<WorkloadName, string> = {
  fillseq: 'N puts in ascending key order, fresh DB',
  fillbatch: `N puts in ascending key order, batches of ${BATCH_SIZE} (C batches in flight), fresh DB`,
  fillsync: 'N/100 durable puts in random order from C concurrent writers, fresh DB',
  fillrandom: 'N puts in random order (each key once), fresh DB',
  overwrite: 'N puts in a new random order over the fillrandom DB (new values)',
  readrandom: 'N gets of random present keys',
  readhot: 'N gets of random keys among the first 1% of the key space',
  readmissing: 'N gets of random absent keys (inside the key range)',
  readseq: 'one forward scan of the whole DB (ops = entries)',
  readreverse: 'one reverse scan of the whole DB (ops = entries)',
  seekrandom: `N/${SEEK_NEXTS} iterators opened at a random key, reading up to ${SEEK_NEXTS} entries each (ops = seeks)`,
  deleterandom: 'N deletes in random order (each key once)',
}

export interface WorkloadResult {
  ops: number
  seconds: number
  opsPerSec: number
  /** CPU time of the whole process (all threads) during the timed part. */
  cpuSeconds: number
  /** Reads: entries found (readrandom/readhot: should equal ops; readmissing: 0). */
  found?: number
  /** Event-loop delay during the timed part. */
  eventLoop: LoopDelay
  /** Peak RSS during the workload (VmHWM after a reset), bytes. */
  peakRssBytes: number
  /** Fills: storage I/O from the first write until the DB was closed. */
  io?: IoCounters
  /** Fills: ops × (16 + 100) bytes. */
  userBytes?: number
  /** Fills: io.writeBytes / userBytes (or disk use / userBytes without /proc/self/io). */
  writeAmp?: number
  /** Fills: io.wchar / userBytes — bytes handed to write syscalls, whatever the page cache did with them. */
  syscallWriteAmp?: number
  /** How writeAmp was measured. */
  writeAmpSource?: 'proc-io' | 'dir-size'
  /** Fills (and deleterandom): disk use of the DB directory after close. */
  disk?: { allocated: number; apparent: number; files: number }
  /** With --windows: the timed part on the monotonic clock (µs; the clock of .cpuprofile timestamps). */
  window?: { startUs: number; endUs: number }
  /** Reads (lsm engines): the engine's counters when the workload started, e.g. the tree it read. */
  engineStatsAtStart?: Record<string, unknown>
  /** Counters the engine reports about itself (lsm engines). */
  engineStats?: Record<string, unknown>
}

export interface Unavailable {
  unavailable: string
}

export type Cell = WorkloadResult | Unavailable

export function isUnavailable(c: Cell | undefined): c is Unavailable {
  return c !== undefined && 'unavailable' in c
}

export interface EngineResult {
  engine: string
  available: boolean
  reason?: string
  version?: string
  notes?: string
  n: number
  inflight: number
  /** RSS after generating the data, before opening any DB. */
  baselineRssBytes?: number
  /** Peak RSS of the child process over the whole run. */
  peakRssBytes?: number
  wallSeconds?: number
  /** Whether VmHWM could be reset per workload. */
  perWorkloadRss?: boolean
  workloads: Partial<Record<WorkloadName, Cell>>
}
