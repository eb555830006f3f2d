/**
 * Where the time goes: runs one engine's workloads under `node --cpu-prof`
 * (every thread: the main thread and, for lsm-ts, its compaction worker) and
 * summarizes the .cpuprofile files per workload — the top functions by self
 * time and the time per source file — cutting the samples to each workload's
 * timed window (engine-runner --windows records those on the same clock).
 *
 *   npx tsx bench/profile.ts [--engine lsm-ts] [--n 1000000] [--inflight 64]
 *        [--workloads fillrandom,readrandom] [--top 20] [--out FILE.md] [--keep DIR]
 *   npx tsx bench/profile.ts --from DIR [--top 20] [--out FILE.md]   (summarize a kept run again)
 *
 * Writes the summary as markdown to --out (default: stdout only); the raw
 * profiles go to a temp directory, removed unless --keep names a directory to
 * copy them to (open them in Chrome DevTools → Performance, or speedscope).
 */
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EngineResult, WorkloadName, WorkloadResult } from './lib/workloads.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

function arg(name: string, fallback: string): string
function arg(name: string): string | undefined
function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}

const engine = arg('engine', 'lsm-ts')
const n = arg('n', '1000000')
const inflight = arg('inflight', '64')
const workloads = arg('workloads', 'fillrandom,readrandom').split(',') as WorkloadName[]
const top = Number(arg('top', '20'))
const outFile = arg('out')
const keep = arg('keep')

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

function fileOf(cf: CallFrame): string {
  if (cf.url === '') return cf.functionName.startsWith('(') ? cf.functionName : '(native / builtin)'
  let u = cf.url
  if (u.startsWith('file://')) u = fileURLToPath(u)
  if (u.startsWith('/')) u = relative(root, u)
  return u
}

const sourceCache = new Map<string, string[] | undefined>()

/**
 * Where a function is defined, 1-based. tsx compiles each .ts file without
 * keeping its lines (and --cpu-prof applies no source maps), so for the
 * repo's .ts files the line is found by looking for the function's
 * definition in the source ("≈": the first plausible match).
 */
function where(cf: CallFrame): string {
  if (cf.url === '') return ''
  const file = fileOf(cf)
  if (!file.endsWith('.ts') || file.startsWith('..') || file.startsWith('/')) return `${file}:${cf.lineNumber + 1}`
  if (!sourceCache.has(file)) {
    try {
      sourceCache.set(file, readFileSync(join(root, file), 'utf8').split('\n'))
    } catch {
      sourceCache.set(file, undefined)
    }
  }
  const lines = sourceCache.get(file)
  const name = cf.functionName.replace(/^(get|set) /, '')
  if (!lines || name === '' || !/^[\w$]+$/.test(name)) return file
  const def = new RegExp(`(^|[\\s.])(?:function\\*?\\s+|(?:(?:export|async|static|private|protected|public|readonly|override|get|set)\\s+)*)${name.replace(/\$/g, '\\$')}\\s*(?:<[^>]*>)?\\s*(?:\\(|=\\s*(?:async\\s*)?\\(|:\\s*\\()`)
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    if (/^\s*(\/\/|\*|\/\*)/.test(l)) continue
    if (def.test(l) && !/^\s*(return|if|while|for)\b/.test(l) && !/\bnew\s/.test(l.split(name)[0]!)) return `${file}:≈${i + 1}`
  }
  return file
}

interface Summary {
  totalMs: number
  idleMs: number
  gcMs: number
  functions: { name: string; at: string; ms: number }[]
  files: { file: string; ms: number }[]
}

/** Self time per function and per file over the samples in [startUs, endUs]. */
function summarize(p: CpuProfile, startUs: number, endUs: number): Summary {
  const byId = new Map(p.nodes.map(nd => [nd.id, nd]))
  const fn = new Map<string, { name: string; at: string; ms: number }>()
  const files = new Map<string, number>()
  let total = 0
  let idle = 0
  let gc = 0
  let t = p.startTime
  const times: number[] = []
  for (const d of p.timeDeltas) times.push((t += d))
  for (let i = 0; i < p.samples.length; i++) {
    const ts = times[i]!
    if (ts < startUs || ts > endUs) continue
    // The sample stands for the time until the next one.
    const dt = (i + 1 < times.length ? times[i + 1]! : p.endTime) - ts
    if (dt <= 0) continue
    const ms = dt / 1000
    const node = byId.get(p.samples[i]!)
    if (!node) continue
    const cf = node.callFrame
    total += ms
    if (cf.functionName === '(idle)') {
      idle += ms
      continue
    }
    if (cf.functionName === '(garbage collector)') gc += ms
    const name = cf.functionName || '(anonymous)'
    const at = where(cf)
    const key = `${name}@${at}`
    const e = fn.get(key) ?? { name, at, ms: 0 }
    e.ms += ms
    fn.set(key, e)
    const f = fileOf(cf)
    files.set(f, (files.get(f) ?? 0) + ms)
  }
  return {
    totalMs: total,
    idleMs: idle,
    gcMs: gc,
    functions: [...fn.values()].sort((a, b) => b.ms - a.ms),
    files: [...files.entries()].map(([file, ms]) => ({ file, ms })).sort((a, b) => b.ms - a.ms),
  }
}

