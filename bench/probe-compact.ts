/**
 * Compaction probe (development aid): merges every table of a DB directory
 * (made by `bench/probe-read.ts`) with the selected core, into a scratch
 * directory, and reports input MB per CPU-second of the process (the JS
 * thread only waits, so that is the merge thread's rate).
 * Usage: npx tsx bench/probe-compact.ts DIR [native|ts] [rounds]
 *
 * PROBE_BUILD=dist loads the engine from .bench-dist/ (compile it first, as
 * `npm run bench` does: tsc -p tsconfig.build.json --outDir .bench-dist).
 * Measure the pure-TS merge that way: through tsx its worker loads the
 * sources as CommonJS, where every imported binding is read through a getter
 * call, and the merge ran ~25% slower (25–32 against 34–39 MB/CPU-s in
 * alternating runs).
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { selectCore as SelectCore } from '../ts/core/select.js'

const { selectCore } = (await import(process.env.PROBE_BUILD === 'dist' ? '../.bench-dist/core/select.js' : '../ts/core/select.js')) as { selectCore: typeof SelectCore }

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
