/**
 * Block compression type 1 (docs/FORMAT.md §4.1): the Snappy *raw* format (no
 * framing, no checksums), written from the format description. The Rust twin
 * is `crates/lsm-core/src/snappy.rs`; the two compressors must produce the
 * same bytes, so that both engines write byte-identical tables.
 *
 * ## Format (what the decoder accepts)
 *
 * `varint32 n` (the uncompressed length), then elements until the input ends.
 * Each element starts with a tag byte; its low two bits give the kind:
 * - `00` literal: `(tag >> 2) < 60` means a length of `(tag >> 2) + 1`; 60,
 *   61, 62, 63 mean that 1, 2, 3 or 4 little-endian bytes follow holding
 *   `length − 1`. Then `length` raw bytes.
 * - `01` copy, 1-byte offset: length `4 + ((tag >> 2) & 7)`, offset
 *   `((tag >> 5) << 8) | next byte` (0..2047).
 * - `10` copy, 2-byte offset: length `(tag >> 2) + 1`, offset = next 2 bytes LE.
 * - `11` copy, 4-byte offset: length `(tag >> 2) + 1`, offset = next 4 bytes LE.
 *
 * A copy repeats `length` bytes starting `offset` bytes back in the output;
 * `offset < length` (an overlapping copy) repeats a pattern.
 *
 * The decoder is strict: a bad preamble varint, a declared length above
 * {@link MAX_DECOMPRESSED_LENGTH} or above what the input could possibly
 * expand to (64 bytes per 3 input bytes), a truncated element, a copy with
 * offset 0 or reaching before the start of the output, and output longer or
 * shorter than declared all throw {@link DecodeError} (which the table reader
 * turns into a `CORRUPTION` error naming the file). It allocates the declared
 * length for the result (checked against the input's size first), decoding in a
 * reused work array; an output over 1 MiB decodes in a temporary array of the
 * input's plus the declared length.
 *
 * ## The compressor (must stay byte-identical to the Rust one)
 *
 * A greedy LZ77 with a hash table of last positions:
 * 1. Write `varint32 n`. If `n < 4` the rest is one literal (none if `n = 0`).
 * 2. Table size `2^bits` with `bits` = smallest `b` in `8..14` such that
 *    `2^b ≥ n` (14 when none); all entries start at 0.
 * 3. `ip = 0`, `lit = 0` (start of pending literal bytes), `skip = 32`.
 *    While `ip + 4 ≤ n`:
 *    - `v` = the 4 bytes at `ip` as a little-endian u32;
 *      `h = (v × 0x1E35A7BD mod 2^32) >>> (32 − bits)`; `c = table[h]`;
 *      `table[h] = ip`.
 *    - If `c < ip`, `ip − c ≤ 65535` and the 4 bytes at `c` equal those at
 *      `ip`: extend the match to `len` = the number of equal bytes at `c + i`
 *      and `ip + i` (i from 0, stopping at the first difference or the end of
 *      input); emit the literal `[lit, ip)` if non-empty; emit the copy
 *      (`ip − c`, `len`); `ip += len`; `lit = ip`; `skip = 32`.
 *    - Otherwise `ip += skip >> 5; skip += 1` (after 32 misses in a row the
 *      scan steps 2 bytes, after 64 more 3, ...: incompressible input is
 *      skipped quickly).
 * 4. Emit the literal `[lit, n)` if non-empty.
 *
 * A literal of length `L` is one element using the shortest length encoding.
 * A copy (`off ≤ 65535`, `len ≥ 4`) is emitted as: while `len ≥ 68`, a
 * 2-byte-offset copy of 64 (`len −= 64`); then if `len > 64`, a 2-byte-offset
 * copy of 60 (`len −= 60`); then the rest (4..64): a 1-byte-offset copy when
 * `len ≤ 11` and `off < 2048`, else a 2-byte-offset copy. The compressor never
 * writes 4-byte-offset copies (the decoder accepts them).
 *
 * The compressor allocates nothing per byte: one hash table for the module
 * (the worker thread compresses one block at a time) and one output buffer
 * reused across calls.
 */
