/**
 * Event-loop gap probe (development aid): runs fillseq or fillbatch (1M, 64 in
 * flight, fresh DB) and prints every gap of the event loop longer than 4 ms,
 * with its start time (ms since the process started, as `--trace-gc` prints
 * them). Usage: node --expose-gc --trace-gc --import tsx bench/probe-gaps.ts fillseq|fillbatch [native|ts]
 */
import { rmSync } from 'node:fs'
import { DB } from '../ts/db.js'
import { makeKeys, makeValues, prng } from './lib/data.js'

const workload = process.argv[2] ?? 'fillbatch'
const engine = (process.argv[3] ?? 'native') as 'native' | 'ts'
const N = 1_000_000
const dir = '/tmp/probe/gaps'
rmSync(dir, { recursive: true, force: true })
const keys = makeKeys(N), values = makeValues(1 << 20, prng(3))
const batches = workload === 'fillbatch'
  ? Array.from({ length: N / 1000 }, (_, b) => Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: keys[b * 1000 + i]!, value: values[b * 1000 + i]! })))
  : []
const db = await DB.open(dir, { engine })
;(globalThis as { gc?: () => void }).gc?.()
const gaps: [number, number][] = []
let last = performance.now()
const timer = setInterval(() => {
  const now = performance.now()
  if (now - last > 4) gaps.push([last, now - last])
  last = now
}, 1)
const t = performance.now()
let next = 0
if (workload === 'fillbatch') {
  await Promise.all(Array.from({ length: 64 }, async () => { for (;;) { const b = next++; if (b >= batches.length) return; await db.batch(batches[b]!) } }))
} else {
  await Promise.all(Array.from({ length: 64 }, async () => { for (;;) { const i = next++; if (i >= N) return; await db.put(keys[i]!, values[i]!) } }))
}
clearInterval(timer)
console.log(workload, engine, Math.round(N / ((performance.now() - t) / 1000)), 'ops/s; from', t.toFixed(0), 'to', performance.now().toFixed(0), 'ms')
for (const [at, ms] of gaps) console.log(`gap at ${at.toFixed(1)} ms: ${ms.toFixed(1)} ms`)
await db.close()
