/**
 * Merging and user-visible iteration.
 *
 * - {@link MergingIterator} merges any number of sorted internal-key sources
 *   (memtables, tables) into one sorted stream, forward and backward.
 * - {@link UserIterator} turns that stream into what a database user sees at a
 *   snapshot: one entry per user key, its newest version with seq ≤ snapshot,
 *   and nothing for keys whose newest visible version is a DELETE.
 */
import { copyPrefix, DecodeError } from './coding.js'
import { compareInternalKeys, Kind, lookupKey, makeInternalKey, MAX_SEQUENCE, seqOf, TRAILER_LENGTH } from './internal-key.js'
import type { InternalIterator } from './iterator.js'

const EMPTY = new Uint8Array(0)
/** Size of the slabs reverse iteration copies keys and values into. */
const SAVE_SLAB_BYTES = 16 * 1024

/**
 * Merges children with a binary heap of the valid ones: a min-heap while moving
 * forward, a max-heap while moving backward.
 *
 * Ties between equal internal keys in different children (which the engine never
 * produces, since sequences are unique) are broken by child index, lower first
 * going forward, so the merged order is still a strict total order and backward
 * iteration yields exactly the reverse of forward iteration.
 *
 * Direction switches work as in LevelDB's merger: the current child stays put,
 * and every other child is repositioned relative to the current key (just after
 * it for `next`, just before it for `prev`) before the heap is rebuilt, because a
 * child that was, say, exhausted or ahead while moving backward is not where a
 * forward step needs it.
 */
export class MergingIterator implements InternalIterator {
  private readonly children: InternalIterator[]
  /** Indices of valid children, heap-ordered for the current direction. */
  private readonly heap: Int32Array
  private heapSize = 0
  private forward = true

  constructor(children: readonly InternalIterator[], private readonly compare: (a: Uint8Array, b: Uint8Array) => number = compareInternalKeys) {
    this.children = [...children]
    this.heap = new Int32Array(this.children.length)
  }

  valid(): boolean {
    return this.heapSize > 0
  }

  /** Closes every child; the iterator is then invalid. */
  close(): void {
    for (const c of this.children) c.close?.()
    this.heapSize = 0
  }

  seekToFirst(): void {
    for (const c of this.children) c.seekToFirst()
    this.rebuild(true)
  }

  seekToLast(): void {
    for (const c of this.children) c.seekToLast()
    this.rebuild(false)
  }

  seek(target: Uint8Array): void {
    for (const c of this.children) c.seek(target)
    this.rebuild(true)
  }

  seekForPrev(target: Uint8Array): void {
    for (const c of this.children) c.seekForPrev(target)
    this.rebuild(false)
  }

  next(): void {
    const cur = this.top()
    if (!this.forward) {
      // Put every other child on its first entry after the current one.
      const key = this.children[cur]!.key()
      this.children.forEach((c, i) => {
        if (i === cur) return
        c.seek(key)
        if (i < cur && c.valid() && this.compare(c.key(), key) === 0) c.next()
      })
      this.rebuild(true)
    }
    this.children[cur]!.next()
    this.fixTop()
  }

  prev(): void {
    const cur = this.top()
    if (this.forward) {
      // Put every other child on its last entry before the current one.
      const key = this.children[cur]!.key()
      this.children.forEach((c, i) => {
        if (i === cur) return
        c.seekForPrev(key)
        if (i > cur && c.valid() && this.compare(c.key(), key) === 0) c.prev()
      })
      this.rebuild(false)
    }
    this.children[cur]!.prev()
    this.fixTop()
  }

  key(): Uint8Array {
    return this.children[this.top()]!.key()
  }

  value(): Uint8Array {
    return this.children[this.top()]!.value()
  }

  private top(): number {
    if (this.heapSize === 0) throw new Error('merging iterator is not valid')
    return this.heap[0]!
  }

  /** True when child `a` comes before child `b` in the current direction. */
  private before(a: number, b: number): boolean {
    const c = this.compare(this.children[a]!.key(), this.children[b]!.key())
    if (c !== 0) return this.forward ? c < 0 : c > 0
    return this.forward ? a < b : a > b
  }

