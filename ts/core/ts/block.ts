/**
 * Data and index blocks (docs/FORMAT.md §4.2): prefix-compressed entries with a
 * restart point every `restartInterval` entries, then the restart offsets and
 * their count. A reader binary-searches the restart points (whose keys are
 * stored whole) and scans forward from there, so a 4 KiB block costs a few
 * key comparisons plus at most `restartInterval` decodes per seek.
 */
import { ByteWriter, DecodeError, getFixed32, getVarint, putVarint, setBytes } from './coding.js'
import { compareInternalKeyAt, compareInternalKeys } from './internal-key.js'
import type { InternalIterator } from './iterator.js'
import type { PartialDecode } from './snappy.js'

/** The builder's "previous key" before the first entry (never written to). */
const NO_KEY = new Uint8Array(0)

/** Builds one block; reset and reuse it for the next. */
export class BlockBuilder {
  private readonly out = new ByteWriter(8192)
  /** Restart offsets, `[0..restartCount)` in use (the array is kept across resets). */
  private readonly restarts: number[] = [0]
  private restartCount = 1
  private counter = 0
  private lastKey: Uint8Array = NO_KEY
  private finished = false

  constructor(readonly restartInterval = 16) {
    if (!(restartInterval >= 1)) throw new RangeError('restartInterval must be ≥ 1')
  }

  /** True before the first `add` since construction or `reset`. */
  get empty(): boolean {
    return this.out.length === 0
  }

  /** Size the finished block would have: entries + restart array + count (FORMAT.md §4.2). */
  get estimatedSize(): number {
    return this.out.length + 4 * this.restartCount + 4
  }

  /** Appends an entry; keys must arrive in strictly ascending order (the caller's job). */
  add(key: Uint8Array, value: Uint8Array): void {
    let common = 0
    if (this.counter < this.restartInterval) {
      const last = this.lastKey
      const n = Math.min(last.length, key.length)
      while (common < n && last[common] === key[common]) common++
    }
    this.addFrom(key, 0, key.length, value, 0, value.length, common)
    this.lastKey = key
  }

  /**
   * {@link BlockBuilder.add} of the key `src[off..off+len)` and the value
   * `vsrc[voff..voff+vlen)`, without views of them. `common` is the length of
   * the prefix the key shares with the previous key given to this builder
   * (the caller has compared them already); it is used when that key is in
   * this block and no restart is due. A builder takes its entries through
   * `add` or through `addFrom`, not both.
   */
  addFrom(src: Uint8Array, off: number, len: number, vsrc: Uint8Array, voff: number, vlen: number, common: number): void {
    let shared = 0
    if (this.counter < this.restartInterval) {
      if (this.out.length > 0) shared = common
    } else {
      if (this.restartCount < this.restarts.length) this.restarts[this.restartCount] = this.out.length
      else this.restarts.push(this.out.length)
      this.restartCount++
      this.counter = 0
    }
    const unshared = len - shared
    const w = this.out
    // One capacity check for the entry; short keys and values copy inline (no views).
    const buf = w.reserve(15 + unshared + vlen)
    let p = w.length
    p = putVarint(buf, p, shared)
    p = putVarint(buf, p, unshared)
    p = putVarint(buf, p, vlen)
    const k = off + shared
    if (unshared < 64) {
      for (let i = 0; i < unshared; i++) buf[p + i] = src[k + i]!
    } else {
      setBytes(buf, src.subarray(k, off + len), p)
    }
    p += unshared
    if (vlen < 32) {
      for (let i = 0; i < vlen; i++) buf[p + i] = vsrc[voff + i]!
    } else {
      setBytes(buf, voff === 0 && vlen === vsrc.length ? vsrc : vsrc.subarray(voff, voff + vlen), p)
    }
    w.length = p + vlen
    this.counter++
  }

  /** The finished block contents (without trailer), as an own copy. */
  finish(): Uint8Array {
    return this.finishView().slice()
  }

  /** The finished block contents as a view valid until the next `reset` (no copy). */
  finishView(): Uint8Array {
    if (this.finished) throw new Error('block already finished')
    for (let i = 0; i < this.restartCount; i++) this.out.fixed32(this.restarts[i]!)
    this.out.fixed32(this.restartCount)
    this.finished = true
    return this.out.view()
  }

  reset(): void {
    this.out.reset()
    this.restartCount = 1
    this.counter = 0
    this.lastKey = NO_KEY
    this.finished = false
  }
}

/** Length of the key found by the last `Block.restartKeyAt`. */
let restartKeyLength = 0

/** Where the key decoded by {@link Block.seekPoint} is rebuilt (shared by every block; grows as needed). */
let keyScratch = new Uint8Array(256)

