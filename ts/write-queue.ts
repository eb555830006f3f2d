/**
 * The write channel (the seed's write thread): many callers submit; one
 * leader drains the queue in groups and commits each group with one WAL
 * append, at most one fsync, and one memtable apply; then every caller in the
 * group is woken.
 *
 * Writers encode straight into the open group (a {@link Segment}): its buffer
 * starts with 12 bytes of header room, so the group needs no copy before it
 * goes to the WAL and the memtable. Every writer of a group shares the
 * group's one promise, so a write costs no promise of its own. A submission
 * (one put, del or batch) is never split across groups: batches stay atomic.
 */
import { Buffer } from 'node:buffer'
import { putFixed32, putFixed64, putVarint, setBytes, varintLength } from './core/ts/coding.js'
import { Kind } from './core/ts/internal-key.js'
import { WRITE_GROUP_HEADER_LENGTH } from './core/ts/write-group.js'

/** One operation as the public API takes it, after key/value conversion. */
export interface EncodedOp {
  kind: Kind
  key: Uint8Array
  value?: Uint8Array
}

/** A batch operation whose key and value are bytes already (`DB.batch`'s common case). */
export interface PlainOp {
  type: 'put' | 'del'
  key: Uint8Array
  value?: Uint8Array
}

/** First capacity of a group's buffer; it doubles as writers join. */
const INITIAL_GROUP_BYTES = 64 * 1024
/** Committed groups' buffers kept for reuse (the WAL write is synchronous and the memtable copies, so nothing holds them). */
const POOLED_BUFFERS = 4
/** Buffers of `maxGroupBytes` kept for groups that start with a large batch. */
const POOLED_LARGE_BUFFERS = 2

/** A group being filled, or queued for the leader. */
export class Segment {
  /** Header room (12 bytes) then the encoded entries, up to `length`. */
  buf: Buffer
  length = WRITE_GROUP_HEADER_LENGTH
  /** Entries in the group. */
  count = 0
  /** True when any writer asked for `sync`. */
  sync = false
  /** Settles when the group is committed (or failed); shared by its writers. */
  readonly done: Promise<void>
  resolve!: () => void
  reject!: (e: Error) => void

  constructor(
    /** The group's buffer (at least 12 bytes unless this is a control). */
    buf: Buffer,
    /** A control action run by the leader alone, in queue order (e.g. a forced memtable switch). */
    readonly control?: () => Promise<void>,
  ) {
    this.buf = buf
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  /** The complete write group (header fields filled in by {@link Segment.seal}). */
  get group(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }

  /** Makes room for `bytes` more. */
  reserve(bytes: number): void {
    const need = this.length + bytes
    if (need <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2))
    this.buf.copy(grown, 0, 0, this.length)
    this.buf = grown
  }

  /** Writes the group header: the first sequence number and the entry count. */
  seal(firstSeq: number): void {
    putFixed64(this.buf, 0, firstSeq)
    putFixed32(this.buf, 8, this.count)
  }
}

const EMPTY = Buffer.alloc(0)

/** Encoded size of one entry. */
export function entrySize(kind: Kind, key: Uint8Array, value: Uint8Array | undefined): number {
  let n = 1 + varintLength(key.length) + key.length
  if (kind === Kind.Put) n += varintLength(value!.length) + value!.length
  return n
}

/** Encodes one entry at `off`; returns the offset after it. */
function putEntry(buf: Buffer, off: number, kind: Kind, key: Uint8Array, value: Uint8Array | undefined): number {
  buf[off++] = kind
  off = putVarint(buf, off, key.length)
  setBytes(buf, key, off)
  off += key.length
  if (kind === Kind.Put) {
    off = putVarint(buf, off, value!.length)
    setBytes(buf, value!, off)
    off += value!.length
  }
  return off
}

/**
 * The queue and its leader loop. `commit` does the work for one group and
 * resolves when the group is durable (as asked) and visible.
 */
export class WriteQueue {
  private readonly queue: Segment[] = []
  private head = 0
  private running: Promise<void> | undefined
  /**
   * Buffers of committed groups, reused for new ones: a fresh 64 KiB buffer
   * per group is external memory V8 must account for, and churning ~1 GB of
   * it per million writes triggered extra full GCs (event-loop pauses).
   */
  private readonly spare: Buffer[] = []
  /**
   * Buffers of exactly `maxGroupBytes`, for groups whose first submission is
   * larger than {@link INITIAL_GROUP_BYTES} (batches): such a group used to
   * start at the batch's size and double as more batches joined, copying
   * itself each time, and every fresh multi-MiB buffer is external memory
   * that makes V8 collect sooner.
   */
  private readonly spareLarge: Buffer[] = []
  /** Groups committed and writes in them, for stats. */
  groups = 0
  writes = 0

