/**
 * Bounded caches for the pure-TS core: an LRU of data blocks bounded in bytes
 * (the block cache) and an LRU of open file descriptors bounded in count
 * (`maxOpenFiles`). A table's index, filter and properties are not in these:
 * they stay in memory for as long as the table is live (the meta cache).
 */
import { Buffer } from 'node:buffer'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { DecodeError } from './coding.js'

/** One cached value: a node of the cache's recency list, filed under `key` in its owner's map. */
interface CacheNode<V> {
  prev: CacheNode<V>
  next: CacheNode<V>
  owner: Map<unknown, CacheNode<V>>
  key: unknown
  value: V
  charge: number
}

/**
 * Map from numeric keys to cached values, owned by one user of an {@link LruCache}
 * (a table: its block offsets). Its entries share the cache's budget and
 * recency order; {@link LruCache.evictOwner} drops them all without scanning
 * the rest of the cache.
 */
export type CacheOwner<V> = Map<number, CacheNode<V>>

/**
 * Least-recently-used cache with a byte budget: a doubly linked recency list
 * over nodes filed in maps. String keys live in the cache's own map; a table
 * files its blocks under numeric keys in a map of its own (a `CacheOwner`),
 * so a lookup hashes a small integer instead of building a key string, and
 * closing the table evicts its blocks without scanning everyone's.
 */
export class LruCache<V> {
  private readonly map = new Map<string, CacheNode<V>>()
  /** Sentinel of the recency list: `head.next` is the least recently used node, `head.prev` the most. */
  private readonly head: CacheNode<V>
  private used = 0
  /** Lookups by {@link LruCache.get} that found the key. */
  hits = 0
  /** Lookups by {@link LruCache.get} that did not find the key. */
  misses = 0

  /**
   * @param capacity Byte budget: the most the charges of all entries may add up to.
   * @param onEvict Called with each value the cache drops (evicted, replaced, or
   *   dropped with its owner), after it is gone from the cache.
   */
  constructor(
    readonly capacity: number,
    private readonly onEvict?: (value: V) => void,
  ) {
    const head = { key: undefined, value: undefined, charge: 0 } as unknown as CacheNode<V>
    head.prev = head
    head.next = head
    head.owner = new Map()
    this.head = head
  }

  /** The value under `key` (now the most recently used), or undefined; counts a hit or a miss. */
  get(key: string): V | undefined {
    return this.find(this.map as Map<unknown, CacheNode<V>>, key)
  }

  /**
   * {@link LruCache.get} for a numeric key in `owner`'s map.
   * @internal
   */
  getIn(owner: CacheOwner<V>, key: number): V | undefined {
    return this.find(owner as Map<unknown, CacheNode<V>>, key)
  }

  private find(owner: Map<unknown, CacheNode<V>>, key: unknown): V | undefined {
    const e = owner.get(key)
    if (e === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    const head = this.head
    if (e.next !== head) {
      // Unlink, then relink as the most recently used.
      e.prev.next = e.next
      e.next.prev = e.prev
      const last = head.prev
      e.prev = last
      e.next = head
      last.next = e
      head.prev = e
    }
    return e.value
  }

  /**
   * Stores `value` under `key` with a size of `charge` bytes, replacing any old entry, then evicts
   * least recently used entries until the total fits `capacity`. A value larger than `capacity` is not stored.
   */
  set(key: string, value: V, charge: number): void {
    this.store(this.map as Map<unknown, CacheNode<V>>, key, value, charge)
  }

  /**
   * {@link LruCache.set} for a numeric key in `owner`'s map.
   * @internal
   */
  setIn(owner: CacheOwner<V>, key: number, value: V, charge: number): void {
    this.store(owner as Map<unknown, CacheNode<V>>, key, value, charge)
  }

  /**
   * Whether a value of about `charge` bytes that is not cached should be read
   * into the cache now: yes while the cache has room for it; once full (when
   * storing it would evict others), only on its second miss among the keys
   * recently turned away, as the native cache does (`crates/lsm-core/src/cache.rs`).
   * A block read once is then not worth the full decode and eviction that
   * caching it costs; one read again soon is.
   * @internal
   */
  admitIn(owner: CacheOwner<V>, key: number, charge: number): boolean {
    if (this.used + charge <= this.capacity) return true
    let keys = this.seen.get(owner)
    if (keys?.delete(key) === true) {
      this.seenCount--
      return true
    }
    if (this.seenCount >= Math.max(8, Math.floor(this.capacity / 4096))) {
      this.seen.clear()
      this.seenCount = 0
      keys = undefined
    }
    if (keys === undefined) this.seen.set(owner, (keys = new Set()))
    keys.add(key)
    this.seenCount++
    return false
  }

  /** Keys {@link LruCache.admitIn} turned away since it last forgot them, by owner. */
  private readonly seen = new Map<CacheOwner<V>, Set<number>>()
  private seenCount = 0

  private store(owner: Map<unknown, CacheNode<V>>, key: unknown, value: V, charge: number): void {
    if (charge > this.capacity) return
    const old = owner.get(key)
    if (old !== undefined) this.drop(old)
    const head = this.head
    const last = head.prev
    const e: CacheNode<V> = { prev: last, next: head, owner, key, value, charge }
    last.next = e
    head.prev = e
    owner.set(key, e)
    this.used += charge
    while (this.used > this.capacity) this.drop(head.next)
  }

  /** {@link LruCache.unlink}, then tells {@link LruCache.onEvict}. */
  private drop(e: CacheNode<V>): void {
    this.unlink(e)
    this.onEvict?.(e.value)
  }

  /** Removes a node from the list and its owner's map. */
  private unlink(e: CacheNode<V>): void {
    e.prev.next = e.next
    e.next.prev = e.prev
    e.owner.delete(e.key)
    this.used -= e.charge
  }

  /** Drops every entry whose (string) key starts with `prefix`. */
  evictPrefix(prefix: string): void {
    for (const [k, e] of this.map) if (k.startsWith(prefix)) this.drop(e)
  }

  /**
   * Drops every entry filed in `owner` (a closed table's blocks).
   * @internal
   */
  evictOwner(owner: CacheOwner<V>): void {
    for (const e of owner.values()) this.drop(e)
    const keys = this.seen.get(owner)
    if (keys !== undefined) {
      this.seenCount -= keys.size
      this.seen.delete(owner)
    }
  }

  /** Sum of the charges of the entries held, in bytes. */
  get usedBytes(): number {
    return this.used
  }
}

/** Largest buffer a {@link BufferPool} hands out or keeps. */
const MAX_POOLED_BUFFER = 64 * 1024
/** Pooled buffers come in sizes that are multiples of this. */
const POOL_GRAIN = 1024

/**
 * Recycled memory for the block cache's data blocks. Every block read that
 * misses the cache needs a few KiB of its own; as a fresh ArrayBuffer each
 * time, that is external memory V8 must account for, and churning it at read
 * speed triggered scavenges and full collections of the whole heap (a third
 * of a random read's time in the pure-TS engine). A block the cache drops,
 * and that no iterator pins, gives its buffer back here for the next miss.
 *
 * Buffers are whole ArrayBuffers in multiples of 1 KiB up to 64 KiB, filed
 * by size; `maxBytes` bounds what is kept.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[][] = []
  private held = 0
  /** Buffers handed out that came from the pool rather than a new allocation. */
  reused = 0