/** The buffer holding the key found by the last successful {@link Block.seekPoint}, in `[0..pointHit.keyLength)`. */
export function pointKey(): Uint8Array {
  return keyScratch
}

/** Where the last successful {@link Block.seekPoint} found its entry. */
export const pointHit = {
  /** Length of the entry's key, in `pointKey()`. */
  keyLength: 0,
  /** Start of the entry's value in the block's data. */
  valueStart: 0,
  /** End (exclusive) of the entry's value in the block's data. */
  valueEnd: 0,
}

/** The `shared` and `unshared` key lengths and the value length of the entry header {@link readEntryHeader} read last. */
const header = { shared: 0, unshared: 0, valueLength: 0 }

/** Reads the three varints of the entry header at `d[p]` into {@link header}; returns where the key suffix starts. */
function readEntryHeader(d: Uint8Array, p: number): number {
  let v: number
  if (d[p]! < 0x80) v = d[p++]!
  else [v, p] = getVarint(d, p, 5)
  header.shared = v
  if (d[p]! < 0x80) v = d[p++]!
  else [v, p] = getVarint(d, p, 5)
  header.unshared = v
  if (d[p]! < 0x80) v = d[p++]!
  else [v, p] = getVarint(d, p, 5)
  header.valueLength = v
  return p
}

/**
 * Rebuilds an entry's key in the shared key scratch: the previous key's first
 * `shared` bytes (already there) and the `unshared` bytes at `d[at]`. Returns the scratch.
 */
function rebuildKey(d: Uint8Array, at: number, shared: number, unshared: number): Uint8Array {
  let key = keyScratch
  const klen = shared + unshared
  if (key.length < klen) {
    const grown = new Uint8Array(Math.max(klen, key.length * 2))
    grown.set(key.subarray(0, shared))
    keyScratch = key = grown
  }
  for (let i = 0; i < unshared; i++) key[shared + i] = d[at + i]!
  return key
}

/**
 * {@link Block.seekPoint} over a data block still being decoded (`dec`): scans
 * its entries from the first, decoding only as far as the first entry whose
 * key is ≥ `target`, so a point read that misses the cache decodes about half
 * a block. On success `pointHit` and `pointKey()` are set as by `seekPoint`,
 * with the value's offsets in `dec.buf`.
 *
 * The restart array at the block's end is not decoded, so where the entries
 * end is not known; but entry `i` of a well-formed data block ends before a
 * restart array of at least ⌈(i + 1) / 16⌉ offsets (data blocks restart every
 * 16 entries, FORMAT.md §4.2). An entry that does not end before that, or does
 * not restart where it should, or shares more than the key before it, makes
 * the scan give up: it returns false and the caller decodes the whole block.
 * Since an index key is its block's last key, a read never needs to scan past
 * the last entry of a well-formed block.
 */
export function scanPoint(dec: PartialDecode, target: Uint8Array): boolean {
  const tlen = target.length
  const n = dec.length
  const base = dec.base
  let p = 0
  let klen = 0
  for (let i = 0; ; i++) {
    const limit = n - 8 - 4 * (i >>> 4)
    if (p + 3 > limit) return false
    // The entry's three varints (at most 15 bytes, none past the limit in a well-formed block).
    dec.fill(p + 15 < limit ? p + 15 : limit)
    const d = dec.buf
    const q = readEntryHeader(d, base + p)
    const { shared, unshared } = header
    const keyEnd = q - base + unshared
    const end = keyEnd + header.valueLength
    if (end > limit || shared > klen || ((i & 15) === 0 && shared !== 0)) return false
    dec.fill(keyEnd)
    klen = shared + unshared
    const key = rebuildKey(d, q, shared, unshared)
    if (compareInternalKeyAt(key, 0, klen, target, tlen, 0) >= 0) {
      dec.fill(end)
      pointHit.keyLength = klen
      pointHit.valueStart = base + keyEnd
      pointHit.valueEnd = base + end
      return true
    }
    p = end
  }
}

/** A parsed, validated block. Cheap to create; entries are decoded lazily. */
export class Block {
  /** Offset in `data` where the restart array begins, i.e. the end of the entries. */
  readonly restartsOffset: number
  /** Number of restart points (at least 1). */
  readonly numRestarts: number
  /**
   * Iterators positioned on this block. While non-zero, the block's memory
   * must not be recycled even if the cache drops it.
   */
  pins = 0
  /** `data` lies in a buffer from the block cache's {@link BufferPool} that only this block uses. */
  pooled = false

