/**
 * Leveled compaction: which tables to merge next (the seed's "compact level
 * by level"). L0 is scored by file count, deeper levels by bytes against a
 * limit that grows 10× per level; the highest score ≥ 1 wins. Within a level
 * a compact pointer rotates through the key space so every range gets its
 * turn.
 */
import type { CompactionJob } from './core/core.js'
import { compareInternalKeys, userKeyOf } from './core/ts/internal-key.js'
import type { TableProperties } from './core/ts/sst.js'
import { NUM_LEVELS, type FileMeta } from './core/ts/version-edit.js'
import type { ResolvedOptions } from './options.js'
import { userRange, type Version } from './version.js'

/** A chosen compaction: `inputs` from `level`, `next` from `level + 1`. */
export interface CompactionPlan {
  level: number
  inputs: FileMeta[]
  next: FileMeta[]
  /**
   * Nothing to merge: the inputs move down by a manifest edit alone. Below L0
   * that is one input and no overlapping table in the next level; from L0 any
   * number of inputs whose key ranges are pairwise disjoint (sequential
   * inserts flush such tables), with none overlapping in L1.
   */
  trivialMove: boolean
  /** No deeper level holds any key of the range: tombstones may be dropped. */
  dropDeletes: boolean
  /** Why this compaction runs (for stats and events). */
  reason: 'l0-count' | 'level-size' | 'manual'
}

/** The options that shape the levels, with the L1 limit resolved for the engine. */
export type LevelOptions = Pick<ResolvedOptions, 'l0CompactionTrigger' | 'levelMultiplier'> & { maxBytesForLevelBase: number }

/** Byte limit of level ≥ 1. */
export function maxBytesForLevel(o: LevelOptions, level: number): number {
  return o.maxBytesForLevelBase * o.levelMultiplier ** (level - 1)
}

/** Compaction pressure per level: ≥ 1 means the level needs compacting. */
export function levelScores(v: Version, o: LevelOptions): number[] {
  const scores = [v.levels[0]!.length / o.l0CompactionTrigger]
  for (let l = 1; l < NUM_LEVELS - 1; l++) scores.push(v.levelBytes(l) / maxBytesForLevel(o, l))
  return scores
}

function isBottommost(v: Version, outputLevel: number, lo: Uint8Array, hi: Uint8Array): boolean {
  for (let l = outputLevel + 1; l < NUM_LEVELS; l++) if (v.overlapping(l, lo, hi).length > 0) return false
  return true
}

/** True when no two tables share a user key (ranges sorted and strictly apart). */
function disjoint(files: readonly FileMeta[]): boolean {
  const byStart = [...files].sort((a, b) => Buffer.compare(userKeyOf(a.smallest), userKeyOf(b.smallest)))
  for (let i = 1; i < byStart.length; i++) {
    if (Buffer.compare(userKeyOf(byStart[i - 1]!.largest), userKeyOf(byStart[i]!.smallest)) >= 0) return false
  }
  return true
}

/** Builds the plan for compacting `inputs` of `level` into `level + 1`. */
export function planFor(v: Version, level: number, inputs: FileMeta[], reason: CompactionPlan['reason']): CompactionPlan {
  let [lo, hi] = userRange(inputs)
  if (level === 0) {
    // L0 tables overlap each other: widen to every L0 table meeting the range, until stable.
    for (;;) {
      const wider = v.overlapping(0, lo, hi)
      if (wider.length === inputs.length) break
      inputs = wider
      ;[lo, hi] = userRange(inputs)
    }
  }
  const next = v.overlapping(level + 1, lo, hi)
  const all = [...inputs, ...next]
  const [alo, ahi] = userRange(all)
  return {
    level,
    inputs,
    next,
    trivialMove: next.length === 0 && (level > 0 ? inputs.length === 1 : disjoint(inputs)),
    dropDeletes: isBottommost(v, level + 1, alo, ahi),
    reason,
  }
}

