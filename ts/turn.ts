/**
 * Turn sharing for reads that finish without waiting on I/O.
 *
 * `get` and iterator steps do their work in one synchronous core call, so the
 * promise they return is already resolved: a loop of `await db.get(...)`
 * runs in microtasks alone and never lets the event loop turn. Timers and
 * I/O callbacks of the rest of the program would wait until the loop ends,
 * and so would the engine's own background steps that need the JS thread
 * (installing a finished compaction or flush): the benchmark's read
 * workloads ran for tens of seconds on the tree they started with, 7 L0
 * tables that a compaction had long finished merging.
 *
 * So such a read, once the loop has not turned for {@link TURN_MS}, resolves
 * on the next turn instead (`setImmediate`), and every read after it in that
 * turn joins the same wait, in call order. The value is computed before the
 * wait: a read still answers as of when it was called.
 */

/** How long reads may keep the event loop from turning (ms). */
export const TURN_MS = 2
/**
 * Reads between two looks at the clock (~30 ns each, against ≥ 1 µs for a
 * read): few enough that slow reads (a cold pure-TS engine under load, ~0.25
 * ms each) still look every ~2 ms.
 */
const CHECK_EVERY = 8

let count = 0
/** When reads began in this turn of the loop (-1: none since it last turned). */
let turnStart = -1
/** Resolves when the loop next reaches its check phase. */
let turned: Promise<void> | undefined
/** True from the moment reads must wait for the next turn until it comes. */
let due = false

function nextTurn(): Promise<void> {
  turned ??= new Promise<void>(resolve => setImmediate(() => {
    turned = undefined
    turnStart = -1
    count = 0
    due = false
    resolve()
  }))
  return turned
}

/**
 * Undefined when a read may resolve at once; otherwise a promise of the next
 * turn of the event loop to wait for first.
 */
export function turnDue(): Promise<void> | undefined {
  if (due) return turned
  if (++count < CHECK_EVERY) return undefined
  count = 0
  const now = performance.now()
  if (turnStart < 0) {
    // The first check since the loop last turned: note the time, and learn
    // (through the immediate) when it turns again.
    turnStart = now
    void nextTurn()
    return undefined
  }
  if (now - turnStart < TURN_MS) return undefined
  due = true
  return turned
}

/** A promise of `value`, resolved at once or on the next turn of the event loop (see {@link turnDue}). */
export function shareTurn<T>(value: T): Promise<T> {
  const wait = turnDue()
  return wait === undefined ? Promise.resolve(value) : wait.then(() => value)
}

/** {@link shareTurn} of what `read` returns; a throw becomes a rejection. */
export function readShared<T>(read: () => T): Promise<T> {
  let value: T
  try {
    value = read()
  } catch (e) {
    return Promise.reject(e)
  }
  return shareTurn(value)
}
