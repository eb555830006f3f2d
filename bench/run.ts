/**
 * The comparative benchmark (issue 5): db_bench-style workloads against
 * lsm-rust (native and pure-TS cores), classic-level (LevelDB),
 * rocksdb-native (RocksDB) and lmdb (LMDB). Each engine runs in its own child
 * process (bench/engine-runner.ts), one after another; this parent collects
 * their JSON and writes results.md, results.json and chart.svg.
 *
 *   npm run bench -- [--n 1000000] [--inflight 64] [--runs 1]
 *                    [--engines lsm-native,lsm-ts,classic-level,rocksdb-native,lmdb]
 *                    [--workloads fillseq,fillbatch,...] [--out bench/results]
 *                    [--seed 20240601] [--timeout-min 0] [--scale]
 *                    [--build dist|source]
 *
 * --scale: N = 10,000,000 and workloads fillrandom,readrandom (unless given),
 * results into bench/results/scale unless --out is given.
 *
 * --build dist (the default) compiles ts/ with tsc first (into .bench-dist/,
 * so a concurrent `npm pack` or build of dist/ is not disturbed) and has
 * lsm-rust's engines load that JavaScript, as an installed package runs;
 * --build source loads ts/ through tsx instead (no compile step; the pure-TS
 * engine's worker threads then transpile their modules each time they start,
 * inside the timed part of a fill).
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ALL_ENGINES, type EngineName } from './lib/engines.js'
import { renderMarkdown, renderSvg, cellOps, type Report } from './lib/report.js'
import { ALL_WORKLOADS, DESCRIPTIONS, isUnavailable, type EngineResult, type WorkloadName } from './lib/workloads.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

function parseArgs(argv: string[]): Map<string, string> {
  const m = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`)
    const eq = a.indexOf('=')
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1))
    else if (a === '--scale' || a === '--help') m.set(a.slice(2), 'true')
    else {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      m.set(a.slice(2), v)
    }
  }
  return m
}

const args = parseArgs(process.argv.slice(2))
if (args.has('help')) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0])
  process.exit(0)
}
const scale = args.has('scale')
const N = Number(args.get('n') ?? (scale ? 10_000_000 : 1_000_000))
const C = Number(args.get('inflight') ?? 64)
const runs = Number(args.get('runs') ?? 1)
const seed = Number(args.get('seed') ?? 20240601)
const timeoutMin = Number(args.get('timeout-min') ?? 0)
const outDir = resolve(args.get('out') ?? join(root, 'bench', 'results', ...(scale ? ['scale'] : [])))
const engines = (args.get('engines') ?? ALL_ENGINES.join(',')).split(',').filter(Boolean) as EngineName[]
const workloads = (args.get('workloads') ?? (scale ? 'fillrandom,readrandom' : ALL_WORKLOADS.join(','))).split(',').filter(Boolean) as WorkloadName[]
for (const e of engines) if (!ALL_ENGINES.includes(e)) throw new Error(`unknown engine ${e} (known: ${ALL_ENGINES.join(', ')})`)
for (const w of workloads) if (!ALL_WORKLOADS.includes(w)) throw new Error(`unknown workload ${w} (known: ${ALL_WORKLOADS.join(', ')})`)
if (![N, C, runs].every(x => Number.isInteger(x) && x >= 1)) throw new Error('--n, --inflight and --runs must be positive integers')
const build = args.get('build') ?? 'dist'
if (build !== 'dist' && build !== 'source') throw new Error('--build must be dist or source')
if (build === 'dist' && engines.some(e => e.startsWith('lsm-'))) {
  // One level below the package root, like dist/: the addon is found from there.
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(root, '.bench-dist'), '--declaration', 'false', '--sourceMap', 'false'], { cwd: root, stdio: 'inherit' })
  if (tsc.status !== 0) throw new Error('tsc failed (use --build source to bench ts/ through tsx)')
}
// Run the workloads in their canonical order whatever order they were given in.
workloads.sort((a, b) => ALL_WORKLOADS.indexOf(a) - ALL_WORKLOADS.indexOf(b))

function fsType(path: string): string | undefined {
  try {
    let best = ''
    let type: string | undefined
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mnt, t] = line.split(' ')
      if (mnt && t && path.startsWith(mnt) && mnt.length > best.length) {
        best = mnt
        type = t
      }
    }
    return type ? `${type} at ${path}` : undefined
  } catch {
    return undefined
  }
}

const started = Date.now()
const cpuList = cpus()
const report: Report = {
  meta: {
    date: new Date().toISOString(),
    n: N,
    inflight: C,
    runs,
    seed,
    scale,
    engines,
    workloads,
    machine: {
      cpu: cpuList[0]?.model.trim() ?? 'unknown',
      cores: cpuList.length,
      memGiB: Math.round(totalmem() / 2 ** 30),
      os: `${osType()} ${release()}`,
      node: process.versions.node,
      ...(fsType(tmpdir()) ? { fs: fsType(tmpdir())! } : {}),
      loadAvgStart: loadavg(),
    },
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    build: build === 'dist' ? 'lsm-rust compiled by tsc before the run' : 'lsm-rust from ts/ through tsx',
  },
  descriptions: Object.fromEntries(workloads.map(w => [w, DESCRIPTIONS[w]])),
  engines: [],
}

/** Runs one engine in a child process; resolves with its results (or an error record). */
function runEngine(engine: EngineName, run: number): Promise<EngineResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'lsm-bench-json-'))
  const json = join(scratch, 'result.json')
  const nodeArgs = ['--expose-gc', '--import', 'tsx']
  if (N > 2_000_000) nodeArgs.push('--max-old-space-size=12288')
  const childArgs = [...nodeArgs, join(here, 'engine-runner.ts'), '--engine', engine, '--n', String(N), '--inflight', String(C), '--workloads', workloads.join(','), '--seed', String(seed + run), '--json', json]
  return new Promise(resolvePromise => {
    const t0 = Date.now()
    const child = spawn(process.execPath, childArgs, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, LSM_BENCH_BUILD: build } })
    let timer: NodeJS.Timeout | undefined
    if (timeoutMin > 0) {
      timer = setTimeout(() => {
        process.stderr.write(`[${engine}] timed out after ${timeoutMin} min; stopping it\n`)
        child.kill('SIGKILL')
      }, timeoutMin * 60_000)
    }
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      let r: EngineResult | undefined
      if (existsSync(json)) {
        try {
          r = JSON.parse(readFileSync(json, 'utf8')) as EngineResult
        } catch {
          r = undefined
        }
      }
      rmSync(scratch, { recursive: true, force: true })
      if (r === undefined) {
        const reason = `engine process failed (${signal ? `signal ${signal}` : `exit ${code}`}) after ${((Date.now() - t0) / 1000).toFixed(0)} s`
        r = { engine, available: false, reason, n: N, inflight: C, workloads: Object.fromEntries(workloads.map(w => [w, { unavailable: reason }])) }
      }
      // A workload the child never reached (crash, timeout) is unavailable, not missing.
      for (const w of workloads) if (r.workloads[w] === undefined) r.workloads[w] = { unavailable: `not run (engine process ${signal ? `killed by ${signal}` : `exited ${code}`})` }
      resolvePromise(r)
    })
  })
}

