/**
 * Scan probe (development aid): reads a whole DB forward and backward with
 * `for await` over `db.iterator()`. Usage: npx tsx bench/probe-scan.ts DIR [native|ts] [rounds]
 */
import { DB } from '../ts/db.js'

const db = await DB.open(process.argv[2]!, { engine: (process.argv[3] ?? 'native') as 'native' | 'ts' })
for (let c = -1; c !== db.stats().compactions;) { c = db.stats().compactions; await new Promise(r => setTimeout(r, 1500)) }
for (let r = 0; r < Number(process.argv[4] ?? 3); r++) {
  for (const reverse of [false, true]) {
    const t = performance.now()
    let n = 0
    for await (const _ of db.iterator({ reverse })) n++
    console.log(reverse ? 'reverse' : 'forward', Math.round(n / ((performance.now() - t) / 1000)), n)
  }
}
await db.close()