  /**
   * Validates the restart array; throws DecodeError when it is malformed.
   * @param data The block contents (entries, restart offsets, restart count), without the trailer.
   */
  constructor(readonly data: Uint8Array) {
    if (data.length < 4) throw new DecodeError('block shorter than its restart count')
    const n = getFixed32(data, data.length - 4)
    if (n < 1 || n > (data.length - 4) / 4) throw new DecodeError(`block restart count ${n} does not fit`)
    this.numRestarts = n
    this.restartsOffset = data.length - 4 - 4 * n
    let prev = -1
    for (let i = 0; i < n; i++) {
      const r = getFixed32(data, this.restartsOffset + 4 * i)
      const bad = i === 0 ? r !== 0 : r <= prev || r >= this.restartsOffset
      if (bad) throw new DecodeError(`block restart ${i} at ${r} is out of order or range`)
      prev = r
    }
  }

  /** Offset in `data` of restart point `i` (an entry whose key is stored whole). */
  restartPoint(i: number): number {
    return getFixed32(this.data, this.restartsOffset + 4 * i)
  }

  /**
   * Offset in `data` of the key stored whole at restart point i; its length is
   * left in `restartKeyLength` (no tuple or view per binary-search step).
   * @internal
   */
  restartKeyAt(i: number): number {
    const d = this.data
    let p = this.restartPoint(i)
    let shared: number, unshared: number
    if (d[p]! < 0x80) shared = d[p++]!
    else [shared, p] = getVarint(d, p, 5)
    if (d[p]! < 0x80) unshared = d[p++]!
    else [unshared, p] = getVarint(d, p, 5)
    if (d[p]! < 0x80) p++
    else [, p] = getVarint(d, p, 5)
    if (shared !== 0) throw new DecodeError(`restart entry ${i} does not store its whole key`)
    if (p + unshared > this.restartsOffset) throw new DecodeError(`restart entry ${i} runs past the entries`)
    restartKeyLength = unshared
    return p
  }

  /**
   * Point-read seek in internal-key order: finds the first entry whose key is
   * ≥ `target` without building an iterator or a key per entry. On success the
   * key is left in `pointKey()[0..pointHit.keyLength)` and the value at
   * `data[pointHit.valueStart..pointHit.valueEnd)`, both valid until the next
   * call; false when every key is < target. Malformed entries throw DecodeError
   * as the iterator's decoding does.
   */
  seekPoint(target: Uint8Array): boolean {
    const d = this.data
    const limit = this.restartsOffset
    const tlen = target.length
    // Last restart whose key is < target; the answer lies at or after it.
    let lo = 0
    let hi = this.numRestarts - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      const at = this.restartKeyAt(mid)
      if (compareInternalKeyAt(d, at, restartKeyLength, target, tlen, 0) < 0) lo = mid
      else hi = mid - 1
    }
    let p = this.restartPoint(lo)
    let klen = 0
    while (p < limit) {
      const entry = p
      p = readEntryHeader(d, p)
      const { shared, unshared, valueLength: vlen } = header
      if (shared > klen) throw new DecodeError(`block entry at ${entry} shares more than the previous key`)
      if (p + unshared + vlen > limit) throw new DecodeError(`block entry at ${entry} runs past the entries`)
      klen = shared + unshared
      const key = rebuildKey(d, p, shared, unshared)
      p += unshared
      if (compareInternalKeyAt(key, 0, klen, target, tlen, 0) >= 0) {
        pointHit.keyLength = klen
        pointHit.valueStart = p
        pointHit.valueEnd = p + vlen
        return true
      }
      p += vlen
    }
    return false
  }

  /** A new iterator over the entries; `compare` is the key order used by seeks (default: internal-key order). */
  iterator(compare: (a: Uint8Array, b: Uint8Array) => number = compareInternalKeys): BlockIterator {
    return new BlockIterator(this, compare)
  }
}

/** Iterates a block's entries; keys are materialized (prefix + suffix) per entry. */
export class BlockIterator implements InternalIterator {
  private readonly data: Uint8Array
  private readonly limit: number
  /** Offset of the current entry; `limit` when invalid. */
  private current: number
  private nextOffset = 0
  private restartIndex = 0
  private curKey: Uint8Array = new Uint8Array(0)
  private valStart = 0
  private valEnd = 0
  /**
   * Entries of the current restart run before the current one, saved by the
   * last slow {@link BlockIterator.prev}, so that walking backwards decodes
   * each run once instead of once per entry. Flat: offset, key, value start,
   * value end, next offset per entry. Valid while `backFor === current`.
   */
  private readonly backKeys: Uint8Array[] = []
  private readonly backPos: number[] = []
  private backFor = -1

  constructor(private readonly block: Block, private readonly compare: (a: Uint8Array, b: Uint8Array) => number) {
    this.data = block.data
    this.limit = block.restartsOffset
    this.current = this.limit
  }

  valid(): boolean {
    return this.current < this.limit
  }

  key(): Uint8Array {
    return this.curKey
  }

  value(): Uint8Array {
    return this.data.subarray(this.valStart, this.valEnd)
  }

