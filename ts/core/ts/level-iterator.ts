/**
 * Iterates one level ≥ 1 (tables sorted by key, not overlapping) as a single
 * sorted source: a seek opens only the one table that can hold the target,
 * so a merged iterator over the tree costs one table seek per level instead
 * of one per table.
 */
import { compareInternalKeys } from './internal-key.js'
import type { InternalIterator } from './iterator.js'

/** What the level iterator needs of a table. */
export interface LevelTable {
  /** Largest internal key of the table. */
  readonly largest: Uint8Array
  iterator(): InternalIterator
}

export class LevelIterator implements InternalIterator {
  private index = -1
  private it: InternalIterator | undefined

  constructor(private readonly tables: readonly LevelTable[]) {}

  private open(i: number): void {
    this.it?.close?.()
    this.index = i
    this.it = i >= 0 && i < this.tables.length ? this.tables[i]!.iterator() : undefined
  }

  /** Moves forward past exhausted tables. */
  private skipForward(): void {
    while (this.it !== undefined && !this.it.valid()) {
      this.open(this.index + 1)
      this.it?.seekToFirst()
    }
  }

  /** Moves backward past exhausted tables. */
  private skipBackward(): void {
    while (this.it !== undefined && !this.it.valid()) {
      this.open(this.index - 1)
      this.it?.seekToLast()
    }
  }

  valid(): boolean {
    return this.it !== undefined && this.it.valid()
  }

  close(): void {
    this.it?.close?.()
    this.it = undefined
  }

  seekToFirst(): void {
    this.open(0)
    this.it?.seekToFirst()
    this.skipForward()
  }

  seekToLast(): void {
    this.open(this.tables.length - 1)
    this.it?.seekToLast()
    this.skipBackward()
  }

  seek(target: Uint8Array): void {
    // First table whose largest key is ≥ target.
    let lo = 0
    let hi = this.tables.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareInternalKeys(this.tables[mid]!.largest, target) < 0) lo = mid + 1
      else hi = mid
    }
    this.open(lo)
    this.it?.seek(target)
    this.skipForward()
  }

  seekForPrev(target: Uint8Array): void {
    this.seek(target)
    if (!this.valid()) this.seekToLast()
    else if (compareInternalKeys(this.key(), target) > 0) this.prev()
  }

  next(): void {
    this.it!.next()
    this.skipForward()
  }

  prev(): void {
    this.it!.prev()
    this.skipBackward()
  }

  key(): Uint8Array {
    return this.it!.key()
  }

  value(): Uint8Array {
    return this.it!.value()
  }
}
