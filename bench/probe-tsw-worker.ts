// Worker side of bench/probe-tsw.ts: opens the tables and answers batches of point reads
// (with ECHO=1 every key answers itself, to time the message protocol alone).
import { parentPort } from 'node:worker_threads'
import { Table, PooledFileSource, recycleBlock } from '../ts/core/ts/sst.js'
import { BufferPool, FdPool, LruCache } from '../ts/core/ts/cache.js'
import type { Block } from '../ts/core/ts/block.js'
import { compareBytes, userKeyOf } from '../ts/core/ts/internal-key.js'
import { basename } from 'node:path'

type T = { t: Table; lo: Uint8Array; hi: Uint8Array }
let levels: T[][] = []
parentPort!.on('message', (m: { type: 'open'; levels: string[][]; cache: number } | { type: 'get'; id: number; keys: Uint8Array; ends: Uint32Array; seq: number }) => {
  if (m.type === 'open') {
    const pool = new BufferPool(1 << 20)
    const cache = new LruCache<Block>(m.cache, b => recycleBlock(pool, b))
    const fds = new FdPool(1000)
    levels = m.levels.map(l => l.map(p => {
      const t = Table.open(new PooledFileSource(p, fds), basename(p), cache, pool)
      return { t, lo: userKeyOf(t.properties.smallest), hi: userKeyOf(t.properties.largest) }
    }))
    return
  }
  const n = m.ends.length
  const parts: Uint8Array[] = []
  const meta = new Float64Array(n * 3)
  let at = 0
  for (let i = 0; i < n; i++) {
    const k = m.keys.subarray(i === 0 ? 0 : m.ends[i - 1]!, m.ends[i]!)
    let r: { found: boolean; kind?: number; seq?: number; value?: Uint8Array } = { found: false }
    if (process.env.ECHO !== undefined) {
      // The protocol alone: every key answers itself.
      meta[i * 3] = 2
      meta[i * 3 + 2] = k.length
      parts.push(k)
      at += k.length
      continue
    }
    for (let li = 0; li < levels.length && !r.found; li++) {
      const level = levels[li]!
      if (li === 0) {
        for (const t of level) {
          if (compareBytes(k, t.lo) < 0 || compareBytes(k, t.hi) > 0) continue
          r = t.t.get(k, m.seq)
          if (r.found) break
        }
      } else {
        let lo = 0, hi = level.length
        while (lo < hi) { const mid = (lo + hi) >>> 1; if (compareBytes(level[mid]!.hi, k) < 0) lo = mid + 1; else hi = mid }
        if (lo < level.length && compareBytes(level[lo]!.lo, k) <= 0) r = level[lo]!.t.get(k, m.seq)
      }
    }
    if (r.found) {
      meta[i * 3] = r.kind! + 1
      meta[i * 3 + 1] = r.seq!
      meta[i * 3 + 2] = r.value!.length
      parts.push(r.value!)
      at += r.value!.length
    }
  }
  const out = new Uint8Array(at)
  let p = 0
  for (const v of parts) { out.set(v, p); p += v.length }
  parentPort!.postMessage({ id: m.id, meta, out }, [meta.buffer, out.buffer])
})
