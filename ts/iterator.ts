/**
 * The public iterator: an async iterator of `[key, value]` Buffers over a
 * pinned read state at one sequence number. Entries come from the core in
 * chunks (one core call per chunk, growing from 16 to 1024 entries), so
 * iteration costs one boundary crossing per chunk, not per entry.
 */
import { Buffer } from 'node:buffer'
import { LsmError } from './errors.js'
import { ioError } from './env.js'
import type { Chunk, CoreCursor, CursorOptions } from './core/core.js'
import type { ReadState } from './read-state.js'
import { shareTurn } from './turn.js'
import { asBuffer } from './core/ts/coding.js'

/** Range and direction of an iteration. Bounds are keys (Buffer, Uint8Array or string). */
export interface IteratorOptions<K = Buffer | Uint8Array | string> {
  /** Start after this key (exclusive lower bound; ignored when `gte` is given). */
  gt?: K
  /** Start at this key (inclusive lower bound). */
  gte?: K
  /** Stop before this key (exclusive upper bound; ignored when `lte` is given). */
  lt?: K
  /** Stop at this key (inclusive upper bound). */
  lte?: K
  /** Iterate from the largest key down (default false). */
  reverse?: boolean
  /** Stop after this many entries (default: no limit; -1 also means none). */
  limit?: number
  /** Read as of this snapshot instead of the latest state. */
  snapshot?: {
    /** The sequence number to read at; pass a live {@link Snapshot} of the same database. */
    readonly sequence: number
  }
}

const MIN_CHUNK = 16
const MAX_CHUNK = 1024
const CHUNK_BYTES = 1 << 20

/** Iterates `[key, value]` pairs in key order (or reverse). Close it, or run it to the end, to release what it pins. */
export class DBIterator implements AsyncIterableIterator<[Buffer, Buffer]> {
  private keys: Uint8Array[] = []
  private values: Uint8Array[] = []
  private pos = 0
  private exhausted = false
  private closed = false
  private chunk = MIN_CHUNK
  private remaining: number
  /** Entries returned so far. */
  count = 0

  /** The core cursor, opened on first need (an iteration read whole by one `scan` never opens one). */
  private opened: CoreCursor | undefined

  /** @internal */
  constructor(
    private readonly state: ReadState,
    private readonly options: CursorOptions,
    limit: number,
    private readonly onClose: (it: DBIterator, versionFreed: boolean) => void,
  ) {
    this.remaining = limit < 0 ? Infinity : limit
  }

  private cursor(): CoreCursor {
    this.opened ??= this.state.view.cursor(this.options)
    return this.opened
  }

  /** Returns the iterator itself, so it works with `for await`. */
  [Symbol.asyncIterator](): this {
    return this
  }

  private fill(): void {
    let c: Chunk
    try {
      const view = this.state.view
      if (this.opened === undefined && this.remaining <= MIN_CHUNK && view.scan !== undefined) {
        // A short iteration (a seek reading a few entries): one core call and
        // no cursor object, kept when it holds the whole iteration (else the
        // cursor below reads it again from the start).
        c = view.scan(this.options, this.remaining, CHUNK_BYTES)
        if (c.done || c.keys.length >= this.remaining) {
          this.keys = c.keys
          this.values = c.values
          this.pos = 0
          this.exhausted = true
          return
        }
      }
      c = this.cursor().nextChunk(Math.min(this.chunk, this.remaining), CHUNK_BYTES)
    } catch (e) {
      throw ioError(e, 'iterator read failed')
    }
    this.keys = c.keys
    this.values = c.values
    this.pos = 0
    this.exhausted = c.done
    if (this.chunk < MAX_CHUNK) this.chunk *= 2
  }

  /** The next entry, or undefined at the end (synchronous: entries are already in memory or one core call away). */
  nextSync(): [Buffer, Buffer] | undefined {
    if (this.closed) throw new LsmError('CLOSED', 'iterator is closed')
    if (this.remaining <= 0) {
      this.close()
      return undefined
    }
    if (this.pos >= this.keys.length) {
      if (this.exhausted) {
        this.close()
        return undefined
      }
      this.fill()
      if (this.keys.length === 0) {
        this.close()
        return undefined
      }
    }
    const i = this.pos++
    this.remaining--
    this.count++
    return [asBuffer(this.keys[i]!), asBuffer(this.values[i]!)]
  }

  /** The next `[key, value]` entry; `done` at the end or once closed. Closes the iterator at the end. */
  next(): Promise<IteratorResult<[Buffer, Buffer]>> {
    // Entries come from memory: share the event loop (see turn.ts). This is
    // readShared's work without a closure per step.
    let e: [Buffer, Buffer] | undefined
    try {
      e = this.closed ? undefined : this.nextSync()
    } catch (err) {
      return Promise.reject(err)
    }
    return shareTurn<IteratorResult<[Buffer, Buffer]>>(e === undefined ? { done: true, value: undefined } : { done: false, value: e })
  }

  /** Up to `n` entries at once. An empty array means the end. */
  async nextv(n: number): Promise<[Buffer, Buffer][]> {
    const out: [Buffer, Buffer][] = []
    while (out.length < n) {
      if (this.closed) break
      const e = this.nextSync()
      if (e === undefined) break
      out.push(e)
    }
    return shareTurn(out)
  }

  /** Repositions at the first key ≥ `target` (≤ in reverse), within the range. */
  seek(target: Uint8Array): void {
    if (this.closed) throw new LsmError('CLOSED', 'iterator is closed')
    this.cursor().seek(target)
    this.keys = []
    this.values = []
    this.pos = 0
    this.exhausted = false
    this.chunk = MIN_CHUNK
  }

  /** Releases the pinned state. Safe to call more than once. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.keys = []
    this.values = []
    this.opened?.close?.()
    this.onClose(this, this.state.unpin())
  }

  /** Closes the iterator (called when a `for await` loop exits early). */
  async return(): Promise<IteratorResult<[Buffer, Buffer]>> {
    this.close()
    return { done: true, value: undefined }
  }

  /** Whether the iterator is closed: by {@link DBIterator.close}, by reaching the end or the limit, or by {@link DB.close}. */
  get isClosed(): boolean {
    return this.closed
  }
}
