/**
 * The pure-TypeScript memtable: an in-memory sorted map from internal key to value,
 * holding the writes not yet flushed to a table.
 *
 * It is a skiplist ordered exactly like {@link compareInternalKeys} (user key
 * ascending, then sequence and kind descending). Levels come from a seeded
 * xorshift generator, so a given sequence of inserts always builds the same
 * structure (reproducible tests and benchmarks). Level 0 also keeps `prev`
 * links, so backward iteration is O(1) per step instead of a search.
 *
 * Why an arena layout rather than one JS object per node: a skiplist search of a
 * large memtable is bound by cache misses, and an object node (node → key array →
 * its bytes → link array) costs several per comparison, plus GC work for every
 * insert. Here every node is one contiguous record in a single `Int32Array`
 * (links, trailer, key location, and the key's first 16 bytes as four unsigned
 * numbers, which settle comparisons of keys up to 16 bytes, and most others,
 * without touching the key bytes), and
 * key ‖ trailer ‖ value bytes are appended to large byte chunks. An insert
 * allocates nothing but amortized chunk growth, and the internal-key bytes the
 * iterator hands out are plain views of the arena (written once, never changed).
 */
import { Kind, MAX_KEY_LENGTH, MAX_SEQUENCE, TRAILER_LENGTH, writeTrailer } from './internal-key.js'
import type { InternalIterator } from './iterator.js'
import { forEachInGroup, type GroupWalker } from './write-group.js'
import { DecodeError, setBytes } from './coding.js'
import { invalidArgument, LsmError } from '../../errors.js'

/** Tallest tower. With branching 4, 12 levels keep searches logarithmic up to ~16M entries. */
const MAX_HEIGHT = 12

// Node record layout (offsets within the record; a node is named by its record's
// start index in `nodes`). Record 0 is the head; since no link ever points to the
// head, link value 0 means "none".
const F_PFX = 0 // user-key bytes 0..3, big-endian, zero-padded (compare as uint32)
const F_W1 = 1 // user-key bytes 4..7, likewise
const F_W2 = 2 // user-key bytes 8..11
const F_W3 = 3 // user-key bytes 12..15
const F_CHUNK = 4 // arena chunk holding key ‖ trailer (and usually the value)
const F_KOFF = 5 // user key offset in that chunk
const F_KLEN = 6 // user key length
const F_THI = 7 // trailer high 32 bits (seq >> 24)
const F_TLO = 8 // trailer low 32 bits ((seq & 0xffffff) << 8 | kind), compare as uint32
const F_VCHUNK = 9
const F_VOFF = 10
const F_VLEN = 11
const F_PREV = 12 // previous record at level 0 (0 = none)
const F_NEXT = 13 // F_NEXT + i = next record at level i, for i < the node's height
const HEAD_SIZE = F_NEXT + MAX_HEIGHT
/** Key bytes held in the record itself (F_PFX..F_W3): keys up to this long compare without touching the arena. */
const INLINE_KEY = 16
/**
 * Fields charged per record in {@link Memtable.approximateSize}: the layout
 * before the three inline key words, so that memtables fill (and flush) at
 * the same points as before and as the native core's.
 */
const CHARGED_FIELDS = 10

const FIRST_CHUNK = 4096
const MAX_CHUNK = 1 << 20

const EMPTY = new Uint8Array(0)

/** Result of {@link Memtable.get}. */
export type MemtableGetResult =
  | { found: false }
  | { found: true; kind: Kind; value: Uint8Array; seq: number }

const NOT_FOUND: MemtableGetResult = Object.freeze({ found: false })

/**
 * The arena lives in SharedArrayBuffers: a frozen memtable goes to the flush
 * worker as it is ({@link Memtable.frozen}), where packing its entries into
 * a message on the JS thread took ~1 µs per entry (a 4 MiB memtable held the
 * event loop for ~30 ms).
 */
function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(n * 4))
}

function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n))
}

/** Key bytes `from..from+3` as a big-endian uint32, zero-padded past the key's end. */
function wordAt(key: Uint8Array, from: number): number {
  const n = key.length
  if (from + 4 <= n) return ((key[from]! << 24) | (key[from + 1]! << 16) | (key[from + 2]! << 8) | key[from + 3]!) >>> 0
  return ((from < n ? key[from]! << 24 : 0) | (from + 1 < n ? key[from + 1]! << 16 : 0) | (from + 2 < n ? key[from + 2]! << 8 : 0)) >>> 0
}

