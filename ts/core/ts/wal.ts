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
 */
import { Buffer } from 'node:buffer'
import { basename } from 'node:path'
import * as io from '../../io.js'
import { corruption } from '../../errors.js'
import { DecodeError } from './coding.js'
import { encodeLogFileHeader, LOG_RECORD_HEADER_SIZE, readLog, WAL_MAGIC, writeRecordHeader } from './log-format.js'

/** Appended bytes between the background syncs of a WAL (see the module comment). */
export const BYTES_PER_SYNC = 1024 * 1024

/** Appends write groups to a new WAL file. */
export class WalWriter {
  private fd: number
  /** Bytes in the file, header included. */
  size: number
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
   */
  constructor(readonly path: string, readonly fileNumber: number) {
    this.fd = io.openSync(path, 'wx')
    const header = encodeLogFileHeader(WAL_MAGIC)
    io.writeAllSync(this.fd, header)
    this.size = header.length
  }

  /** Appends one record holding `payload` (one encoded write group). */
  append(payload: Uint8Array): void {
    if (this.bgError !== undefined) throw this.bgError
    // Header and payload go out in one writev: no copy of the payload, one syscall.
    const header = Buffer.allocUnsafe(LOG_RECORD_HEADER_SIZE)
    writeRecordHeader(header, 0, payload, this.fileNumber)
    const total = LOG_RECORD_HEADER_SIZE + payload.length
    io.writevAllSync(this.fd, [header, payload])
    this.size += total
    if (this.size - this.bgFrom >= BYTES_PER_SYNC && this.bg === undefined) {
      this.bgFrom = this.size
      this.bg = io.fdatasync(this.fd).then(
        () => { this.bg = undefined },
        (e: unknown) => {
          // The file's state is unknown (a failed fsync may drop dirty pages).
          this.bgError ??= e
          this.bg = undefined
        },
      )
    }
  }

  /** Makes everything appended so far durable. */
  async sync(): Promise<void> {
    if (this.bg !== undefined) await this.bg
    if (this.bgError !== undefined) throw this.bgError
    await io.fdatasync(this.fd)
  }

  /** Like {@link WalWriter.sync}, but a synchronous fsync on the JS thread. */
  syncNow(): void {
    if (this.bgError !== undefined) throw this.bgError
    io.fsyncSync(this.fd)
  }

  /** Waits for a background sync in flight (call before {@link WalWriter.close}). */
  async settle(): Promise<void> {
    if (this.bg !== undefined) await this.bg
  }

  /**
   * Closes the file without syncing it. Safe to call twice. With a background
   * sync in flight the descriptor closes when that ends (it must not be
   * reused under the sync); {@link WalWriter.settle} first avoids that.
   */
  close(): void {
    const fd = this.fd
    this.fd = -1
    if (fd < 0) return
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
