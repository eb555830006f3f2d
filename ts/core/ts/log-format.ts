/**
 * Log framing shared by the WAL and the MANIFEST (docs/FORMAT.md §3).
 *
 * A log is a 16-byte file header followed by records, each a 16-byte header
 * (header crc, length, file number, payload crc) and its payload. Appends only
 * ever add a prefix of a record, so a torn tail is a short header, zeros, or a
 * valid header whose payload runs past the end; complete bytes that fail a
 * checksum anywhere — the last record included — are corruption, never
 * silently dropped.
 */
import { DecodeError, getFixed32, putFixed32 } from './coding.js'
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
  out.set(payload, LOG_RECORD_HEADER_SIZE)
  return out
}

/** The outcome of reading a whole log file. */
export interface LogReadResult {
  /** Payloads in file order (views into the file's bytes). */
  records: Uint8Array[]
  /** Offset just past the last good record. */
  goodLength: number
  /** Bytes discarded as a torn tail (0 when the log ended cleanly). */
  tornBytes: number
}

/**
 * Classifies the bytes at `p`: a record's payload length when a valid record
 * starts there, or why not. `torn` means the writer died mid-append (a short
 * header, zeros, or a valid header whose payload runs past the end of the
 * file); `corrupt` means complete bytes that changed.
 */
function recordAt(buf: Uint8Array, p: number, fileNumber32: number): { len: number } | { torn: string } | { corrupt: string } {
  const rest = buf.length - p
  if (rest < LOG_RECORD_HEADER_SIZE) return { torn: `${rest} bytes, shorter than a record header` }
  if (getFixed32(buf, p) !== mcrc(buf.subarray(p + 4, p + 16))) {
    for (let i = p; i < buf.length; i++) if (buf[i] !== 0) return { corrupt: `record header at offset ${p} fails its checksum` }
    return { torn: `${rest} zero bytes` }
  }
  const len = getFixed32(buf, p + 4)
  if (getFixed32(buf, p + 8) !== fileNumber32) return { corrupt: `record at offset ${p} belongs to log file ${getFixed32(buf, p + 8)}` }
  if (p + LOG_RECORD_HEADER_SIZE + len > buf.length) return { torn: `record at offset ${p} is incomplete` }
  const payload = buf.subarray(p + LOG_RECORD_HEADER_SIZE, p + LOG_RECORD_HEADER_SIZE + len)
  if (getFixed32(buf, p + 12) !== mcrc(payload)) return { corrupt: `record at offset ${p} fails its payload checksum` }
  return { len }
}

/**
 * Parses a log file per FORMAT.md §3. Throws DecodeError for a bad file header
 * or damage followed by valid records. `allowTornTail = false` (an older WAL)
 * turns a torn tail into a DecodeError as well.
 */
export function readLog(buf: Uint8Array, magic: Uint8Array, fileNumber: number, allowTornTail: boolean): LogReadResult {
  if (buf.length < LOG_FILE_HEADER_SIZE) {
    if (!allowTornTail && buf.length > 0) throw new DecodeError(`log file of ${buf.length} bytes is shorter than its header`)
    if (!allowTornTail) throw new DecodeError('log file is empty')
    return { records: [], goodLength: 0, tornBytes: buf.length }
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
      return { records, goodLength: p, tornBytes: buf.length - p }
    }
    records.push(buf.subarray(p + LOG_RECORD_HEADER_SIZE, p + LOG_RECORD_HEADER_SIZE + r.len))
    p += LOG_RECORD_HEADER_SIZE + r.len
  }
  return { records, goodLength: p, tornBytes: 0 }
}
