/**
 * The main-thread side of the pure-TS core's worker threads: per process, one
 * for flushes, one for compactions and two for batches of point reads, each
 * started on first use and unreferenced while idle so it never keeps the
 * process alive.
 */
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { LsmError, type ErrorCode } from '../../errors.js'
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker.js'
import type { ForgetRequest, ReadBatchReply, ReadBatchRequest } from './read-service.js'
import { flushFrozen, runCompaction } from './compaction.js'

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void }
type JobBody = Exclude<WorkerRequest, { type: 'read' }> extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

/** The LsmError a worker thread reported (as its code, message and file). */
export function fromWorker(error: { message: string; code?: string; file?: string }): LsmError {
  const known: ErrorCode[] = ['CORRUPTION', 'INVALID_ARGUMENT', 'IO_ERROR', 'NOT_SUPPORTED']
  const code = known.includes(error.code as ErrorCode) ? (error.code as ErrorCode) : 'IO_ERROR'
  const { file } = error
  if (file === undefined) return new LsmError(code, error.message)
  // The message already ends with the file, which the LsmError adds again.
  const suffix = ` (${file})`
  return new LsmError(code, error.message.endsWith(suffix) ? error.message.slice(0, -suffix.length) : error.message, { file })
}

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
  constructor(
    /**
     * The thread's nice value (Linux): flushes and compactions run below the
     * JS thread and the read threads, as the native core's job threads do
     * (nice 10), so that on a machine short of cores the work a caller waits
     * for wins the CPU and the merges take what is left.
     */
    private readonly nice = 0,
  ) {}

  worker: Worker | undefined
  readonly pending = new Map<number, Pending>()
  /** Read lanes: the read view the thread now holds (0: none; a new thread holds none). */
  view = 0

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
    const workerData: WorkerSetup = { nice: this.nice }
    const w = url.pathname.endsWith('.ts')
      ? new Worker(`require('tsx/cjs/api').require(${JSON.stringify(fileURLToPath(url))}, ${JSON.stringify(fileURLToPath(url))})`, { eval: true, workerData })
      : new Worker(url, { workerData })
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
      else p.reject(fromWorker(reply.error))
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
    this.view = 0
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

/** Nice value of the flush and compaction threads (the native core's job threads use the same). */
const JOB_NICE = 10
const flushLane = new Lane(JOB_NICE)
const compactionLane = new Lane(JOB_NICE)
let nextId = 1
/** Databases using the workers; when the last one closes and no job runs, the threads are stopped. */
let users = 0

function post<T>(lane: Lane, body: object, transfer: ArrayBuffer[]): Promise<T> {
  const w = lane.get()
  const id = nextId++
  return new Promise<T>((resolve, reject) => {
    lane.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
    w.ref()
    w.postMessage({ ...body, id }, transfer)
  })
}

/** Sends one job to the worker thread; `transfer` lists buffers handed over without a copy. */
export function runInWorker<T>(body: JobBody, transfer: ArrayBuffer[] = []): Promise<T> {
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
  return post<T>(body.type === 'flush' ? flushLane : compactionLane, body, transfer)
}

/**
 * Threads reading batches of point reads. Two: with the JS thread's own work,
 * they keep both cores of a small machine busy (`bench/probe-tsw.ts`: 1M
 * random reads that miss the cache, 64 in flight in four batches of 16,
 * 164–168k reads/s on two threads, 99–106k on one, 149–152k on three).
 */
const readLanes = [new Lane(), new Lane()]

/**
 * Reads a batch on the read thread with the fewer batches in flight.
 * `view` names the read view; `spec` describes its tables, and is called
 * only when that thread does not hold the view already.
 */
export function readInWorker(view: number, spec: () => ReadBatchRequest['spec'], req: Omit<ReadBatchRequest, 'view' | 'spec'>): Promise<ReadBatchReply> {
  const lane = readLanes[0]!.pending.size <= readLanes[1]!.pending.size ? readLanes[0]! : readLanes[1]!
  lane.get()
  const body: { type: 'read' } & ReadBatchRequest = { type: 'read', view, ...req }
  if (lane.view !== view) {
    body.spec = spec()
    lane.view = view
  }
  return post<ReadBatchReply>(lane, body, [req.keys.buffer as ArrayBuffer, req.ends.buffer as ArrayBuffer, req.seqs.buffer as ArrayBuffer])
}

/** Tells the running read threads to close table instances (no reply). */
export function forgetInReadWorkers(req: ForgetRequest): void {
  for (const lane of readLanes) lane.worker?.postMessage({ type: 'forget', ...req })
}

/** Tells the running read threads to close a database's tables and files; resolves once they have. */
export async function forgetCachesInReadWorkers(caches: number): Promise<void> {
  await Promise.all(readLanes.filter(l => l.worker !== undefined).map(l => post(l, { type: 'forget', caches }, []).catch(() => {})))
}

let stopping: Promise<unknown> = Promise.resolve()

function stopWorkers(): void {
  stopping = Promise.all([stopping, flushLane.stop(), compactionLane.stop(), ...readLanes.map(l => l.stop())])
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
