/**
 * Write groups (docs/FORMAT.md §2.2): the payload of one WAL record and the unit
 * `Core.apply` consumes. A group is a run of operations with consecutive sequence
 * numbers, applied and recovered all or nothing.
 *
 * ```
 * firstSeq fixed64 ‖ count fixed32 (≥ 1) ‖ count × (kind u8 ‖ key lpbytes ‖ value lpbytes if PUT)
 * ```
 *
 * Two decoders live here: {@link decodeWriteGroup} builds op objects (for tests,
 * tools and replay that needs to inspect ops), and {@link forEachInGroup} walks the
 * bytes without building objects (the memtable write path). Both run the same
 * walker, so they accept exactly the same inputs and reject everything else with
 * a {@link DecodeError}. Accepted groups are canonical: re-encoding the decoded ops
 * gives back the same bytes (padded varints are refused, see {@link GroupReader}).
 */
import { Cursor, DecodeError, putFixed32, putFixed64, putVarint, varintLength } from './coding.js'
import { Kind, MAX_KEY_LENGTH, MAX_SEQUENCE } from './internal-key.js'
import { invalidArgument } from '../../errors.js'

/** One operation of a write group. `value` is meaningful only for PUT (absent = empty). */
export interface WriteOp {
  /** `Kind.Put` or `Kind.Delete`. */
  kind: Kind
  /** The user key (at most `MAX_KEY_LENGTH` bytes). */
  key: Uint8Array
  /** The value of a put; ignored for a delete. */
  value?: Uint8Array
}

/** Bytes before the first entry: firstSeq fixed64 + count fixed32. */
export const WRITE_GROUP_HEADER_LENGTH = 12

const EMPTY = new Uint8Array(0)
const MAX_VARINT32 = 0xffff_ffff

/**
 * Encodes a group whose op `i` gets sequence `firstSeq + i`. Invalid input is a
 * caller bug, reported as an `INVALID_ARGUMENT` {@link LsmError}, never written.
 * The output is sized exactly up front so encoding allocates once.
 */
export function encodeWriteGroup(firstSeq: number, ops: WriteOp[]): Uint8Array {
  const count = ops.length
  if (count === 0) throw invalidArgument('a write group needs at least one operation')
  if (count > MAX_VARINT32) throw invalidArgument('too many operations for one write group')
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1 || firstSeq + count - 1 > MAX_SEQUENCE) {
    throw invalidArgument(`sequences ${firstSeq}..${firstSeq + count - 1} are outside 1..2^45-1`)
  }
  let size = WRITE_GROUP_HEADER_LENGTH
  for (const op of ops) {
    if (op.kind !== Kind.Put && op.kind !== Kind.Delete) throw invalidArgument(`unknown kind ${String(op.kind)}`)
    if (op.key.length > MAX_KEY_LENGTH) throw invalidArgument(`key of ${op.key.length} bytes exceeds ${MAX_KEY_LENGTH}`)
    size += 1 + varintLength(op.key.length) + op.key.length
    if (op.kind === Kind.Put) {
      const vlen = op.value?.length ?? 0
      if (vlen > MAX_VARINT32) throw invalidArgument('value too large for a write group')
      size += varintLength(vlen) + vlen
    }
  }
  const out = new Uint8Array(size)
  putFixed64(out, 0, firstSeq)
  putFixed32(out, 8, count)
  let off = WRITE_GROUP_HEADER_LENGTH
  for (const op of ops) {
    out[off++] = op.kind
    off = putVarint(out, off, op.key.length)
    out.set(op.key, off)
    off += op.key.length
    if (op.kind === Kind.Put) {
      const value = op.value ?? EMPTY
      off = putVarint(out, off, value.length)
      out.set(value, off)
      off += value.length
    }
  }
  return out
}

/**
 * Checks the header fields shared by both decoders. Sequence 0 is rejected too:
 * sequences start at 1 (§2.1), so no valid writer produces it.
 */
function checkHeader(firstSeq: number, count: number, entryBytes: number): void {
  if (count === 0) throw new DecodeError('write group has count 0')
  if (firstSeq < 1) throw new DecodeError('write group starts at sequence 0')
  if (firstSeq > MAX_SEQUENCE || firstSeq + count - 1 > MAX_SEQUENCE) {
    throw new DecodeError(`write group sequences ${firstSeq}+${count} exceed 2^45-1`)
  }
  // Every entry takes at least 2 bytes (kind + empty key): reject absurd counts
  // before looping over them.
  if (count * 2 > entryBytes) throw new DecodeError(`write group count ${count} cannot fit in ${entryBytes} bytes`)
}

/**
 * Decodes a group into op objects; keys and values are views into `bytes`. It
 * shares `walk` with `forEachInGroup`, so the two accept exactly the
 * same inputs.
 */
export function decodeWriteGroup(bytes: Uint8Array): {
  /** Sequence of the first op (from the header; 0 when the group holds no op). */
  firstSeq: number
  /** The ops in order; op `i` has sequence `firstSeq + i`. */
  ops: WriteOp[]
} {
  const ops: WriteOp[] = []
  let firstSeq = 0
  walk(bytes, (seq, kind, key, value) => {
    if (ops.length === 0) firstSeq = seq
    ops.push(kind === Kind.Put ? { kind, key, value } : { kind, key })
  })
  return { firstSeq, ops }
}

