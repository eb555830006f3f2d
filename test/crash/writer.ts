/**
 * Child process for the crash test: writes forever with `sync: true` from
 * several concurrent writers and reports, one line each (to the report file of
 * kill-child.ts, written synchronously so that a SIGKILL loses none),
 *   S <id> <json op>   when a write is submitted,
 *   A <id>             when it is acknowledged.
 * The parent kills it with SIGKILL at a random moment.
 * argv: <dir> <seed> <engine>
 */
import { DB } from '../../ts/db.js'
import { Rng } from '../helpers/random.js'
import { reportLine } from './kill-child.js'

const [dir, seedArg, engine] = process.argv.slice(2)
const seed = Number(seedArg)
const rng = new Rng(seed)
const db = await DB.open(dir!, {
  engine: engine as 'ts' | 'native',
  memtableSize: 4096, l0CompactionTrigger: 2, l0SlowdownTrigger: 4, l0StopTrigger: 8,
  targetFileSize: 4096, maxBytesForLevelBase: 16384, levelMultiplier: 4, blockSize: 512,
})
let next = 0
const out = reportLine

async function writer(): Promise<never> {
  for (;;) {
    const id = `${seed}.${next++}`
    const r = rng.int(10)
    let op: unknown
    let p: Promise<void>
    if (r < 6) {
      const key = `k${rng.int(200)}`
      const value = `${id}:${'x'.repeat(rng.int(100))}`
      op = { t: 'put', key, value }
      out(`S ${id} ${JSON.stringify(op)}`)
      p = db.put(key, value, { sync: true })
    } else if (r < 8) {
      const key = `k${rng.int(200)}`
      op = { t: 'del', key }
      out(`S ${id} ${JSON.stringify(op)}`)
      p = db.del(key, { sync: true })
    } else {
      // A batch on fresh keys: all ten must appear together or not at all.
      op = { t: 'batch', prefix: `b${id}` }
      out(`S ${id} ${JSON.stringify(op)}`)
      p = db.batch(Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: `b${id}-${i}`, value: id })), { sync: true })
    }
    await p
    out(`A ${id}`)
  }
}

process.stdout.write('READY\n')
await Promise.all(Array.from({ length: 8 }, writer))
