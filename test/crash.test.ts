/**
 * Recovery under SIGKILL: a child process writes with `sync: true` and reports
 * every submission and acknowledgement; the parent kills it at random moments
 * (flushes and compactions run constantly with the tiny memtable), reopens the
 * database and checks that every acknowledged write is there with its latest
 * acknowledged value (or a newer in-flight one) and that no batch is half
 * applied.
 */
import test from 'ava'
import { join } from 'node:path'
import { DB } from '../ts/db.js'
import { engines, tempDir } from './helpers/engines.js'
import { Rng } from './helpers/random.js'
import { runAndKill } from './crash/kill-child.js'

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20)
const childScript = join(import.meta.dirname, 'crash', 'writer.ts')

type Op = { t: 'put'; key: string; value: string } | { t: 'del'; key: string } | { t: 'batch'; prefix: string }

/** Runs the child, kills it `delayMs` after it is ready, returns what it reported. */
async function runChild(dir: string, seed: number, engine: string, delayMs: number): Promise<{ submitted: [string, Op][]; acked: Set<string> }> {
  const submitted: [string, Op][] = []
  const acked = new Set<string>()
  await runAndKill(childScript, [dir, String(seed), engine], delayMs, line => {
    if (line.startsWith('S ')) {
      const sp = line.indexOf(' ', 2)
      submitted.push([line.slice(2, sp), JSON.parse(line.slice(sp + 1)) as Op])
    } else if (line.startsWith('A ')) acked.add(line.slice(2))
  })
  return { submitted, acked }
}

for (const engine of engines()) {
  test(`[${engine}] every acknowledged sync write survives SIGKILL (${ROUNDS} rounds)`, async t => {
    const dir = tempDir(t, 'lsm-crash-')
    const rng = new Rng(12345)
    /** Recovered state the next round must still show (keys the previous rounds settled). */
    let settled = new Map<string, string | undefined>()
    let totalAcked = 0
    for (let round = 1; round <= ROUNDS; round++) {
      const { submitted, acked } = await runChild(dir, round, engine, 50 + rng.int(700))
      totalAcked += acked.size
      const db = await DB.open(dir, { engine })
      try {
        // Expected per key: the last acked write, or any write submitted after it (in flight at the kill).
        const byKey = new Map<string, { acked?: string | undefined; ackedSet: boolean; later: Set<string | undefined> }>()
        for (const [id, op] of submitted) {
          if (op.t === 'batch') {
            const values = await db.getMany(Array.from({ length: 10 }, (_, i) => `${op.prefix}-${i}`))
            const present = values.filter(v => v !== undefined).length
            t.true(present === 0 || present === 10, `round ${round}: batch ${id} half applied (${present}/10)`)
            if (acked.has(id)) t.is(present, 10, `round ${round}: acknowledged batch ${id} lost`)
            continue
          }
          const value = op.t === 'put' ? op.value : undefined
          const e = byKey.get(op.key) ?? { ackedSet: false, later: new Set() }
          if (acked.has(id)) {
            e.acked = value
            e.ackedSet = true
            e.later.clear()
          } else e.later.add(value)
          byKey.set(op.key, e)
        }
        for (const [key, e] of byKey) {
          const got = (await db.get(key))?.toString()
          const allowed = new Set(e.later)
          if (e.ackedSet) allowed.add(e.acked)
          else allowed.add(settled.get(key))
          t.true(allowed.has(got), `round ${round}: key ${key} is ${got}, allowed ${[...allowed].join(' | ')}`)
        }
        // Keys untouched this round keep their settled values.
        for (const [key, v] of settled) {
          if (byKey.has(key)) continue
          t.is((await db.get(key))?.toString(), v, `round ${round}: untouched key ${key} changed`)
        }
        const next = new Map(settled)
        for (const key of byKey.keys()) next.set(key, (await db.get(key))?.toString())
        settled = next
      } finally {
        await db.close()
      }
    }
    t.log(`${ROUNDS} rounds, ${totalAcked} acknowledged writes checked`)
    t.true(totalAcked > ROUNDS * 5, 'the children must have acknowledged writes')
  })
}
