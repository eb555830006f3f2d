/**
 * The crash-torture loop, shared by `npm run torture` and the bounded test:
 * run the child workload, SIGKILL it at a random moment, optionally simulate
 * a power cut (cut each log file back to a random length no shorter than
 * what was last synced), reopen, and check:
 * - every acknowledged sync write is there (after a plain SIGKILL, every
 *   acknowledged write, synced or not);
 * - no holes: the recovered writes are a prefix of the submission order;
 * - no batch is half applied;
 * - every key holds the value some prefix of the writes would give it.
 */
import { closeSync, openSync, readdirSync, statSync, truncateSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DB } from '../../ts/db.js'
import { Rng } from '../helpers/random.js'
import { runAndKill } from './kill-child.js'

type Op =
  | { t: 'unique'; key: string; sync: boolean }
  | { t: 'put'; key: string; value: string; sync: boolean }
  | { t: 'del'; key: string; sync: boolean }
  | { t: 'batch'; prefix: string; sync: boolean }

export interface TortureOptions {
  dir: string
  engine: 'ts' | 'native'
  rounds: number
  seed?: number
  /** Every other round simulates a power cut on top of the SIGKILL. */
  powerLoss?: boolean
  log?: (line: string) => void
}

export interface TortureResult {
  rounds: number
  powerCuts: number
  /** Unsynced log bytes the simulated power cuts removed. */
  cutBytes: number
  acked: number
  lostUnsynced: number
  failures: string[]
}

const childScript = join(import.meta.dirname, 'torture-child.ts')

async function runChild(dir: string, seed: number, engine: string, delayMs: number) {
  const ops: Op[] = []
  const acked = new Set<number>()
  const durable = new Map<string, number>()
  await runAndKill(childScript, [dir, String(seed), engine], delayMs, line => {
    if (line.startsWith('S ')) {
      const sp = line.indexOf(' ', 2)
      ops[Number(line.slice(2, sp))] = JSON.parse(line.slice(sp + 1)) as Op
    } else if (line.startsWith('A ')) acked.add(Number(line.slice(2)))
    else if (line.startsWith('D ')) {
      const [, file, bytes] = line.split(' ')
      durable.set(file!, Math.max(durable.get(file!) ?? 0, Number(bytes)))
    }
  })
  return { ops, acked, durable }
}

/**
 * Cuts every log file back to a random length ≥ its durable size, and every
 * other time also zeroes a random run of whole 512-byte sectors past that size
 * (writes the disk never got: in a WAL with a zeroed runway a record then
 * overwrites zeros only in part).
 */
function powerCut(dir: string, durable: Map<string, number>, rng: Rng): number {
  let cut = 0
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.log') && !name.startsWith('MANIFEST-')) continue
    const path = join(dir, name)
    const size = statSync(path).size
    const keep = durable.get(name) ?? (name.endsWith('.log') ? 0 : size)
    if (keep >= size) continue
    const len = keep + rng.int(size - keep + 1)
    truncateSync(path, len)
    cut += size - len
    const firstSector = Math.ceil(keep / 512) * 512
    if (rng.int(2) === 0 && firstSector < len) {
      const start = firstSector + 512 * rng.int(Math.ceil((len - firstSector) / 512))
      const end = Math.min(len, start + 512 * (1 + rng.int(8)))
      const fd = openSync(path, 'r+')
      writeSync(fd, new Uint8Array(end - start), 0, end - start, start)
      closeSync(fd)
      cut += end - start
    }
  }
  return cut
}

