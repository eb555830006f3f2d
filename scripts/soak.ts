/**
 * `npm run soak -- --minutes M [--engine ts|native]`: several concurrent
 * writers, readers and iterators for M minutes with compactions running.
 * Prints ops/s, RSS and file count every 10 s; fails on any error or when
 * memory keeps growing (RSS in the last third of the run > 1.5× the peak of
 * the first third).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DB } from '../ts/db.js'

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : def
}
const minutes = Number(arg('minutes', '5'))
const engine = arg('engine', 'auto') as 'auto' | 'ts' | 'native'
const dir = mkdtempSync(join(tmpdir(), 'lsm-soak-'))
const db = await DB.open(dir, { engine, memtableSize: 1 << 20 })
const KEYS = 200_000
const value = Buffer.alloc(100, 'v')
const key = (i: number) => Buffer.from(`key${String(i).padStart(10, '0')}`)
const rand = () => Math.floor(Math.random() * KEYS)
const deadline = Date.now() + minutes * 60_000
const counts = { writes: 0, reads: 0, scanned: 0 }
let error: unknown
const rssSamples: number[] = []

async function writer(): Promise<void> {
  while (Date.now() < deadline && !error) {
    if (Math.random() < 0.1) await db.batch(Array.from({ length: 50 }, () => ({ type: 'put' as const, key: key(rand()), value })))
    else if (Math.random() < 0.1) await db.del(key(rand()))
    else await db.put(key(rand()), value, { sync: Math.random() < 0.01 })
    counts.writes++
  }
}
async function reader(): Promise<void> {
  while (Date.now() < deadline && !error) {
    await db.get(key(rand()))
    counts.reads++
    if (counts.reads % 100 === 0) await new Promise(r => setImmediate(r))
  }
}
async function scanner(): Promise<void> {
  while (Date.now() < deadline && !error) {
    const snap = Math.random() < 0.5 ? db.snapshot() : undefined
    const it = db.iterator({ gte: key(rand()), limit: 500, reverse: Math.random() < 0.5, ...(snap && { snapshot: snap }) })
    for await (const _ of it) counts.scanned++
    snap?.release()
    // Reads resolve without I/O waits: yield so writers and timers get their turn.
    await new Promise(r => setImmediate(r))
  }
}

const t0 = Date.now()
let last = { ...counts }
const timer = setInterval(() => {
  const rss = process.memoryUsage().rss
  rssSamples.push(rss)
  const files = readdirSync(dir).length
  const st = db.stats()
  console.log(`${((Date.now() - t0) / 1000).toFixed(0)} s: writes ${((counts.writes - last.writes) / 10).toFixed(0)}/s, reads ${((counts.reads - last.reads) / 10).toFixed(0)}/s, scanned ${((counts.scanned - last.scanned) / 10).toFixed(0)}/s, rss ${(rss / 2 ** 20).toFixed(0)} MiB, files ${files}, levels ${st.levels.map(l => l.files).join('/')}, compactions ${st.compactions}, stalls ${st.stalls.count}`)
  last = { ...counts }
}, 10_000)

try {
  await Promise.all([writer(), writer(), writer(), reader(), reader(), scanner(), scanner()].map(p => p.catch(e => { error = e })))
} finally {
  clearInterval(timer)
}
const peak = Math.max(...rssSamples, process.memoryUsage().rss)
const third = Math.max(1, Math.floor(rssSamples.length / 3))
const early = Math.max(...rssSamples.slice(0, third), 1)
const late = Math.max(...rssSamples.slice(-third), 1)
await db.close()
rmSync(dir, { recursive: true, force: true })
console.log(`soak ${minutes} min on ${db.engine}: ${counts.writes} writes, ${counts.reads} reads, ${counts.scanned} entries scanned; peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`)
if (error) {
  console.error('FAILED:', error)
  process.exit(1)
}
if (rssSamples.length >= 6 && late > early * 1.5) {
  console.error(`FAILED: memory kept growing (${(early / 2 ** 20).toFixed(0)} MiB early, ${(late / 2 ** 20).toFixed(0)} MiB late)`)
  process.exit(1)
}
