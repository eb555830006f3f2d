/**
 * The main-thread side of the pure-TS core's worker thread: one worker per
 * process, started on first use, unreferenced while idle so it never keeps
 * the process alive.
 */
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { LsmError, type ErrorCode } from '../../errors.js'
import type { WorkerReply, WorkerRequest } from './worker.js'
import { flushPacked, runCompaction } from './compaction.js'

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void }
type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

let worker: Worker | undefined
let nextId = 1
/** Databases using the worker; when the last one closes and no job runs, the thread is stopped. */
let users = 0
const pending = new Map<number, Pending>()

function workerUrl(): URL {
  // Running from sources (tsx) the sibling is worker.ts; compiled, worker.js.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js'
  return new URL(`./worker.${ext}`, import.meta.url)
}

function failAll(err: Error): void {
  for (const p of pending.values()) p.reject(err)
  pending.clear()
}

function getWorker(): Worker {
  if (worker !== undefined) return worker
  const url = workerUrl()
  // From sources (tests under tsx) the worker compiles the TypeScript itself. It
  // uses tsx's CommonJS require hook: an ESM loader registered inside a worker
  // starts another hooks thread, and Node 20 was seen crashing at exit with it.
  const w = url.pathname.endsWith('.ts')
    ? new Worker(`require('tsx/cjs/api').require(${JSON.stringify(fileURLToPath(url))}, ${JSON.stringify(fileURLToPath(url))})`, { eval: true })
    : new Worker(url)
  w.on('message', (reply: WorkerReply) => {
    const p = pending.get(reply.id)
    if (p === undefined) return
    pending.delete(reply.id)
    if (pending.size === 0) {
      w.unref()
      if (users === 0) stopWorker()
    }
    if (reply.ok) p.resolve(reply.result)
    else {
      const code = (reply.error.code ?? 'IO_ERROR') as ErrorCode
      const known: ErrorCode[] = ['CORRUPTION', 'INVALID_ARGUMENT', 'IO_ERROR', 'NOT_SUPPORTED']
      p.reject(new LsmError(known.includes(code) ? code : 'IO_ERROR', reply.error.message, reply.error.file !== undefined ? { file: reply.error.file } : undefined))
    }
  })
  w.on('error', e => {
    failAll(new LsmError('IO_ERROR', `background worker failed: ${e.message}`, { cause: e }))
    worker = undefined
  })
  w.on('exit', () => {
    failAll(new LsmError('IO_ERROR', 'background worker exited'))
    worker = undefined
  })
  w.unref()
  worker = w
  return w
}

/** Sends one job to the worker thread; `transfer` lists buffers handed over without a copy. */
export function runInWorker<T>(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<T> {
  if (process.env.LSM_RUST_INLINE_JOBS === '1') {
    // Debug aid: run the job on this thread (blocks the event loop; never the default).
    return new Promise<T>((resolve, reject) => setImmediate(() => {
      try {
        resolve((body.type === 'flush' ? flushPacked(body.packed, body.path, body.options) : runCompaction(body.job)) as T)
      } catch (e) {
        reject(e)
      }
    }))
  }
  const w = getWorker()
  const id = nextId++
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
    w.ref()
    w.postMessage({ ...body, id }, transfer)
  })
}

let stopping: Promise<unknown> = Promise.resolve()

function stopWorker(): void {
  const w = worker
  if (w === undefined || pending.size > 0) return
  worker = undefined
  w.removeAllListeners('exit')
  stopping = w.terminate()
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
  if (users === 0) stopWorker()
  await stopping
}
