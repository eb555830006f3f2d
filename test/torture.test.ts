/** Crash torture, bounded for CI: see test/crash/torture-driver.ts (`npm run torture` for long runs). */
import test from 'ava'
import { runTorture } from './crash/torture-driver.js'
import { engines, tempDir } from './helpers/engines.js'

const ROUNDS = Number(process.env.TORTURE_ROUNDS ?? 12)

for (const engine of engines()) {
  test(`[${engine}] crash torture: SIGKILL and simulated power cuts (${ROUNDS} rounds)`, async t => {
    const r = await runTorture({ dir: tempDir(t, 'lsm-torture-'), engine, rounds: ROUNDS, powerLoss: true, seed: 777 })
    t.log(`${r.rounds} rounds (${r.powerCuts} power cuts removing ${r.cutBytes} unsynced bytes), ${r.acked} acknowledged writes, ${r.lostUnsynced} unsynced writes lost as a suffix`)
    t.deepEqual(r.failures, [])
    t.true(r.acked > ROUNDS * 10)
  })
}
