/**
 * A quick fill/read measurement of one engine (the full comparative bench is
 * bench/run.ts). Usage: npx tsx bench/quick.ts [ts|native] [N]
 * 16-byte keys, 100-byte values, 64 writes in flight.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DB } from '../ts/db.js'

const engine = (process.argv[2] ?? 'ts') as 'ts' | 'native'
const N = Number(process.argv[3] ?? 200_000)
const INFLIGHT = 64
const dir = mkdtempSync(join(tmpdir(), 'lsm-quick-'))

function key(i: number): Buffer {
  return Buffer.from(String(i).padStart(16, '0'))
}
const keys = Array.from({ length: N }, (_, i) => key((i * 2_654_435_761) % N))
const value = Buffer.alloc(100, 'v')

const db = await DB.open(dir, { engine })
let t0 = performance.now()
for (let i = 0; i < N; i += INFLIGHT) {
  const ps: Promise<void>[] = []
  for (let j = i; j < Math.min(N, i + INFLIGHT); j++) ps.push(db.put(keys[j]!, value))
  await Promise.all(ps)
}
const fill = N / ((performance.now() - t0) / 1000)
t0 = performance.now()
let found = 0
for (let i = 0; i < N; i++) if (db.getSync(keys[(i * 7) % N]!) !== undefined) found++
const read = N / ((performance.now() - t0) / 1000)
t0 = performance.now()
let n = 0
for await (const _ of db.iterator()) n++
const scan = n / ((performance.now() - t0) / 1000)
const st = db.stats()
console.log(JSON.stringify({ engine: db.engine, N, fillrandom: Math.round(fill), readrandom: Math.round(read), readseq: Math.round(scan), found, flushes: st.flushes, compactions: st.compactions, stallMs: Math.round(st.stalls.totalMs), writeAmp: +st.writeAmplification.toFixed(2), levels: st.levels.map(l => l.files).join('/') }))
await db.close()
rmSync(dir, { recursive: true, force: true })
