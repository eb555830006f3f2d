/**
 * Log framing shared by the WAL and the MANIFEST (docs/FORMAT.md §3).
 *
 * A log is a 16-byte file header followed by records, each a 16-byte header
 * (header crc, length, file number, payload crc) and its payload. A crash
 * mid-append leaves a torn tail: a short header, zeros, a valid header whose
 * payload runs past the end, or a record with a sector-sized hole of zeros (a
 * write into preallocated space that reached the disk only in part). Complete
 * bytes that fail a checksum anywhere — the last record included — are
 * corruption, never silently dropped.
 */
import { DecodeError, getFixed32, putFixed32, setBytes } from './coding.js'
import { mcrc } from './crc32c.js'

export const LOG_FILE_HEADER_SIZE = 16
export const LOG_RECORD_HEADER_SIZE = 16
export const LOG_VERSION = 1
/** Largest payload a record may hold. */
export const MAX_RECORD_LENGTH = 0x8000_0000

export const WAL_MAGIC = new TextEncoder().encode('LSMR-WAL')
export const MANIFEST_MAGIC = new TextEncoder().encode('LSMR-MAN')

/** The 16-byte header that starts every log file. */
export function encodeLogFileHeader(magic: Uint8Array): Uint8Array {
  const out = new Uint8Array(LOG_FILE_HEADER_SIZE)
  out.set(magic, 0)
  putFixed32(out, 8, LOG_VERSION)
  putFixed32(out, 12, mcrc(out.subarray(0, 12)))
  return out
}

/** The 16-byte record header for `payload` in log file `fileNumber`. */
export function encodeRecordHeader(payload: Uint8Array, fileNumber: number): Uint8Array {
  const h = new Uint8Array(LOG_RECORD_HEADER_SIZE)
  writeRecordHeader(h, 0, payload, fileNumber)
  return h
}

/** Writes a record header into `buf` at `off`. */
export function writeRecordHeader(buf: Uint8Array, off: number, payload: Uint8Array, fileNumber: number): void {
  if (payload.length > MAX_RECORD_LENGTH) throw new RangeError(`log record of ${payload.length} bytes is too large`)
  putFixed32(buf, off + 4, payload.length)
  putFixed32(buf, off + 8, fileNumber % 0x1_0000_0000)
  putFixed32(buf, off + 12, mcrc(payload))
  putFixed32(buf, off, mcrc(buf.subarray(off + 4, off + 16)))
}

/** A whole record (header ‖ payload) as one buffer. */
export function encodeRecord(payload: Uint8Array, fileNumber: number): Uint8Array {
  const out = new Uint8Array(LOG_RECORD_HEADER_SIZE + payload.length)
  writeRecordHeader(out, 0, payload, fileNumber)
  setBytes(out, payload, LOG_RECORD_HEADER_SIZE)
  return out
}

/** The outcome of reading a whole log file. */
export interface LogReadResult {
  /** Payloads in file order (views into the file's bytes). */
  records: Uint8Array[]
  /** Offset just past the last good record. */
  goodLength: number
  /**
   * Bytes discarded as a torn tail, not counting zeros at the end of the file
   * (0 when the log ended cleanly or in unwritten, zeroed space).
   */
  tornBytes: number
}

/** Size of the sector a torn write is assumed to lose as a whole (FORMAT.md §3). */
export const LOG_SECTOR = 512

/**
 * True when some sector-aligned window of {@link LOG_SECTOR} bytes meets
 * `buf[from..to)` and every byte of that meeting is zero: a part of the span
 * that was never written (a write cut off by a crash leaves whole sectors
 * behind, and a WAL's unwritten space is zeros: FORMAT.md §3).
 */
function hasZeroSector(buf: Uint8Array, from: number, to: number): boolean {
  for (let w = from - (from % LOG_SECTOR); w < to; w += LOG_SECTOR) {
    const end = Math.min(to, w + LOG_SECTOR)
    let i = Math.max(from, w)
    while (i < end && buf[i] === 0) i++
    if (i === end) return true
  }
  return false
}

