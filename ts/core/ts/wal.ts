/**
 * The write-ahead log (docs/FORMAT.md §3): one record per write group.
 *
 * The writer appends header ‖ payload with one write() call so that a crash
 * leaves at most one torn record at the tail; `sync()` makes every record
 * appended so far durable (fdatasync on the libuv pool, off the JS thread).
 *
 * Every {@link BYTES_PER_SYNC} appended bytes the writer also starts an
 * fdatasync in the background that nobody waits for (RocksDB's
 * `wal_bytes_per_sync` does the same with sync_file_range): the data reaches
 * the disk while writes go on, so the fsync that retires a full WAL, which
 * writers do wait for, has little left to write.
 *
 * Once synced writes use a WAL, the writer keeps a runway of zeroed space
 * ahead of its data ({@link RUNWAY_BYTES}, topped up and made durable along
 * with a sync once less than a quarter of it is left). A record then
 * overwrites blocks the file already has and the fdatasync of a group commit
 * writes data only: ~100 µs here instead of ~210 µs for an append, whose size
 * change costs a journal commit.
 * Readers take the zeros as the log's end, and a record only partly written
 * into them before a power cut as a torn tail (FORMAT.md §3). A WAL is cut
 * back to its data when it is retired or closed, so only the newest WAL can
 * end in zeros.
 *
 * A new WAL may start from a **spare** ({@link prepareSpareWal}): a file the
 * libuv pool wrote ahead of time as a WAL header and zeros, and made durable.
 * The writer then overwrites pages the file already has: appending 117 MiB
 * in 7.4 KB writes took 114–142 ms into new files and 55–68 ms into spares
 * here (thirty-fourth session), time the JS thread spends in `writev`. Its
 * zeros are durable before its first record, so they are the same runway as
 * above, and a crash leaves exactly what a crash in the runway leaves.
 */
import { Buffer } from 'node:buffer'
import { basename } from 'node:path'
import * as io from '../../io.js'
import { corruption } from '../../errors.js'
import { DecodeError } from './coding.js'
import { encodeLogFileHeader, LOG_FILE_HEADER_SIZE, LOG_RECORD_HEADER_SIZE, readLog, WAL_MAGIC, writeRecordHeader } from './log-format.js'

/** Appended bytes between the background syncs of a WAL (see the module comment). */
export const BYTES_PER_SYNC = 1024 * 1024

/** Zeroed bytes a WAL keeps ahead of its data once synced writes use it (see the module comment). */
export const RUNWAY_BYTES = 1024 * 1024

/** The largest spare WAL the engine writes ahead (a WAL that outgrows its spare extends the file). */
export const MAX_SPARE_BYTES = 64 * 1024 * 1024

/** Appends write groups to a new WAL file. */
export class WalWriter {
  private fd: number
  /** Bytes of data in the file (header and records). */
  size: number
  /** Length of the file: `size` plus the zeroed runway, if any. */
  private end: number
  /** `size` when the last background sync started. */
  private bgFrom = 0
  /** The background sync in flight, if any. */
  private bg: Promise<void> | undefined
  /** Why a background sync failed: every later append and sync throws it. */
  private bgError: unknown

  /**
   * Creates the file (it must not exist) and writes its header.
   * @param path Path of the new WAL file.
   * @param fileNumber The WAL's file number; every record header carries it, and readers check it.
   * @param runwayBytes Zeroed bytes to keep ahead of the data once synced writes use the WAL
   *   (at most about what the WAL will hold: the engine passes its memtable size when smaller).
   */
  constructor(readonly path: string, readonly fileNumber: number, private readonly runwayBytes = RUNWAY_BYTES, spare?: { path: string; length: number }) {
    if (spare === undefined) {
      this.fd = io.openSync(path, 'wx')
      const header = encodeLogFileHeader(WAL_MAGIC)
      io.writeAllSync(this.fd, header)
      this.size = header.length
      this.end = this.size
      return
    }
    // The spare already holds the header and durable zeros: only its name changes.
    io.renameSync(spare.path, path)
    this.fd = io.openSync(path, 'r+')
    this.size = LOG_FILE_HEADER_SIZE
    this.end = spare.length
  }

  /** Appends one record holding `payload` (one encoded write group). */
  append(payload: Uint8Array): void {
    if (this.bgError !== undefined) throw this.bgError
    // Header and payload go out in one writev: no copy of the payload, one syscall.
    const header = Buffer.allocUnsafe(LOG_RECORD_HEADER_SIZE)
    writeRecordHeader(header, 0, payload, this.fileNumber)
    io.writevAllSync(this.fd, [header, payload], this.size)
    this.appended(LOG_RECORD_HEADER_SIZE + payload.length)
  }

