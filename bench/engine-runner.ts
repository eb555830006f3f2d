/**
 * Runs the workloads against ONE engine in this process and writes the
 * results as JSON. bench/run.ts starts one of these per engine:
 *
 *   node --import tsx bench/engine-runner.ts --engine lsm-ts --n 1000000 \
 *        --inflight 64 --workloads fillseq,readrandom --json out.json
 *
 * Data (keys, values, orders) is generated before anything is timed. Each
 * fill runs on a fresh database in a directory under os.tmpdir(); the read
 * workloads and deleterandom run on the database fillrandom (+ overwrite)
 * built, reopened. Progress goes to stderr.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { drive } from './lib/drive.js'
import { makeKeys, makeMissingKeys, makeValues, permutation, prng, uniform, KEY_BYTES, VALUE_BYTES, VALUE_POOL_MAX } from './lib/data.js'
import { ALL_ENGINES, loadEngine, type Engine, type EngineName, type Store } from './lib/engines.js'
import { currentRss, dirUsage, ioDelta, peakRss, readIo, resetPeakRss, watchEventLoop } from './lib/measure.js'
import { ALL_WORKLOADS, BATCH_SIZE, NEEDS_RANDOM_DB, opsFor, SEEK_NEXTS, type EngineResult, type WorkloadName, type WorkloadResult } from './lib/workloads.js'

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

const engineName = arg('engine') as EngineName
if (!ALL_ENGINES.includes(engineName)) throw new Error(`--engine must be one of ${ALL_ENGINES.join(', ')}`)
const N = Number(arg('n', '1000000'))
const C = Number(arg('inflight', '64'))
const seed = Number(arg('seed', '20240601'))
const jsonOut = arg('json')
const selected = (arg('workloads') ?? ALL_WORKLOADS.join(',')).split(',').filter(Boolean) as WorkloadName[]
for (const w of selected) if (!ALL_WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`)
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(C) || C < 1) throw new Error('--n and --inflight must be positive integers')
const want = (w: WorkloadName) => selected.includes(w)
/** --windows: record each timed part's monotonic-clock window (µs), for bench/profile.ts to cut CPU profiles by workload. */
const recordWindows = process.argv.includes('--windows')

const log = (msg: string) => process.stderr.write(`[${engineName}] ${msg}\n`)
const started = performance.now()

const result: EngineResult = { engine: engineName, available: false, n: N, inflight: C, workloads: {} }

function finish(code = 0): never {
  result.wallSeconds = Number(((performance.now() - started) / 1000).toFixed(1))
  result.peakRssBytes = process.resourceUsage().maxRSS * 1024
  const text = JSON.stringify(result, null, 2)
  if (jsonOut) writeFileSync(jsonOut, text)
  else process.stdout.write(text + '\n')
  process.exit(code)
}

// ---- the engine -------------------------------------------------------------

let engine: Engine
const scratch = mkdtempSync(join(tmpdir(), `lsm-bench-${engineName}-`))
const cleanup = () => rmSync(scratch, { recursive: true, force: true })
process.on('exit', cleanup)

try {
  engine = await loadEngine(engineName)
  // Probe: an engine that cannot open a database here (say the native core is
  // not built) is reported unavailable rather than failing the run.
  const probeDir = join(scratch, 'probe')
  const s = await engine.open(probeDir, { durable: false })
  await s.close()
  rmSync(probeDir, { recursive: true, force: true })
} catch (e) {
  result.reason = `${(e as Error).name === 'LsmError' ? `${(e as { code?: string }).code}: ` : ''}${(e as Error).message}`.split('\n')[0]!
  log(`unavailable: ${result.reason}`)
  for (const w of selected) result.workloads[w] = { unavailable: result.reason }
  finish()
}
result.available = true
result.version = engine.version
result.notes = engine.notes

// ---- data, before any timing ------------------------------------------------

const t0 = performance.now()
const rand = prng(seed)
const keys = makeKeys(N)
const pool = Math.min(N, VALUE_POOL_MAX)
const values = makeValues(pool, rand)
const value = (i: number) => values[i % pool]!
const fillOrder = permutation(N, rand)
const overwriteOrder = want('overwrite') ? permutation(N, rand) : new Uint32Array(0)
const syncOrder = want('fillsync') ? permutation(N, rand).subarray(0, opsFor('fillsync', N)) : new Uint32Array(0)
const readOrder = want('readrandom') ? uniform(N, N, rand) : new Uint32Array(0)
const hotOrder = want('readhot') ? uniform(N, Math.max(1, Math.floor(N / 100)), rand) : new Uint32Array(0)
const missingKeys = want('readmissing') ? makeMissingKeys(N) : []
const missingOrder = want('readmissing') ? uniform(N, N, rand) : new Uint32Array(0)
const seekOrder = want('seekrandom') ? uniform(opsFor('seekrandom', N), N, rand) : new Uint32Array(0)
const deleteOrder = want('deleterandom') ? permutation(N, rand) : new Uint32Array(0)
const userBytesPerOp = KEY_BYTES + VALUE_BYTES
globalThis.gc?.()
result.baselineRssBytes = currentRss()
log(`data for N=${N} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${(result.baselineRssBytes / 2 ** 20).toFixed(0)} MiB`)
const perWorkloadRss = resetPeakRss()
result.perWorkloadRss = perWorkloadRss

