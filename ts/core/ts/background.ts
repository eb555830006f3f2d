/**
 * The main-thread side of the pure-TS core's worker thread: one worker per
 * process, started on first use, unreferenced while idle so it never keeps
 * the process alive.
 */
import { Worker } from 'node:worker_threads'
import { LsmError, type ErrorCode } from '../../errors.js'
import type { WorkerReply, WorkerRequest } from './worker.js'

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void }
type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

let worker: Worker | undefined
let nextId = 1
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
  // From sources (tests under tsx) the worker registers the TypeScript loader itself:
  // Node 20 does not carry module hooks over to worker threads.
  const w = url.pathname.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then(api => { api.register(); return import(${JSON.stringify(url.href)}) })`, { eval: true })
    : new Worker(url)
  w.on('message', (reply: WorkerReply) => {
    const p = pending.get(reply.id)
    if (p === undefined) return
    pending.delete(reply.id)
    if (pending.size === 0) w.unref()
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
  const w = getWorker()
  const id = nextId++
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
    w.ref()
    w.postMessage({ ...body, id }, transfer)
  })
}
