/**
 * fillsync probe (development aid): N sync puts from W writers (default 64) on a fresh
 * DB; prints ops/s, groups and WAL fsyncs. Usage: npx tsx bench/probe-sync.ts [N] [native|ts] [writers]
 */
import { readFileSync, rmSync } from 'node:fs'
import { DB } from '../ts/db.js'
import { makeKeys, makeValues, permutation, prng } from './lib/data.js'

const N = Number(process.argv[2] ?? 10_000)
const dir = '/tmp/probe/sync'
rmSync(dir, { recursive: true, force: true })
const rand = prng(9)
const keys = makeKeys(N)
const values = makeValues(N, rand)
const order = permutation(N, rand)
const db = await DB.open(dir, { engine: (process.argv[3] ?? 'native') as 'native' | 'ts' })
/** CPU seconds of the main thread so far (utime + stime of /proc/self/task/<pid>). */
function mainCpu(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return (Number(rest[11]) + Number(rest[12])) / 100
}
const c0 = mainCpu()
const t = performance.now()
let next = 0
await Promise.all(Array.from({ length: Number(process.argv[4] ?? 64) }, async () => {
  for (;;) {
    const i = next++
    if (i >= N) return
    await db.put(keys[order[i]!]!, values[i]!, { sync: true })
  }
}))
const ms = performance.now() - t
const st = db.stats()
console.log(JSON.stringify({ opsPerSec: Math.round(N / (ms / 1000)), groups: st.writeGroups, walSyncs: st.walSyncs, usPerSync: Math.round((ms * 1000) / st.walSyncs), mainCpuUsPerGroup: Math.round(((mainCpu() - c0) * 1e6) / st.walSyncs) }))
await db.close()
