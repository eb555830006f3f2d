/**
 * The report: results.md (tables), results.json (everything), chart.svg
 * (grouped bars, log scale, hand-written SVG).
 */
import { DESCRIPTIONS, FILL_WORKLOADS, isUnavailable, type Cell, type EngineResult, type WorkloadName, type WorkloadResult } from './workloads.js'

export interface Meta {
  date: string
  n: number
  inflight: number
  runs: number
  seed: number
  scale: boolean
  engines: string[]
  workloads: WorkloadName[]
  machine: {
    cpu: string
    cores: number
    memGiB: number
    os: string
    node: string
    fs?: string
    loadAvgStart: number[]
    loadAvgEnd?: number[]
  }
  wallSeconds?: number
  command: string
  /** Which build of lsm-rust the run loaded (older reports lack it). */
  build?: string
}

export interface Report {
  meta: Meta
  descriptions: Partial<Record<WorkloadName, string>>
  engines: EngineResult[]
  /** Every run of every engine, when --runs > 1 (the tables show the median run). */
  allRuns?: EngineResult[][]
}

const BASELINE = 'classic-level'

export const cellOps = (c: Cell | undefined): number | undefined => (c !== undefined && !isUnavailable(c) ? c.opsPerSec : undefined)

const fmtInt = (x: number) => Math.round(x).toLocaleString('en-US')
const mib = (b: number | undefined) => (b === undefined ? '–' : (b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 2 : 0))

function workloadCell(e: EngineResult, w: WorkloadName): WorkloadResult | undefined {
  const c = e.workloads[w]
  return c !== undefined && !isUnavailable(c) ? c : undefined
}

/** `engine`'s ops/s on `w` ÷ `base`'s, as a table cell ('n/a' when either has none). */
function ratioCell(engine: EngineResult | undefined, base: EngineResult | undefined, w: WorkloadName): string {
  const a = cellOps(engine?.workloads[w])
  const b = cellOps(base?.workloads[w])
  return a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a'
}