export async function runTorture(o: TortureOptions): Promise<TortureResult> {
  const rng = new Rng(o.seed ?? 4242)
  const failures: string[] = []
  const fail = (m: string) => { if (failures.length < 20) failures.push(m) }
  let settled = new Map<string, string | undefined>()
  let acked = 0
  let powerCuts = 0
  let lostUnsynced = 0
  let cutBytes = 0
  for (let round = 1; round <= o.rounds && failures.length === 0; round++) {
    const r = await runChild(o.dir, round, o.engine, 100 + rng.int(900))
    const cut = o.powerLoss === true && round % 2 === 0
    const before = readdirSync(o.dir).map(n => `${n}:${statSync(join(o.dir, n)).size}`).join(' ')
    if (cut) {
      cutBytes += powerCut(o.dir, r.durable, rng)
      powerCuts++
    }
    acked += r.acked.size
    let db: DB
    try {
      db = await DB.open(o.dir, { engine: o.engine })
    } catch (e) {
      const after = readdirSync(o.dir).map(n => `${n}:${statSync(join(o.dir, n)).size}`).join(' ')
      throw new Error(`round ${round}${cut ? ' (power cut)' : ''}: reopen failed: ${(e as Error).message}\nbefore: ${before}\nafter: ${after}\ndurable: ${[...r.durable].map(([f, n]) => `${f}:${n}`).join(' ')}`)
    }
    try {
      // Which prefix-marking writes (unique keys, batches) survived.
      const present = new Map<number, boolean>()
      for (let i = 0; i < r.ops.length; i++) {
        const op = r.ops[i]
        if (op === undefined) continue
        if (op.t === 'unique') present.set(i, (await db.get(op.key)) !== undefined)
        else if (op.t === 'batch') {
          const n = (await db.getMany(Array.from({ length: 5 }, (_, j) => `${op.prefix}-${j}`))).filter(v => v !== undefined).length
          if (n !== 0 && n !== 5) fail(`round ${round}: batch ${i} half applied (${n}/5)`)
          present.set(i, n === 5)
        }
      }
      let maxPresent = -1
      for (const [i, p] of present) if (p && i > maxPresent) maxPresent = i
      let firstAbsent = r.ops.length
      for (const [i, p] of present) if (!p && i < firstAbsent) firstAbsent = i
      if (firstAbsent < maxPresent) fail(`round ${round}: hole: write ${firstAbsent} lost but later write ${maxPresent} kept`)
      for (const i of r.acked) {
        const op = r.ops[i]!
        const mustSurvive = op.sync || !cut
        if (!present.has(i)) continue
        if (!present.get(i)) {
          if (mustSurvive) fail(`round ${round}: acknowledged ${op.sync ? 'sync ' : ''}write ${i} (${op.t}) lost${cut ? ' after a power cut' : ''}`)
          else lostUnsynced++
        }
      }
      // Shared keys: the value after some prefix ops[0..B], maxPresent ≤ B < firstAbsent.
      const hi = Math.min(firstAbsent, r.ops.length) - 1
      const keys = new Set<string>()
      for (const op of r.ops) if (op && (op.t === 'put' || op.t === 'del')) keys.add(op.key)
      for (const key of keys) {
        const candidates = new Set<string | undefined>()
        let v = settled.get(key)
        for (let b = 0; b <= hi; b++) {
          const op = r.ops[b]
          if (op && (op.t === 'put' || op.t === 'del') && op.key === key) v = op.t === 'put' ? op.value : undefined
          if (b >= maxPresent) candidates.add(v)
        }
        if (hi < maxPresent || hi < 0) candidates.add(v)
        const got = (await db.get(key))?.toString()
        if (!candidates.has(got)) fail(`round ${round}: key ${key} is ${got}; a prefix of the writes allows only ${[...candidates].join(' | ')}`)
      }
      const next = new Map(settled)
      for (const key of keys) next.set(key, (await db.get(key))?.toString())
      settled = next
      for (const [key, v] of settled) {
        if (keys.has(key)) continue
        const got = (await db.get(key))?.toString()
        if (got !== v) fail(`round ${round}: untouched key ${key} changed from ${v} to ${got}`)
      }
    } finally {
      await db.close()
    }
    o.log?.(`round ${round}${cut ? ' (power cut)' : ''}: ${r.ops.length} writes submitted, ${r.acked.size} acknowledged`)
  }
  return { rounds: o.rounds, powerCuts, cutBytes, acked, lostUnsynced, failures }
}
