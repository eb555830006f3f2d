/**
 * The file operations the engine's durability rests on, behind one seam so
 * that tests can make chosen operations fail (EIO, ENOSPC) — the fault
 * injection layer LevelDB's SpecialEnv and RocksDB's FaultInjectionTestFS
 * provide. In production the hook is unset and each call is the plain
 * `node:fs` call.
 *
 * Covered: WAL and MANIFEST appends and syncs, CURRENT replacement, directory
 * syncs, deletions, and the start of flush and compaction jobs (which then
 * run in the core, off this thread).
 */
import { Buffer } from 'node:buffer'
import * as fs from 'node:fs'
import { promisify } from 'node:util'

/** What a hook is told about. */
export type IoOp = 'open' | 'write' | 'sync' | 'rename' | 'unlink' | 'read' | 'flush' | 'compact'

/** A hook may throw (an errno-style error) to make the operation fail. */
export type FaultHook = (op: IoOp, path: string) => void

let hook: FaultHook | undefined
let syncListener: ((path: string, durableBytes: number) => void) | undefined
const fdPaths = new Map<number, string>()
const fdatasyncAsync = promisify(fs.fdatasync)
const fsyncAsync = promisify(fs.fsync)

/**
 * Installs (or, with undefined, removes) the fault hook. Test-only.
 * @internal
 */
export function setFaultHook(h: FaultHook | undefined): void {
  hook = h
}

/**
 * Installs a listener told, after each successful sync, how many bytes of the
 * file are now durable. Test-only: the torture test uses it to simulate a
 * power cut that keeps exactly what was synced.
 * @internal
 */
export function setSyncListener(l: ((path: string, durableBytes: number) => void) | undefined): void {
  syncListener = l
}