/** The next compaction to run, or undefined when every level is within its limit. */
export function pickCompaction(v: Version, o: LevelOptions, compactPointers: readonly (Uint8Array | undefined)[]): CompactionPlan | undefined {
  const scores = levelScores(v, o)
  let best = -1
  let bestScore = 1
  scores.forEach((s, l) => {
    if (s >= bestScore && v.levels[l]!.length > 0) {
      best = l
      bestScore = s
    }
  })
  if (best < 0) return undefined
  if (best === 0) return planFor(v, 0, [...v.levels[0]!], 'l0-count')
  const files = v.levels[best]!
  const ptr = compactPointers[best]
  const start = ptr === undefined ? undefined : files.find(f => compareInternalKeys(f.largest, ptr) > 0)
  return planFor(v, best, [start ?? files[0]!], 'level-size')
}

/** One part of a compaction split by key range: user keys in [start, end) (unbounded where absent) and the tables that overlap them. */
export interface SubRange {
  start?: Uint8Array
  end?: Uint8Array
  files: FileMeta[]
}

/**
 * Splits a plan's key range into at most `max` parts of about equal size, to
 * merge in parallel (subcompactions). The bounds are the first user keys of
 * next-level tables, chosen where the next level's bytes cross 1/max, 2/max, …
 * of its total: that level holds most of a compaction's bytes (all of L1 in an
 * L0 compaction of random keys, ~10 tables per input below it), and its tables
 * never share a user key, so every version of a key stays in one part. A plan
 * of fewer than `minBytes` input bytes, or with fewer than two next-level
 * tables, stays whole. Each part lists only the tables that overlap it; parts
 * that no table overlaps are left out.
 */
export function splitPlan(plan: CompactionPlan, max: number, minBytes: number): SubRange[] {
  const all = [...plan.inputs, ...plan.next]
  const total = all.reduce((n, f) => n + f.fileSize, 0)
  if (max < 2 || plan.next.length < 2 || total < minBytes) return [{ files: all }]
  const next = [...plan.next].sort((a, b) => compareInternalKeys(a.smallest, b.smallest))
  const nextBytes = next.reduce((n, f) => n + f.fileSize, 0)
  const bounds: Uint8Array[] = []
  let acc = 0
  for (let i = 0; i < next.length - 1 && bounds.length < max - 1; i++) {
    acc += next[i]!.fileSize
    if (acc * max >= nextBytes * (bounds.length + 1)) bounds.push(userKeyOf(next[i + 1]!.smallest))
  }
  const parts: SubRange[] = []
  for (let j = 0; j <= bounds.length; j++) {
    const start = j > 0 ? bounds[j - 1] : undefined
    const end = j < bounds.length ? bounds[j] : undefined
    const files = all.filter(f =>
      (start === undefined || Buffer.compare(userKeyOf(f.largest), start) >= 0) &&
      (end === undefined || Buffer.compare(userKeyOf(f.smallest), end) < 0))
    if (files.length > 0) parts.push({ ...(start && { start }), ...(end && { end }), files })
  }
  return parts
}

/** Plans for a manual compaction of [lo, hi] at `level` (undefined bounds = unbounded). */
export function planManual(v: Version, level: number, lo: Uint8Array | undefined, hi: Uint8Array | undefined): CompactionPlan | undefined {
  const inputs = v.overlapping(level, lo, hi)
  if (inputs.length === 0) return undefined
  return planFor(v, level, inputs, 'manual')
}

/** The user key range of a plan, for events. */
export function planRange(p: CompactionPlan): [Uint8Array, Uint8Array] {
  return userRange([...p.inputs, ...p.next])
}


/**
 * How many output file names a compaction of tables with these properties may
 * need (the core fails a job that runs out of them). An upper bound that holds
 * whether or not the tables are compressed, derived from the cut rule of
 * {@link CompactionJob}: an output other than the last is finished only once
 * (bytes written, at most the uncompressed blocks with their trailers) + (the
 * open block's uncompressed estimate) + 2 × (its user keys) reaches
 * `targetFileSize`, and every entry adds at most its user key, its value and 38
 * bytes to that measure (8 trailer bytes of the internal key, 15 of varints, a
 * 4-byte restart, a block's 4-byte count and 5-byte trailer, 2 filter bytes).
 * The inputs' file sizes cannot give such a bound: compressed blocks may hold
 * up to ~21 times their size.
 */
export function compactionOutputBound(inputs: readonly TableProperties[], targetFileSize: number): number {
  let bytes = 0
  for (const p of inputs) bytes += p.rawKeyBytes + p.rawValueBytes + 38 * p.entryCount
  return Math.ceil(bytes / targetFileSize) + inputs.length + 1
}
