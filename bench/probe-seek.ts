/**
 * Seek probe (development aid): N/10 iterators opened at random keys of a DB
 * made by `bench/probe-read.ts`, reading 10 entries each, 64 in flight.
 * Usage: npx tsx bench/probe-seek.ts DIR [rounds] [native|ts]
 */
import { DB } from '../ts/db.js'
import { makeKeys, prng, permutation } from './lib/data.js'

const N = 1_000_000
const keys = makeKeys(N)
const order = permutation(N, prng(5))
const db = await DB.open(process.argv[2]!, { engine: (process.argv[4] ?? 'native') as 'native' | 'ts' })
for (let c = -1; c !== db.stats().compactions;) { c = db.stats().compactions; await new Promise(r => setTimeout(r, 1500)) }
const seeks = N / 10
for (let r = 0; r < Number(process.argv[3] ?? 3); r++) {
  const t = performance.now()
  let next = 0
  let found = 0
  await Promise.all(Array.from({ length: 64 }, async () => {
    for (;;) {
      const i = next++
      if (i >= seeks) return
      for await (const _ of db.iterator({ gte: keys[order[i]!]!, limit: 10 })) found++
    }
  }))
  console.log('seeks/s', Math.round(seeks / ((performance.now() - t) / 1000)), found)
}
await db.close()
