/**
 * Primitive coding (docs/FORMAT.md §1): fixed-width little-endian integers and
 * unsigned LEB128 varints. Integers are JavaScript numbers and never exceed
 * 2^53 − 1; decoders report malformed input by throwing {@link DecodeError},
 * which the file-level readers turn into a `CORRUPTION` error naming the file.
 */
import { Buffer } from 'node:buffer'

/** A `Buffer` over the same bytes as `u` (no copy; `u` itself when it is one). */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length)
}

/** Thrown by decoders on malformed bytes; carries no file name (the caller adds it). */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DecodeError'
  }
}

const TWO_32 = 0x1_0000_0000

/*
 * Typed array methods called as known functions. V8's optimized code looks a
 * method of a typed array (`set`, `copyWithin`, `fill`) up through a generic
 * inline-cache call on every use: ~5 ns each in a micro-benchmark, and in
 * the engine's process ~25 ns (two per entry were 16% of the JS thread in a
 * batch fill). Calling the function itself skips the lookup.
 */
const typedArraySet = Uint8Array.prototype.set
const typedArrayCopyWithin = Uint8Array.prototype.copyWithin
const typedArrayFill = Uint8Array.prototype.fill

/** `dst.set(src, at)`. */
export function setBytes(dst: Uint8Array, src: Uint8Array, at: number): void {
  typedArraySet.call(dst, src, at)
}

/** `buf.copyWithin(target, start, end)`. */
export function copyWithinBytes(buf: Uint8Array, target: number, start: number, end: number): void {
  typedArrayCopyWithin.call(buf, target, start, end)
}

/** `buf.fill(value, start, end)`. */
export function fillBytes(buf: Uint8Array, value: number, start: number, end: number): void {
  typedArrayFill.call(buf, value, start, end)
}

/**
 * Copies `src[0..len)` into `dst` at `at`. Short copies run inline: a
 * `subarray` view of a small typed array that V8 keeps on its heap makes V8
 * move the bytes into a fresh off-heap ArrayBuffer (a malloc per copy).
 */
export function copyPrefix(dst: Uint8Array, at: number, src: Uint8Array, len: number): void {
  if (len < 64) for (let i = 0; i < len; i++) dst[at + i] = src[i]!
  else setBytes(dst, len === src.length ? src : src.subarray(0, len), at)
}

export function putFixed32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff
  buf[off + 1] = (v >>> 8) & 0xff
  buf[off + 2] = (v >>> 16) & 0xff
  buf[off + 3] = (v >>> 24) & 0xff
}

export function getFixed32(buf: Uint8Array, off: number): number {
  if (off < 0 || off + 4 > buf.length) throw new DecodeError(`fixed32 at ${off} runs past the end (${buf.length})`)
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16)) + buf[off + 3]! * 0x100_0000
}

export function putFixed64(buf: Uint8Array, off: number, v: number): void {
  const lo = v % TWO_32
  const hi = Math.floor(v / TWO_32)
  putFixed32(buf, off, lo)
  putFixed32(buf, off + 4, hi)
}

export function getFixed64(buf: Uint8Array, off: number): number {
  const lo = getFixed32(buf, off)
  const hi = getFixed32(buf, off + 4)
  if (hi > 0x1f_ffff) throw new DecodeError(`fixed64 at ${off} exceeds 2^53 - 1`)
  return hi * TWO_32 + lo
}

/** Number of bytes the varint encoding of `v` takes. */
export function varintLength(v: number): number {
  let n = 1
  while (v >= 0x80) {
    v = Math.floor(v / 128)
    n++
  }
  return n
}

/** Writes `v` as a varint at `off`; returns the offset after it. */
export function putVarint(buf: Uint8Array, off: number, v: number): number {
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80
    v = Math.floor(v / 128)
  }
  buf[off++] = v
  return off
}

/**
 * Reads a varint at `off`. `maxBytes` is 5 for varint32 and 10 for varint64.
 * Returns the value; the offset after it is left in {@link Cursor.pos} when a
 * cursor is used, so this low-level form returns both packed in a tuple.
 */