/** The skiplist proper, over node records and byte chunks. */
class SkipList {
  nodes = sharedInt32(4096)
  private used = HEAD_SIZE
  readonly chunks: Uint8Array[] = []
  private chunk = sharedBytes(FIRST_CHUNK)
  private chunkPos = 0
  tail = 0
  private height = 1
  private rng: number
  /** Reused predecessor array for inserts. */
  private readonly update = new Int32Array(MAX_HEIGHT)
  /**
   * The last record on each level (0, the head, where a level is empty): the
   * predecessors of a key above every key in the list, so ascending inserts
   * (sequential fills and batches) skip the search.
   */
  private readonly rightmost = new Int32Array(MAX_HEIGHT)
  size = 0
  count = 0
  // The search target, held in fields so comparisons take no argument object.
  private tKey: Uint8Array = EMPTY
  private tPfx = 0
  private tW1 = 0
  private tW2 = 0
  private tW3 = 0
  private tHi = 0
  private tLo = 0

  constructor(seed: number) {
    this.rng = (seed | 0) === 0 ? 0x2545f491 : seed | 0
    this.chunks.push(this.chunk)
  }

  private randomHeight(): number {
    let x = this.rng
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.rng = x
    // Branching 4: each further level with probability 1/4 (two bits per flip).
    let h = 1
    while (h < MAX_HEIGHT && (x & 3) === 0) {
      h++
      x >>>= 2
    }
    return h
  }

  /** Sets the search target from a user key and a trailer (`seq × 256 + kind`). */
  setTarget(key: Uint8Array, seq: number, kind: number): void {
    this.tKey = key
    this.setWords(key)
    this.tHi = Math.floor(seq / 0x100_0000)
    this.tLo = ((seq % 0x100_0000) * 256 + kind) >>> 0
  }

  /** Sets the search target from an internal key. */
  setTargetInternal(ikey: Uint8Array): void {
    const u = ikey.length - TRAILER_LENGTH
    if (u < 0) throw invalidArgument(`internal key of ${ikey.length} bytes is shorter than its trailer`)
    this.tKey = ikey.subarray(0, u)
    this.setWords(this.tKey)
    this.tLo = (ikey[u]! | (ikey[u + 1]! << 8) | (ikey[u + 2]! << 16) | (ikey[u + 3]! << 24)) >>> 0
    this.tHi = (ikey[u + 4]! | (ikey[u + 5]! << 8) | (ikey[u + 6]! << 16) | (ikey[u + 7]! << 24)) >>> 0
  }

  /** The target's first {@link INLINE_KEY} bytes as four words. */
  private setWords(key: Uint8Array): void {
    this.tPfx = wordAt(key, 0)
    this.tW1 = wordAt(key, 4)
    this.tW2 = wordAt(key, 8)
    this.tW3 = wordAt(key, 12)
  }

  /** Compares record `r` with the target: negative when `r` sorts first. */
  compare(r: number): number {
    const n = this.nodes
    // The first 16 bytes of both keys, zero-padded, as four big-endian words:
    // where they differ, they order the keys as their bytes do.
    let a = n[r]! >>> 0
    let b = this.tPfx
    if (a !== b) return a < b ? -1 : 1
    a = n[r + F_W1]! >>> 0
    b = this.tW1
    if (a !== b) return a < b ? -1 : 1
    a = n[r + F_W2]! >>> 0
    b = this.tW2
    if (a !== b) return a < b ? -1 : 1
    a = n[r + F_W3]! >>> 0
    b = this.tW3
    if (a !== b) return a < b ? -1 : 1
    const key = this.tKey
    const blen = key.length
    const alen = n[r + F_KLEN]!
    const m = alen < blen ? alen : blen
    // Equal words mean bytes 0..min(m, 16) are equal (both keys have them); only longer keys go to the arena.
    if (m > INLINE_KEY) {
      const chunk = this.chunks[n[r + F_CHUNK]!]!
      const off = n[r + F_KOFF]!
      for (let i = INLINE_KEY; i < m; i++) {
        const d = chunk[off + i]! - key[i]!
        if (d !== 0) return d
      }
    }
    if (alen !== blen) return alen - blen
    const hi = n[r + F_THI]! >>> 0
    if (hi !== this.tHi) return this.tHi - hi
    return this.tLo - (n[r + F_TLO]! >>> 0)
  }

