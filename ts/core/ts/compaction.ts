/**
 * The merge loop of a compaction and of a flush, as pure functions over files:
 * they run inside the pure-TS core's worker thread (ts/core/ts/worker.ts), so
 * the JS event loop never waits for them.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import type { CompactionJob, CompactionOutput, TableOptions, WrittenTable } from '../core.js'
import { Cursor, DecodeError } from './coding.js'
import { LsmError } from '../../errors.js'
import { compareBytes, comparePrefix, Kind, lookupKey, MAX_SEQUENCE, TRAILER_LENGTH } from './internal-key.js'
import type { InternalIterator } from './iterator.js'
import { addFrozenEntries, type FrozenMemtable } from './memtable.js'
import { MergingIterator } from './merge-iterator.js'
import { Table, TableBuilder } from './sst.js'

/**
 * Writes a whole buffer to a new file and, with `sync` (default), fsyncs it:
 * a table must be durable before the manifest names it (without `sync` the
 * caller fsyncs it later). With `recycle` (a dead table file, see
 * {@link CompactionJob.recycle}) that file is renamed to `path` and
 * overwritten in place, cut to the new length; when it cannot be renamed a
 * new file is made instead. `path` itself must not exist. A file left partly
 * written by a failure is removed.
 */
export function writeFileDurably(path: string, bytes: Uint8Array, sync = true, recycle?: string): void {
  let fd = -1
  if (recycle !== undefined && !existsSync(path)) {
    try {
      renameSync(recycle, path)
      fd = openSync(path, 'r+')
    } catch {
      fd = -1
    }
  }
  const recycled = fd >= 0
  if (!recycled) fd = openSync(path, 'wx')
  try {
    let off = 0
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, off)
    if (recycled) ftruncateSync(fd, bytes.length)
    if (sync) fsyncSync(fd)
  } catch (e) {
    closeSync(fd)
    fd = -1
    try {
      unlinkSync(path)
    } catch {
      // The write's error below is the one that counts.
    }
    throw e
  } finally {
    if (fd >= 0) closeSync(fd)
  }
}

/** Builds a table from a frozen memtable's entries and writes it (fsynced when `sync`). */
export function flushFrozen(mem: FrozenMemtable, path: string, options?: TableOptions, sync = true): WrittenTable {
  // About the table's size: the chunks hold its keys and values whole (the
  // table shares key prefixes and Snappy shrinks its blocks).
  let expected = 64 * 1024
  for (const c of mem.chunks) expected += c.length
  const b = new TableBuilder(options, expected)
  addFrozenEntries(mem, b)
  const { bytes, properties } = b.finish()
  writeFileDurably(path, bytes, sync)
  return { fileSize: bytes.length, properties }
}

function sameUserKey(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length - TRAILER_LENGTH
  if (n !== b.length - TRAILER_LENGTH) return false
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

/** Runs one compaction job (drop rules on {@link CompactionJob}); returns the tables written. */
export function runCompaction(job: CompactionJob): CompactionOutput[] {
  const { start, end } = job
  if (start !== undefined && end !== undefined && compareBytes(start, end) >= 0) {
    throw new LsmError('INVALID_ARGUMENT', 'compaction range start must sort before its end')
  }
  const tables = job.inputs.map(p => Table.openFile(p))
  const outputs: CompactionOutput[] = []
  try {
    // Each input is read once, in order, and every value is copied into the
    // output before its block is left: blocks can be decoded into one buffer
    // per input (no fresh memory per block for V8 to collect).
    const it = new MergingIterator(tables.map(t => t.iterator({ reuseBlockMemory: true })))
    let builder: TableBuilder | undefined
    let prevKey: Uint8Array | undefined
    /** Sequence of the previous (newer) version of the current user key; Infinity at a new key. */
    let newerSeq = Infinity

    const finishOutput = () => {
      if (builder === undefined) return
      const path = job.outputs[outputs.length]
      if (path === undefined) throw new RangeError(`compaction needs more than ${job.outputs.length} output files`)
      const { bytes, properties } = builder.finish()
      writeFileDurably(path, bytes, true, job.recycle?.[outputs.length])
      outputs.push({ path, fileSize: bytes.length, properties })
      builder = undefined
    }

    // Before every version of `start`.
    if (start !== undefined) it.seek(lookupKey(start, MAX_SEQUENCE))
    else it.seekToFirst()
    for (; it.valid(); it.next()) {
      const key = it.key()
      if (end !== undefined && comparePrefix(key, key.length - TRAILER_LENGTH, end, end.length) >= 0) break
      const newUserKey = prevKey === undefined || !sameUserKey(prevKey, key)
      if (newUserKey) {
        newerSeq = Infinity
        // Cut between user keys only, so one key's versions never span two tables.
        if (builder !== undefined && builder.estimatedSize >= job.targetFileSize) finishOutput()
      }
      // seqOf / kindOf, decoded in place.
      const u = key.length - TRAILER_LENGTH
      if (u < 0) throw new DecodeError(`internal key of ${key.length} bytes is shorter than its trailer`)
      const lo = (key[u]! | (key[u + 1]! << 8) | (key[u + 2]! << 16)) + key[u + 3]! * 0x100_0000
      const seq = ((key[u + 4]! | (key[u + 5]! << 8) | (key[u + 6]! << 16)) + key[u + 7]! * 0x100_0000) * 0x100_0000 + Math.floor(lo / 256)
      let drop = false
      if (newerSeq <= job.smallestSnapshot) {
        drop = true // a newer version is visible to every reader
      } else if ((lo & 0xff) === Kind.Delete && seq <= job.smallestSnapshot && job.dropDeletes) {
        drop = true // nothing below can resurface; older versions are dropped by the rule above
      }
      newerSeq = seq
      // Table iterators hand out a fresh array per key, so keeping it needs no copy.
      prevKey = key
      if (drop) continue
      builder ??= new TableBuilder(job.tableOptions)
      if (job.dropDeletes && (lo & 0xff) === Kind.Put && seq <= job.smallestSnapshot) {
        // The only version every reader sees, in the last level that can hold
        // the key: its sequence no longer orders it against anything, so it is
        // written as 0, which compresses well (the native core does the same).
        const zeroed = key.slice()
        zeroed.fill(0, u)
        zeroed[u] = Kind.Put
        builder.add(zeroed, it.value())
      } else {
        builder.add(key, it.value())
      }
    }
    finishOutput()
    return outputs
  } finally {
    for (const t of tables) t.close()
  }
}
