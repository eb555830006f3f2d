/**
 * Point reads batched onto the libuv thread pool when that is faster.
 *
 * A `get` normally runs in one synchronous core call on the JS thread. When
 * many reads are in flight at once and most of them miss the block cache
 * (each then checks and decompresses a block: ~2 µs), the JS thread is the
 * bottleneck while the second core idles. Handing such reads to a pool
 * thread in batches frees the JS thread for the rest of the work, but each
 * hand-off costs a round trip (~100 µs on a small VM) that only a batch of
 * many reads amortizes: with few reads in flight, or reads the cache
 * answers, batching is slower (measured: +28% at 64 cold reads in flight,
 * −40% at 16).
 *
 * So the choice is measured, not guessed. While reads keep up a high rate,
 * a comparison round now and then times three short windows: the current
 * way, the other way, the current way again. The other way is taken when it
 * beats the mean of the two windows around it by a margin; bracketing it so
 * cancels the drift of a changing workload (a compaction finishing speeds
 * up every read that follows). Rounds come every half second while batching
 * and, after a lost trial, ever less often (up to every few seconds) while
 * reading synchronously.
 *
 * Batches are formed as a group commit forms its groups: reads queue while
 * up to {@link MAX_INFLIGHT} batches are being read, and the next batch
 * leaves with everything queued once one comes back.
 */
import type { Lookup } from './core/core.js'
import { LsmError } from './errors.js'
import type { ReadState } from './read-state.js'

/** How point reads run: the `readBatching` open option. */
export type ReadBatching = 'auto' | 'off' | 'always'

/**
 * Batches being read on the pool at once: as many as libuv's default pool has
 * threads. With 64 reads in flight, four batches of ~16 kept both cores
 * busier than two of ~32 (`bench/probe-read.ts`, every read batched: 286–320k
 * against 253–300k reads/s).
 */
const MAX_INFLIGHT = 4
/** A queued batch leaves at once when it holds this many reads and a slot is free. */
const FULL_BATCH = 16
/** Reads between two looks at the clock. */
const CHECK_EVERY = 64
/** Length of each of a comparison round's three windows (ms). */
const WINDOW_MS = 100
/** The other way must beat the current one by this factor to be taken. */
const MARGIN = 1.05
/** Reads per ms below which reads are not busy enough to try batching. */
const BUSY_RATE = 50
/** Time from a round that chose batching to the next round (ms). */
const BATCH_SPELL_MS = 500
/** Bounds of the wait (ms) after a round that chose synchronous reads before the next one (doubles per such round). */
const FIRST_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 4000

/** Counts of what the batcher did, for `DB.stats()`. */
export interface ReadBatchStats {
  /** Point reads answered through batches. */
  batchedReads: number
  /** Batches read on the pool. */
  batches: number
  /** Trials of batching, and how many it won. */
  trials: number
  trialsWon: number
}

/**
 * `V` is what a batched read resolves to: each read's {@link Lookup} goes
 * through `answer` (and each failure through `failure`) as its batch settles,
 * so a read costs one promise, not a second one chained to convert it.
 */
export class ReadBatcher<V = Lookup> {
  /** True while reads should go through {@link read} rather than run synchronously. */
  batching: boolean
  readonly stats: ReadBatchStats = { batchedReads: 0, batches: 0, trials: 0, trialsWon: 0 }

  /** The way chosen by the last round. */
  private chosen: 'sync' | 'batch' = 'sync'
  /** The window of the comparison round under way (0–2), or -1 between rounds. */
  private step = -1
  /** Reads per ms in each window of the round. */
  private readonly rates = [0, 0, 0]
  private windowStart = -1
  private reads = 0
  private countdown = CHECK_EVERY
  private backoff = FIRST_BACKOFF_MS
  /** Earliest time of the next round. */
  private nextRound = 0

  private queueState: ReadState | undefined
  private keys: Uint8Array[] = []
  private seqs: number[] = []
  private resolves: ((v: V) => void)[] = []
  private rejects: ((e: Error) => void)[] = []
  private inflight = 0
  private flushing = false
  private idleWaiters: (() => void)[] = []

  /** `now`: the clock, in ms (tests pass their own). */
  constructor(
    private readonly policy: ReadBatching,
    private readonly now: () => number = () => performance.now(),
    private readonly answer: (l: Lookup) => V = l => l as V,
    private readonly failure: (e: unknown) => Error = e => (e instanceof Error ? e : new LsmError('IO_ERROR', `batched read failed: ${String(e)}`)),
  ) {
    this.batching = policy === 'always'
  }