/**
 * Classifies the bytes at `p`: a record's payload length when a valid record
 * starts there, or why not. `torn` means the log ends here: zeros (unwritten
 * space, such as a WAL's zeroed runway), a short header, or a payload that
 * runs past the end of the file, or a record that fails a checksum where one
 * of its sectors is all zeros: a write into zeroed space that reached the
 * disk only in part. Whatever follows a torn record was written after it and
 * is not kept either (the disk may persist a later unsynced sector before an
 * earlier one). `corrupt` means complete bytes that changed.
 */
function recordAt(buf: Uint8Array, p: number, fileNumber32: number): { len: number } | { torn: string } | { corrupt: string } {
  const rest = buf.length - p
  if (rest < LOG_RECORD_HEADER_SIZE) return { torn: `${rest} bytes, shorter than a record header` }
  if (getFixed32(buf, p) !== mcrc(buf.subarray(p + 4, p + 16))) {
    if (nextNonZero(buf, p) === buf.length) return { torn: `${rest} zero bytes` }
    if (hasZeroSector(buf, p, p + LOG_RECORD_HEADER_SIZE)) return { torn: `record header at offset ${p} was never completely written` }
    return { corrupt: `record header at offset ${p} fails its checksum` }
  }
  const len = getFixed32(buf, p + 4)
  if (getFixed32(buf, p + 8) !== fileNumber32) return { corrupt: `record at offset ${p} belongs to log file ${getFixed32(buf, p + 8)}` }
  const end = p + LOG_RECORD_HEADER_SIZE + len
  if (end > buf.length) return { torn: `record at offset ${p} is incomplete` }
  if (getFixed32(buf, p + 12) !== mcrc(buf.subarray(p + LOG_RECORD_HEADER_SIZE, end))) {
    if (hasZeroSector(buf, p + LOG_RECORD_HEADER_SIZE, end)) return { torn: `record at offset ${p} was never completely written` }
    return { corrupt: `record at offset ${p} fails its payload checksum` }
  }
  return { len }
}

/** Index of the first non-zero byte of `buf[from..)`, or `buf.length`. */
export function nextNonZero(buf: Uint8Array, from: number): number {
  let i = from
  while (i < buf.length && buf[i] === 0) i++
  return i
}

/** Offset just past the last non-zero byte of `buf[from..)` (`from` when there is none). */
function endOfData(buf: Uint8Array, from: number): number {
  let e = buf.length
  while (e > from && buf[e - 1] === 0) e--
  return e
}

/**
 * Parses a log file per FORMAT.md §3. Throws DecodeError for a bad file header
 * or damage followed by valid records. `allowTornTail = false` (an older WAL)
 * turns a torn tail into a DecodeError as well.
 */
export function readLog(buf: Uint8Array, magic: Uint8Array, fileNumber: number, allowTornTail: boolean): LogReadResult {
  // A torn creation: the header never (completely) reached the file.
  if (buf.length < LOG_FILE_HEADER_SIZE || hasZeroSector(buf, 0, LOG_FILE_HEADER_SIZE)) {
    if (!allowTornTail && buf.length > 0) throw new DecodeError(`log file of ${buf.length} bytes has no complete header`)
    if (!allowTornTail) throw new DecodeError('log file is empty')
    return { records: [], goodLength: 0, tornBytes: endOfData(buf, 0) }
  }
  for (let i = 0; i < 8; i++) {
    if (buf[i] !== magic[i]) throw new DecodeError('bad log file magic')
  }
  if (getFixed32(buf, 12) !== mcrc(buf.subarray(0, 12))) throw new DecodeError('bad log file header checksum')
  const version = getFixed32(buf, 8)
  if (version !== LOG_VERSION) throw new DecodeError(`unsupported log format version ${version}`)

  const fn32 = fileNumber % 0x1_0000_0000
  const records: Uint8Array[] = []
  let p = LOG_FILE_HEADER_SIZE
  while (p < buf.length) {
    const r = recordAt(buf, p, fn32)
    if ('corrupt' in r) throw new DecodeError(r.corrupt)
    if ('torn' in r) {
      if (!allowTornTail) throw new DecodeError(`torn tail (${r.torn}) in a log that must be complete`)
      return { records, goodLength: p, tornBytes: endOfData(buf, p) - p }
    }
    records.push(buf.subarray(p + LOG_RECORD_HEADER_SIZE, p + LOG_RECORD_HEADER_SIZE + r.len))
    p += LOG_RECORD_HEADER_SIZE + r.len
  }
  return { records, goodLength: p, tornBytes: 0 }
}
