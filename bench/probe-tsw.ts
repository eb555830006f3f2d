/**
 * Feasibility probe (development aid): pure-TS point reads answered by worker
 * threads in batches, against the same reads on the JS thread.
 * Usage: npx tsx bench/probe-tsw.ts N workers batch (the DB from `bench/probe-read.ts ts N`);
 * ECHO=1 times the message protocol alone. It led to `read-service.ts` (twenty-third session):
 * two workers, batches of 16, 164–168k reads/s against 103–113k `getSync`/s.
 */
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { DB } from '../ts/db.js'
import { makeKeys, prng, permutation } from './lib/data.js'

const N = Number(process.argv[2] ?? 1_000_000)
const W = Number(process.argv[3] ?? 2)
const B = Number(process.argv[4] ?? 16)
const dir = `/tmp/probe/db-ts-${N}`
const rand = prng(1)
const keys = makeKeys(N)
permutation(N, rand)
const order = permutation(N, rand)
const db = await DB.open(dir, { engine: 'ts', blockCacheSize: 8 << 20 })
const view = (db as any).state.view
const paths: string[][] = view.levels.map((l: any[]) => l.map(t => join(dir, t.inner.name)))
const file = fileURLToPath(new URL('./probe-tsw-worker.ts', import.meta.url))
const workers = Array.from({ length: W }, () => new Worker(`require('tsx/cjs/api').require(${JSON.stringify(file)}, ${JSON.stringify(file)})`, { eval: true }))
for (const w of workers) w.postMessage({ type: 'open', levels: paths, cache: (8 << 20) / W })
type P = { resolve: (v: Uint8Array | undefined) => void }
const pending = new Map<number, P[]>()
let nextId = 1
let queue: { k: Uint8Array; p: P }[] = []
const inflight = new Array(W).fill(0)
const MAXIN = 2
for (let wi = 0; wi < W; wi++) workers[wi]!.on('message', (m: { id: number; meta: Float64Array; out: Uint8Array }) => {
  inflight[wi]--
  const ps = pending.get(m.id)!
  pending.delete(m.id)
  let at = 0
  const buf = Buffer.from(m.out.buffer, m.out.byteOffset, m.out.length)
  for (let i = 0; i < ps.length; i++) {
    const kind = m.meta[i * 3]!
    if (kind === 0) ps[i]!.resolve(undefined)
    else {
      const len = m.meta[i * 3 + 2]!
      ps[i]!.resolve(kind === 2 ? buf.subarray(at, at + len) : undefined)
      at += len
    }
  }
  pump()
})
function pump(): void {
  for (let wi = 0; wi < W && queue.length > 0; wi++) {
    while (inflight[wi] < MAXIN && queue.length > 0) {
      const take = queue.splice(0, B)
      let total = 0
      for (const q of take) total += q.k.length
      const kb = new Uint8Array(total)
      const ends = new Uint32Array(take.length)
      let at = 0
      take.forEach((q, i) => { kb.set(q.k, at); at += q.k.length; ends[i] = at })
      const id = nextId++
      pending.set(id, take.map(q => q.p))
      inflight[wi]++
      workers[wi]!.postMessage({ type: 'get', id, keys: kb, ends, seq: 2 ** 52 }, [kb.buffer, ends.buffer])
    }
  }
}
let scheduled = false
function get(k: Uint8Array): Promise<Uint8Array | undefined> {
  return new Promise(resolve => {
    queue.push({ k, p: { resolve } })
    if (!scheduled) { scheduled = true; queueMicrotask(() => { scheduled = false; pump() }) }
  })
}
await new Promise(r => setTimeout(r, 500))
for (let round = 0; round < 3; round++) {
  const t = performance.now()
  const c0 = process.cpuUsage()
  let next = 0
  let found = 0
  const lane = async () => { for (;;) { const i = next++; if (i >= N) return; if ((await get(keys[order[i]!]!)) !== undefined) found++ } }
  await Promise.all(Array.from({ length: 64 }, lane))
  const c = process.cpuUsage(c0)
  console.log(JSON.stringify({ W, B, readsPerSec: Math.round(N / ((performance.now() - t) / 1000)), found, cpuUsPerRead: +((c.user + c.system) / N).toFixed(2) }))
}
for (const w of workers) await w.terminate()
await db.close()
