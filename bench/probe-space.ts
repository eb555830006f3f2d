/**
 * Space probe (development aid): fillrandom then overwrite on one DB, 64 in
 * flight, the bench's data and seed; prints the level shape and the
 * directory's allocated size after each. Usage: npx tsx bench/probe-space.ts native|ts [N]
 * LSM_OPTS='{...}' adds open options.
 */
import { readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DB } from '../ts/db.js'
import { makeKeys, makeValues, permutation, prng, VALUE_POOL_MAX } from './lib/data.js'

const engine = (process.argv[2] ?? 'native') as 'ts' | 'native'
const N = Number(process.argv[3] ?? 1_000_000)
const dir = `/tmp/probe/space-${engine}`
rmSync(dir, { recursive: true, force: true })
const rand = prng(20240601)
const keys = makeKeys(N)
const pool = Math.min(N, VALUE_POOL_MAX)
const values = makeValues(pool, rand)
const fillOrder = permutation(N, rand)
const overwriteOrder = permutation(N, rand)
const opts = JSON.parse(process.env.LSM_OPTS ?? '{}')

function allocated(): number {
  let b = 0
  for (const f of readdirSync(dir)) b += statSync(join(dir, f)).blocks * 512
  return b
}

async function run(name: string, order: Uint32Array, shift: number): Promise<void> {
  const db = await DB.open(dir, { engine, ...opts })
  const t = performance.now()
  for (let i = 0; i < N; i += 64) {
    const ps = []
    for (let j = i; j < Math.min(N, i + 64); j++) ps.push(db.put(keys[order[j]!]!, values[(j + shift) % pool]!))
    await Promise.all(ps)
  }
  const secs = (performance.now() - t) / 1000
  const st = db.stats()
  await db.close()
  console.log(name, Math.round(N / secs), 'ops/s;', 'levels', st.levels.map(l => `${l.files}:${(l.bytes / 2 ** 20).toFixed(1)}`).join(' '), 'MiB; disk', (allocated() / 2 ** 20).toFixed(1), 'MiB; writeAmp', st.writeAmplification.toFixed(2))
}
await run('fillrandom', fillOrder, 0)
await run('overwrite', overwriteOrder, pool >> 1)
