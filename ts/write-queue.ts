/**
 * The write channel (the seed's write thread): many callers submit; one
 * leader drains the queue in groups and commits each group with one WAL
 * append, at most one fsync, and one memtable apply; then every caller in the
 * group is woken.
 *
 * Each submission is pre-encoded as write-group entries with 12 bytes of room
 * in front, so a group of one writer (the common uncontended case) becomes a
 * write group by filling in its header, without a copy.
 */
import { putFixed32, putFixed64, putVarint, varintLength } from './core/ts/coding.js'
import { Kind } from './core/ts/internal-key.js'
import { WRITE_GROUP_HEADER_LENGTH } from './core/ts/write-group.js'

/** One operation as the public API takes it, after key/value conversion. */
export interface EncodedOp {
  kind: Kind
  key: Uint8Array
  value?: Uint8Array
}

/** A submission: one caller's batch, all or nothing. */
export interface Submission {
  /** Header room (12 bytes) followed by the encoded entries. */
  buf: Uint8Array
  count: number
  sync: boolean
  resolve: () => void
  reject: (e: Error) => void
  /** A control action run by the leader alone, in queue order (e.g. a forced memtable switch). */
  control?: () => Promise<void>
}

/** Encodes ops as write-group entries after 12 bytes of header room. */
export function encodeSubmission(ops: readonly EncodedOp[]): { buf: Uint8Array; count: number } {
  let size = WRITE_GROUP_HEADER_LENGTH
  for (const op of ops) {
    size += 1 + varintLength(op.key.length) + op.key.length
    if (op.kind === Kind.Put) size += varintLength(op.value!.length) + op.value!.length
  }
  const buf = Buffer.allocUnsafe(size)
  let off = WRITE_GROUP_HEADER_LENGTH
  for (const op of ops) {
    buf[off++] = op.kind
    off = putVarint(buf, off, op.key.length)
    buf.set(op.key, off)
    off += op.key.length
    if (op.kind === Kind.Put) {
      off = putVarint(buf, off, op.value!.length)
      buf.set(op.value!, off)
      off += op.value!.length
    }
  }
  return { buf, count: ops.length }
}

/** Builds the write group for a run of submissions starting at `firstSeq`. */
export function buildGroup(subs: readonly Submission[], firstSeq: number): { group: Uint8Array; count: number } {
  let count = 0
  for (const s of subs) count += s.count
  let group: Uint8Array
  if (subs.length === 1) {
    group = subs[0]!.buf
  } else {
    let size = WRITE_GROUP_HEADER_LENGTH
    for (const s of subs) size += s.buf.length - WRITE_GROUP_HEADER_LENGTH
    group = Buffer.allocUnsafe(size)
    let off = WRITE_GROUP_HEADER_LENGTH
    for (const s of subs) {
      group.set(s.buf.subarray(WRITE_GROUP_HEADER_LENGTH), off)
      off += s.buf.length - WRITE_GROUP_HEADER_LENGTH
    }
  }
  putFixed64(group, 0, firstSeq)
  putFixed32(group, 8, count)
  return { group, count }
}

/**
 * The queue and its leader loop. `commit` does the work for one group and
 * resolves when the group is durable (as asked) and visible.
 */
export class WriteQueue {
  private readonly queue: Submission[] = []
  private head = 0
  private running: Promise<void> | undefined
  /** Groups committed and writes in them, for stats. */
  groups = 0
  writes = 0

  constructor(
    private readonly commit: (subs: Submission[]) => Promise<void>,
    private readonly maxGroupBytes: number,
    private readonly delayMs: number,
  ) {}

  get pending(): number {
    return this.queue.length - this.head
  }

  submit(buf: Uint8Array, count: number, sync: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf, count, sync, resolve, reject })
      this.running ??= this.lead()
    })
  }

  /** Runs `fn` in the leader, after every write queued before it and before any queued after. */
  exclusive(fn: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf: new Uint8Array(0), count: 0, sync: false, resolve, reject, control: fn })
      this.running ??= this.lead()
    })
  }

  /** Resolves once every submission so far has been committed or failed. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  private take(): Submission[] {
    const out: Submission[] = []
    let bytes = 0
    while (this.head < this.queue.length) {
      const s = this.queue[this.head]!
      if (out.length > 0 && (s.control !== undefined || bytes + s.buf.length > this.maxGroupBytes)) break
      if (s.control !== undefined) {
        out.push(s)
        this.head++
        break
      }
      out.push(s)
      bytes += s.buf.length
      this.head++
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
    }
    return out
  }

  private async lead(): Promise<void> {
    // Let every writer that is ready in this turn of the event loop (including
    // promise continuations still queued as microtasks) join the first group.
    if (this.delayMs > 0) await new Promise(r => setTimeout(r, this.delayMs))
    else await new Promise(r => setImmediate(r))
    try {
      while (this.pending > 0) {
        const subs = this.take()
        try {
          if (subs[0]!.control !== undefined) {
            await subs[0]!.control()
            subs[0]!.resolve()
            continue
          }
          await this.commit(subs)
          this.groups++
          for (const s of subs) {
            this.writes += s.count
            s.resolve()
          }
        } catch (e) {
          for (const s of subs) s.reject(e as Error)
        }
        if (this.delayMs > 0 && this.pending > 0) await new Promise(r => setTimeout(r, this.delayMs))
      }
    } finally {
      this.running = undefined
    }
  }
}
