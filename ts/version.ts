/**
 * Versions: the set of live tables, level by level, at one moment.
 *
 * A version is immutable once built. Readers (snapshots, iterators) pin the
 * version they started on with a reference count; a table file may be deleted
 * only when no live version lists it (see ts/version-set.ts).
 */
import { corruption } from './errors.js'
import { compareInternalKeys, userKeyOf } from './core/ts/internal-key.js'
import { NUM_LEVELS, type FileMeta, type VersionEdit } from './core/ts/version-edit.js'

export class Version {
  /** Readers holding this version (plus one while it is current). */
  refs = 0

  /** `levels[0]` newest first (by file number, descending); deeper levels sorted by smallest key. */
  constructor(readonly levels: readonly (readonly FileMeta[])[]) {}

  static empty(): Version {
    return new Version(Array.from({ length: NUM_LEVELS }, () => []))
  }

  /** The version that results from applying `edit`; checks the invariants of each level. */
  apply(edit: VersionEdit, manifestName: string): Version {
    const levels = this.levels.map(l => [...l])
    for (const d of edit.deletedFiles ?? []) {
      const l = levels[d.level]!
      const i = l.findIndex(f => f.fileNumber === d.fileNumber)
      if (i < 0) throw corruption(manifestName, `edit deletes file ${d.fileNumber} which is not in level ${d.level}`)
      l.splice(i, 1)
    }
    for (const f of edit.addedFiles ?? []) {
      if (levels.some(l => l.some(g => g.fileNumber === f.fileNumber))) {
        throw corruption(manifestName, `edit adds file ${f.fileNumber} twice`)
      }
      levels[f.level]!.push(f)
    }
    levels[0]!.sort((a, b) => b.fileNumber - a.fileNumber)
    for (let i = 1; i < levels.length; i++) {
      const l = levels[i]!
      l.sort((a, b) => compareInternalKeys(a.smallest, b.smallest))
      for (let j = 1; j < l.length; j++) {
        if (Buffer.compare(userKeyOf(l[j - 1]!.largest), userKeyOf(l[j]!.smallest)) >= 0) {
          throw corruption(manifestName, `tables ${l[j - 1]!.fileNumber} and ${l[j]!.fileNumber} overlap in level ${i}`)
        }
      }
    }
    return new Version(levels)
  }

  /** Every file number in this version. */
  *fileNumbers(): Generator<number> {
    for (const l of this.levels) for (const f of l) yield f.fileNumber
  }

  levelBytes(level: number): number {
    let n = 0
    for (const f of this.levels[level]!) n += f.fileSize
    return n
  }

  /** Tables of `level` whose user-key range meets [lo, hi] (user keys; undefined = unbounded). */
  overlapping(level: number, lo: Uint8Array | undefined, hi: Uint8Array | undefined): FileMeta[] {
    return this.levels[level]!.filter(f =>
      (hi === undefined || Buffer.compare(userKeyOf(f.smallest), hi) <= 0) &&
      (lo === undefined || Buffer.compare(userKeyOf(f.largest), lo) >= 0))
  }

  /** The full state as one edit: the first record of a new MANIFEST. */
  snapshotEdit(): VersionEdit {
    return { addedFiles: this.levels.flatMap(l => l) }
  }
}

/** User-key range covered by a set of tables. */
export function userRange(files: readonly FileMeta[]): [Uint8Array, Uint8Array] {
  let lo = userKeyOf(files[0]!.smallest)
  let hi = userKeyOf(files[0]!.largest)
  for (const f of files) {
    const s = userKeyOf(f.smallest)
    const l = userKeyOf(f.largest)
    if (Buffer.compare(s, lo) < 0) lo = s
    if (Buffer.compare(l, hi) > 0) hi = l
  }
  return [lo, hi]
}
