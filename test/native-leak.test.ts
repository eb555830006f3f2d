/**
 * Memory of native iterators: opening and draining many short iterators must not
 * grow the process's memory.
 *
 * The regression this guards: every native cursor (its table iterators, the data
 * blocks they stood on) and every chunk (an external buffer over a Rust `Vec`) stayed
 * allocated until Node ran their finalizers — which it does only when the event loop
 * turns, not at garbage collection. A loop of iterators over already-resolved promises
 * (as `for await` over a DB that answers synchronously is) grew by ~18 KB per iterator
 * and the seekrandom benchmark reached 4.9 GB. Now `DBIterator.close()` (called at
 * exhaustion and at `limit`) frees the native cursor at once and chunks are buffers V8
 * allocates and frees itself.
 *
 * RSS is measured in a child process run with `--expose-gc`, so the numbers are not
 * mixed up with AVA's own allocations; the loop never yields to the event loop, which
 * is the case that leaked.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { nativeCore } from '../ts/core/native-core.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const ITERATORS = 20_000
/** Generous: the leak was ~18 KB per iterator; what remains is well under 1 KB. */
const MAX_BYTES_PER_ITERATOR = 2048

const child = `
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
const { DB } = await import(${JSON.stringify(pathToFileURL(join(root, 'ts', 'index.ts')).href)})
const N = 50_000
const dir = mkdtempSync(join(tmpdir(), 'lsm-native-leak-'))
const key = i => Buffer.from('key' + String(i).padStart(8, '0'))
let db = await DB.open(dir, { engine: 'native', blockCacheSize: 64 << 10 })
// Random order, then reopen: the keys end up in several tables (L0 and deeper),
// so each cursor holds table iterators and data blocks, not only a memtable.
const order = Array.from({ length: N }, (_, i) => i)
let s = 12345
for (let i = N - 1; i > 0; i--) { s = (s * 1103515245 + 12345) >>> 0; const j = s % (i + 1); [order[i], order[j]] = [order[j], order[i]] }
for (let i = 0; i < N; i += 500) await db.batch(order.slice(i, i + 500).map(j => ({ type: 'put', key: key(j), value: Buffer.alloc(100, j & 255) })))
await db.close()
db = await DB.open(dir, { engine: 'native', blockCacheSize: 64 << 10 })
let rnd = 1
const next = () => { rnd = (rnd * 1103515245 + 12345) >>> 0; return rnd % N }
async function round(n, style) {
  for (let i = 0; i < n; i++) {
    const it = db.iterator({ gte: key(next()), limit: 10 })
    if (style === 0) { for await (const _ of it) { /* drain */ } }
    else { while ((await it.nextv(4)).length > 0) { /* drain */ } }
  }
}
const settle = async () => { gc(); await new Promise(r => setImmediate(r)); gc(); await new Promise(r => setTimeout(r, 20)); gc() }
await round(5000, 0)
await round(5000, 1)
await settle()
const before = process.memoryUsage().rss
await round(${ITERATORS / 2}, 0)
await round(${ITERATORS / 2}, 1)
gc(); gc()
const after = process.memoryUsage().rss
await db.close()
rmSync(dir, { recursive: true, force: true })
process.stdout.write(JSON.stringify({ before, after }) + '\\n')
`

test('native iterators free their memory without waiting for the event loop', async t => {
  if (nativeCore === undefined) return t.fail('the native addon did not load')
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '--eval', child], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    p.on('error', reject)
    p.on('close', code => (code === 0 ? resolve(stdout) : reject(new Error(`child exited with ${code}: ${stderr}`))))
  })
  const { before, after } = JSON.parse(out.trim().split('\n').pop()!) as { before: number; after: number }
  const perIterator = (after - before) / ITERATORS
  t.log(`RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB: ${(perIterator / 1024).toFixed(2)} KiB per iterator`)
  t.true(perIterator < MAX_BYTES_PER_ITERATOR, `RSS grew ${perIterator.toFixed(0)} bytes per iterator`)
})

test('a closed native cursor refuses further calls; closing twice is harmless', t => {
  if (nativeCore === undefined) return t.fail('the native addon did not load')
  const mem = nativeCore.newMemtable()
  const view = nativeCore.newReadView([mem], [])
  const c = view.cursor({ snapshotSeq: 10 })
  t.true(c.nextChunk(10).done)
  c.close!()
  c.close!()
  t.throws(() => c.nextChunk(10), { message: /closed/ })
  t.throws(() => c.seek(new Uint8Array([1])), { message: /closed/ })
})
