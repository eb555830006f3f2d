/**
 * Event-loop turn probe (development aid): a fillbatch (1M entries in
 * batches of 1000, 64 in flight, fresh DB) that times every iteration of the
 * event loop (from one check phase to the next) and, for each iteration
 * longer than 4 ms, the synchronous time spent in the DB's own write and
 * background steps during it. It also reads, from /proc (Linux), how long
 * each thread of the process ran and how long it waited for a CPU while
 * runnable during the fill.
 *
 * An iteration much longer than the engine time inside it was spent elsewhere:
 * in garbage collection, in the caller's code, or waiting for a core.
 * Usage: node --expose-gc --import tsx bench/probe-turns.ts [native|ts]
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { DB } from '../ts/db.js'
import { makeKeys, makeValues, prng } from './lib/data.js'

const engine = (process.argv[2] ?? 'native') as 'native' | 'ts'
const N = 1_000_000
const BATCH = 1000
const dir = '/tmp/probe/turns'
rmSync(dir, { recursive: true, force: true })
const keys = makeKeys(N)
const values = makeValues(1 << 20, prng(3))

/** Per thread: [ns on a CPU, ns runnable but waiting for one] (/proc/<pid>/task/<tid>/schedstat). */
function threadTimes(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>()
  let tids: string[] = []
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const nice = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number)
      out.set(`${tid === String(process.pid) ? 'main' : tid} ${name} (nice ${nice})`, [run!, wait!])
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out
}

// Synchronous time inside these DB methods, per loop iteration. TypeScript's
// `private` is not enforced at run time, so the prototype holds them all;
// an async method counts up to its first `await`.
const STEPS = ['batch', 'commitGroup', 'commitLarge', 'finishCommit', 'makeRoomForWrite', 'rotateMemtable', 'installFlush', 'refreshState', 'runCompaction', 'collectGarbage', 'maybeScheduleBackground', 'wakeWriters']
let iteration = 0
const inIteration = new Map<number, Map<string, number>>()
/** Per iteration, time in the outermost of the wrapped calls (nested ones are inside it). */
const outermost = new Map<number, number>()
let depth = 0
const proto = DB.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
for (const name of STEPS) {
  const f = proto[name]
  if (typeof f !== 'function') throw new Error(`DB has no method ${name} any more: update the probe`)
  proto[name] = function (this: unknown, ...a: unknown[]) {
    const t = performance.now()
    depth++
    try {
      return f.apply(this, a)
    } finally {
      depth--
      if (depth === 0) outermost.set(iteration, (outermost.get(iteration) ?? 0) + performance.now() - t)
      let m = inIteration.get(iteration)
      if (m === undefined) inIteration.set(iteration, (m = new Map()))
      m.set(name, (m.get(name) ?? 0) + performance.now() - t)
    }
  }
}

const batches: { type: 'put'; key: Buffer; value: Buffer }[][] = []
for (let b = 0; b < N / BATCH; b++) {
  const ops: { type: 'put'; key: Buffer; value: Buffer }[] = []
  for (let i = b * BATCH; i < (b + 1) * BATCH; i++) ops.push({ type: 'put', key: keys[i]!, value: values[i % values.length]! })
  batches.push(ops)
}
const db = await DB.open(dir, { engine })
const collect = globalThis.gc as ((o?: { type?: 'minor' }) => void) | undefined
collect?.()
collect?.({ type: 'minor' })
collect?.({ type: 'minor' })

const starts: number[] = []
let running = true
const onCheck = () => {
  starts.push(performance.now())
  iteration++
  if (running) setImmediate(onCheck)
}
// A timer keeps the loop from blocking in poll for long when nothing is due.
const timer = setInterval(() => {}, 1)
const before = threadTimes()
const t0 = performance.now()
setImmediate(onCheck)
let next = 0
await Promise.all(
  Array.from({ length: 64 }, async () => {
    for (;;) {
      const b = next++
      if (b >= batches.length) return
      await db.batch(batches[b]!)
    }
  }),
)
const ms = performance.now() - t0
running = false
clearInterval(timer)
const after = threadTimes()

console.log(`fillbatch ${engine}: ${Math.round(N / (ms / 1000))} ops/s, ${ms.toFixed(0)} ms, ${iteration} loop iterations`)
for (const [k, [run, wait]] of after) {
  const [run0, wait0] = before.get(k) ?? [0, 0]
  const r = (run - run0) / 1e6
  if (r < 1) continue
  console.log(`  thread ${k}: ran ${r.toFixed(0)} ms, waited for a CPU ${((wait - wait0) / 1e6).toFixed(0)} ms`)
}
console.log('  (threads that ended during the fill, e.g. flush and compaction threads, are not listed)')
for (let i = 1; i < starts.length; i++) {
  const d = starts[i]! - starts[i - 1]!
  if (d < 4) continue
  const steps = [...(inIteration.get(i) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1])
  const engineMs = outermost.get(i) ?? 0
  console.log(`iteration at ${(starts[i - 1]! - t0).toFixed(1)} ms: ${d.toFixed(1)} ms, in the engine steps ${engineMs.toFixed(2)} ms (each, nested ones inside their callers: ${steps.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`)
}
await db.close()