export function getVarint(buf: Uint8Array, off: number, maxBytes: 5 | 10): [value: number, next: number] {
  let result = 0
  let mul = 1
  for (let i = 0; i < maxBytes; i++) {
    if (off >= buf.length) throw new DecodeError('varint runs past the end of its buffer')
    const b = buf[off++]!
    result += (b & 0x7f) * mul
    if ((b & 0x80) === 0) {
      if (maxBytes === 5 && result > 0xffff_ffff) throw new DecodeError('varint32 overflows')
      if (result > Number.MAX_SAFE_INTEGER) throw new DecodeError('varint64 exceeds 2^53 - 1')
      return [result, off]
    }
    mul *= 128
  }
  throw new DecodeError(`varint longer than ${maxBytes} bytes`)
}

/** A read position over a byte array, for sequential decoding. */
export class Cursor {
  pos: number
  constructor(readonly buf: Uint8Array, pos = 0, readonly end = buf.length) {
    this.pos = pos
  }

  get remaining(): number {
    return this.end - this.pos
  }

  u8(): number {
    if (this.pos >= this.end) throw new DecodeError('u8 runs past the end')
    return this.buf[this.pos++]!
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw new DecodeError('fixed32 runs past the end')
    const v = getFixed32(this.buf, this.pos)
    this.pos += 4
    return v
  }

  fixed64(): number {
    if (this.pos + 8 > this.end) throw new DecodeError('fixed64 runs past the end')
    const v = getFixed64(this.buf, this.pos)
    this.pos += 8
    return v
  }

  varint32(): number {
    // One-byte varints (nearly all lengths) without a view and a tuple.
    const pos = this.pos
    if (pos < this.end) {
      const b = this.buf[pos]!
      if (b < 0x80) {
        this.pos = pos + 1
        return b
      }
    }
    const [v, next] = getVarint(this.buf.subarray(0, this.end), this.pos, 5)
    this.pos = next
    return v
  }

  varint64(): number {
    const [v, next] = getVarint(this.buf.subarray(0, this.end), this.pos, 10)
    this.pos = next
    return v
  }

  bytes(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) throw new DecodeError(`${n} bytes run past the end`)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  lpbytes(): Uint8Array {
    return this.bytes(this.varint32())
  }
}

/**
 * A plain Uint8Array of `n` bytes whose contents are undefined: large ones
 * skip the zero fill (a table builder's buffer grows to megabytes, and only
 * the bytes written are ever read). Not a Buffer: `slice` must copy.
 */
function uninitialized(n: number): Uint8Array {
  if (n < 64 * 1024) return new Uint8Array(n)
  const b = Buffer.allocUnsafe(n)
  return new Uint8Array(b.buffer, b.byteOffset, n)
}

/** A growable byte buffer for encoders. */
export class ByteWriter {
  private buf: Uint8Array
  length = 0

  constructor(initial = 256) {
    this.buf = uninitialized(initial)
  }

  private ensure(extra: number): void {
    const need = this.length + extra
    if (need <= this.buf.length) return
    let cap = this.buf.length * 2
    while (cap < need) cap *= 2
    const next = uninitialized(cap)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }

  /**
   * Makes room for `extra` more bytes and returns the buffer to write them
   * into at `length` (the caller then advances `length`); valid until the next
   * write.
   */
  reserve(extra: number): Uint8Array {
    this.ensure(extra)
    return this.buf
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.length++] = v
    return this
  }

  fixed32(v: number): this {
    this.ensure(4)
    putFixed32(this.buf, this.length, v)
    this.length += 4
    return this
  }

  fixed64(v: number): this {
    this.ensure(8)
    putFixed64(this.buf, this.length, v)
    this.length += 8
    return this
  }

  varint(v: number): this {
    this.ensure(10)
    this.length = putVarint(this.buf, this.length, v)
    return this
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length)
    setBytes(this.buf, b, this.length)
    this.length += b.length
    return this
  }

  lpbytes(b: Uint8Array): this {
    return this.varint(b.length).bytes(b)
  }

  /** Forgets the contents, keeping the allocation. */
  reset(): void {
    this.length = 0
  }

  /** A view of the bytes written so far (shares memory until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}
