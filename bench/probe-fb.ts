/**
 * fillbatch probe (development aid): 1M entries in batches of 1000, 64
 * batches in flight, on a fresh DB. ENGINE=native|ts, ROUNDS=n (each on a
 * fresh DB; for profiles), LSM_OPTS='{...}' adds open options.
 */
import { rmSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { DB } from '../ts/db.js'
import { makeKeys, makeValues, prng } from './lib/data.js'
const N = 1_000_000
const dir = '/tmp/probe/fb'
rmSync(dir, { recursive: true, force: true })
const keys = makeKeys(N), values = makeValues(1 << 20, prng(3))
const batches: { type: 'put', key: Buffer, value: Buffer }[][] = []
for (let b = 0; b < N / 1000; b++) batches.push(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: keys[b * 1000 + i]!, value: values[b * 1000 + i]! })))
for (let round = 0; round < Number(process.env.ROUNDS ?? 1); round++) {
rmSync(dir, { recursive: true, force: true })
const db = await DB.open(dir, { engine: (process.env.ENGINE ?? 'native') as 'native' | 'ts', ...JSON.parse(process.env.LSM_OPTS ?? '{}') })
const h = monitorEventLoopDelay({ resolution: 5 })
h.enable()
const t = performance.now()
let next = 0
await Promise.all(Array.from({ length: 64 }, async () => { for (;;) { const b = next++; if (b >= batches.length) return; await db.batch(batches[b]!) } }))
h.disable()
console.log('fillbatch', Math.round(N / ((performance.now() - t) / 1000)), 'loop p99/max beyond 5 ms', (h.percentile(99) / 1e6 - 5).toFixed(1), (h.max / 1e6 - 5).toFixed(1))
const st = db.stats()
console.log(JSON.stringify({ writeAmp: st.writeAmplification.toFixed(2), compactions: st.compactions, trivialMoves: st.trivialMoves, stalls: st.stalls.count, stallMs: Math.round(st.stalls.totalMs), flushMs: Math.round(st.flushMs), flushes: st.flushes }))
await db.close()
}