  constructor(
    /** Commits a group: synchronously (returns undefined) or by the promise it returns. */
    private readonly commit: (seg: Segment) => Promise<void> | undefined,
    private readonly maxGroupBytes: number,
    private readonly delayMs: number,
  ) {}

  /** The open group that `bytes` more can join, or a new one. */
  private groupFor(bytes: number): Segment {
    const tail = this.queue.length > this.head ? this.queue[this.queue.length - 1]! : undefined
    if (tail !== undefined && tail.control === undefined && tail.length + bytes <= this.maxGroupBytes) return tail
    const need = WRITE_GROUP_HEADER_LENGTH + bytes
    const buf = need <= INITIAL_GROUP_BYTES
      ? (this.spare.pop() ?? Buffer.allocUnsafeSlow(INITIAL_GROUP_BYTES))
      : need <= this.maxGroupBytes
        ? (this.spareLarge.pop() ?? Buffer.allocUnsafeSlow(this.maxGroupBytes))
        : Buffer.allocUnsafeSlow(need)
    const seg = new Segment(buf)
    this.queue.push(seg)
    this.running ??= this.lead()
    return seg
  }

  /** Submits one entry; `size` is its {@link entrySize}. */
  submitOne(kind: Kind, key: Uint8Array, value: Uint8Array | undefined, size: number, sync: boolean): Promise<void> {
    const seg = this.groupFor(size)
    seg.reserve(size)
    seg.length = putEntry(seg.buf, seg.length, kind, key, value)
    seg.count++
    if (sync) seg.sync = true
    return seg.done
  }

  /** Submits a batch (all or nothing, in one group); `size` is the sum of its entry sizes. */
  submitMany(ops: readonly EncodedOp[], size: number, sync: boolean): Promise<void> {
    return this.submitEncoded(size, ops.length, sync, (buf, off) => {
      for (const op of ops) off = putEntry(buf, off, op.kind, op.key, op.value)
      return off
    })
  }

  /** {@link submitMany} for operations in their API form (`type` 'put' or 'del', bytes). */
  submitPlain(ops: readonly PlainOp[], size: number, sync: boolean): Promise<void> {
    return this.submitEncoded(size, ops.length, sync, (buf, off) => {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!
        off = putEntry(buf, off, op.type === 'put' ? Kind.Put : Kind.Delete, op.key, op.value)
      }
      return off
    })
  }

  /** Puts `count` entries (`size` bytes, written by `encode` from the offset it is given) into one group. */
  private submitEncoded(size: number, count: number, sync: boolean, encode: (buf: Buffer, off: number) => number): Promise<void> {
    const seg = this.groupFor(size)
    seg.reserve(size)
    seg.length = encode(seg.buf, seg.length)
    seg.count += count
    if (sync) seg.sync = true
    return seg.done
  }

  /** Runs `fn` in the leader, after every write queued before it and before any queued after. */
  exclusive(fn: () => Promise<void>): Promise<void> {
    const seg = new Segment(EMPTY, fn)
    this.queue.push(seg)
    this.running ??= this.lead()
    return seg.done
  }

  /** Resolves once every submission so far has been committed or failed. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  private take(): Segment | undefined {
    if (this.head >= this.queue.length) return undefined
    const seg = this.queue[this.head++]!
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
    }
    return seg
  }

  private async lead(): Promise<void> {
    // Let every writer that is ready in this turn of the event loop (including
    // promise continuations still queued as microtasks) join the first group.
    if (this.delayMs > 0) await new Promise(r => setTimeout(r, this.delayMs))
    else await new Promise(r => setImmediate(r))
    try {
      for (;;) {
        const seg = this.take()
        if (seg === undefined) break
        try {
          if (seg.control !== undefined) {
            await seg.control()
            seg.resolve()
            continue
          }
          const waiting = this.commit(seg)
          if (waiting !== undefined) await waiting
          this.groups++
          this.writes += seg.count
          seg.resolve()
        } catch (e) {
          seg.reject(e as Error)
        }
        if (seg.buf.length === INITIAL_GROUP_BYTES && this.spare.length < POOLED_BUFFERS) this.spare.push(seg.buf)
        else if (seg.buf.length === this.maxGroupBytes && this.spareLarge.length < POOLED_LARGE_BUFFERS) this.spareLarge.push(seg.buf)
        if (this.delayMs > 0 && this.head < this.queue.length) await new Promise(r => setTimeout(r, this.delayMs))
      }
    } finally {
      this.running = undefined
    }
  }
}