  /** First record ≥ target (0 if none); fills `update` with the predecessors when asked. */
  findGreaterOrEqual(fillUpdate: boolean): number {
    const n = this.nodes
    let x = 0
    let level = this.height - 1
    for (;;) {
      const nx = n[x + F_NEXT + level]!
      if (nx !== 0 && this.compare(nx) < 0) {
        x = nx
      } else {
        if (fillUpdate) this.update[level] = x
        if (level === 0) return nx
        level--
      }
    }
  }

  /** Last record ≤ target (0 if none). */
  findLessOrEqual(): number {
    const r = this.findGreaterOrEqual(false)
    if (r === 0) return this.tail
    return this.compare(r) === 0 ? r : this.nodes[r + F_PREV]!
  }

  /** Reserves `len` arena bytes; returns the offset in {@link chunk}. */
  private reserve(len: number): number {
    if (this.chunkPos + len > this.chunk.length) {
      const size = Math.max(Math.min(this.chunk.length * 2, MAX_CHUNK), len)
      this.chunk = sharedBytes(size)
      this.chunks.push(this.chunk)
      this.chunkPos = 0
    }
    const off = this.chunkPos
    this.chunkPos += len
    return off
  }

  private writeValue(r: number, value: Uint8Array): void {
    const off = this.reserve(value.length)
    copyInto(this.chunk, off, value)
    const n = this.nodes
    n[r + F_VCHUNK] = this.chunks.length - 1
    n[r + F_VOFF] = off
    n[r + F_VLEN] = value.length
  }

  /** Inserts (userKey, seq, kind) → value; the target must already be set to it. */
  insert(userKey: Uint8Array, seq: number, kind: Kind, value: Uint8Array): void {
    let found: number
    if (this.tail !== 0 && this.compare(this.tail) < 0) {
      // After every entry: the rightmost path is the insert path.
      this.update.set(this.rightmost)
      found = 0
    } else {
      found = this.findGreaterOrEqual(true)
    }
    const val = kind === Kind.Put ? value : EMPTY
    if (found !== 0 && this.compare(found) === 0) {
      // Same internal key again (a group applied twice): keep one entry, new value.
      this.size += val.length - this.nodes[found + F_VLEN]!
      this.writeValue(found, val)
      return
    }
    const h = this.randomHeight()
    const update = this.update
    if (h > this.height) {
      for (let i = this.height; i < h; i++) update[i] = 0
      this.height = h
    }
    const recLen = F_NEXT + h
    if (this.used + recLen > this.nodes.length) {
      const grown = sharedInt32(this.nodes.length * 2)
      grown.set(this.nodes)
      this.nodes = grown
    }
    const r = this.used
    this.used += recLen
    const klen = userKey.length
    const vlen = val.length
    const koff = this.reserve(klen + TRAILER_LENGTH + vlen)
    const chunk = this.chunk
    copyInto(chunk, koff, userKey)
    writeTrailer(chunk, koff + klen, seq, kind)
    copyInto(chunk, koff + klen + TRAILER_LENGTH, val)
    const n = this.nodes
    n[r + F_PFX] = this.tPfx
    n[r + F_W1] = this.tW1
    n[r + F_W2] = this.tW2
    n[r + F_W3] = this.tW3
    n[r + F_CHUNK] = this.chunks.length - 1
    n[r + F_KOFF] = koff
    n[r + F_KLEN] = klen
    n[r + F_THI] = this.tHi
    n[r + F_TLO] = this.tLo
    n[r + F_VCHUNK] = this.chunks.length - 1
    n[r + F_VOFF] = koff + klen + TRAILER_LENGTH
    n[r + F_VLEN] = vlen
    const rightmost = this.rightmost
    for (let i = 0; i < h; i++) {
      const p = update[i]!
      const next = n[p + F_NEXT + i]!
      n[r + F_NEXT + i] = next
      n[p + F_NEXT + i] = r
      if (next === 0) rightmost[i] = r
    }
    n[r + F_PREV] = update[0]!
    const after = n[r + F_NEXT]!
    if (after !== 0) n[after + F_PREV] = r
    else this.tail = r
    this.count++
    this.size += klen + TRAILER_LENGTH + vlen + (CHARGED_FIELDS + h) * 4
  }

