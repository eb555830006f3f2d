/**
 * CRC-32C (Castagnoli) and the mask applied to every stored checksum
 * (docs/FORMAT.md §1.1). Slicing-by-16 tables: one table lookup per byte would
 * cost ~6x more on the WAL and block hot paths (slicing-by-8 ~1.45x more).
 */

const POLY = 0x82f63b78
/**
 * Slicing-by-16: table k (at `T[k * 256]`) maps a byte to the CRC of that byte
 * followed by k zero bytes, so 16 input bytes fold into the CRC with 16
 * independent lookups per step. One flat array keeps the lookups cheap.
 */
const T: Uint32Array = (() => {
  const t = new Uint32Array(16 * 256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[i] = c >>> 0
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff]! ^ (c >>> 8)
      t[k * 256 + i] = c >>> 0
    }
  }
  return t
})()

/**
 * Extends `crc` (a finished CRC-32C of earlier bytes, 0 for none) over `data`.
 * `crc32c(b, crc32c(a)) === crc32c(a ‖ b)`.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  if (accelerated !== undefined && data.length >= ACCELERATE_FROM) return accelerated(data, crc)
  return crc32cRange(data, 0, data.length, crc)
}

/** {@link crc32c} of `data[from..to)`, without making a view of it. */
export function crc32cRange(data: Uint8Array, from: number, to: number, crc = 0): number {
  if (accelerated !== undefined && to - from >= ACCELERATE_FROM) return accelerated(data.subarray(from, to), crc)
  let c = ~crc // an int32 throughout (a uint32 start would make the loop compute in doubles)
  let i = from
  const n = to
  // Single bytes up to a 4-byte boundary of the underlying buffer, then 16
  // bytes per step as four aligned words, then the bytes left.
  if (n - i >= 32 && LITTLE_ENDIAN) {
    while (((data.byteOffset + i) & 3) !== 0) c = T[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8)
    const w = wordsOf(data.buffer)
    let wi = (data.byteOffset + i) >>> 2
    const end16 = n - ((n - i) & 15)
    while (i < end16) {
      c ^= w[wi]!
      const w1 = w[wi + 1]!
      const w2 = w[wi + 2]!
      const w3 = w[wi + 3]!
      c = T[3840 + (c & 0xff)]! ^ T[3584 + ((c >>> 8) & 0xff)]! ^ T[3328 + ((c >>> 16) & 0xff)]! ^ T[3072 + (c >>> 24)]! ^
        T[2816 + (w1 & 0xff)]! ^ T[2560 + ((w1 >>> 8) & 0xff)]! ^ T[2304 + ((w1 >>> 16) & 0xff)]! ^ T[2048 + (w1 >>> 24)]! ^
        T[1792 + (w2 & 0xff)]! ^ T[1536 + ((w2 >>> 8) & 0xff)]! ^ T[1280 + ((w2 >>> 16) & 0xff)]! ^ T[1024 + (w2 >>> 24)]! ^
        T[768 + (w3 & 0xff)]! ^ T[512 + ((w3 >>> 8) & 0xff)]! ^ T[256 + ((w3 >>> 16) & 0xff)]! ^ T[w3 >>> 24]!
      i += 16
      wi += 4
    }
  }
  while (i < n) c = T[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** Whether this machine stores words little-endian (the word loop's loads assume it; else bytes one by one). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

let viewedBuffer: ArrayBufferLike | undefined
let viewedWords: Int32Array<ArrayBufferLike> = new Int32Array(0)
/**
 * The whole of `buffer` as 32-bit words. The last buffer's view is kept:
 * checksums mostly run over the same few buffers (a read scratch, a table
 * being built), so most calls make no view at all; the kept view holds that
 * one buffer alive until a checksum runs over another. A buffer whose length is
 * not a multiple of 4 gets a view of its whole words: the word loop never
 * reads past the checksummed range, which lies inside the buffer.
 */
function wordsOf(buffer: ArrayBufferLike): Int32Array<ArrayBufferLike> {
  if (buffer !== viewedBuffer || viewedWords.length !== buffer.byteLength >>> 2) {
    viewedWords = new Int32Array(buffer, 0, buffer.byteLength >>> 2)
    viewedBuffer = buffer
  }
  return viewedWords
}

/** Inputs at least this long go to the accelerated implementation, when one is set. */
const ACCELERATE_FROM = 512
let accelerated: ((data: Uint8Array, crc: number) => number) | undefined

/**
 * Routes long inputs to a faster CRC-32C with the same results (the native
 * addon's SSE4.2 one, set when a database opens with the native engine). The
 * pure-TypeScript engine alone never sets one.
 */
export function setCrc32cAccelerator(fn: ((data: Uint8Array, crc: number) => number) | undefined): void {
  accelerated = fn
}

const MASK_DELTA = 0xa282ead8

/** Masks a CRC before it is stored, so a CRC over bytes holding CRCs is not trivially valid. */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0
}

/** Inverse of {@link maskCrc}. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0
  return ((rot >>> 17) | (rot << 15)) >>> 0
}

/** `maskCrc(crc32c(data))`: the checksum as FORMAT.md stores it. */
export function mcrc(data: Uint8Array): number {
  return maskCrc(crc32c(data))
}

// Every branch of crc32cRange runs once while the module loads. A thread whose
// first checksum is long optimizes the word loop on the stack (OSR) before the
// byte loops after it have run; that code then left the optimized loop through
// a deoptimization on every later call that took it (1,404 times in a 1M-entry
// pure-TS fillbatch + fillrandom + overwrite, `node --trace-deopt`).
crc32cRange(new Uint8Array(64), 1, 63)
