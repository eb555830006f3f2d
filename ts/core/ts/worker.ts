/**
 * The pure-TS core's background threads: flushes and compactions run here so
 * that the JS event loop stays responsive (GUIDE: background work never runs
 * on the main thread), and so do batches of point reads (`read-service.ts`).
 * One request at a time; each reply carries its request's id (a `forget`
 * without an id gets no reply).
 */
import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import type { CompactionJob, TableOptions } from '../core.js'
import { flushFrozen, runCompaction } from './compaction.js'
import type { FrozenMemtable } from './memtable.js'
import { forget, readBatch, type ForgetRequest, type ReadBatchRequest } from './read-service.js'

export type WorkerRequest =
  | { id: number; type: 'flush'; memtable: FrozenMemtable; path: string; options?: TableOptions; sync?: boolean }
  | { id: number; type: 'compact'; job: CompactionJob }
  | ({ id: number; type: 'read' } & ReadBatchRequest)

export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; code?: string; file?: string; name?: string } }

/** What a thread is started with (`workerData`). */
export interface WorkerSetup {
  /** Nice value to lower this thread to (0: leave it). */
  nice: number
}

/**
 * Lowers this thread's scheduling priority to `nice`. Linux only: there
 * `setpriority` on a thread id applies to that thread alone, and the id is
 * the last part of `/proc/thread-self`. Raising a nice value needs no
 * privilege; anywhere it fails or is not possible, the thread keeps the
 * process's priority (it only runs sooner than it would).
 */
function lowerPriority(nice: number): void {
  if (!(nice > 0) || process.platform !== 'linux') return
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    // Never the process's main thread, whatever /proc says.
    // Only ever down: a process already nicer than `nice` keeps its value.
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid && getPriority(tid) < nice) setPriority(tid, Math.min(nice, 19))
  } catch {
    // No /proc, or refused: run at the process's priority.
  }
}

if (parentPort !== null) lowerPriority((workerData as Partial<WorkerSetup> | undefined)?.nice ?? 0)

parentPort?.on('message', (req: WorkerRequest | ({ type: 'forget'; id?: number } & ForgetRequest)) => {
  if (req.type === 'forget') {
    try {
      forget(req)
    } catch {
      // Closing files: nothing to report.
    }
    // With an id, someone waits for the files to be closed.
    if (req.id !== undefined) parentPort!.postMessage({ id: req.id, ok: true, result: undefined } satisfies WorkerReply)
    return
  }
  let reply: WorkerReply
  let transfer: ArrayBuffer[] = []
  try {
    let result: unknown
    if (req.type === 'read') {
      const r = readBatch(req)
      result = r
      transfer = [r.meta.buffer as ArrayBuffer, r.values.buffer as ArrayBuffer]
    } else {
      result = req.type === 'flush' ? flushFrozen(req.memtable, req.path, req.options, req.sync) : runCompaction(req.job)
    }
    reply = { id: req.id, ok: true, result }
  } catch (e) {
    const err = e as { message?: string; code?: string; file?: string; name?: string }
    reply = { id: req.id, ok: false, error: { message: String(err.message ?? e), code: err.code, file: err.file, name: err.name } }
  }
  parentPort!.postMessage(reply, transfer)
})
