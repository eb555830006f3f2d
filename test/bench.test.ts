/**
 * The comparative benchmark (bench/run.ts) at a tiny N: every engine, every
 * workload, into a temp directory; checks the report files are there and
 * well-formed. No timing assertions.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ALL_ENGINES } from '../bench/lib/engines.js'
import { ALL_WORKLOADS } from '../bench/lib/workloads.js'
import { renderMarkdown, type Report } from '../bench/lib/report.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'run.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', d => (out += d))
    child.stderr.on('data', d => (out += d))
    child.on('close', code => resolve({ code, out }))
  })
}

/** A small XML well-formedness check: one <svg> root, every element closed in order. */
function checkXml(text: string): string | undefined {
  const body = text.replace(/^<\?xml[^>]*\?>\s*/, '').trim()
  if (!body.startsWith('<svg')) return 'does not start with <svg'
  const stack: string[] = []
  let roots = 0
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g
  let last = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(body)) !== null) {
    const between = body.slice(last, m.index)
    if (between.includes('<') || between.includes('>')) return `stray markup near offset ${last}: ${between.slice(0, 40)}`
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(between)) return `bad entity near offset ${last}`
    last = re.lastIndex
    const [, close, name, , selfClose] = m
    if (close) {
      if (stack.pop() !== name) return `mismatched </${name}>`
    } else if (!selfClose) {
      if (stack.length === 0) roots++
      stack.push(name!)
    } else if (stack.length === 0) roots++
  }
  if (body.slice(last).trim() !== '') return 'trailing content'
  if (stack.length !== 0) return `unclosed <${stack.join('>, <')}>`
  if (roots !== 1) return `${roots} root elements`
  return undefined
}

test('bench at tiny N writes a well-formed report for every engine × workload', async t => {
  t.timeout(180_000)
  const out = mkdtempSync(join(tmpdir(), 'lsm-bench-test-'))
  try {
    const r = await run(['--n', '2000', '--inflight', '8', '--runs', '1', '--engines', ALL_ENGINES.join(','), '--workloads', ALL_WORKLOADS.join(','), '--out', out])
    t.is(r.code, 0, r.out.slice(-3000))
    for (const f of ['results.md', 'results.json', 'chart.svg']) t.true(existsSync(join(out, f)), `${f} exists`)

    const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Report
    t.is(report.meta.n, 2000)
    t.deepEqual(report.meta.workloads, [...ALL_WORKLOADS])
    t.deepEqual(
      report.engines.map(e => e.engine),
      [...ALL_ENGINES],
    )
    for (const e of report.engines) {
      for (const w of ALL_WORKLOADS) {
        const c = e.workloads[w]
        t.truthy(c, `${e.engine} × ${w} present`)
        if (c === undefined) continue
        if ('unavailable' in c) {
          t.true(typeof c.unavailable === 'string' && c.unavailable.length > 0, `${e.engine} × ${w}: unavailable says why`)
        } else {
          t.true(Number.isFinite(c.opsPerSec) && c.opsPerSec > 0, `${e.engine} × ${w}: positive ops/s (${c.opsPerSec})`)
          t.true(c.ops > 0)
        }
      }
      if (!e.available) continue
      // Correctness of what was measured (not speed): reads found what they should.
      const get = (w: (typeof ALL_WORKLOADS)[number]) => {
        const c = e.workloads[w]
        return c !== undefined && !('unavailable' in c) ? c : undefined
      }
      t.is(get('readrandom')?.found, 2000, `${e.engine} readrandom found every key`)
      t.is(get('readhot')?.found, 2000, `${e.engine} readhot found every key`)
      t.is(get('readmissing')?.found, 0, `${e.engine} readmissing found none`)
      t.is(get('readseq')?.found, 2000, `${e.engine} readseq saw every key`)
      t.is(get('readreverse')?.found, 2000, `${e.engine} readreverse saw every key`)
      const seek = get('seekrandom')
      if (seek) t.true(seek.found! >= seek.ops && seek.found! <= seek.ops * 10, `${e.engine} seekrandom read 1..10 entries per seek (${seek.found} for ${seek.ops})`)
      const fr = get('fillrandom')
      t.true((fr?.disk?.allocated ?? 0) > 0, `${e.engine} fillrandom disk use recorded`)
      t.true((fr?.writeAmp ?? 0) > 0, `${e.engine} fillrandom write amplification recorded`)
      t.true(Number.isFinite(fr?.eventLoop.p99Ms), `${e.engine} fillrandom event-loop p99 recorded`)
      t.true((e.peakRssBytes ?? 0) > 0, `${e.engine} peak RSS recorded`)
    }
    // The engines that always load here must have run.
    for (const name of ['lsm-ts', 'classic-level']) t.true(report.engines.find(e => e.engine === name)?.available, `${name} ran`)

    const md = readFileSync(join(out, 'results.md'), 'utf8')
    t.regex(md, /^# Benchmark results/m)
    t.true(md.includes(`| workload | ${ALL_ENGINES.join(' | ')} |`), 'throughput table header')
    for (const w of ALL_WORKLOADS) t.regex(md, new RegExp(`^\\| ${w} \\|`, 'm'))
    t.regex(md, /## Ratio to classic-level/)

    const svg = readFileSync(join(out, 'chart.svg'), 'utf8')
    t.is(checkXml(svg), undefined)
    t.regex(svg, /<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    t.true((svg.match(/<rect /g) ?? []).length > ALL_WORKLOADS.length, 'has bars')
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})

test('a multi-run report shows every run\'s ratio to classic-level beside the medians', t => {
  // The committed three-run bench: its per-run table is recomputed here from the raw runs.
  const report = JSON.parse(readFileSync(join(root, 'bench', 'results', 'results.json'), 'utf8')) as Report
  const runs = report.allRuns!
  t.true(runs.length > 1)
  const md = renderMarkdown(report)
  const at = md.indexOf('Per run (')
  t.true(at > md.indexOf('## Ratio to classic-level'), 'the per-run table follows the ratio table')
  const section = md.slice(at, md.indexOf('\n## ', at))
  const header = section.split('\n').find(l => l.startsWith('| workload'))!
  const cols = header.split('|').map(s => s.trim()).filter(Boolean)
  t.false(cols.includes('classic-level'))
  const row = section.split('\n').find(l => l.startsWith('| fillrandom |'))!
  const cells = row.split('|').map(s => s.trim()).filter(Boolean)
  const ops = (run: (typeof runs)[number], engine: string) => (run.find(e => e.engine === engine)!.workloads.fillrandom as { opsPerSec: number }).opsPerSec
  const want = runs.map(run => `${(ops(run, 'lsm-native') / ops(run, 'classic-level')).toFixed(2)}×`).join(' / ')
  t.is(cells[cols.indexOf('lsm-native')], want)
  // One run: no per-run table.
  t.false(renderMarkdown({ ...report, allRuns: undefined }).includes('Per run ('))
})
