/**
 * Event-loop probe (development aid): fills N random keys, then overwrites
 * them, logging every event-loop gap over 4 ms with the DB events just before
 * it. Usage: npx tsx bench/probe-stall.ts [native|ts] [N] [seq]
 * (`seq`: the fill and the overwrite go in ascending key order, as fillseq).
 */
import { rmSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { DB } from '../ts/db.js'
import { makeKeys, makeValues, permutation, prng } from './lib/data.js'

const engine = (process.argv[2] ?? 'native') as 'ts' | 'native'
const N = Number(process.argv[3] ?? 1_000_000)
const dir = `/tmp/probe/stall-${engine}`
rmSync(dir, { recursive: true, force: true })
const rand = prng(7)
const keys = makeKeys(N)
const values = makeValues(Math.min(N, 1 << 20), rand)
const sequential = process.argv[4] === 'seq'
const fill = sequential ? Uint32Array.from({ length: N }, (_, i) => i) : permutation(N, rand)
const over = sequential ? fill : permutation(N, rand)
const db = await DB.open(dir, { engine })
const events: string[] = []
const t0 = performance.now()
const note = (s: string) => events.push(`${(performance.now() - t0).toFixed(1)} ${s}`)
db.on('flush', e => note(`flush ${e.durationMs.toFixed(1)}ms`))
db.on('compaction', e => note(`compaction L${e.level} ${e.inputFiles}->${e.outputFiles} ${e.durationMs.toFixed(1)}ms`))
db.on('stall', e => note(`stall ${e.reason} ${e.durationMs.toFixed(1)}ms`))
let last = performance.now()
const gaps: string[] = []
const timer = setInterval(() => {
  const now = performance.now()
  if (now - last > 5) gaps.push(`${(now - t0).toFixed(1)} gap ${(now - last - 1).toFixed(1)}ms after [${events.slice(-2).join('; ')}]`)
  last = now
}, 1)
for (const [name, order] of [['fill', fill], ['overwrite', over]] as const) {
  console.log(`${name} starts at ${performance.now().toFixed(0)} ms`)
  const h = monitorEventLoopDelay({ resolution: 5 })
  h.enable()
  const t = performance.now()
  for (let i = 0; i < N; i += 64) {
    const ps = []
    for (let j = i; j < Math.min(N, i + 64); j++) ps.push(db.put(keys[order[j]!]!, values[(j + (name === 'fill' ? 0 : 7)) % values.length]!))
    await Promise.all(ps)
  }
  h.disable()
  console.log(name, Math.round(N / ((performance.now() - t) / 1000)), 'ops/s, loop p99/max beyond 5 ms:', (h.percentile(99) / 1e6 - 5).toFixed(1), (h.max / 1e6 - 5).toFixed(1))
}
clearInterval(timer)
await db.close()
console.log(gaps.length, 'gaps > 5 ms:')
for (const g of gaps.slice(0, 40)) console.log(' ', g)
