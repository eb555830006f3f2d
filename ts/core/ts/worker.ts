/**
 * The pure-TS core's background thread: flushes and compactions run here so
 * that the JS event loop stays responsive (GUIDE: background work never runs
 * on the main thread). One request at a time; each reply carries its id.
 */
import { parentPort } from 'node:worker_threads'
import type { CompactionJob, TableOptions } from '../core.js'
import { flushFrozen, runCompaction } from './compaction.js'
import type { FrozenMemtable } from './memtable.js'

export type WorkerRequest =
  | { id: number; type: 'flush'; memtable: FrozenMemtable; path: string; options?: TableOptions; sync?: boolean }
  | { id: number; type: 'compact'; job: CompactionJob }

export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; code?: string; file?: string; name?: string } }

parentPort?.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply
  try {
    const result = req.type === 'flush' ? flushFrozen(req.memtable, req.path, req.options, req.sync) : runCompaction(req.job)
    reply = { id: req.id, ok: true, result }
  } catch (e) {
    const err = e as { message?: string; code?: string; file?: string; name?: string }
    reply = { id: req.id, ok: false, error: { message: String(err.message ?? e), code: err.code, file: err.file, name: err.name } }
  }
  parentPort!.postMessage(reply)
})