  /** Decodes the entry at `nextOffset`, making it current; false at the end of the entries. */
  private parseNext(): boolean {
    this.current = this.nextOffset
    if (this.current >= this.limit) {
      this.current = this.limit
      return false
    }
    const d = this.data
    let p = this.current
    let shared: number, unshared: number, vlen: number
    // One-byte lengths (nearly all) decode inline, without getVarint's tuple.
    if (d[p]! < 0x80) shared = d[p++]!
    else [shared, p] = getVarint(d, p, 5)
    if (d[p]! < 0x80) unshared = d[p++]!
    else [unshared, p] = getVarint(d, p, 5)
    if (d[p]! < 0x80) vlen = d[p++]!
    else [vlen, p] = getVarint(d, p, 5)
    if (shared > this.curKey.length) throw new DecodeError(`block entry at ${this.current} shares more than the previous key`)
    if (p + unshared + vlen > this.limit) throw new DecodeError(`block entry at ${this.current} runs past the entries`)
    const key = new Uint8Array(shared + unshared)
    // Short keys (nearly all) copy inline: cheaper than two views and two native calls.
    const prev = this.curKey
    if (shared < 64) {
      for (let i = 0; i < shared; i++) key[i] = prev[i]!
    } else {
      setBytes(key, prev.subarray(0, shared), 0)
    }
    if (unshared < 64) {
      for (let i = 0; i < unshared; i++) key[shared + i] = d[p + i]!
    } else {
      setBytes(key, d.subarray(p, p + unshared), shared)
    }
    this.curKey = key
    this.valStart = p + unshared
    this.valEnd = this.valStart + vlen
    this.nextOffset = this.valEnd
    while (this.restartIndex + 1 < this.block.numRestarts && this.block.restartPoint(this.restartIndex + 1) <= this.current) {
      this.restartIndex++
    }
    return true
  }

  private seekToRestart(i: number): void {
    this.backFor = -1
    this.restartIndex = i
    this.nextOffset = this.block.restartPoint(i)
    this.curKey = new Uint8Array(0)
  }

  seekToFirst(): void {
    this.seekToRestart(0)
    this.parseNext()
  }

  seekToLast(): void {
    this.seekToRestart(this.block.numRestarts - 1)
    while (this.parseNext() && this.nextOffset < this.limit) { /* advance to the last entry */ }
  }

  /** Key stored whole at restart point i. */
  private restartKey(i: number): Uint8Array {
    const p = this.block.restartKeyAt(i)
    return this.data.subarray(p, p + restartKeyLength)
  }

  seek(target: Uint8Array): void {
    // Last restart whose key is < target; the answer lies at or after it.
    let lo = 0
    let hi = this.block.numRestarts - 1
    if (this.compare === compareInternalKeys) {
      // The usual order: compare restart keys in place, without a view of each.
      const tlen = target.length
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1
        const at = this.block.restartKeyAt(mid)
        if (compareInternalKeyAt(this.data, at, restartKeyLength, target, tlen, 0) < 0) lo = mid
        else hi = mid - 1
      }
    }
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.compare(this.restartKey(mid), target) < 0) lo = mid
      else hi = mid - 1
    }
    this.seekToRestart(lo)
    while (this.parseNext()) {
      if (this.compare(this.curKey, target) >= 0) return
    }
  }

  seekForPrev(target: Uint8Array): void {
    this.seek(target)
    if (!this.valid()) this.seekToLast()
    else if (this.compare(this.curKey, target) > 0) this.prev()
  }

  next(): void {
    this.backFor = -1
    this.parseNext()
  }

  prev(): void {
    const original = this.current
    if (this.backFor === original && this.backKeys.length > 0) {
      // The previous entry was decoded by the last slow step: take it back.
      const pos = this.backPos
      const n = pos.length
      this.nextOffset = pos.pop()!
      this.valEnd = pos.pop()!
      this.valStart = pos.pop()!
      this.current = pos[n - 4]!
      pos.length = n - 4
      this.curKey = this.backKeys.pop()!
      this.backFor = this.current
      return
    }
    this.backKeys.length = 0
    this.backPos.length = 0
    this.backFor = -1
    // Back up to the restart point before the current entry, then scan to just before it,
    // saving the entries passed on the way for the next steps back.
    while (this.block.restartPoint(this.restartIndex) >= original) {
      if (this.restartIndex === 0) {
        this.current = this.limit
        this.nextOffset = this.limit
        return
      }
      this.restartIndex--
    }
    this.seekToRestart(this.restartIndex)
    while (this.parseNext() && this.nextOffset < original) {
      this.backKeys.push(this.curKey)
      this.backPos.push(this.current, this.valStart, this.valEnd, this.nextOffset)
    }
    if (this.valid()) this.backFor = this.current
  }

}