import { copyWithinBytes, DecodeError, fillBytes, getVarint, putVarint, setBytes } from './coding.js'

/** Largest uncompressed length the decoder accepts (1 GiB + 1 MiB); the table builder never compresses a larger block. */
export const MAX_DECOMPRESSED_LENGTH = 2 ** 30 + 2 ** 20

const MIN_TABLE_BITS = 8
const MAX_TABLE_BITS = 14
const HASH_MUL = 0x1e35a7bd
const MAX_OFFSET = 65535

/** An upper bound on the compressed size of `n` input bytes. */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6)
}

const table = new Uint32Array(1 << MAX_TABLE_BITS)
/** The table for inputs of at most 64 KiB (every data block): positions fit 16 bits, half the bytes to clear. */
const table16 = new Uint16Array(1 << MAX_TABLE_BITS)
let scratch = new Uint8Array(8192)
let scratchView = new DataView(scratch.buffer)

function emitLiteral(out: Uint8Array, op: number, src: Uint8Array, from: number, to: number): number {
  const len = to - from
  const l = len - 1
  if (l < 60) {
    out[op++] = l << 2
  } else if (l < 0x100) {
    out[op++] = 60 << 2
    out[op++] = l
  } else if (l < 0x1_0000) {
    out[op++] = 61 << 2
    out[op++] = l & 0xff
    out[op++] = l >>> 8
  } else if (l < 0x100_0000) {
    out[op++] = 62 << 2
    out[op++] = l & 0xff
    out[op++] = (l >>> 8) & 0xff
    out[op++] = l >>> 16
  } else {
    out[op++] = 63 << 2
    out[op++] = l & 0xff
    out[op++] = (l >>> 8) & 0xff
    out[op++] = (l >>> 16) & 0xff
    out[op++] = (l >>> 24) & 0xff
  }
  if (len < 16) {
    for (let i = from; i < to; i++) out[op++] = src[i]!
    return op
  }
  setBytes(out, src.subarray(from, to), op)
  return op + len
}

/**
 * {@link emitLiteral} into the compressor's scratch, copying four bytes at a
 * time through DataViews (`sv` over `src`, `ov` over `out`) for the literals
 * with a one-byte tag (≤ 60 bytes) that dominate table blocks.
 */
function emitLiteralWide(out: Uint8Array, ov: DataView, op: number, src: Uint8Array, sv: DataView, from: number, to: number): number {
  const len = to - from
  if (len > 60) return emitLiteral(out, op, src, from, to)
  out[op++] = (len - 1) << 2
  let i = 0
  for (; i + 4 <= len; i += 4) ov.setInt32(op + i, sv.getInt32(from + i, true), true)
  for (; i < len; i++) out[op + i] = src[from + i]!
  return op + len
}

function emitCopy2(out: Uint8Array, op: number, offset: number, len: number): number {
  out[op] = ((len - 1) << 2) | 2
  out[op + 1] = offset & 0xff
  out[op + 2] = offset >>> 8
  return op + 3
}

function emitCopy(out: Uint8Array, op: number, offset: number, len: number): number {
  while (len >= 68) {
    op = emitCopy2(out, op, offset, 64)
    len -= 64
  }
  if (len > 64) {
    op = emitCopy2(out, op, offset, 60)
    len -= 60
  }
  if (len <= 11 && offset < 2048) {
    out[op] = ((offset >>> 8) << 5) | ((len - 4) << 2) | 1
    out[op + 1] = offset & 0xff
    return op + 2
  }
  return emitCopy2(out, op, offset, len)
}

/**
 * Compresses `input` (the algorithm in the module docs) into a buffer shared
 * by every call: the result is valid until the next call. Used by the table
 * builder, which copies it into the table at once.
 */
