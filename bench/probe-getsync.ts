/**
 * Point-read loop for profilers (development aid): opens a DB that
 * `bench/probe-read.ts ENGINE N fill` made, warms the block cache with one
 * pass, then runs `getSync` over random present keys for ROUNDS passes and
 * prints reads/s per pass. Usage:
 *   PROBE_BUILD=dist npx tsx bench/probe-getsync.ts native|ts N [cacheMiB] [rounds]
 */
import type { DB as DBType } from '../ts/db.js'
import { makeKeys, prng, permutation } from './lib/data.js'

const { DB } = (await import(process.env.PROBE_BUILD === 'dist' ? '../.bench-dist/db.js' : '../ts/db.js')) as { DB: typeof DBType }
const engine = (process.argv[2] ?? 'native') as 'ts' | 'native'
const N = Number(process.argv[3] ?? 1_000_000)
const cache = Number(process.argv[4] ?? 1024)
const rounds = Number(process.argv[5] ?? 3)
const rand = prng(1)
const keys = makeKeys(N)
permutation(N, rand)
const order = permutation(N, rand)
const db = await DB.open(`/tmp/probe/db-${engine}-${N}`, { engine, blockCacheSize: cache * 1024 * 1024, readBatching: 'off' })
for (let r = 0; r <= rounds; r++) {
  const t = performance.now()
  let found = 0
  for (let i = 0; i < N; i++) if (db.getSync(keys[order[i]!]!) !== undefined) found++
  console.log(r === 0 ? 'warm' : 'pass', r, Math.round(N / ((performance.now() - t) / 1000)), 'reads/s', found)
}
console.log(db.stats().levels.map(l => l.files).join('/'))
await db.close()
