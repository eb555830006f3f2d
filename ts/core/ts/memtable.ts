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
 * Speed matters here (this is the pure-TS write path), so each node keeps its
 * user key and its trailer (`seq × 256 + kind`, exact below 2^53) apart: a
 * comparison is a short byte loop plus one number comparison, with no trailer
 * decoding and no allocation. The internal-key bytes a caller sees from the
 * iterator are built lazily, once per node, when first asked for.
 */
import { Kind, MAX_KEY_LENGTH, MAX_SEQUENCE, TRAILER_LENGTH, writeTrailer } from './internal-key.js'
import type { InternalIterator } from './iterator.js'
import { forEachInGroup } from './write-group.js'
import { invalidArgument } from '../../errors.js'

/** Tallest tower. With branching 4, 12 levels keep searches logarithmic up to ~16M entries. */
const MAX_HEIGHT = 12
/**
 * Estimated bytes a node costs beyond its key and value bytes (node object, link
 * array, typed-array headers). Only used for {@link Memtable.approximateSize},
 * which decides when to flush; it need not be exact, only proportional.
 */
const ENTRY_OVERHEAD = 96
/** Above this length a user-key comparison goes to the native Buffer.compare. */
const NATIVE_COMPARE_MIN = 32

const EMPTY = new Uint8Array(0)

class Node {
  /** Lazily built `ukey ‖ trailer`, see {@link Memtable}. */
  ikey: Uint8Array | null = null
  /** Previous node at level 0 (null for the first node). */
  prev: Node | null = null
  constructor(
    /** The user key (own copy). */
    readonly ukey: Uint8Array,
    /** seq × 256 + kind: larger sorts first among equal user keys. */
    readonly trailer: number,
    public value: Uint8Array,
    /** Forward links, one per level of this node's tower. */
    readonly next: (Node | null)[],
  ) {}

  internalKey(): Uint8Array {
    let k = this.ikey
    if (k === null) {
      const ukey = this.ukey
      k = new Uint8Array(ukey.length + TRAILER_LENGTH)
      k.set(ukey, 0)
      const t = this.trailer
      writeTrailer(k, ukey.length, Math.floor(t / 256), (t % 256) as Kind)
      this.ikey = k
    }
    return k
  }
}

/** Compares node `n` with target (`key`, `trailer`): negative when n sorts first. */
function compareNode(n: Node, key: Uint8Array, trailer: number): number {
  const a = n.ukey
  const alen = a.length
  const blen = key.length
  if (alen >= NATIVE_COMPARE_MIN && blen >= NATIVE_COMPARE_MIN) {
    const c = Buffer.compare(a, key)
    if (c !== 0) return c
  } else {
    const len = alen < blen ? alen : blen
    for (let i = 0; i < len; i++) {
      const d = a[i]! - key[i]!
      if (d !== 0) return d
    }
    if (alen !== blen) return alen - blen
  }
  return trailer - n.trailer
}

/** Splits an internal key into a user-key view and its trailer number (throws if too short). */
function splitInternalKey(ikey: Uint8Array): [Uint8Array, number] {
  const ulen = ikey.length - TRAILER_LENGTH
  if (ulen < 0) throw invalidArgument(`internal key of ${ikey.length} bytes is shorter than its trailer`)
  const lo = (ikey[ulen]! | (ikey[ulen + 1]! << 8) | (ikey[ulen + 2]! << 16)) + ikey[ulen + 3]! * 0x100_0000
  const hi = (ikey[ulen + 4]! | (ikey[ulen + 5]! << 8) | (ikey[ulen + 6]! << 16)) + ikey[ulen + 7]! * 0x100_0000
  return [ikey.subarray(0, ulen), hi * 0x1_0000_0000 + lo]
}

/** Copies bytes into a fresh array; a plain loop beats `set` for short keys. */
function copyBytes(src: Uint8Array): Uint8Array {
  const n = src.length
  if (n === 0) return EMPTY
  const out = new Uint8Array(n)
  if (n <= 32) for (let i = 0; i < n; i++) out[i] = src[i]!
  else out.set(src)
  return out
}

/** Result of {@link Memtable.get}. */
export type MemtableGetResult =
  | { found: false }
  | { found: true; kind: Kind; value: Uint8Array; seq: number }

const NOT_FOUND: MemtableGetResult = Object.freeze({ found: false })

/** The skiplist proper; module-private so its node type stays out of the public API. */
class SkipList {
  private readonly head: Node = new Node(EMPTY, 0, EMPTY, new Array<Node | null>(MAX_HEIGHT).fill(null))
  /** Last node at level 0, so seekToLast is O(1). */
  private tail: Node | null = null
  private height = 1
  private rng: number
  /** Reused predecessor array for inserts (avoids an allocation per add). */
  private readonly update: Node[] = new Array<Node>(MAX_HEIGHT)
  private size = 0
  private count = 0

  constructor(seed: number) {
    this.rng = (seed | 0) === 0 ? 0x2545f491 : seed | 0
  }

  private randomHeight(): number {
    let h = 1
    let x = this.rng
    // xorshift32: one step yields 32 bits, enough for all 2-bit coin flips.
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.rng = x
    while (h < MAX_HEIGHT && (x & 3) === 0) {
      h++
      x >>>= 2
    }
    return h
  }

  /**
   * First node ≥ (key, trailer), or null. When `update` is given, fills it with
   * the last node < target at every level (the insert splice points).
   */
  private findGreaterOrEqual(key: Uint8Array, trailer: number, update: Node[] | null): Node | null {
    let x = this.head
    let level = this.height - 1
    for (;;) {
      const nx = x.next[level]!
      if (nx !== null && compareNode(nx, key, trailer) < 0) {
        x = nx
      } else {
        if (update !== null) update[level] = x
        if (level === 0) return nx
        level--
      }
    }
  }