function table(header: string[], rows: string[][]): string {
  const out = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`]
  for (const r of rows) out.push(`| ${r.join(' | ')} |`)
  return out.join('\n')
}

export function renderMarkdown(r: Report): string {
  const { meta, engines } = r
  const names = engines.map(e => e.engine)
  const base = engines.find(e => e.engine === BASELINE)
  const notes: string[] = []
  const noteFor = (text: string) => {
    let i = notes.indexOf(text)
    if (i < 0) i = notes.push(text) - 1
    return `n/a[^${i + 1}]`
  }
  const lines: string[] = []
  lines.push(`# Benchmark results`)
  lines.push('')
  lines.push(
    `${meta.date}. N = ${fmtInt(meta.n)} keys, ${meta.inflight} ops in flight, 16-byte keys, 100-byte values (50 random + 50 repeated bytes), ` +
      `${meta.runs} run${meta.runs > 1 ? 's (median shown)' : ''}${meta.scale ? ', --scale' : ''}. Machine: ${meta.machine.cpu}, ${meta.machine.cores} cores, ` +
      `${meta.machine.memGiB} GiB RAM, ${meta.machine.os}${meta.machine.fs ? `, ${meta.machine.fs}` : ''}, Node ${meta.machine.node}. ` +
      `Load average at start ${meta.machine.loadAvgStart.map(x => x.toFixed(2)).join(' ')}${meta.machine.loadAvgEnd ? `, at end ${meta.machine.loadAvgEnd.map(x => x.toFixed(2)).join(' ')}` : ''}` +
      `${meta.wallSeconds !== undefined ? `; the whole run took ${(meta.wallSeconds / 60).toFixed(1)} min` : ''}.`,
  )
  lines.push('')
  lines.push(`Command: \`${meta.command}\`${meta.build ? ` (${meta.build})` : ''}`)
  lines.push('')
  lines.push(`## Throughput (ops/s, higher is better)`)
  lines.push('')
  lines.push(
    table(
      ['workload', ...names],
      meta.workloads.map(w => [
        w,
        ...engines.map(e => {
          const c = e.workloads[w]
          if (c === undefined) return '–'
          if (isUnavailable(c)) return noteFor(c.unavailable)
          return fmtInt(c.opsPerSec)
        }),
      ]),
    ),
  )
  lines.push('')
  if (base !== undefined && base.available) {
    lines.push(`## Ratio to ${BASELINE} (engine ops/s ÷ ${BASELINE} ops/s; above 1 is faster)`)
    lines.push('')
    lines.push(
      table(
        ['workload', ...names],
        meta.workloads.map(w => [
          w,
          ...engines.map(e => ratioCell(e, base, w)),
        ]),
      ),
    )
    lines.push('')
    const runs = r.allRuns ?? []
    const others = names.filter(n => n !== BASELINE)
    if (runs.length > 1) {
      // The medians above can pair runs that did not run together; the spread
      // between runs minutes apart is part of the result.
      lines.push(`Per run (each engine's run *i* ÷ ${BASELINE}'s run *i*, in run order):`)
      lines.push('')
      lines.push(
        table(
          ['workload', ...others],
          meta.workloads.map(w => [
            w,
            ...others.map(n => {
              const ratios = runs.map(run => ratioCell(run.find(e => e.engine === n), run.find(e => e.engine === BASELINE), w))
              return ratios.every(x => x === 'n/a') ? 'n/a' : ratios.join(' / ')
            }),
          ]),
        ),
      )
      lines.push('')
    }
  } else {
    lines.push(`(${BASELINE} did not run, so there are no ratios.)`)
    lines.push('')
  }

  const avail = engines.filter(e => e.available)
  const fills = meta.workloads.filter(w => FILL_WORKLOADS.has(w))
  if (avail.length > 0) {
    lines.push(`## Resources`)
    lines.push('')
    lines.push(
      `Peak RSS is the child process's maximum resident set over its whole run (maxRSS), which includes the ` +
        `pre-generated keys and values (the "data" column: RSS after generating them, before any DB was opened). ` +
        `Disk use is the DB directory's allocated size (st_blocks) after the workload's DB was closed.`,
    )
    lines.push('')
    lines.push(
      table(
        ['engine', 'peak RSS MiB', 'data MiB', ...fills.map(w => `disk after ${w} MiB`)],
        avail.map(e => [e.engine, mib(e.peakRssBytes), mib(e.baselineRssBytes), ...fills.map(w => mib(workloadCell(e, w)?.disk?.allocated))]),
      ),
    )
    lines.push('')
    lines.push(
      `**Write amplification** of each fill, as "storage / syscalls": *storage* is the bytes the process caused to be sent to ` +
        `storage (\`write_bytes\` of /proc/self/io, all threads, from the first write until the DB was closed) ÷ user bytes ` +
        `(ops × 116); *syscalls* is the bytes handed to write(2)-type calls (\`wchar\`) ÷ user bytes. They differ when a page ` +
        `is rewritten while still dirty in the page cache (counted once in storage: LMDB rewriting its B-tree pages in place), ` +
        `and \`write_bytes\` also counts files deleted before writeback (a WAL dropped after its memtable was flushed); ` +
        `\`cancelled_write_bytes\` for that is in results.json. Both include WAL/log, tables, compaction output and manifest.`,
    )
    lines.push('')
    lines.push(
      table(
        ['engine', ...fills],
        avail.map(e => [
          e.engine,
          ...fills.map(w => {
            const c = workloadCell(e, w)
            if (c?.writeAmp === undefined) return 'n/a'
            if (c.writeAmpSource === 'dir-size') return `${c.writeAmp.toFixed(2)} (dir size)`
            return `${c.writeAmp.toFixed(2)} / ${c.syscallWriteAmp?.toFixed(2) ?? '–'}`
          }),
        ]),
      ),
    )
    lines.push('')
    lines.push(`**Event-loop delay p99 (ms)** during each fill (perf_hooks.monitorEventLoopDelay sampling every 5 ms; each sample is the time between ticks minus those 5 ms, i.e. how late a timer would have run); max in parentheses.`)
    lines.push('')
    lines.push(
      table(
        ['engine', ...fills],
        avail.map(e => [
          e.engine,
          ...fills.map(w => {
            const c = workloadCell(e, w)
            return c ? `${c.eventLoop.p99Ms.toFixed(1)} (${c.eventLoop.maxMs.toFixed(0)})` : 'n/a'
          }),
        ]),
      ),
    )
    lines.push('')
    lines.push(`**CPU seconds per 1,000 ops** (user + system, all threads of the process, during the timed part) — a hint of where background work goes.`)
    lines.push('')
    lines.push(
      table(
        ['workload', ...avail.map(e => e.engine)],
        meta.workloads.map(w => [
          w,
          ...avail.map(e => {
            const c = workloadCell(e, w)
            return c && c.ops > 0 ? ((c.cpuSeconds / c.ops) * 1000).toFixed(3) : 'n/a'
          }),
        ]),
      ),
    )
    lines.push('')
    if (avail.every(e => e.perWorkloadRss)) {
      lines.push(`**Peak RSS per workload (MiB)** (VmHWM, reset to the current RSS before each workload, so memory a previous workload left allocated counts too; includes the pre-generated data of the "data" column above).`)
      lines.push('')
      lines.push(
        table(
          ['workload', ...avail.map(e => e.engine)],
          meta.workloads.map(w => [w, ...avail.map(e => mib(workloadCell(e, w)?.peakRssBytes))]),
        ),
      )
      lines.push('')
    }
    const checks = avail.flatMap(e =>
      (['readrandom', 'readhot', 'readmissing'] as const)
        .filter(w => meta.workloads.includes(w))
        .map(w => {
          const c = workloadCell(e, w)
          if (!c) return undefined
          const expect = w === 'readmissing' ? 0 : c.ops
          return c.found === expect ? undefined : `${e.engine} ${w}: found ${c.found} of ${c.ops} (expected ${expect})`
        })
        .filter((x): x is string => x !== undefined),
    )
    lines.push(checks.length === 0 ? `Sanity: every engine found every key in readrandom/readhot and none in readmissing.` : `**Sanity check failures:** ${checks.join('; ')}`)
    lines.push('')
  }

  lines.push(`## Workloads`)
  lines.push('')
  for (const w of meta.workloads) lines.push(`- **${w}**: ${DESCRIPTIONS[w]}`)
  lines.push('')
  lines.push(`## Engines`)
  lines.push('')
  for (const e of engines) lines.push(`- **${e.engine}** (${e.version ?? 'not loaded'}): ${e.available ? e.notes : `unavailable — ${e.reason}`}`)
  lines.push('')
  if (notes.length > 0) {
    for (const [i, n] of notes.entries()) lines.push(`[^${i + 1}]: ${n}`)
    lines.push('')
  }
  return lines.join('\n')
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f']

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Grouped bars: one group per workload, one bar per engine, log10 y axis. */
export function renderSvg(r: Report): string {
  const { meta, engines } = r
  const ws = meta.workloads
  const barW = 12
  const groupGap = 18
  const groupW = engines.length * barW + groupGap
  const left = 70
  const top = 50
  const plotH = 320
  const width = Math.max(640, left + ws.length * groupW + 20)
  const legendY = top + plotH + 60
  const height = legendY + 30
  const all = engines.flatMap(e => ws.map(w => cellOps(e.workloads[w]))).filter((x): x is number => x !== undefined && x > 0)
  const lo = Math.floor(Math.log10(Math.min(...all, 1000)))
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...all, 10))))
  const y = (v: number) => top + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`)
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`)
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">ops/s by workload (log scale, higher is better)</text>`)
  out.push(`<text x="${left}" y="36" fill="#555">${esc(`N = ${meta.n.toLocaleString('en-US')}, ${meta.inflight} in flight, ${meta.machine.cores}-core ${meta.machine.cpu}, ${meta.date.slice(0, 10)}`)}</text>`)
  for (let p = lo; p <= hi; p++) {
    const yy = y(10 ** p).toFixed(1)
    out.push(`<line x1="${left}" y1="${yy}" x2="${width - 10}" y2="${yy}" stroke="#ddd"/>`)
    const label = p >= 6 ? `${10 ** (p - 6)}M` : p >= 3 ? `${10 ** (p - 3)}k` : `${10 ** p}`
    out.push(`<text x="${left - 6}" y="${(Number(yy) + 4).toFixed(1)}" text-anchor="end">${label}</text>`)
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`)
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" stroke="#333"/>`)
  ws.forEach((w, gi) => {
    const gx = left + groupGap / 2 + gi * groupW
    engines.forEach((e, ei) => {
      const v = cellOps(e.workloads[w])
      const x = gx + ei * barW
      if (v === undefined || v <= 0) {
        out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${top + plotH - 4}" text-anchor="middle" font-size="8" fill="#999" transform="rotate(-90 ${(x + barW / 2).toFixed(1)} ${top + plotH - 4})">n/a</text>`)
        return
      }
      const yy = y(v)
      out.push(
        `<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${barW - 2}" height="${(top + plotH - yy).toFixed(1)}" fill="${COLORS[ei % COLORS.length]}"><title>${esc(`${e.engine} ${w}: ${Math.round(v).toLocaleString('en-US')} ops/s`)}</title></rect>`,
      )
    })
    out.push(`<text x="${(gx + (engines.length * barW) / 2).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${esc(w)}</text>`)
  })
  let lx = left
  engines.forEach((e, ei) => {
    out.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[ei % COLORS.length]}"/>`)
    const label = e.available ? e.engine : `${e.engine} (unavailable)`
    out.push(`<text x="${lx + 16}" y="${legendY}">${esc(label)}</text>`)
    lx += 30 + label.length * 6.5
  })
  out.push(`</svg>`)
  return out.join('\n') + '\n'
}