function render(result: EngineResult, profiles: { label: string; profile: CpuProfile }[]): string {
  const out: string[] = []
  out.push(`# CPU profile: ${result.engine}, N = ${result.n.toLocaleString('en-US')}, ${result.inflight} in flight`)
  out.push('')
  out.push(`\`node --cpu-prof\` (1 ms sampling) of every thread, cut to each workload's timed window. Self time = samples whose top frame is the function.`)
  out.push('')
  for (const w of workloads) {
    const c = result.workloads[w]
    if (c === undefined || 'unavailable' in c) {
      out.push(`## ${w}: not run`)
      continue
    }
    const r = c as WorkloadResult
    if (!r.window) continue
    out.push(`## ${w}: ${r.opsPerSec.toLocaleString('en-US')} ops/s over ${r.seconds.toFixed(1)} s (under the profiler)`)
    out.push('')
    for (const { label, profile } of profiles) {
      const s = summarize(profile, r.window.startUs, r.window.endUs)
      if (s.totalMs === 0) continue
      const busy = s.totalMs - s.idleMs
      if (busy < s.totalMs * 0.02) {
        out.push(`### ${label}: idle (busy ${(busy / 1000).toFixed(2)} s of ${(s.totalMs / 1000).toFixed(1)} s)`)
        out.push('')
        continue
      }
      const pct = (ms: number) => `${((ms / s.totalMs) * 100).toFixed(1)}%`
      out.push(`### ${label}: busy ${(busy / 1000).toFixed(1)} s of ${(s.totalMs / 1000).toFixed(1)} s (${pct(busy)}), GC ${pct(s.gcMs)}`)
      out.push('')
      out.push(`| self ms | % of window | function | where |`)
      out.push(`|---:|---:|---|---|`)
      for (const f of s.functions.slice(0, top)) out.push(`| ${f.ms.toFixed(0)} | ${pct(f.ms)} | \`${f.name}\` | ${f.at || '–'} |`)
      out.push('')
      out.push(`By file: ${s.files.slice(0, 10).map(f => `${f.file} ${pct(f.ms)}`).join(' · ')}`)
      out.push('')
    }
  }
  return out.join('\n')
}

/** Reads the result JSON and the profiles of one thread each from `profDir`. */
function load(profDir: string, json: string): { result: EngineResult; profiles: { label: string; profile: CpuProfile }[] } {
  const result = JSON.parse(readFileSync(json, 'utf8')) as EngineResult
  const profiles = readdirSync(profDir)
    .filter(f => f.endsWith('.cpuprofile'))
    .sort()
    .map(f => {
      const profile = JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile
      const isMain = profile.nodes.some(nd => nd.callFrame.url.endsWith('engine-runner.ts'))
      // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile
      const tid = f.split('.')[4] ?? '?'
      return { label: isMain ? 'main thread' : `worker thread ${tid}`, profile }
    })
    .sort((a, b) => (a.label === 'main thread' ? -1 : b.label === 'main thread' ? 1 : a.label.localeCompare(b.label)))
  return { result, profiles }
}

function emit(md: string): void {
  if (outFile) {
    mkdirSync(dirname(outFile), { recursive: true })
    writeFileSync(outFile, md + '\n')
  }
  process.stdout.write(md + '\n')
}

const from = arg('from')
if (from !== undefined) {
  // --from DIR: summarize a kept run (DIR holds result.json and the .cpuprofile files) again.
  const { result, profiles } = load(from, join(from, 'result.json'))
  emit(render(result, profiles))
  process.exit(0)
}

const scratch = mkdtempSync(join(tmpdir(), 'lsm-bench-prof-'))
try {
  const profDir = join(scratch, 'prof')
  const json = join(scratch, 'result.json')
  const args = ['--cpu-prof', '--cpu-prof-dir', profDir, '--expose-gc', '--import', 'tsx', join(here, 'engine-runner.ts'), '--engine', engine, '--n', n, '--inflight', inflight, '--workloads', workloads.join(','), '--json', json, '--windows']
  process.stderr.write(`profiling: node ${args.join(' ')}\n`)
  const [code, signal] = await new Promise<[number | null, string | null]>(res =>
    spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] }).on('close', (c, s) => res([c, s])),
  )
  if (code !== 0) throw new Error(`engine-runner ${signal ? `killed by ${signal}` : `exited ${code}`}`)
  const { result, profiles } = load(profDir, json)
  emit(render(result, profiles))
  if (keep) {
    mkdirSync(keep, { recursive: true })
    cpSync(profDir, keep, { recursive: true })
    cpSync(json, join(keep, 'result.json'))
    process.stderr.write(`profiles and result.json copied to ${keep} (summarize again with --from ${keep})\n`)
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