  constructor(
    /** The most bytes kept for reuse; buffers given back beyond it are left to the GC. */
    readonly maxBytes: number,
  ) {}

  /** A buffer of at least `n` bytes (contents unspecified), recycled when one of its size is free. */
  take(n: number): ArrayBuffer {
    if (n > MAX_POOLED_BUFFER) return new ArrayBuffer(n)
    const slot = Math.ceil(n / POOL_GRAIN)
    const b = this.free[slot]?.pop()
    if (b === undefined) return new ArrayBuffer(slot * POOL_GRAIN)
    this.held -= b.byteLength
    this.reused++
    return b
  }

  /** Returns a buffer for reuse. The caller must hold no view of it any more. */
  give(b: ArrayBuffer): void {
    const size = b.byteLength
    if (size > MAX_POOLED_BUFFER || size % POOL_GRAIN !== 0 || this.held + size > this.maxBytes) return
    ;(this.free[size / POOL_GRAIN] ??= []).push(b)
    this.held += size
  }

  /** Bytes kept for reuse. */
  get heldBytes(): number {
    return this.held
  }
}

/** Reads exactly `length` bytes at file offset `offset` into `dst[0..length)`; a short file throws {@link DecodeError}. */
export function readFully(fd: number, offset: number, length: number, dst: Uint8Array): void {
  let done = 0
  while (done < length) {
    const n = readSync(fd, dst, done, length - done, offset + done)
    if (n === 0) throw new DecodeError(`short read at ${offset + done}`)
    done += n
  }
}

/** Open file descriptors, at most `max` at a time; files are reopened on demand. */
export class FdPool {
  private readonly open = new Map<string, number>()

  constructor(readonly max: number) {}

  private fd(path: string): number {
    let fd = this.open.get(path)
    if (fd !== undefined) {
      this.open.delete(path)
      this.open.set(path, fd)
      return fd
    }
    fd = openSync(path, 'r')
    this.open.set(path, fd)
    for (const [p, f] of this.open) {
      if (this.open.size <= this.max) break
      closeSync(f)
      this.open.delete(p)
    }
    return fd
  }

  size(path: string): number {
    return fstatSync(this.fd(path)).size
  }

  read(path: string, offset: number, length: number): Uint8Array {
    const out = Buffer.allocUnsafe(length)
    readFully(this.fd(path), offset, length, out)
    return out
  }

  /** Reads exactly `length` bytes at `offset` into `dst[0..length)`. */
  readInto(path: string, offset: number, length: number, dst: Uint8Array): void {
    readFully(this.fd(path), offset, length, dst)
  }

  close(path: string): void {
    const fd = this.open.get(path)
    if (fd !== undefined) {
      closeSync(fd)
      this.open.delete(path)
    }
  }

  closeAll(): void {
    for (const fd of this.open.values()) closeSync(fd)
    this.open.clear()
  }

  get openCount(): number {
    return this.open.size
  }
}
