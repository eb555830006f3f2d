/**
 * fillsync probe (development aid): N sync puts from 64 writers on a fresh
 * DB; prints ops/s, groups and WAL fsyncs. Usage: npx tsx bench/probe-sync.ts [N]
 */
import { rmSync } from 'node:fs'
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
const t = performance.now()
let next = 0
await Promise.all(Array.from({ length: 64 }, async () => {
  for (;;) {
    const i = next++
    if (i >= N) return
    await db.put(keys[order[i]!]!, values[i]!, { sync: true })
  }
}))
const ms = performance.now() - t
const st = db.stats()
console.log(JSON.stringify({ opsPerSec: Math.round(N / (ms / 1000)), groups: st.writeGroups, walSyncs: st.walSyncs, usPerSync: Math.round((ms * 1000) / st.walSyncs) }))
await db.close()