  /**
   * Notes one read, for the `'auto'` policy's rates ({@link read} counts its
   * own; call this after each synchronous read). Cheap: a decrement, and a
   * look at the clock every {@link CHECK_EVERY} reads.
   */
  count(): void {
    if (--this.countdown === 0) this.tick()
  }

  /** A read through a batch: `state`'s view at `seq`. The caller checked `state.view.getBatch` exists. */
  read(state: ReadState, key: Uint8Array, seq: number): Promise<V> {
    this.count()
    if (this.queueState !== state) {
      if (this.keys.length > 0) this.dispatch()
      // Pinned from the first queued read to the batch's end: a state the DB
      // replaces meanwhile must keep its view (and files) for these reads.
      state.pin()
      this.queueState = state
    }
    this.keys.push(key)
    this.seqs.push(seq)
    const p = new Promise<V>((resolve, reject) => {
      this.resolves.push(resolve)
      this.rejects.push(reject)
    })
    if (this.keys.length >= FULL_BATCH && this.inflight < MAX_INFLIGHT) this.dispatch()
    else this.scheduleFlush()
    return p
  }

  /** Resolves once no batch is queued or being read. */
  idle(): Promise<void> {
    if (this.inflight === 0 && this.keys.length === 0) return Promise.resolve()
    return new Promise(r => this.idleWaiters.push(r))
  }

  // ------------------------------------------------------------- batching

  private scheduleFlush(): void {
    if (this.flushing) return
    this.flushing = true
    // After this turn's reads have queued (they arrive in microtasks).
    setImmediate(() => {
      this.flushing = false
      if (this.inflight < MAX_INFLIGHT && this.keys.length > 0) this.dispatch()
    })
  }

  private dispatch(): void {
    const state = this.queueState!
    const keys = this.keys
    const seqs = this.seqs
    const resolves = this.resolves
    const rejects = this.rejects
    this.keys = []
    this.seqs = []
    this.resolves = []
    this.rejects = []
    this.queueState = undefined
    this.inflight++
    this.stats.batches++
    this.stats.batchedReads += keys.length
    let p: Promise<(Lookup | Error)[]>
    try {
      p = state.view.getBatch!(keys, seqs)
    } catch (e) {
      p = Promise.reject(e)
    }
    p.then(
      results => {
        for (let i = 0; i < resolves.length; i++) {
          const r = results[i]!
          if (r instanceof Error) rejects[i]!(this.failure(r))
          else resolves[i]!(this.answer(r))
        }
      },
      (e: unknown) => {
        const err = this.failure(e)
        for (const reject of rejects) reject(err)
      },
    ).finally(() => {
      state.unpin()
      this.inflight--
      if (this.keys.length > 0) this.scheduleFlush()
      else if (this.inflight === 0) for (const r of this.idleWaiters.splice(0)) r()
    })
  }

  // --------------------------------------------------------------- policy

  private tick(): void {
    this.countdown = CHECK_EVERY
    if (this.policy !== 'auto') return
    const now = this.now()
    if (this.step < 0) {
      if (now < this.nextRound) return
      this.startWindow(0, now)
      return
    }
    this.reads += CHECK_EVERY
    const elapsed = now - this.windowStart
    if (elapsed < WINDOW_MS) return
    const rate = this.reads / elapsed
    this.rates[this.step] = rate
    if (this.step === 0) {
      if (this.chosen === 'sync' && rate < BUSY_RATE) {
        // Not busy: nothing to gain; look again after a window.
        this.step = -1
        this.nextRound = now + WINDOW_MS
        return
      }
      if (this.chosen === 'sync') this.stats.trials++
      this.startWindow(1, now)
      return
    }
    if (this.step === 1) {
      this.startWindow(2, now)
      return
    }
    const current = (this.rates[0]! + this.rates[2]!) / 2
    const other = this.rates[1]!
    if (this.chosen === 'sync' && other > current * MARGIN) {
      this.stats.trialsWon++
      this.chosen = 'batch'
    } else if (this.chosen === 'batch' && current <= other * MARGIN) {
      this.chosen = 'sync'
    }
    if (this.chosen === 'batch') {
      this.backoff = FIRST_BACKOFF_MS
      this.nextRound = now + BATCH_SPELL_MS
    } else {
      this.nextRound = now + this.backoff
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS)
    }
    this.step = -1
    this.batching = this.chosen === 'batch'
  }

  /** Starts window `step` of a round: windows 0 and 2 read the chosen way, window 1 the other. */
  private startWindow(step: number, now: number): void {
    this.step = step
    this.windowStart = now
    this.reads = 0
    this.batching = (this.chosen === 'batch') !== (step === 1)
  }
}
