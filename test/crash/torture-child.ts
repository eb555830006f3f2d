/**
 * Child process of the torture test: a random workload (puts on unique and
 * shared keys, deletes, atomic batches, sync and non-sync writes, snapshots,
 * reads and iterators) with a tiny memtable so flushes and compactions run
 * all the time. It reports one line each (to the report file of kill-child.ts):
 *   S <idx> <json op>    submitted (idx = submission order = sequence order)
 *   A <idx>              acknowledged
 *   D <file> <bytes>     that many bytes of <file> are durable (a sync finished)
 * argv: <dir> <seed> <engine>
 */
import { basename } from 'node:path'
import { DB } from '../../ts/db.js'
import { setSyncListener } from '../../ts/io.js'
import { Rng } from '../helpers/random.js'
import { reportLine } from './kill-child.js'

const [dir, seedArg, engine] = process.argv.slice(2)
const seed = Number(seedArg)
const rng = new Rng(seed)
const out = reportLine
setSyncListener((path, bytes) => out(`D ${basename(path)} ${bytes}`))

const db = await DB.open(dir!, {
  engine: engine as 'ts' | 'native',
  memtableSize: 4096, l0CompactionTrigger: 2, l0SlowdownTrigger: 4, l0StopTrigger: 8,
  targetFileSize: 4096, maxBytesForLevelBase: 16384, levelMultiplier: 4, blockSize: 512,
})
let idx = 0

async function worker(): Promise<never> {
  for (;;) {
    const i = idx++
    const id = `${seed}.${i}`
    const sync = rng.chance(0.1)
    const r = rng.int(100)
    let p: Promise<void>
    if (r < 40) {
      out(`S ${i} ${JSON.stringify({ t: 'unique', key: `u${id}`, sync })}`)
      p = db.put(`u${id}`, id, { sync })
    } else if (r < 65) {
      const key = `s${rng.int(100)}`
      out(`S ${i} ${JSON.stringify({ t: 'put', key, value: id, sync })}`)
      p = db.put(key, id, { sync })
    } else if (r < 75) {
      const key = `s${rng.int(100)}`
      out(`S ${i} ${JSON.stringify({ t: 'del', key, sync })}`)
      p = db.del(key, { sync })
    } else if (r < 90) {
      out(`S ${i} ${JSON.stringify({ t: 'batch', prefix: `b${id}`, sync })}`)
      p = db.batch(Array.from({ length: 5 }, (_, j) => ({ type: 'put' as const, key: `b${id}-${j}`, value: id })), { sync })
    } else {
      // Readers run alongside: a snapshot read and a short iterator.
      idx--
      const snap = db.snapshot()
      await db.get(`s${rng.int(100)}`, { snapshot: snap })
      const it = db.iterator({ gte: 's', limit: 20, reverse: rng.chance(0.5) })
      for await (const _ of it) { /* drain */ }
      snap.release()
      continue
    }
    await p
    out(`A ${i}`)
  }
}

process.stdout.write('READY\n')
await Promise.all(Array.from({ length: 6 }, worker))