  /**
   * {@link WalWriter.append} with the write on the libuv pool (for large
   * groups). No other append, sync or retire may start before it settles.
   */
  async appendAsync(payload: Uint8Array): Promise<void> {
    if (this.bgError !== undefined) throw this.bgError
    const header = Buffer.allocUnsafe(LOG_RECORD_HEADER_SIZE)
    writeRecordHeader(header, 0, payload, this.fileNumber)
    await io.writevAll(this.fd, [header, payload], this.size)
    this.appended(LOG_RECORD_HEADER_SIZE + payload.length)
  }

  /** Counts `total` bytes just written, and starts a background sync every {@link BYTES_PER_SYNC}. */
  private appended(total: number): void {
    this.size += total
    if (this.size - this.bgFrom >= BYTES_PER_SYNC && this.bg === undefined) {
      this.bgFrom = this.size
      this.bg = io.fdatasync(this.fd, this.size).then(
        () => { this.bg = undefined },
        (e: unknown) => {
          // The file's state is unknown (a failed fsync may drop dirty pages).
          this.bgError ??= e
          this.bg = undefined
        },
      )
    }
  }

  /** Makes everything appended so far durable (for a synced write group). */
  async sync(): Promise<void> {
    if (this.bg !== undefined) await this.bg
    if (this.bgError !== undefined) throw this.bgError
    // No append is in flight during a sync (the write queue commits one group
    // at a time), so none can land in the zeros written here.
    if (this.end - this.size < this.runwayBytes / 4) {
      const from = Math.max(this.end, this.size)
      io.writeZerosSync(this.fd, from, this.size + this.runwayBytes - from)
      this.end = this.size + this.runwayBytes
    }
    await io.fdatasync(this.fd, this.size)
  }

  /**
   * Cuts the file back to its data and makes it durable: the last step
   * before a newer WAL is started (only the newest WAL may end in zeros).
   */
  async retire(): Promise<void> {
    if (this.bg !== undefined) await this.bg
    if (this.bgError !== undefined) throw this.bgError
    if (this.end > this.size) {
      await io.ftruncate(this.fd, this.size)
      this.end = this.size
    }
    await io.fdatasync(this.fd, this.size)
  }

  /** Drops the zeroed runway, if any. */
  private trim(): void {
    if (this.end <= this.size) return
    io.ftruncateSync(this.fd, this.size)
    this.end = this.size
  }

  /** Waits for a background sync in flight (call before {@link WalWriter.close}). */
  async settle(): Promise<void> {
    if (this.bg !== undefined) await this.bg
  }

  /**
   * Closes the file without syncing it, cut back to its data. Safe to call
   * twice. With a background sync in flight the descriptor closes when that
   * ends (it must not be reused under the sync); {@link WalWriter.settle}
   * first avoids that.
   */
  close(): void {
    const fd = this.fd
    if (fd < 0) return
    try {
      this.trim()
    } catch {
      // The zeros stay: readers take them as the end of the log.
    }
    this.fd = -1
    if (this.bg === undefined) {
      io.closeSync(fd)
      return
    }
    void this.bg.then(() => {
      try {
        io.closeSync(fd)
      } catch {
        // Nobody is left to tell: the writer was already closed.
      }
    })
  }
}

/**
 * Writes a spare WAL at `path` (replacing any file there): the WAL file
 * header, zeros up to `length` bytes, an fdatasync, all on the libuv pool.
 * A {@link WalWriter} given the spare renames it to a WAL's name and writes
 * over its zeros.
 */
export async function prepareSpareWal(path: string, length: number): Promise<void> {
  const fd = await io.open(path, 'w')
  try {
    const header = encodeLogFileHeader(WAL_MAGIC)
    await io.writevAll(fd, [header], 0)
    await io.writeZeros(fd, header.length, length - header.length)
    await io.fdatasync(fd, length)
  } finally {
    io.closeSync(fd)
  }
}

/** The records of a WAL: each payload is one write group. */
export interface WalContents {
  /** The intact records in file order, each one encoded write group (views into the file bytes). */
  groups: Uint8Array[]
  /** Bytes dropped as a torn tail. */
  tornBytes: number
}

/**
 * Reads a WAL. A torn tail is accepted only when `isNewest` (FORMAT.md §3);
 * damage anywhere else throws LsmError CORRUPTION naming the file.
 */
export function readWal(path: string, fileNumber: number, isNewest: boolean): WalContents {
  return readWalBytes(io.readFileSync(path), basename(path), fileNumber, isNewest)
}

export function readWalBytes(bytes: Uint8Array, name: string, fileNumber: number, isNewest: boolean): WalContents {
  try {
    const r = readLog(bytes, WAL_MAGIC, fileNumber, isNewest)
    return { groups: r.records, tornBytes: r.tornBytes }
  } catch (e) {
    if (e instanceof DecodeError) throw corruption(name, e.message)
    throw e
  }
}
