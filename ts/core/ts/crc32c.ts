/**
 * CRC-32C (Castagnoli) and the mask applied to every stored checksum
 * (docs/FORMAT.md §1.1). Slicing-by-8 tables: one table lookup per byte would
 * cost ~4x more on the WAL and block hot paths.
 */

const POLY = 0x82f63b78
const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = []
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256))
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[0]![i] = c >>> 0
  }
  for (let i = 0; i < 256; i++) {
    let c = t[0]![i]!
    for (let k = 1; k < 8; k++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8)
      t[k]![i] = c >>> 0
    }
  }
  return t
})()
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array]

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
  let c = ~crc >>> 0
  let i = from
  const n = to
  const end8 = n - ((n - from) % 8)
  while (i < end8) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    c = T7[c & 0xff]! ^ T6[(c >>> 8) & 0xff]! ^ T5[(c >>> 16) & 0xff]! ^ T4[c >>> 24]! ^
      T3[data[i + 4]!]! ^ T2[data[i + 5]!]! ^ T1[data[i + 6]!]! ^ T0[data[i + 7]!]!
    i += 8
  }
  while (i < n) c = T0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
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