export function compressView(input: Uint8Array): Uint8Array {
  const n = input.length
  if (n > 0xffff_ffff) throw new RangeError(`snappy input of ${n} bytes exceeds 2^32 - 1`)
  const bound = maxCompressedLength(n)
  if (scratch.length < bound) {
    scratch = new Uint8Array(Math.max(bound, scratch.length * 2))
    scratchView = new DataView(scratch.buffer)
  }
  const out = scratch
  let op = putVarint(out, 0, n)
  if (n < 4) {
    if (n > 0) op = emitLiteral(out, op, input, 0, n)
    return out.subarray(0, op)
  }
  let bits = MIN_TABLE_BITS
  while (bits < MAX_TABLE_BITS && 1 << bits < n) bits++
  const shift = 32 - bits
  const tbl = n <= 0x1_0000 ? table16 : table
  tbl.fill(0, 0, 1 << bits)
  // Four bytes at a time through a DataView (little-endian, as the hash
  // defines them): one load for the hash, one to check a candidate, one per four
  // bytes of a match.
  const dv = new DataView(input.buffer, input.byteOffset, n)
  const ov = scratchView
  let ip = 0
  let lit = 0
  let skip = 32
  while (ip + 4 <= n) {
    const v = dv.getInt32(ip, true)
    const h = Math.imul(v, HASH_MUL) >>> shift
    const c = tbl[h]!
    tbl[h] = ip
    if (c < ip && ip - c <= MAX_OFFSET && dv.getInt32(c, true) === v) {
      let len = 4
      while (ip + len + 4 <= n && dv.getInt32(c + len, true) === dv.getInt32(ip + len, true)) len += 4
      while (ip + len < n && input[c + len] === input[ip + len]) len++
      if (lit < ip) op = emitLiteralWide(out, ov, op, input, dv, lit, ip)
      op = emitCopy(out, op, ip - c, len)
      ip += len
      lit = ip
      skip = 32
    } else {
      ip += skip >> 5
      skip++
    }
  }
  if (lit < n) op = emitLiteral(out, op, input, lit, n)
  return out.subarray(0, op)
}

/** Compresses `input` (the algorithm in the module docs) into a new array of its own. */
export function compress(input: Uint8Array): Uint8Array {
  return compressView(input).slice()
}

/** The declared length and where the elements start, checked against the limit and against what the rest could encode. */
function preamble(input: Uint8Array): [n: number, start: number] {
  return preambleRange(input, 0, input.length)
}

/** {@link preamble} of `input[from..to)`; `start` is an offset into `input`. */
function preambleRange(input: Uint8Array, from: number, to: number): [n: number, start: number] {
  let n: number
  let start: number
  try {
    ;[n, start] = getVarint(from === 0 && to === input.length ? input : input.subarray(0, to), from, 5)
  } catch (e) {
    throw new DecodeError(`snappy preamble: ${(e as Error).message}`)
  }
  if (n > MAX_DECOMPRESSED_LENGTH) throw new DecodeError(`snappy length ${n} exceeds the limit of ${MAX_DECOMPRESSED_LENGTH}`)
  const rest = to - start
  if (n > Math.floor((rest * 64) / 3)) throw new DecodeError(`snappy length ${n} is more than ${rest} bytes can encode`)
  return [n, start]
}

/** The uncompressed length `input` declares (checked as by {@link decompress}, without decoding the elements). */
export function decompressedLength(input: Uint8Array): number {
  return preamble(input)[0]
}

const truncated = (what: string) => new DecodeError(`snappy ${what} is truncated`)
const tooLong = (op: number, len: number, n: number) => new DecodeError(`snappy output of ${op + len} bytes exceeds the declared ${n}`)

/** Decompresses `input` into a new array of exactly the declared length; malformed input throws {@link DecodeError}. */
export function decompress(input: Uint8Array): Uint8Array {
  return decompressRange(input, 0, input.length)
}

/**
 * Where {@link decompressRange} decodes: the input is copied in, then the
 * output is decoded right after it, so that literals and copies alike are
 * `copyWithin` of one array (a native copy without a view per element).
 * Outputs larger than {@link MAX_WORK} decode in an array of their own.
 */
