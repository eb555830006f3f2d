/**
 * Read-path probe (development aid): fills a DB once, then times getSync and
 * async get (64 in flight). Usage: npx tsx bench/probe-read.ts native|ts N [cacheMiB] [fill]
 * (`fill`: stop after filling). PROBE_BUILD=dist loads the engine from .bench-dist/. LSM_OPTS='{...}' adds open options to the fill,
 * LSM_READ_OPTS='{...}' to the reads; LANES=n sets the reads in flight (default 64);
 * SKIP_SYNC=1 leaves out the getSync loop (to profile the async reads alone).
 */
import { existsSync, readFileSync } from 'node:fs'

/** CPU seconds of the main thread so far (utime + stime of /proc/self/task/<pid>). */
function mainCpu(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return (Number(rest[11]) + Number(rest[12])) / 100
}
import type { DB as DBType } from '../ts/db.js'
// PROBE_BUILD=dist: the engine compiled into .bench-dist/, as the bench runs it
// (through tsx the pure-TS code reads every imported binding through a getter).
const { DB } = (await import(process.env.PROBE_BUILD === 'dist' ? '../.bench-dist/db.js' : '../ts/db.js')) as { DB: typeof DBType }
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { makeKeys, makeValues, prng, permutation } from './lib/data.js'

const engine = (process.argv[2] ?? 'native') as 'ts' | 'native'
const N = Number(process.argv[3] ?? 1_000_000)
const cache = Number(process.argv[4] ?? 8)
const dir = `/tmp/probe/db-${engine}-${N}`
const rand = prng(1)
const keys = makeKeys(N)
const values = makeValues(Math.min(N, 1 << 20), rand)
const fill = permutation(N, rand)
const order = permutation(N, rand)
if (!existsSync(dir)) {
  const db = await DB.open(dir, { engine, ...JSON.parse(process.env.LSM_OPTS ?? '{}') })
  const h = monitorEventLoopDelay({ resolution: 5 })
  h.enable()
  const t = performance.now()
  const c0 = mainCpu()
  for (let i = 0; i < N; i += 64) {
    const ps = []
    for (let j = i; j < Math.min(N, i + 64); j++) ps.push(db.put(keys[fill[j]!]!, values[j % values.length]!))
    await Promise.all(ps)
  }
  h.disable()
  console.log('fill', Math.round(N / ((performance.now() - t) / 1000)), 'per main-thread CPU second', Math.round(N / (mainCpu() - c0)), 'loop delay p99/max ms', (h.percentile(99) / 1e6 - 5).toFixed(1), (h.max / 1e6 - 5).toFixed(1))
  const st = db.stats()
  console.log(JSON.stringify({ stalls: st.stalls, flushes: st.flushes, compactions: st.compactions, writeAmp: st.writeAmplification.toFixed(2), groups: st.writeGroups, levels: st.levels.map(l => l.files).join('/') }))
  await db.close()
}
if (process.argv[5] === 'fill') process.exit(0)
const lanes = Number(process.env.LANES ?? 64)
const db = await DB.open(dir, { engine, blockCacheSize: cache * 1024 * 1024, ...JSON.parse(process.env.LSM_READ_OPTS ?? '{}') })
for (let round = 0; round < 2; round++) {
  let t = performance.now()
  let found = 0
  const c0 = mainCpu()
  if (process.env.SKIP_SYNC === undefined) for (let i = 0; i < N; i++) if (db.getSync(keys[order[i]!]!) !== undefined) found++
  const sync = N / ((performance.now() - t) / 1000)
  const syncCpu = N / (mainCpu() - c0)
  t = performance.now()
  const cpu0 = process.cpuUsage()
  let next = 0
  const lane = async () => {
    for (;;) {
      const i = next++
      if (i >= N) return
      if ((await db.get(keys[order[i]!]!)) !== undefined) found++
    }
  }
  await Promise.all(Array.from({ length: lanes }, lane))
  const asy = N / ((performance.now() - t) / 1000)
  const cpu1 = process.cpuUsage(cpu0)
  const cpuNsPerGet = Math.round((cpu1.user + cpu1.system) * 1000 / N)
  console.log(JSON.stringify({ engine, N, cache, getSync: Math.round(sync), getSyncPerCpuSec: Math.round(syncCpu), lanes, get: Math.round(asy), cpuNsPerGet, found, levels: db.stats().levels.map(l => l.files).join('/'), readBatches: db.stats().readBatches }))
}
await db.close()
