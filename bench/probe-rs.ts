/**
 * Point-read probe (development aid): getSync over every key of a DB made by
 * `bench/probe-read.ts <engine> N fill`, after background compaction settles.
 * Usage: npx tsx bench/probe-rs.ts DIR [cacheMiB] [rounds] [engine]
 */
import { DB } from '../ts/db.js'
import { makeKeys, prng, permutation } from './lib/data.js'

const dir = process.argv[2]!
const N = 1_000_000
const keys = makeKeys(N)
const order = permutation(N, prng(1))
const db = await DB.open(dir, { engine: (process.argv[5] ?? 'native') as 'native' | 'ts', blockCacheSize: Number(process.argv[3] ?? 128) << 20 })
for (let c = -1; c !== db.stats().compactions;) { c = db.stats().compactions; await new Promise(r => setTimeout(r, 1500)) }
console.log('levels', db.stats().levels.map(l => l.files).join('/'))
for (let r = 0; r < Number(process.argv[4] ?? 3); r++) {
  const t = performance.now()
  let f = 0
  for (let i = 0; i < N; i++) if (db.getSync(keys[order[i]!]!) !== undefined) f++
  console.log(Math.round(N / ((performance.now() - t) / 1000)), f)
}
await db.close()