const allRuns: EngineResult[][] = []
for (let run = 0; run < runs; run++) {
  const results: EngineResult[] = []
  for (const engine of engines) {
    process.stderr.write(`\n== ${engine}${runs > 1 ? ` (run ${run + 1}/${runs})` : ''}: N=${N}, inflight=${C}\n`)
    results.push(await runEngine(engine, run))
  }
  allRuns.push(results)
}

/** Per engine and workload, the run with the median ops/s (the lower median for an even count). */
function median(engineIndex: number): EngineResult {
  const first = allRuns[0]![engineIndex]!
  if (runs === 1) return first
  const merged: EngineResult = { ...first, workloads: {} }
  for (const w of workloads) {
    const cells = allRuns.map(r => r[engineIndex]!.workloads[w]).filter(c => cellOps(c) !== undefined)
    if (cells.length === 0) {
      merged.workloads[w] = first.workloads[w] ?? { unavailable: 'not run' }
      continue
    }
    cells.sort((a, b) => cellOps(a)! - cellOps(b)!)
    merged.workloads[w] = cells[Math.floor((cells.length - 1) / 2)]!
  }
  merged.peakRssBytes = Math.max(...allRuns.map(r => r[engineIndex]!.peakRssBytes ?? 0))
  return merged
}

report.engines = engines.map((_, i) => median(i))
if (runs > 1) report.allRuns = allRuns
report.meta.machine.loadAvgEnd = loadavg()
report.meta.wallSeconds = Math.round((Date.now() - started) / 1000)

mkdirSync(outDir, { recursive: true })
writeFileSync(join(outDir, 'results.json'), JSON.stringify(report, null, 2) + '\n')
writeFileSync(join(outDir, 'results.md'), renderMarkdown(report))
writeFileSync(join(outDir, 'chart.svg'), renderSvg(report))

// A short summary on stdout.
const pad = (s: string, n: number) => s.padStart(n)
console.log(`\n${'workload'.padEnd(13)}${engines.map(e => pad(e, 16)).join('')}`)
for (const w of workloads) {
  console.log(
    `${w.padEnd(13)}${report.engines
      .map(e => {
        const c = e.workloads[w]
        return pad(c === undefined || isUnavailable(c) ? 'n/a' : c.opsPerSec.toLocaleString('en-US'), 16)
      })
      .join('')}`,
  )
}
console.log(`\nwrote ${join(outDir, 'results.md')}, results.json, chart.svg in ${report.meta.wallSeconds} s`)
