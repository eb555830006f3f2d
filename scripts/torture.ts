/**
 * `npm run torture -- --rounds N [--engine ts|native] [--no-power-loss]`:
 * the crash torture of test/crash/torture-driver.ts for as many rounds as asked.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runTorture } from '../test/crash/torture-driver.js'

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : def
}
const rounds = Number(arg('rounds', '50'))
const engines = arg('engine', 'ts,native').split(',') as ('ts' | 'native')[]
let failed = false
for (const engine of engines) {
  const dir = mkdtempSync(join(tmpdir(), `lsm-torture-${engine}-`))
  const t0 = Date.now()
  try {
    const r = await runTorture({ dir, engine, rounds, powerLoss: !process.argv.includes('--no-power-loss'), seed: Number(arg('seed', String(Date.now() % 100000))), log: l => console.log(`[${engine}] ${l}`) })
    console.log(`[${engine}] ${r.rounds} rounds, ${r.powerCuts} power cuts, ${r.acked} acknowledged writes, ${r.lostUnsynced} unsynced lost (as a suffix), ${((Date.now() - t0) / 1000).toFixed(0)} s`)
    if (r.failures.length > 0) {
      failed = true
      for (const f of r.failures) console.log(`[${engine}] FAIL ${f}`)
    }
  } catch (e) {
    failed = true
    console.log(`[${engine}] ${(e as Error).message}`)
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true })
    else console.log(`[${engine}] kept ${dir}`)
  }
}
process.exit(failed ? 1 : 0)
