/**
 * The main-thread side of the pure-TS core's worker threads: per process, one
 * for flushes and one for compactions, each started on first use and
 * unreferenced while idle so it never keeps the process alive.
 */
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { LsmError, type ErrorCode } from '../../errors.js'
import type { WorkerReply, WorkerRequest } from './worker.js'
import { flushFrozen, runCompaction } from './compaction.js'

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void }
type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

function workerUrl(): URL {
  // Running from sources (tsx) the sibling is worker.ts; compiled, worker.js.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js'
  return new URL(`./worker.${ext}`, import.meta.url)
}

/**
 * One worker thread and the jobs sent to it. There are two lanes, as in the
 * native core: flushes never queue behind a long compaction (a worker runs
 * its messages one at a time), which would stall writers on full memtables.
 */
class Lane {
  worker: Worker | undefined
  readonly pending = new Map<number, Pending>()

  failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
  }

  get(): Worker {
    if (this.worker !== undefined) return this.worker
    const url = workerUrl()
    // From sources (tests under tsx) the worker compiles the TypeScript itself. It
    // uses tsx's CommonJS require hook: an ESM loader registered inside a worker
    // starts another hooks thread, and Node 20 was seen crashing at exit with it.
    const w = url.pathname.endsWith('.ts')
      ? new Worker(`require('tsx/cjs/api').require(${JSON.stringify(fileURLToPath(url))}, ${JSON.stringify(fileURLToPath(url))})`, { eval: true })
      : new Worker(url)
    w.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id)
      if (p === undefined) return
      this.pending.delete(reply.id)
      if (this.pending.size === 0) {
        w.unref()
        // A later releaseWorker() waits for this thread's end too.
        if (users === 0) stopping = Promise.all([stopping, this.stop()])
      }
      if (reply.ok) p.resolve(reply.result)
      else {
        const code = (reply.error.code ?? 'IO_ERROR') as ErrorCode
        const known: ErrorCode[] = ['CORRUPTION', 'INVALID_ARGUMENT', 'IO_ERROR', 'NOT_SUPPORTED']
        p.reject(new LsmError(known.includes(code) ? code : 'IO_ERROR', reply.error.message, reply.error.file !== undefined ? { file: reply.error.file } : undefined))
      }
    })
    w.on('error', e => {
      this.failAll(new LsmError('IO_ERROR', `background worker failed: ${e.message}`, { cause: e }))
      this.worker = undefined
    })
    w.on('exit', () => {
      this.failAll(new LsmError('IO_ERROR', 'background worker exited'))
      this.worker = undefined
    })
    w.unref()
    this.worker = w
    return w
  }

  /** Ends the thread if it runs no job; resolves when it has ended. */
  stop(): Promise<unknown> {
    const w = this.worker
    if (w === undefined || this.pending.size > 0) return Promise.resolve()
    this.worker = undefined
    w.removeAllListeners('exit')
    return w.terminate()
  }
}

const flushLane = new Lane()
const compactionLane = new Lane()
let nextId = 1
/** Databases using the workers; when the last one closes and no job runs, the threads are stopped. */
let users = 0

/** Sends one job to the worker thread; `transfer` lists buffers handed over without a copy. */
export function runInWorker<T>(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<T> {
  if (process.env.LSM_RUST_INLINE_JOBS === '1') {
    // Debug aid: run the job on this thread (blocks the event loop; never the default).
    return new Promise<T>((resolve, reject) => setImmediate(() => {
      try {
        resolve((body.type === 'flush' ? flushFrozen(body.memtable, body.path, body.options, body.sync) : runCompaction(body.job)) as T)
      } catch (e) {
        reject(e)
      }
    }))
  }
  const lane = body.type === 'flush' ? flushLane : compactionLane
  const w = lane.get()
  const id = nextId++
  return new Promise<T>((resolve, reject) => {
    lane.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
    w.ref()
    w.postMessage({ ...body, id }, transfer)
  })
}

let stopping: Promise<unknown> = Promise.resolve()

function stopWorkers(): void {
  stopping = Promise.all([stopping, flushLane.stop(), compactionLane.stop()])
}

/** A database starts using the worker thread. */
export function retainWorker(): void {
  users++
}

/**
 * A database stops using it; the thread ends once idle and unused, and the
 * promise resolves when it has (no thread outlives the last database).
 */
export async function releaseWorker(): Promise<void> {
  if (users > 0) users--
  if (users === 0) stopWorkers()
  await stopping
}