  /** Inserts (or replaces the value of) the entry (userKey, trailer); arguments are trusted. */
  insert(userKey: Uint8Array, trailer: number, kind: Kind, value: Uint8Array): void {
    const update = this.update
    const found = this.findGreaterOrEqual(userKey, trailer, update)
    const val = kind === Kind.Put ? copyBytes(value) : EMPTY
    if (found !== null && compareNode(found, userKey, trailer) === 0) {
      this.size += val.length - found.value.length
      found.value = val
      return
    }
    const h = this.randomHeight()
    if (h > this.height) {
      for (let i = this.height; i < h; i++) update[i] = this.head
      this.height = h
    }
    const links = new Array<Node | null>(h)
    const node = new Node(copyBytes(userKey), trailer, val, links)
    for (let i = 0; i < h; i++) {
      const p = update[i]!
      links[i] = p.next[i]!
      p.next[i] = node
    }
    const before = update[0]!
    node.prev = before === this.head ? null : before
    const after = links[0]!
    if (after !== null) after.prev = node
    else this.tail = node
    this.count++
    this.size += userKey.length + TRAILER_LENGTH + val.length + ENTRY_OVERHEAD
  }

  /** Newest entry of `userKey` with trailer ≤ `trailer`, or null. */
  find(userKey: Uint8Array, trailer: number): Node | null {
    const n = this.findGreaterOrEqual(userKey, trailer, null)
    return n !== null && sameBytes(n.ukey, userKey) ? n : null
  }

  get entryCount(): number {
    return this.count
  }

  get approximateSize(): number {
    return this.size
  }

  /** First node ≥ target internal key. */
  seekNode(target: Uint8Array): Node | null {
    const [ukey, trailer] = splitInternalKey(target)
    return this.findGreaterOrEqual(ukey, trailer, null)
  }

  /** Last node ≤ target internal key. */
  seekForPrevNode(target: Uint8Array): Node | null {
    const [ukey, trailer] = splitInternalKey(target)
    const n = this.findGreaterOrEqual(ukey, trailer, null)
    if (n === null) return this.tail
    return compareNode(n, ukey, trailer) === 0 ? n : n.prev
  }

  firstNode(): Node | null {
    return this.head.next[0]!
  }

  lastNode(): Node | null {
    return this.tail
  }
}

/**
 * The memtable: validates what callers hand it and delegates to the skiplist.
 * Entries are never removed; a full memtable is frozen, flushed and dropped whole.
 */
export class Memtable {
  private readonly list: SkipList

  /** `seed` fixes the skiplist level sequence (any 32-bit value). */
  constructor(seed = 0x2545f491) {
    this.list = new SkipList(seed)
  }

  /** Number of entries (versions, not distinct user keys). */
  get entryCount(): number {
    return this.list.entryCount
  }

  /** Estimated memory in bytes: keys + values + a fixed per-entry overhead. */
  get approximateSize(): number {
    return this.list.approximateSize
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
    this.list.insert(userKey, seq * 256 + kind, kind, value)
  }

  /**
   * Applies one encoded write group (FORMAT.md §2.2). The group is validated
   * before anything is inserted, so a malformed group throws a DecodeError and
   * leaves the memtable unchanged. Returns the group's last sequence number.
   */
  apply(group: Uint8Array): number {
    // The decoder has already checked kinds, key lengths and sequence range.
    const list = this.list
    return forEachInGroup(group, (seq, kind, key, value) => list.insert(key, seq * 256 + kind, kind, value))
  }

  /**
   * The newest version of `userKey` with sequence ≤ `snapshotSeq`, DELETE included
   * (the caller must stop looking in older sources when it finds a tombstone). The
   * returned value is the memtable's own copy: do not modify it.
   */
  get(userKey: Uint8Array, snapshotSeq: number): MemtableGetResult {
    const snap = snapshotSeq > MAX_SEQUENCE ? MAX_SEQUENCE : Math.floor(snapshotSeq)
    if (!(snap >= 0)) return NOT_FOUND
    const n = this.list.find(userKey, snap * 256 + Kind.Put)
    if (n === null) return NOT_FOUND
    const t = n.trailer
    return { found: true, kind: (t % 256) as Kind, value: n.value, seq: Math.floor(t / 256) }
  }

  /** An iterator over all entries in internal-key order. It also sees later adds. */
  iterator(): InternalIterator {
    return new MemtableIterator(this.list)
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length
  if (n !== b.length) return false
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

/** Walks the level-0 list; `prev` uses the back links. */
class MemtableIterator implements InternalIterator {
  private node: Node | null = null
  constructor(private readonly table: SkipList) {}

  valid(): boolean {
    return this.node !== null
  }
  seekToFirst(): void {
    this.node = this.table.firstNode()
  }
  seekToLast(): void {
    this.node = this.table.lastNode()
  }
  seek(target: Uint8Array): void {
    this.node = this.table.seekNode(target)
  }
  seekForPrev(target: Uint8Array): void {
    this.node = this.table.seekForPrevNode(target)
  }
  next(): void {
    this.node = this.current().next[0]!
  }
  prev(): void {
    this.node = this.current().prev
  }
  key(): Uint8Array {
    return this.current().internalKey()
  }
  value(): Uint8Array {
    return this.current().value
  }
  private current(): Node {
    const n = this.node
    if (n === null) throw new Error('memtable iterator is not valid')
    return n
  }
}
