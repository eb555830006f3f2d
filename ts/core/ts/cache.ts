/**
 * Bounded caches for the pure-TS core: an LRU of data blocks bounded in bytes
 * (the block cache) and an LRU of open file descriptors bounded in count
 * (`maxOpenFiles`). A table's index, filter and properties are not in these:
 * they stay in memory for as long as the table is live (the meta cache).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { DecodeError } from './coding.js'

/** Least-recently-used map with a byte budget. Map iteration order is insertion order: re-insert on hit. */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; charge: number }>()
  private used = 0
  /** Lookups by {@link LruCache.get} that found the key. */
  hits = 0
  /** Lookups by {@link LruCache.get} that did not find the key. */
  misses = 0

  /** @param capacity Byte budget: the most the charges of all entries may add up to. */
  constructor(readonly capacity: number) {}

  /** The value under `key` (now the most recently used), or undefined; counts a hit or a miss. */
  get(key: string): V | undefined {
    const e = this.map.get(key)
    if (e === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    this.map.delete(key)
    this.map.set(key, e)
    return e.value
  }

  /**
   * Stores `value` under `key` with a size of `charge` bytes, replacing any old entry, then evicts
   * least recently used entries until the total fits `capacity`. A value larger than `capacity` is not stored.
   */
  set(key: string, value: V, charge: number): void {
    if (charge > this.capacity) return
    const old = this.map.get(key)
    if (old !== undefined) {
      this.used -= old.charge
      this.map.delete(key)
    }
    this.map.set(key, { value, charge })
    this.used += charge
    for (const [k, e] of this.map) {
      if (this.used <= this.capacity) break
      this.map.delete(k)
      this.used -= e.charge
    }
  }

  /** Drops every entry whose key starts with `prefix` (a deleted table's blocks). */
  evictPrefix(prefix: string): void {
    for (const [k, e] of this.map) {
      if (k.startsWith(prefix)) {
        this.map.delete(k)
        this.used -= e.charge
      }
    }
  }

  /** Sum of the charges of the entries held, in bytes. */
  get usedBytes(): number {
    return this.used
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
    const fd = this.fd(path)
    const out = Buffer.allocUnsafe(length)
    let done = 0
    while (done < length) {
      const n = readSync(fd, out, done, length - done, offset + done)
      if (n === 0) throw new DecodeError(`short read at ${offset + done}`)
      done += n
    }
    return out
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
