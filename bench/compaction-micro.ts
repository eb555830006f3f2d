/**
 * Micro-benchmark of the pure-TS table builder and compaction merge loop
 * (the worker-thread bottleneck of lsm-ts fills): builds four overlapping
 * tables of 50k entries, then merges them. Usage: npx tsx bench/compaction-micro.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCompaction, writeFileDurably } from '../ts/core/ts/compaction.js'
import { compareInternalKeys, Kind, makeInternalKey } from '../ts/core/ts/internal-key.js'
import { TableBuilder } from '../ts/core/ts/sst.js'

const dir = mkdtempSync(join(tmpdir(), 'lsm-cmicro-'))
const value = Buffer.alloc(100, 'v')
const inputs: string[] = []
let seq = 1
let t0 = performance.now()
for (let t = 0; t < 4; t++) {
  const entries: Uint8Array[] = []
  for (let i = 0; i < 50_000; i++) entries.push(makeInternalKey(Buffer.from(String((i * 7919 + t * 13) % 150_000).padStart(16, '0')), seq++, Kind.Put))
  entries.sort(compareInternalKeys)
  const b = new TableBuilder()
  for (const k of entries) b.add(k, value)
  const path = join(dir, `${String(t + 1).padStart(6, '0')}.sst`)
  writeFileDurably(path, b.finish().bytes)
  inputs.push(path)
}
const build = performance.now() - t0
const times: number[] = []
for (let r = 0; r < 3; r++) {
  const outputs = Array.from({ length: 40 }, (_, i) => join(dir, `out${r}-${i}.sst`))
  t0 = performance.now()
  runCompaction({ inputs, outputs, smallestSnapshot: seq, dropDeletes: true, targetFileSize: 2 << 20 })
  times.push(performance.now() - t0)
}
console.log(JSON.stringify({ buildMs: Math.round(build), compactMs: times.map(Math.round), entriesPerSec: Math.round(200_000 / (Math.min(...times) / 1000)) }))
rmSync(dir, { recursive: true, force: true })