  /** The internal key of record `r`, as a view of the arena. */
  keyView(r: number): Uint8Array {
    const n = this.nodes
    const off = n[r + F_KOFF]!
    return this.chunks[n[r + F_CHUNK]!]!.subarray(off, off + n[r + F_KLEN]! + TRAILER_LENGTH)
  }

  /** The value of record `r`, as a view of the arena. */
  valueView(r: number): Uint8Array {
    const n = this.nodes
    const len = n[r + F_VLEN]!
    if (len === 0) return EMPTY
    const off = n[r + F_VOFF]!
    return this.chunks[n[r + F_VCHUNK]!]!.subarray(off, off + len)
  }

  /** Whether record `r` has exactly the target's user key. */
  sameUserKey(r: number): boolean {
    const n = this.nodes
    const key = this.tKey
    const len = key.length
    if (n[r + F_KLEN] !== len || (n[r + F_PFX]! >>> 0) !== this.tPfx || (n[r + F_W1]! >>> 0) !== this.tW1 ||
      (n[r + F_W2]! >>> 0) !== this.tW2 || (n[r + F_W3]! >>> 0) !== this.tW3) return false
    if (len <= INLINE_KEY) return true
    const chunk = this.chunks[n[r + F_CHUNK]!]!
    const off = n[r + F_KOFF]!
    for (let i = INLINE_KEY; i < len; i++) if (chunk[off + i] !== key[i]) return false
    return true
  }
}

/** Copies `src` into `dst` at `off`; a plain loop beats `set` for short arrays. */
function copyInto(dst: Uint8Array, off: number, src: Uint8Array): void {
  const len = src.length
  if (len <= 24) for (let i = 0; i < len; i++) dst[off + i] = src[i]!
  else setBytes(dst, src, off)
}

/**
 * The memtable: validates what callers hand it and delegates to the skiplist.
 * Entries are never removed; a full memtable is frozen, flushed and dropped whole.
 * Returned keys and values are views of memory the memtable never rewrites.
 */
export class Memtable {
  private readonly list: SkipList

  /** `seed` fixes the skiplist level sequence (any 32-bit value). */
  constructor(seed = 0x2545f491) {
    this.list = new SkipList(seed)
  }

  /** Number of entries (versions, not distinct user keys). */
  get entryCount(): number {
    return this.list.count
  }

  /** Estimated memory in bytes: internal keys + values + each node's link record. */
  get approximateSize(): number {
    return this.list.size
  }

  /**
   * Adds one entry; the key and value bytes are copied. A DELETE's value is
   * ignored (stored empty). Adding an internal key that is already present replaces
   * its value, so re-applying a group is harmless.
   */
  add(seq: number, kind: Kind, userKey: Uint8Array, value: Uint8Array = EMPTY): void {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQUENCE) throw invalidArgument(`sequence ${seq} is outside 0..2^45-1`)
    if (kind !== Kind.Put && kind !== Kind.Delete) throw invalidArgument(`unknown kind ${String(kind)}`)
    if (userKey.length > MAX_KEY_LENGTH) throw invalidArgument(`key of ${userKey.length} bytes exceeds ${MAX_KEY_LENGTH}`)
    this.list.setTarget(userKey, seq, kind)
    this.list.insert(userKey, seq, kind, value)
  }

  /**
   * Applies one encoded write group (FORMAT.md §2.2). The group is validated
   * before anything is inserted, so a malformed group leaves the memtable
   * unchanged. It is reported as `INVALID_ARGUMENT` (the caller handed us bad
   * bytes; WAL replay decodes groups itself and reports corruption with the file
   * name). Returns the group's last sequence number.
   */
  apply(group: Uint8Array): number {
    const list = this.list
    try {
      // forEachInGroup has already checked kinds, key lengths and the sequence range.
      return forEachInGroup(group, (seq, kind, key, value) => {
        list.setTarget(key, seq, kind)
        list.insert(key, seq, kind, value)
      })
    } catch (e) {
      if (e instanceof DecodeError) throw new LsmError('INVALID_ARGUMENT', `malformed write group: ${e.message}`, { cause: e })
      throw e
    }
  }
  /**
   * Inserts up to `max` more entries of a group being walked (see
   * {@link GroupWalker}); true once all are in. The caller checks the whole
   * group first (a walker with `visit(count, null)`) so that a malformed group
   * inserts nothing.
   */
  applySlice(walker: GroupWalker, max: number): boolean {
    const list = this.list
    return walker.visit(max, (seq, kind, key, value) => {
      list.setTarget(key, seq, kind)
      list.insert(key, seq, kind, value)
    })
  }


  /**
   * The newest version of `userKey` with sequence ≤ `snapshotSeq`, DELETE included
   * (the caller must stop looking in older sources when it finds a tombstone).
   */
  get(userKey: Uint8Array, snapshotSeq: number): MemtableGetResult {
    const snap = snapshotSeq > MAX_SEQUENCE ? MAX_SEQUENCE : Math.floor(snapshotSeq)
    if (!(snap >= 0)) return NOT_FOUND
    const list = this.list
    list.setTarget(userKey, snap, Kind.Put)
    const r = list.findGreaterOrEqual(false)
    if (r === 0 || !list.sameUserKey(r)) return NOT_FOUND
    const hi = list.nodes[r + F_THI]! >>> 0
    const lo = list.nodes[r + F_TLO]! >>> 0
    return { found: true, kind: (lo & 0xff) as Kind, value: list.valueView(r), seq: hi * 0x100_0000 + (lo >>> 8) }
  }

  /** An iterator over all entries in internal-key order. It also sees later adds. */
  iterator(): InternalIterator {
    return new MemtableIterator(this.list)
  }

  /**
   * The arena of a memtable that takes no more writes, shared (not copied)
   * with whoever it is posted to: read it with {@link addFrozenEntries}.
   * The memtable must not be written afterwards.
   */
  frozen(): FrozenMemtable {
    return { nodes: this.list.nodes, chunks: [...this.list.chunks] }
  }
}