interface Timed {
  window: { startUs: number; endUs: number }
  seconds: number
  cpuSeconds: number
  eventLoop: WorkloadResult['eventLoop']
}

/** `gc` with V8's options (Node's `--expose-gc` takes `{ type: 'minor' }` for a scavenge). */
const collect = globalThis.gc as ((options?: { type?: 'major' | 'minor' }) => void) | undefined

async function timed(fn: () => Promise<void>): Promise<Timed> {
  // A full collection leaves the objects it finds alive in the young
  // generation, and the first scavenge inside the timed window then copies
  // them to the old one: the key and value arrays built just before a fill,
  // 7.5 MB in fillbatch, made a 9 ms pause charged to whichever engine ran.
  // Two scavenges now promote them before the clock starts.
  collect?.()
  collect?.({ type: 'minor' })
  collect?.({ type: 'minor' })
  const cpu0 = process.cpuUsage()
  const stop = watchEventLoop()
  const startUs = Number(process.hrtime.bigint() / 1000n)
  const t = performance.now()
  await fn()
  const elapsed = performance.now() - t
  const endUs = Number(process.hrtime.bigint() / 1000n)
  const seconds = elapsed / 1000
  const eventLoop = stop(elapsed)
  const cpu = process.cpuUsage(cpu0)
  return { window: { startUs, endUs }, seconds, cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)), eventLoop }
}

function record(w: WorkloadName, ops: number, t: Timed, extra: Partial<WorkloadResult> = {}): WorkloadResult {
  const r: WorkloadResult = {
    ops,
    seconds: Number(t.seconds.toFixed(3)),
    opsPerSec: Math.round(ops / Math.max(t.seconds, 1e-9)),
    cpuSeconds: t.cpuSeconds,
    eventLoop: t.eventLoop,
    peakRssBytes: peakRss(),
    ...extra,
    ...(recordWindows ? { window: t.window } : {}),
  }
  result.workloads[w] = r
  // Saved after every workload: if the parent kills this process (--timeout-min),
  // what finished is still reported.
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2))
  log(`${w.padEnd(12)} ${String(r.opsPerSec).padStart(10)} ops/s  (${r.seconds.toFixed(2)} s, loop p99 ${r.eventLoop.p99Ms} ms${r.writeAmp !== undefined ? `, WA ${r.writeAmp}` : ''}${r.found !== undefined ? `, found ${r.found}` : ''})`)
  if (perWorkloadRss) resetPeakRss()
  return r
}

const recordWorkload = record

/** Writes `count` ops on a store, closes it, and records timing, I/O, disk use. */
async function fill(w: WorkloadName, dir: string, durable: boolean, count: number, op: (s: Store, i: number) => unknown, inflight = C): Promise<void> {
  const store = await engine.open(dir, { durable })
  const io0 = readIo()
  const t = await timed(() => drive(count, inflight, i => op(store, i)))
  const engineStats = store.engineStats?.()
  await store.close()
  const io1 = readIo()
  const disk = dirUsage(dir)
  const entries = w === 'fillbatch' ? N : count
  const userBytes = entries * userBytesPerOp
  const io = ioDelta(io0, io1)
  const written = io ? io.writeBytes : disk.allocated
  record(w, count === 0 ? 0 : w === 'fillbatch' ? N : count, t, {
    ...(io ? { io } : {}),
    userBytes,
    writeAmp: Number((written / userBytes).toFixed(3)),
    writeAmpSource: io ? 'proc-io' : 'dir-size',
    ...(io ? { syscallWriteAmp: Number((io.wchar / userBytes).toFixed(3)) } : {}),
    disk,
    ...(engineStats ? { engineStats } : {}),
  })
}

function skip(w: WorkloadName): boolean {
  const why = engine.unsupported?.[w]
  if (why === undefined) return false
  result.workloads[w] = { unavailable: why }
  log(`${w.padEnd(12)} unavailable: ${why}`)
  return true
}

// ---- the workloads ----------------------------------------------------------

