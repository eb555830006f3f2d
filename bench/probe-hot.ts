/**
 * Hot point-read probe (development aid): getSync of the first 1% of the keys
 * (readhot's set: a contiguous key range, so its blocks stay cached) of a DB
 * made by `bench/probe-read.ts native 1000000 8 fill`.
 * Usage: npx tsx bench/probe-hot.ts [cacheMiB] [hot|missing]
 * (`missing`: readmissing's keys instead, every one absent).
 */
import { DB } from '../ts/db.js'
import { makeKeys, makeMissingKeys, prng } from './lib/data.js'
const N = 1_000_000
const missing = process.argv[3] === 'missing'
const keys = missing ? makeMissingKeys(N) : makeKeys(N)
const hot = Uint32Array.from({ length: missing ? N : N / 100 }, (_, i) => i)
const rand = prng(8)
const db = await DB.open('/tmp/probe/db-native-1000000', { engine: 'native', blockCacheSize: Number(process.argv[2] ?? 8) << 20 })
for (let r = 0; r < 3; r++) {
  const t = performance.now()
  for (let i = 0; i < N; i++) db.getSync(keys[hot[rand() % hot.length]!]!)
  console.log(Math.round(N / ((performance.now() - t) / 1000)))
}
await db.close()