  private rebuild(forward: boolean): void {
    this.forward = forward
    let n = 0
    for (let i = 0; i < this.children.length; i++) if (this.children[i]!.valid()) this.heap[n++] = i
    this.heapSize = n
    for (let i = (n >>> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  /** After the top child moved: re-place it, or drop it when exhausted. */
  private fixTop(): void {
    const heap = this.heap
    if (!this.children[heap[0]!]!.valid()) {
      this.heapSize--
      heap[0] = heap[this.heapSize]!
    }
    if (this.heapSize > 1) this.siftDown(0)
  }

  private siftDown(i: number): void {
    const heap = this.heap
    const n = this.heapSize
    const item = heap[i]!
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && this.before(heap[child + 1]!, heap[child]!)) child++
      if (!this.before(heap[child]!, item)) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = item
  }
}

/** Compares the user-key part of internal key `ikey` with `ukey[0..ulen)`. */
function compareUser(ikey: Uint8Array, ukey: Uint8Array, ulen: number): number {
  const alen = ikey.length - TRAILER_LENGTH
  const m = alen < ulen ? alen : ulen
  for (let i = 0; i < m; i++) {
    const d = ikey[i]! - ukey[i]!
    if (d !== 0) return d
  }
  return alen - ulen
}

/**
 * The database's view of an internal-key stream at a snapshot (LevelDB's DBIter).
 *
 * Moving forward, the inner iterator sits on the entry being shown (the newest
 * visible version of its user key). Moving backward it sits just before all the
 * entries of the shown key, since the newest version of a key is only known once
 * all its versions have been passed; so the key and value are copied then.
 */
export class UserIterator {
  private forward = true
  private isValid = false
  /**
   * Reverse direction: the shown key and value, own copies that stay intact
   * after further moves. They are carved from a slab (a fresh array per copy
   * cost a malloc for every value over V8's 64-byte on-heap limit); the
   * iterator never writes over a part it handed out.
   */
  private savedKey: Uint8Array = EMPTY
  private savedValue: Uint8Array = EMPTY
  private slab = EMPTY
  private slabUsed = 0
  /** Forward direction: the user key whose remaining versions are skipped (scratch). */
  private skipKey = new Uint8Array(64)
  private skipLen = 0

  /** `snapshotSeq`: entries with a larger sequence are invisible. */
  constructor(private readonly iter: InternalIterator, private readonly snapshotSeq: number) {}

  valid(): boolean {
    return this.isValid
  }

  /** Closes the merged iterator under it; this one is then invalid. */
  close(): void {
    this.iter.close?.()
    this.isValid = false
  }

  seekToFirst(): void {
    this.forward = true
    this.iter.seekToFirst()
    this.findNextUserEntry(false)
  }

  seekToLast(): void {
    this.forward = false
    this.iter.seekToLast()
    this.findPrevUserEntry()
  }

  /** Positions on the first user key ≥ `userKey`. */
  seek(userKey: Uint8Array): void {
    this.forward = true
    this.iter.seek(lookupKey(userKey, Math.min(this.snapshotSeq, MAX_SEQUENCE)))
    this.findNextUserEntry(false)
  }

  /** Positions on the last user key ≤ `userKey`. */
  seekForPrev(userKey: Uint8Array): void {
    this.forward = false
    // Sequence 0 / DELETE is the smallest trailer, so this sorts after every version of userKey.
    this.iter.seekForPrev(makeInternalKey(userKey, 0, Kind.Delete))
    this.findPrevUserEntry()
  }

  next(): void {
    this.check()
    const it = this.iter
    if (!this.forward) {
      this.forward = true
      // The inner iterator is just before the shown key's entries: step into them.
      if (it.valid()) it.next()
      else it.seekToFirst()
      this.setSkip(this.savedKey, this.savedKey.length)
      this.savedKey = EMPTY
      this.savedValue = EMPTY
    } else {
      const k = it.key()
      this.setSkip(k, k.length - TRAILER_LENGTH)
    }
    this.findNextUserEntry(true)
  }

  prev(): void {
    this.check()
    if (this.forward) {
      // The inner iterator is on the shown entry, the newest visible version of its
      // key. The entries just before it with the same user key are newer than the
      // snapshot, so findPrevUserEntry passes over them: one step back suffices
      // (LevelDB's explicit back-off loop would skip only those same entries).
      this.forward = false
      this.iter.prev()
    }
    this.findPrevUserEntry()
  }

  /**
   * The array whose first {@link keyLength} bytes are the current user key
   * (the internal key moving forward): lets a caller copy the key without a
   * `subarray` view, which for a small on-heap array makes V8 move its bytes
   * off-heap into a fresh ArrayBuffer (a malloc per entry).
   */
  keySource(): Uint8Array {
    this.check()
    return this.forward ? this.iter.key() : this.savedKey
  }

  /** Length of the current user key (see {@link keySource}). */
  keyLength(): number {
    this.check()
    return this.forward ? this.iter.key().length - TRAILER_LENGTH : this.savedKey.length
  }

  /** The current user key. */
  key(): Uint8Array {
    this.check()
    if (!this.forward) return this.savedKey
    const k = this.iter.key()
    return k.subarray(0, k.length - TRAILER_LENGTH)
  }

  /** The current value. */
  value(): Uint8Array {
    this.check()
    return this.forward ? this.iter.value() : this.savedValue
  }

  /** A copy of `src[0..len)` in the slab (or on its own when large). */
  private copyOut(src: Uint8Array, len: number): Uint8Array {
    if (len > SAVE_SLAB_BYTES / 4) return src.slice(0, len)
    if (this.slabUsed + len > this.slab.length) {
      this.slab = new Uint8Array(SAVE_SLAB_BYTES)
      this.slabUsed = 0
    }
    const at = this.slabUsed
    copyPrefix(this.slab, at, src, len)
    this.slabUsed = at + len
    return this.slab.subarray(at, at + len)
  }

  private check(): void {
    if (!this.isValid) throw new Error('user iterator is not valid')
  }

  private setSkip(src: Uint8Array, len: number): void {
    if (this.skipKey.length < len) this.skipKey = new Uint8Array(Math.max(len, this.skipKey.length * 2))
    copyPrefix(this.skipKey, 0, src, len)
    this.skipLen = len
  }

  /**
   * Moves forward to the first visible PUT whose user key is not hidden: by a
   * newer visible DELETE of the same key, or (when `skipping`) by being ≤ the skip
   * key, i.e. an older version of a key already shown.
   */
  private findNextUserEntry(skipping: boolean): void {
    const it = this.iter
    const snap = this.snapshotSeq
    while (it.valid()) {
      const k = it.key()
      if (k.length < TRAILER_LENGTH) throw new DecodeError('internal key shorter than its trailer')
      if (seqOf(k) <= snap) {
        const kind = k[k.length - TRAILER_LENGTH]
        if (kind === Kind.Delete) {
          this.setSkip(k, k.length - TRAILER_LENGTH)
          skipping = true
        } else if (kind === Kind.Put) {
          if (!skipping || compareUser(k, this.skipKey, this.skipLen) > 0) {
            this.isValid = true
            return
          }
        }
      }
      it.next()
    }
    this.isValid = false
  }

  /**
   * Moves backward over all versions of the previous user key, remembering the
   * newest visible one; stops on the entry before them. A key whose newest
   * visible version is a DELETE is passed over.
   */
  private findPrevUserEntry(): void {
    const it = this.iter
    const snap = this.snapshotSeq
    let lastKind: number = Kind.Delete
    while (it.valid()) {
      const k = it.key()
      if (k.length < TRAILER_LENGTH) throw new DecodeError('internal key shorter than its trailer')
      if (seqOf(k) <= snap) {
        const kind = k[k.length - TRAILER_LENGTH]!
        if (kind === Kind.Put || kind === Kind.Delete) {
          // A visible entry of a smaller user key: the saved key is complete.
          if (lastKind !== Kind.Delete && compareUser(k, this.savedKey, this.savedKey.length) < 0) break
          lastKind = kind
          if (kind === Kind.Delete) {
            this.savedKey = EMPTY
            this.savedValue = EMPTY
          } else {
            this.savedKey = this.copyOut(k, k.length - TRAILER_LENGTH)
            const v = it.value()
            this.savedValue = this.copyOut(v, v.length)
          }
        }
      }
      it.prev()
    }
    if (lastKind === Kind.Delete) {
      this.isValid = false
      this.savedKey = EMPTY
      this.savedValue = EMPTY
      this.forward = true
    } else {
      this.isValid = true
    }
  }
}
