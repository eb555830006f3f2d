/**
 * Compaction-lane probe (development aid): a random fill of N keys (64 in
 * flight, the bench's data and driver) that reports, per compaction level,
 * how many compactions ran, their time and bytes, how long the writers were
 * slowed or stopped, and the process's CPU time. Shows whether a large fill
 * is bound by the compaction lane and which level's merges hold it.
 * Usage: npx tsx bench/probe-levels.ts [N] [engine] [key=value options...]
 */
import { rmSync } from 'node:fs'
import { DB } from '../ts/db.js'
import { makeKeys, makeValues, permutation, prng } from './lib/data.js'
import { drive } from './lib/drive.js'

const N = Number(process.argv[2] ?? 1_000_000)
const engine = (process.argv[3] ?? 'native') as 'ts' | 'native'
const extra: Record<string, number> = {}
for (const kv of process.argv.slice(4)) {
  const [k, v] = kv.split('=')
  extra[k!] = Number(v)
}
const dir = '/tmp/probe/levels'
rmSync(dir, { recursive: true, force: true })
const rand = prng(1)
const keys = makeKeys(N)
const values = makeValues(Math.min(N, 1 << 20), rand)
const order = permutation(N, rand)
const db = await DB.open(dir, { engine, ...extra })
const perLevel = new Map<number, { n: number; ms: number; read: number; written: number; parts: number }>()
let busyMs = 0
db.on('compaction', e => {
  const s = perLevel.get(e.level) ?? { n: 0, ms: 0, read: 0, written: 0, parts: 0 }
  s.n++
  s.ms += e.durationMs
  s.read += e.bytesRead
  s.written += e.bytesWritten
  s.parts += e.parts
  perLevel.set(e.level, s)
  busyMs += e.durationMs
})
const c0 = process.cpuUsage()
const t0 = performance.now()
await drive(N, 64, i => db.put(keys[order[i]!]!, values[i % values.length]!))
const wall = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(c0)
const st = db.stats()
console.log(`fillrandom ${N}: ${Math.round(N / wall)} ops/s, ${wall.toFixed(1)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`)
console.log(`compaction lane busy ${(busyMs / 1000).toFixed(1)} s (${((busyMs / 1000 / wall) * 100).toFixed(0)}% of the fill)`)
for (const [l, s] of [...perLevel].sort((a, b) => a[0] - b[0])) {
  console.log(`  L${l}: ${s.n} compactions, ${(s.ms / 1000).toFixed(1)} s, read ${(s.read / 2 ** 20).toFixed(0)} MiB, wrote ${(s.written / 2 ** 20).toFixed(0)} MiB, ${(s.read / 2 ** 20 / (s.ms / 1000)).toFixed(0)} MiB/s read, parts/compaction ${(s.parts / s.n).toFixed(2)}`)
}
console.log('stalls:', JSON.stringify(st.stalls))
console.log('levels at the end (tables):', st.levels.map(l => l.files).join(' / '))
await db.close()
