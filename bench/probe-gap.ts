/**
 * Event-loop gap probe (development aid, Linux): a fillbatch (1M entries,
 * batches of 1000, 64 in flight, fresh DB) with a 1 ms timer that logs every
 * gap over 4 ms between its ticks, split by the JS thread's schedstat into
 * time it ran and time it was runnable but queued for a CPU; GC pauses over
 * 1 ms; the DB's synchronous steps over 0.3 ms; and each thread's CPU during
 * the fill. ENGINE=native|ts; WORKLOAD=fillbatch (the default) or fillseq
 * (single puts in key order, 64 in flight).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { DB } from '../ts/db.js'
import { makeKeys, makeValues, prng } from './lib/data.js'

const N = 1_000_000
const dir = '/tmp/probe/gap'
rmSync(dir, { recursive: true, force: true })
const keys = makeKeys(N), values = makeValues(1 << 20, prng(3))
const batches: { type: 'put', key: Buffer, value: Buffer }[][] = []
for (let b = 0; b < N / 1000; b++) batches.push(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: keys[b * 1000 + i]!, value: values[b * 1000 + i]! })))
const db = await DB.open(dir, { engine: (process.env.ENGINE ?? 'native') as 'native' | 'ts' })

let t = 0
const events: string[] = []
const at = (ms: number) => (ms - t).toFixed(1)
const proto = DB.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
for (const name of ['rotateMemtable', 'installFlush', 'runCompaction', 'collectGarbage', 'commitGroup', 'refreshState', 'maybeScheduleBackground', 'batch', 'finishCommit', 'commitLarge']) {
  const f = proto[name]!
  proto[name] = function (this: unknown, ...a: unknown[]) {
    const s = performance.now()
    const r = f.apply(this, a)
    const d = performance.now() - s
    if (d > 0.3) events.push(`${at(s)} ${name} ${d.toFixed(2)} ms (synchronous part)`)
    return r
  }
}
new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (e.duration > 1) events.push(`${at(e.startTime)} gc kind=${(e as { detail?: { kind?: number } }).detail?.kind} ${e.duration.toFixed(1)} ms`)
}).observe({ entryTypes: ['gc'] })

/** [run ns, queued ns] of a thread of this process. */
const schedstat = (tid: string) => readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ').slice(0, 2).map(Number)
/** Every thread of this process: its name and schedstat. */
const threads = () => {
  const m = new Map<string, { comm: string; run: number; queued: number }>()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [run, queued] = schedstat(tid)
      m.set(tid, { comm: readFileSync(`/proc/self/task/${tid}/comm`, 'latin1').trim(), run: run!, queued: queued! })
    } catch {
      // The thread ended meanwhile.
    }
  }
  return m
}
const main = String(process.pid)

const gc = globalThis.gc as ((o?: { type: 'minor' }) => void) | undefined
gc?.()
gc?.({ type: 'minor' })
gc?.({ type: 'minor' })
const before = threads()
t = performance.now()
let last = t, lastS = schedstat(main), queuedMs = 0
const timer = setInterval(() => {
  const now = performance.now(), s = schedstat(main)
  const queued = (s[1]! - lastS[1]!) / 1e6
  queuedMs += queued
  if (now - last > 4) events.push(`${at(last)} gap ${(now - last).toFixed(1)} ms (ran ${((s[0]! - lastS[0]!) / 1e6).toFixed(1)}, queued ${queued.toFixed(1)})`)
  last = now
  lastS = s
}, 1)
let next = 0
const fillseq = process.env.WORKLOAD === 'fillseq'
await Promise.all(Array.from({ length: 64 }, async () => {
  for (;;) {
    const i = next++
    if (fillseq) {
      if (i >= N) return
      await db.put(keys[i]!, values[i]!)
    } else {
      if (i >= batches.length) return
      await db.batch(batches[i]!)
    }
  }
}))
clearInterval(timer)
const elapsed = performance.now() - t
const after = threads()
console.log(`fill ${elapsed.toFixed(0)} ms; JS thread queued for a CPU ${queuedMs.toFixed(0)} ms`)
for (const [tid, v] of after) {
  const b = before.get(tid) ?? { run: 0, queued: 0 }
  const ran = (v.run - b.run) / 1e6
  if (ran > 1) console.log(`  thread ${tid} ${v.comm}${tid === main ? ' (JS)' : ''}: ran ${ran.toFixed(0)} ms, queued ${((v.queued - b.queued) / 1e6).toFixed(0)} ms${before.has(tid) ? '' : ' (started during the fill)'}`)
}
console.log(events.sort((a, b) => parseFloat(a) - parseFloat(b)).join('\n'))
await db.close()