let work = new Uint8Array(64 * 1024)
const MAX_WORK = 1024 * 1024

/** Where a decoder may take the memory of its output (a block cache's buffer pool). */
export interface OutputBuffers {
  /** A buffer of at least `n` bytes that the output may own. */
  take(n: number): ArrayBuffer
}

/**
 * {@link decompress} of `input[from..to)`, without making a view of it. With
 * `out`, the result is a view at offset 0 of a buffer taken from it.
 */
export function decompressRange(input: Uint8Array, from: number, to: number, out?: OutputBuffers): Uint8Array {
  const [n, start] = preambleRange(input, from, to)
  const inLen = to - start
  let buf = work
  if (buf.length < inLen + n) {
    buf = new Uint8Array(inLen + n)
    if (inLen + n <= MAX_WORK) work = buf
  }
  setBytes(buf, start === 0 && to === input.length ? input : input.subarray(start, to), 0)
  return decodeWithin(buf, 0, inLen, n, out)
}

/**
 * {@link decompress} of `buf[from..to)` (the whole input, preamble included)
 * when `buf` has room for the output after `to`: decodes into `buf[to..to+n)`
 * and returns a copy of that. The table reader uses it on the scratch buffer it
 * read the block into, so the stored bytes are not copied first. Returns
 * undefined (having changed nothing) when `buf` is too short.
 */
export function decompressWithin(buf: Uint8Array, from: number, to: number, out?: OutputBuffers): Uint8Array | undefined {
  const [n, start] = preambleRange(buf, from, to)
  if (buf.length - to < n) return undefined
  return decodeWithin(buf, start, to, n, out)
}

/**
 * Decodes the elements in `buf[ip..end)` into `buf[end..end+n)` and returns a
 * copy of the output (in a buffer from `out` when given); malformed input
 * throws {@link DecodeError}.
 */
function decodeWithin(buf: Uint8Array, ip: number, end: number, n: number, out?: OutputBuffers): Uint8Array {
  const base = end
  const oend = end + n
  // No stop short of the input's end: elements past the declared length are an error.
  decodeElements(buf, ip, end, base, base, oend, oend + 1)
  if (decodedTo !== oend) throw new DecodeError(`snappy output of ${decodedTo - base} bytes is shorter than the declared ${n}`)
  if (out === undefined) return buf.slice(base, oend)
  const copy = new Uint8Array(out.take(n), 0, n)
  setBytes(copy, buf.subarray(base, oend), 0)
  return copy
}

/** Where the output of the last {@link decodeElements} ends. */
let decodedTo = 0

/**
 * Decodes elements from `buf[ip..end)`, appending to the output `buf[base..oend)`
 * from `op`, until the output reaches `stop` or the input ends. Returns where
 * the input stopped; the output's end is left in {@link decodedTo}. Malformed
 * input throws {@link DecodeError}.
 */