/** A memtable's records and byte chunks, as {@link Memtable.frozen} hands them out. */
export interface FrozenMemtable {
  nodes: Int32Array
  chunks: Uint8Array[]
}

/** Where {@link addFrozenEntries} adds entries (a table builder). */
export interface EntrySink {
  /** Adds the internal key `src[off..off+len)` with the value `vsrc[voff..voff+vlen)`. */
  addFrom(src: Uint8Array, off: number, len: number, vsrc: Uint8Array, voff: number, vlen: number): void
}

/** Adds every entry of a frozen memtable to `sink` in internal-key order, by offsets into its chunks (no views made). */
export function addFrozenEntries(m: FrozenMemtable, sink: EntrySink): void {
  const n = m.nodes
  const chunks = m.chunks
  for (let r = n[F_NEXT]!; r !== 0; r = n[r + F_NEXT]!) {
    const vlen = n[r + F_VLEN]!
    sink.addFrom(chunks[n[r + F_CHUNK]!]!, n[r + F_KOFF]!, n[r + F_KLEN]! + TRAILER_LENGTH,
      vlen === 0 ? EMPTY : chunks[n[r + F_VCHUNK]!]!, vlen === 0 ? 0 : n[r + F_VOFF]!, vlen)
  }
}

/** Walks level 0; `prev` follows the back links. Caches the key view per position. */
class MemtableIterator implements InternalIterator {
  private rec = 0
  private keyRec = 0
  private keyBytes: Uint8Array = EMPTY

  constructor(private readonly list: SkipList) {}

  valid(): boolean {
    return this.rec !== 0
  }
  seekToFirst(): void {
    this.rec = this.list.nodes[F_NEXT]!
  }
  seekToLast(): void {
    this.rec = this.list.tail
  }
  seek(target: Uint8Array): void {
    this.list.setTargetInternal(target)
    this.rec = this.list.findGreaterOrEqual(false)
  }
  seekForPrev(target: Uint8Array): void {
    this.list.setTargetInternal(target)
    this.rec = this.list.findLessOrEqual()
  }
  next(): void {
    this.rec = this.list.nodes[this.current() + F_NEXT]!
  }
  prev(): void {
    this.rec = this.list.nodes[this.current() + F_PREV]!
  }
  key(): Uint8Array {
    const r = this.current()
    if (this.keyRec !== r) {
      this.keyBytes = this.list.keyView(r)
      this.keyRec = r
    }
    return this.keyBytes
  }
  value(): Uint8Array {
    return this.list.valueView(this.current())
  }
  private current(): number {
    if (this.rec === 0) throw new Error('memtable iterator is not valid')
    return this.rec
  }
}
