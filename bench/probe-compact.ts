/**
 * Compaction probe (development aid): merges every table of a DB directory
 * (made by `bench/probe-read.ts`) with the selected core, into a scratch
 * directory, and reports input MB per CPU-second of the process (the JS
 * thread only waits, so that is the merge thread's rate).
 * Usage: npx tsx bench/probe-compact.ts DIR [native|ts] [rounds]
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { selectCore } from '../ts/core/select.js'

const dir = process.argv[2]!
const core = selectCore((process.argv[3] ?? 'native') as 'native' | 'ts')
const inputs = readdirSync(dir).filter(n => n.endsWith('.sst')).map(n => join(dir, n))
const bytes = inputs.reduce((n, p) => n + statSync(p).size, 0)
const out = '/tmp/probe/compact-out'
for (let r = 0; r < Number(process.argv[4] ?? 3); r++) {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const outputs = await core.compact({
    inputs,
    outputs: Array.from({ length: 400 }, (_, i) => join(out, `${String(i).padStart(6, '0')}.sst`)),
    smallestSnapshot: 2 ** 45 - 1,
    dropDeletes: true,
    targetFileSize: 2 << 20,
  })
  const wall = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  const cpu = (c.user + c.system) / 1e6
  console.log(JSON.stringify({ inputs: inputs.length, inputMB: +(bytes / 1e6).toFixed(1), outputs: outputs.length, wallS: +wall.toFixed(2), cpuS: +cpu.toFixed(2), mbPerCpuS: +(bytes / 1e6 / cpu).toFixed(1) }))
}