/** An errno-style error, as the OS would give. @internal */
export function errnoError(code: 'EIO' | 'ENOSPC' | 'EACCES', op: string, path: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${op} '${path}'`)
  e.code = code
  return e
}

/** Lets the hook see an operation; a throw from it is the operation's failure. */
export function check(op: IoOp, path: string): void {
  if (hook !== undefined) hook(op, path)
}

const pathOf = (fd: number): string => fdPaths.get(fd) ?? `fd ${fd}`

export function openSync(path: string, flags: string): number {
  check('open', path)
  const fd = fs.openSync(path, flags)
  fdPaths.set(fd, path)
  return fd
}

const openAsync = promisify(fs.open)

/** {@link openSync} on the libuv pool. */
export async function open(path: string, flags: string): Promise<number> {
  check('open', path)
  const fd = await openAsync(path, flags)
  fdPaths.set(fd, path)
  return fd
}

export function closeSync(fd: number): void {
  fdPaths.delete(fd)
  fs.closeSync(fd)
}

/** Writes all of `buf` (looping over short writes). */
export function writeAllSync(fd: number, buf: Uint8Array): void {
  check('write', pathOf(fd))
  let off = 0
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off)
}

/**
 * Writes all of `bufs` in order at `position` with as few syscalls as
 * possible (a positional write: the file offset does not move).
 */
export function writevAllSync(fd: number, bufs: Uint8Array[], position: number): void {
  check('write', pathOf(fd))
  let total = 0
  for (const b of bufs) total += b.length
  const n = fs.writevSync(fd, bufs, position)
  if (n < total) {
    // Short write (rare): finish the rest in order.
    const rest = Buffer.concat(bufs).subarray(n)
    let off = 0
    while (off < rest.length) off += fs.writeSync(fd, rest, off, rest.length - off, position + n + off)
  }
}

const writevAsync = promisify(fs.writev)
const writeAsync = promisify(fs.write)

/**
 * {@link writevAllSync} on the libuv pool: the JS thread does not wait while
 * the bytes are copied into the page cache (milliseconds for a few MiB when
 * the kernel must find fresh pages).
 */
export async function writevAll(fd: number, bufs: Uint8Array[], position: number): Promise<void> {
  check('write', pathOf(fd))
  let total = 0
  for (const b of bufs) total += b.length
  const n = (await writevAsync(fd, bufs, position)).bytesWritten
  if (n < total) {
    const rest = Buffer.concat(bufs).subarray(n)
    let off = 0
    while (off < rest.length) off += (await writeAsync(fd, rest, off, rest.length - off, position + n + off)).bytesWritten
  }
}

const ZEROS = Buffer.alloc(256 * 1024)

/**
 * Writes `length` zero bytes at `position` (a positional write: the file
 * offset does not move).
 */
export function writeZerosSync(fd: number, position: number, length: number): void {
  check('write', pathOf(fd))
  let off = 0
  while (off < length) {
    const n = Math.min(length - off, ZEROS.length)
    off += fs.writeSync(fd, ZEROS, 0, n, position + off)
  }
}

/** {@link writeZerosSync} on the libuv pool. */
export async function writeZeros(fd: number, position: number, length: number): Promise<void> {
  check('write', pathOf(fd))
  let off = 0
  while (off < length) {
    const n = Math.min(length - off, ZEROS.length)
    off += (await writeAsync(fd, ZEROS, 0, n, position + off)).bytesWritten
  }
}

/** Sets the length of an open file. */
export function ftruncateSync(fd: number, length: number): void {
  check('write', pathOf(fd))
  fs.ftruncateSync(fd, length)
}

const ftruncateAsync = promisify(fs.ftruncate)

/**
 * {@link ftruncateSync} on the libuv pool: cutting a zeroed runway off a WAL
 * frees its blocks, which took the JS thread 1–3 ms while a flush was writing.
 */
export async function ftruncate(fd: number, length: number): Promise<void> {
  check('write', pathOf(fd))
  await ftruncateAsync(fd, length)
}

/**
 * `durableBytes`: how many bytes of the file the sync makes durable, for the
 * sync listener (default: the file's size; a WAL with zeroed space ahead of
 * its data passes the length of its data).
 */
export function fsyncSync(fd: number, durableBytes?: number): void {
  check('sync', pathOf(fd))
  const size = syncListener === undefined ? 0 : durableBytes ?? fs.fstatSync(fd).size
  fs.fsyncSync(fd)
  syncListener?.(pathOf(fd), size)
}

/** fdatasync on the libuv pool: the JS thread does not wait for the disk. `durableBytes` as for {@link fsyncSync}. */
export async function fdatasync(fd: number, durableBytes?: number): Promise<void> {
  check('sync', pathOf(fd))
  const size = syncListener === undefined ? 0 : durableBytes ?? fs.fstatSync(fd).size
  await fdatasyncAsync(fd)
  syncListener?.(pathOf(fd), size)
}

/**
 * fdatasync of a whole file by path (open, sync, close, all on the libuv
 * pool): for a table written without a sync, before a manifest edit names it.
 */
export async function syncFile(path: string): Promise<void> {
  check('sync', path)
  const fh = await fs.promises.open(path, 'r')
  try {
    await fh.datasync()
    if (syncListener !== undefined) syncListener(path, (await fh.stat()).size)
  } finally {
    await fh.close()
  }
}

export function renameSync(from: string, to: string): void {
  check('rename', to)
  fs.renameSync(from, to)
}

export function unlinkSync(path: string): void {
  check('unlink', path)
  fs.unlinkSync(path)
}

/**
 * unlink on the libuv pool. Deleting a 2 MiB table costs ~0.5 ms of kernel
 * time (freeing its blocks, dropping its cached pages); a compaction that
 * retires 20 tables would stop the event loop for 10 ms if it ran here.
 */
export async function unlink(path: string): Promise<void> {
  check('unlink', path)
  await fs.promises.unlink(path)
}

/** rename on the libuv pool. */
export async function rename(from: string, to: string): Promise<void> {
  check('rename', from)
  await fs.promises.rename(from, to)
}

export function readFileSync(path: string): Buffer {
  check('read', path)
  return fs.readFileSync(path)
}

/** fsync of a directory: makes created, renamed and deleted names in it durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** {@link syncDir} with the fsync on the libuv pool (the JS thread does not wait for the disk). */
export async function syncDirAsync(dir: string): Promise<void> {
  const fd = openSync(dir, 'r')
  try {
    check('sync', pathOf(fd))
    await fsyncAsync(fd)
    syncListener?.(pathOf(fd), 0)
  } finally {
    closeSync(fd)
  }
}