/** Callback of {@link forEachInGroup}; `key` and `value` are views into the group bytes. */
export type GroupEntryFn = (seq: number, kind: Kind, key: Uint8Array, value: Uint8Array) => void

/**
 * A minimal read position for {@link walk}. Unlike {@link Cursor.varint32}, reading a
 * varint here allocates nothing (no subarray, no tuple), which matters on the write
 * path; and it refuses padded varints, so an accepted group has exactly one encoding.
 */
class GroupReader {
  pos = WRITE_GROUP_HEADER_LENGTH
  constructor(readonly buf: Uint8Array) {}

  varint32(): number {
    const buf = this.buf
    let result = 0
    let mul = 1
    for (let i = 0; i < 5; i++) {
      if (this.pos >= buf.length) throw new DecodeError('varint runs past the end of the write group')
      const b = buf[this.pos++]!
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) {
        if (result > MAX_VARINT32) throw new DecodeError('varint32 overflows')
        // A zero final byte means a padded (non-minimal) encoding. No writer emits
        // one, and refusing it makes decode ∘ encode the identity on bytes.
        if (b === 0 && i > 0) throw new DecodeError('varint is not minimally encoded')
        return result
      }
      mul *= 128
    }
    throw new DecodeError('varint longer than 5 bytes')
  }
}

/**
 * Visits the entries of a group a slice at a time: the memtable's asynchronous
 * apply inserts a large group over several event-loop turns without first
 * turning it into op objects that would outlive the turn (and be promoted by
 * V8's scavenger: GC was 27% of the JS thread in a pure-TS batch fill). The
 * header is checked on construction; each entry as it is visited.
 */
export class GroupWalker {
  readonly firstSeq: number
  readonly count: number
  private readonly r: GroupReader
  private i = 0

  constructor(readonly bytes: Uint8Array) {
    const end = bytes.length
    if (end < WRITE_GROUP_HEADER_LENGTH) throw new DecodeError(`write group of ${end} bytes is shorter than its header`)
    const c = new Cursor(bytes)
    this.firstSeq = c.fixed64()
    this.count = c.fixed32()
    checkHeader(this.firstSeq, this.count, end - WRITE_GROUP_HEADER_LENGTH)
    this.r = new GroupReader(bytes)
  }

  /**
   * Visits up to `max` more entries (`fn` null: only checks them); true once
   * every entry has been visited and nothing follows the last one.
   */
  visit(max: number, fn: GroupEntryFn | null): boolean {
    const bytes = this.bytes
    const end = bytes.length
    const r = this.r
    const firstSeq = this.firstSeq
    const stop = Math.min(this.count, this.i + max)
    for (let i = this.i; i < stop; i++) {
      if (r.pos >= end) throw new DecodeError(`write group entry ${i} runs past the end`)
      const kind = bytes[r.pos++]!
      if (kind !== Kind.Put && kind !== Kind.Delete) throw new DecodeError(`write group entry ${i} has unknown kind ${kind}`)
      const klen = r.varint32()
      if (klen > MAX_KEY_LENGTH) throw new DecodeError(`write group entry ${i} key of ${klen} bytes exceeds ${MAX_KEY_LENGTH}`)
      const kstart = r.pos
      if (kstart + klen > end) throw new DecodeError(`write group entry ${i} key runs past the end`)
      r.pos = kstart + klen
      let vstart = r.pos
      let vlen = 0
      if (kind === Kind.Put) {
        vlen = r.varint32()
        vstart = r.pos
        if (vstart + vlen > end) throw new DecodeError(`write group entry ${i} value runs past the end`)
        r.pos = vstart + vlen
      }
      if (fn !== null) {
        fn(firstSeq + i, kind, bytes.subarray(kstart, kstart + klen), vlen === 0 ? EMPTY : bytes.subarray(vstart, vstart + vlen))
      }
    }
    this.i = stop
    if (stop < this.count) return false
    if (r.pos !== end) throw new DecodeError(`write group has ${end - r.pos} bytes after its ${this.count} entries`)
    return true
  }
}

/**
 * Walks the entries; with `fn === null` it only validates. Returns the count.
 * Views are made only when a callback wants them.
 */
function walk(bytes: Uint8Array, fn: GroupEntryFn | null): number {
  const w = new GroupWalker(bytes)
  w.visit(w.count, fn)
  return w.count
}

/**
 * Calls `fn` for each entry in order, without building op objects. The whole group
 * is validated before the first call, so a malformed group throws a
 * {@link DecodeError} having called `fn` zero times: a consumer such as the memtable
 * applies a group all or nothing. DELETE entries get an empty value. Returns the
 * sequence number of the last entry.
 */
export function forEachInGroup(bytes: Uint8Array, fn: GroupEntryFn): number {
  const count = walk(bytes, null)
  walk(bytes, fn)
  return lastSequenceOf(bytes, count)
}

/** Validates a group without visiting it; returns its entry count. */
export function validateWriteGroup(bytes: Uint8Array): number {
  return walk(bytes, null)
}

function lastSequenceOf(bytes: Uint8Array, count: number): number {
  return new Cursor(bytes).fixed64() + count - 1
}
