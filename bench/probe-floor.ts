/**
 * The bench's own floor: what a "null engine" reaches in the bench's fill and
 * delete loops. Each write does only what every engine must do with the
 * caller's bytes: check the key is a Uint8Array, copy key (and value) into a
 * group buffer; writes share one promise per group, resolved on the next
 * event-loop turn (as a group commit with no WAL and no memtable would).
 * The time left is the bench driver, the promises, and the first touch of
 * the pre-made key and value objects in the workload's order.
 *
 *   npx tsx bench/probe-floor.ts [N] [rounds]
 */
import { makeKeys, makeValues, permutation, prng } from './lib/data.js'
import { drive } from './lib/drive.js'

const N = Number(process.argv[2] ?? 1_000_000)
const ROUNDS = Number(process.argv[3] ?? 3)
const C = 64
const rand = prng(20240601)
const keys = makeKeys(N)
const values = makeValues(N, rand)
const fillOrder = permutation(N, rand)

class NullStore {
  private buf = Buffer.allocUnsafe(64 * 1024)
  private off = 0
  private pending: Promise<void> | undefined
  private resolve: (() => void) | undefined
  private group(): Promise<void> {
    if (this.pending === undefined) {
      this.pending = new Promise<void>(r => { this.resolve = r })
      setImmediate(() => {
        const r = this.resolve!
        this.pending = undefined
        this.off = 0
        r()
      })
    }
    return this.pending
  }
  put(key: unknown, value: unknown): Promise<void> {
    if (!(key instanceof Uint8Array) || !(value instanceof Uint8Array)) return Promise.reject(new TypeError('bytes'))
    if (this.off + key.length + value.length + 4 > this.buf.length) this.off = 0
    this.buf.set(key, this.off)
    this.off += key.length
    this.buf.set(value, this.off)
    this.off += value.length
    return this.group()
  }
  del(key: unknown): Promise<void> {
    if (!(key instanceof Uint8Array)) return Promise.reject(new TypeError('bytes'))
    if (this.off + key.length + 4 > this.buf.length) this.off = 0
    this.buf.set(key, this.off)
    this.off += key.length
    return this.group()
  }
}

async function time(name: string, op: (i: number) => unknown): Promise<void> {
  const t0 = performance.now()
  await drive(N, C, op)
  const s = (performance.now() - t0) / 1000
  console.log(`${name.padEnd(16)} ${Math.round(N / s / 1000)}k ops/s (${(s * 1e9 / N).toFixed(0)} ns per op)`)
}

for (let r = 0; r < ROUNDS; r++) {
  const db = new NullStore()
  const seqValues = (i: number) => values[i]!
  await time('fillseq', i => db.put(keys[i]!, seqValues(i)))
  await time('fillrandom', i => db.put(keys[fillOrder[i]!]!, values[i]!))
  const delOrder = permutation(N, rand)
  await time('deleterandom', i => db.del(keys[delOrder[i]!]!))
}