try {
  if (want('fillseq') && !skip('fillseq')) {
    const dir = join(scratch, 'fillseq')
    await fill('fillseq', dir, false, N, (s, i) => s.put(keys[i]!, value(i)))
    rmSync(dir, { recursive: true, force: true })
  }

  if (want('fillbatch') && !skip('fillbatch')) {
    const dir = join(scratch, 'fillbatch')
    const batches = Math.ceil(N / BATCH_SIZE)
    // Pre-sliced so that only the engine's batch call is timed.
    const bk: Buffer[][] = []
    const bv: Buffer[][] = []
    for (let b = 0; b < batches; b++) {
      const lo = b * BATCH_SIZE
      const hi = Math.min(N, lo + BATCH_SIZE)
      bk.push(keys.slice(lo, hi))
      const vs: Buffer[] = []
      for (let i = lo; i < hi; i++) vs.push(value(i))
      bv.push(vs)
    }
    await fill('fillbatch', dir, false, batches, (s, b) => s.batchPut(bk[b]!, bv[b]!))
    rmSync(dir, { recursive: true, force: true })
  }

  if (want('fillsync') && !skip('fillsync')) {
    const dir = join(scratch, 'fillsync')
    await fill('fillsync', dir, true, syncOrder.length, (s, i) => s.putDurable!(keys[syncOrder[i]!]!, value(i)))
    rmSync(dir, { recursive: true, force: true })
  }

  const randomDir = join(scratch, 'random')
  if (want('fillrandom')) {
    await fill('fillrandom', randomDir, false, N, (s, i) => s.put(keys[fillOrder[i]!]!, value(i)))
  } else if (selected.some(w => NEEDS_RANDOM_DB.has(w))) {
    log('filling the random DB (untimed: fillrandom not selected)')
    const s = await engine.open(randomDir, { durable: false })
    await drive(N, C, i => s.put(keys[fillOrder[i]!]!, value(i)))
    await s.close()
  }

  if (want('overwrite')) {
    const half = pool >> 1
    await fill('overwrite', randomDir, false, N, (s, i) => s.put(keys[overwriteOrder[i]!]!, value(i + half)))
  }

  const reads = (['readrandom', 'readhot', 'readmissing', 'readseq', 'readreverse', 'seekrandom', 'deleterandom'] as const).filter(want)
  if (reads.length > 0) {
    const s = await engine.open(randomDir, { durable: false })
    let open = true
    try {
      const present = (v: Buffer | Uint8Array | undefined | null) => v !== undefined && v !== null && v.length === VALUE_BYTES
      for (const w of reads) {
        if (skip(w)) continue
        let found = 0
        // The tree a read workload starts on (compactions may still run after the reopen).
        const treeAtStart = s.engineStats?.()
        const record = (w: WorkloadName, ops: number, t: Timed, extra: Partial<WorkloadResult>) =>
          recordWorkload(w, ops, t, { ...extra, ...(treeAtStart ? { engineStatsAtStart: treeAtStart } : {}) })
        switch (w) {
          case 'readrandom':
          case 'readhot':
          case 'readmissing': {
            const order = w === 'readrandom' ? readOrder : w === 'readhot' ? hotOrder : missingOrder
            const ks = w === 'readmissing' ? missingKeys : keys
            const t = await timed(() =>
              drive(N, C, i => {
                const r = s.get(ks[order[i]!]!)
                if (r instanceof Promise) {
                  return r.then(v => {
                    if (present(v)) found++
                  })
                }
                if (present(r as Buffer | undefined)) found++
                return undefined
              }),
            )
            const engineStats = s.engineStats?.()
            record(w, N, t, { found, ...(engineStats ? { engineStats } : {}) })
            break
          }
          case 'readseq':
          case 'readreverse': {
            let bytes = 0
            const t = await timed(async () => {
              found = await s.range(w === 'readreverse' ? { reverse: true } : {}, (k, v) => {
                bytes += k.length + v.length
              })
            })
            record(w, found, t, { found })
            break
          }
          case 'seekrandom': {
            const ops = seekOrder.length
            const t = await timed(() =>
              drive(ops, C, async i => {
                // (not `found += await …`: that reads `found` before the await and loses concurrent updates)
                const got = await s.range({ gte: keys[seekOrder[i]!]!, limit: SEEK_NEXTS }, () => {})
                found += got
              }),
            )
            record(w, ops, t, { found })
            break
          }
          case 'deleterandom': {
            const io0 = readIo()
            const t = await timed(() => drive(N, C, i => s.del(keys[deleteOrder[i]!]!)))
            const engineStats = s.engineStats?.()
            open = false
            await s.close()
            const io1 = readIo()
            record(w, N, t, {
              ...(io0 && io1 ? { io: ioDelta(io0, io1)! } : {}),
              disk: dirUsage(randomDir),
              ...(engineStats ? { engineStats } : {}),
            })
            break
          }
        }
      }
    } finally {
      if (open) await s.close()
    }
  }
} catch (e) {
  const msg = `error: ${(e as Error).stack ?? String(e)}`
  log(msg)
  for (const w of selected) if (result.workloads[w] === undefined) result.workloads[w] = { unavailable: `error: ${(e as Error).message}` }
  finish(1)
}

finish()