function decodeElements(buf: Uint8Array, ip: number, end: number, base: number, op: number, oend: number, stop: number): number {
  const n = oend - base
  while (ip < end && op < stop) {
    const tag = buf[ip++]!
    const kind = tag & 3
    let len: number
    let offset: number
    if (kind === 0) {
      len = tag >>> 2
      if (len >= 60) {
        const extra = len - 59
        if (ip + extra > end) throw truncated('literal length')
        len = buf[ip]!
        if (extra > 1) len += buf[ip + 1]! * 0x100
        if (extra > 2) len += buf[ip + 2]! * 0x1_0000
        if (extra > 3) len += buf[ip + 3]! * 0x100_0000
        ip += extra
      }
      len += 1
      if (len > end - ip) throw truncated('literal')
      if (len > oend - op) throw tooLong(op - base, len, n)
      if (len < 16) {
        for (let i = 0; i < len; i++) buf[op + i] = buf[ip + i]!
      } else {
        copyWithinBytes(buf, op, ip, ip + len)
      }
      ip += len
      op += len
      continue
    }
    if (kind === 1) {
      if (ip + 1 > end) throw truncated('copy')
      len = 4 + ((tag >>> 2) & 7)
      offset = ((tag >>> 5) << 8) | buf[ip]!
      ip += 1
    } else if (kind === 2) {
      if (ip + 2 > end) throw truncated('copy')
      len = (tag >>> 2) + 1
      offset = buf[ip]! | (buf[ip + 1]! << 8)
      ip += 2
    } else {
      if (ip + 4 > end) throw truncated('copy')
      len = (tag >>> 2) + 1
      offset = (buf[ip]! | (buf[ip + 1]! << 8) | (buf[ip + 2]! << 16)) + buf[ip + 3]! * 0x100_0000
      ip += 4
    }
    if (offset === 0) throw new DecodeError(`snappy copy at output ${op - base} has offset 0`)
    if (offset > op - base) throw new DecodeError(`snappy copy at output ${op - base} reaches ${offset} bytes back`)
    if (len > oend - op) throw tooLong(op - base, len, n)
    const src = op - offset
    if (len < 16) {
      // Byte by byte, front to back: an overlapping copy repeats its pattern.
      for (let i = 0; i < len; i++) buf[op + i] = buf[src + i]!
    } else if (offset >= len) {
      copyWithinBytes(buf, op, src, src + len)
    } else {
      // Overlapping: a run of one byte (common: padding, repeated characters) is a fill.
      const b = buf[src]!
      let i = 1
      while (i < offset && buf[src + i] === b) i++
      if (i === offset) fillBytes(buf, b, op, op + len)
      else for (let j = 0; j < len; j++) buf[op + j] = buf[src + j]!
    }
    op += len
  }
  decodedTo = op
  return ip
}

/**
 * A compressed input decoded a little at a time, in place: its output goes
 * right after it in the same buffer (as with {@link decompressWithin}), and
 * {@link PartialDecode.fill} decodes only as far as a reader needs. A point
 * read stops once it has found its entry, about half-way through a block on
 * average. One instance is reused; it is valid until its next `start`.
 */
export class PartialDecode {
  /** The buffer holding the input and, after it, the output. */
  buf: Uint8Array = new Uint8Array(0)
  /** Where the output starts in `buf`. */
  base = 0
  /** The declared output length. */
  length = 0
  /** Output bytes decoded so far: `buf[base..base+decoded)`. */
  decoded = 0
  private ip = 0
  private end = 0

  /**
   * Starts decoding `buf[from..to)` (the whole input, preamble included) into
   * `buf[to..)`. Returns false, having decoded nothing, when `buf` lacks room
   * for the output; malformed preambles throw {@link DecodeError}.
   */
  start(buf: Uint8Array, from: number, to: number): boolean {
    const [n, start] = preambleRange(buf, from, to)
    if (buf.length - to < n) return false
    this.buf = buf
    this.ip = start
    this.end = to
    this.base = to
    this.length = n
    this.decoded = 0
    return true
  }

  /** Takes `buf[0..n)`, bytes that were never compressed, as the whole output (`fill` then has nothing to do). */
  plain(buf: Uint8Array, n: number): void {
    this.buf = buf
    this.base = 0
    this.length = n
    this.decoded = n
    this.ip = this.end = 0
  }

  /**
   * Decodes until at least `upTo` output bytes (at most the declared length)
   * exist; throws {@link DecodeError} when the input is malformed or ends first.
   */
  fill(upTo: number): void {
    const base = this.base
    const stop = base + Math.min(upTo, this.length)
    if (base + this.decoded >= stop) return
    this.ip = decodeElements(this.buf, this.ip, this.end, base, base + this.decoded, base + this.length, stop)
    this.decoded = decodedTo - base
    if (decodedTo < stop) throw new DecodeError(`snappy output of ${this.decoded} bytes is shorter than the declared ${this.length}`)
  }
}
