/**
 * The `lsm-rust` CLI, run as a process (`node --import tsx ts/cli.ts ...`) on
 * real databases: every command, its JSON output, the SVG picture, and the
 * exit codes of the error cases.
 */
import test from 'ava'
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DB } from '../ts/db.js'
import { VersionSet } from '../ts/version-set.js'
import { tsCore } from '../ts/core/ts-core.js'
import { userKeyOf } from '../ts/core/ts/internal-key.js'
import { engines } from './helpers/engines.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const scratch = mkdtempSync(join(tmpdir(), 'lsm-cli-'))
test.after.always(() => rmSync(scratch, { recursive: true, force: true }))

interface Result {
  code: number
  stdout: string
  stderr: string
}

function cli(...args: string[]): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'ts/cli.ts'), ...args],
      { cwd: root, env: { ...process.env, LSM_RUST_QUIET: '1' }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      })
  })
}

const key = (i: number) => `key${String(i).padStart(5, '0')}`
const N = 3000
const DELETED = 100 // keys 0..99 are deleted

/** A database spread over several levels, with a binary key and writes still in the WAL. */
async function makeFixture(engine: 'ts' | 'native'): Promise<string> {
  const dir = join(scratch, `fixture-${engine}`)
  // Uncompressed tables: the shape checks below weigh file bytes against the data's size.
  const db = await DB.open(dir, { engine, memtableSize: 32 * 1024, targetFileSize: 16 * 1024, maxBytesForLevelBase: 64 * 1024, l0CompactionTrigger: 2, compression: 'none' })
  for (let i = 0; i < N; i++) await db.put(key((i * 7919) % N), `value-${i}-${'x'.repeat(40)}`)
  for (let i = 0; i < DELETED; i++) await db.del(key(i))
  await db.put(Buffer.from([0, 1, 0xff]), Buffer.from([7, 0]))
  await db.close()
  return dir
}

const fixtures = new Map<string, Promise<string>>()
function fixture(engine: 'ts' | 'native'): Promise<string> {
  let f = fixtures.get(engine)
  if (f === undefined) {
    f = makeFixture(engine)
    fixtures.set(engine, f)
  }
  return f
}

let copies = 0
/** A private copy of the fixture. */
async function copyOf(engine: 'ts' | 'native'): Promise<string> {
  const dst = join(scratch, `copy-${++copies}`)
  // Read commands hold the LOCK while they run: every test works on its own copy.
  cpSync(await fixture(engine), dst, { recursive: true, filter: src => !/\/LOCK[^/]*$/.test(src) })
  return dst
}

/** The live version straight from the MANIFEST. */
function manifestLevels(dir: string) {
  const vs = new VersionSet(dir, tsCore)
  vs.recover()
  const levels = vs.current.levels.map(l => l.map(f => ({ ...f })))
  vs.close()
  return levels
}

function tables(dir: string): string[] {
  return readdirSync(dir).filter(n => n.endsWith('.sst')).sort()
}

/** Flips one byte in the middle of a file's data blocks. */
function corrupt(path: string, at = 100): void {
  const b = readFileSync(path)
  b[at] = b[at]! ^ 0xff
  writeFileSync(path, b)
}

// ------------------------------------------------------------- SVG checks

/** Minimal well-formedness check: balanced tags, known entities, quoted attributes. Returns the elements. */
function parseSvg(svg: string): { name: string; attrs: Record<string, string>; depth: number }[] {
  const elements: { name: string; attrs: Record<string, string>; depth: number }[] = []
  const stack: string[] = []
  const re = /<[^>]*>|[^<]+/g
  let m: RegExpExecArray | null
  while ((m = re.exec(svg)) !== null) {
    const tok = m[0]
    if (!tok.startsWith('<')) {
      if (/&(?!(?:lt|gt|amp|quot|apos);)/.test(tok)) throw new Error(`bad entity in ${tok}`)
      continue
    }
    const close = /^<\/([\w:-]+)\s*>$/.exec(tok)
    if (close) {
      if (stack.pop() !== close[1]) throw new Error(`unbalanced </${close[1]}>`)
      continue
    }
    const open = /^<([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(tok)
    if (!open) throw new Error(`malformed tag ${tok}`)
    const attrs: Record<string, string> = {}
    for (const a of open[2]!.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!
    elements.push({ name: open[1]!, attrs, depth: stack.length })
    if (open[3] !== '/') stack.push(open[1]!)
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`)
  return elements
}

for (const engine of engines()) {
  test(`[${engine}] stats: levels, files, sizes, key ranges, amplification; --svg draws one row per level`, async t => {
    const dir = await copyOf(engine)
    const svgPath = join(scratch, `shape-${engine}.svg`)
    const r = await cli('stats', dir, '--json', '--engine', engine, '--svg', svgPath)
    t.is(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    const levels = manifestLevels(dir)
    t.true(levels.filter(l => l.length > 0).length >= 2, 'the fixture spans several levels')
    for (const [i, l] of levels.entries()) {
      t.is(s.levels[i].files, l.length)
      t.is(s.levels[i].bytes, l.reduce((n, f) => n + f.fileSize, 0))
      if (l.length > 0) {
        const lo = l.map(f => Buffer.from(userKeyOf(f.smallest))).sort(Buffer.compare)[0]!.toString()
        t.is(s.levels[i].smallest, lo)
      }
    }
    t.is(s.live.keys, N - DELETED + 1)
    t.true(s.spaceAmplification > 0.5 && s.spaceAmplification < 10)
    t.true(s.writeAmplificationEstimate >= 2)
    t.true(s.walEntries > 0, 'some writes are still only in the WAL')

    // The picture: well-formed, one row per non-empty level, widths proportional to bytes.
    const els = parseSvg(readFileSync(svgPath, 'utf8'))
    t.is(els[0]!.name, 'svg')
    const rows = els.filter(e => e.name === 'g' && e.attrs.class === 'level')
    t.deepEqual(rows.map(e => Number(e.attrs['data-level'])), levels.flatMap((l, i) => (l.length > 0 ? [i] : [])))
    const rects = els.filter(e => e.name === 'rect' && e.attrs.class === 'table')
    t.is(rects.length, levels.flat().length)
    const widest = rects.reduce((a, b) => (Number(b.attrs.width) > Number(a.attrs.width) ? b : a))
    const scale = Number(widest.attrs.width) / Number(widest.attrs['data-bytes'])
    for (const r of rects) t.true(Math.abs(Number(r.attrs.width) - Number(r.attrs['data-bytes']) * scale) < 0.02, `width of table ${r.attrs['data-file']}`)
    // Rows of one level are laid out left to right without gaps.
    for (const row of rows) {
      const rs = rects.filter(r => r.attrs['data-level'] === row.attrs['data-level'])
      for (let i = 1; i < rs.length; i++) {
        t.true(Math.abs(Number(rs[i]!.attrs.x) - (Number(rs[i - 1]!.attrs.x) + Number(rs[i - 1]!.attrs.width))) < 0.05)
      }
    }

    const human = await cli('stats', dir, '--engine', engine)
    t.is(human.code, 0)
    t.regex(human.stdout, /^L\d\s+\d+\s+\d/m)
    t.regex(human.stdout, /space amplification\s+\d+\.\d\d/)
    t.regex(human.stdout, /write amplification\s+≥ \d+\.\d\d/)
  })

  test(`[${engine}] get and scan`, async t => {
    const dir = await copyOf(engine)
    const found = await cli('get', dir, key(500), '--engine', engine)
    t.is(found.code, 0, found.stderr)
    t.regex(found.stdout, /^value-\d+-x+\n$/)
    const gone = await cli('get', dir, key(5), '--engine', engine)
    t.is(gone.code, 1, 'a deleted key is not found')
    t.regex(gone.stderr, /not found/)
    const bin = JSON.parse((await cli('get', dir, '0001ff', '--hex', '--json')).stdout)
    t.deepEqual(bin, { key: '0x0001ff', found: true, value: '0x0700' })

    const scan = await cli('scan', dir, '--gte', key(98), '--lt', key(103), '--engine', engine)
    t.is(scan.code, 0)
    t.deepEqual(scan.stdout.trim().split('\n').map(l => l.split('\t')[0]), [key(100), key(101), key(102)])
    const rev = JSON.parse((await cli('scan', dir, '--lte', key(2999), '--limit', '2', '--reverse', '--keys-only', '--json')).stdout)
    t.deepEqual(rev, [{ key: key(2999) }, { key: key(2998) }])
    const all = JSON.parse((await cli('scan', dir, '--json')).stdout)
    t.is(all.length, N - DELETED + 1)
    t.is(all[0].key, '0x0001ff')
  })
}

test('dump-sst: properties, blocks and entries of a table', async t => {
  const dir = await copyOf('ts')
  const file = join(dir, tables(dir)[0]!)
  const r = await cli('dump-sst', file, '--json')
  t.is(r.code, 0, r.stderr)
  const d = JSON.parse(r.stdout)
  t.is(d.properties.entryCount, d.entries.length)
  t.is(d.blocks.length, d.properties.dataBlockCount)
  t.is(d.blocks.reduce((n: number, b: { entries: number }) => n + b.entries, 0), d.properties.entryCount)
  t.deepEqual(d.problems, [])
  t.is(d.footer.index.offset + d.footer.index.size + 5 + 64, d.fileSize)
  const human = await cli('dump-sst', file, '--limit', '2')
  t.regex(human.stdout, /^properties\s+\d+ entries/m)
  t.regex(human.stdout, /entries \(first 2 of \d+\)/)

  const bad = join(scratch, 'bad.sst')
  cpSync(file, bad)
  corrupt(bad)
  const damaged = await cli('dump-sst', bad)
  t.is(damaged.code, 5)
  t.regex(damaged.stdout, /DAMAGED: block at offset 0 fails its checksum/)
  t.is((await cli('dump-sst', join(scratch, 'nope.sst'))).code, 3)
})

test('dump-sst shows how each block is stored: a compressed table', async t => {
  const file = join(root, 'test', 'vectors', '000005.sst')
  const r = await cli('dump-sst', file, '--json')
  t.is(r.code, 0, r.stderr)
  const d = JSON.parse(r.stdout)
  t.deepEqual(d.problems, [])
  t.is(d.entries.length, 86)
  const blocks = d.blocks as { size: number; compression: string; rawSize: number }[]
  t.true(blocks.some(b => b.compression === 'snappy' && b.size < b.rawSize))
  t.true(blocks.every(b => (b.compression === 'none') === (b.size === b.rawSize)))
  t.is(d.properties.dataBytes, blocks.reduce((n, b) => n + b.size + 5, 0))
  const human = await cli('dump-sst', file)
  t.regex(human.stdout, /size\s+\d+\s+\(snappy, \d+ raw\) entries/)
})

test('dump-manifest: every edit of the live MANIFEST', async t => {
  const dir = await copyOf('ts')
  const r = await cli('dump-manifest', dir, '--json')
  t.is(r.code, 0, r.stderr)
  const m = JSON.parse(r.stdout)
  t.is(m.current, m.manifest)
  t.true(m.edits.length >= 2)
  // Replaying the edits gives the live tables.
  const live = new Set<number>()
  for (const e of m.edits) {
    for (const d of e.deletedFiles ?? []) live.delete(d.fileNumber)
    for (const a of e.addedFiles ?? []) live.add(a.fileNumber)
  }
  t.deepEqual([...live].sort((a, b) => a - b), manifestLevels(dir).flat().map(f => f.fileNumber).sort((a, b) => a - b))
  const human = await cli('dump-manifest', dir)
  t.regex(human.stdout, /^CURRENT -> MANIFEST-\d{6}/)
  t.regex(human.stdout, /add {4}L0 \d{6}\.sst/)
})

test('verify: every file ok, then a damaged table is found', async t => {
  const dir = await copyOf('ts')
  const ok = await cli('verify', dir, '--json')
  t.is(ok.code, 0, ok.stdout)
  const r = JSON.parse(ok.stdout)
  t.true(r.ok)
  t.is(r.files.filter((f: { kind: string }) => f.kind === 'table').length, manifestLevels(dir).flat().length)
  t.true(r.files.some((f: { kind: string }) => f.kind === 'wal'))

  const victim = tables(dir)[0]!
  corrupt(join(dir, victim))
  const bad = await cli('verify', dir)
  t.is(bad.code, 5)
  t.regex(bad.stdout, new RegExp(`^${victim.replace('.', '\\.')}\\s+damaged`, 'm'))
  t.regex(bad.stdout, /^DAMAGED: 1 of \d+ files/m)
})

test('compact: everything merged, data unchanged', async t => {
  const dir = await copyOf('ts')
  const r = await cli('compact', dir, '--json')
  t.is(r.code, 0, r.stderr)
  const c = JSON.parse(r.stdout)
  t.true(c.before.length >= 2)
  t.is(c.after.length, 1, 'one level after a full compaction')
  const all = JSON.parse((await cli('scan', dir, '--json')).stdout)
  t.is(all.length, N - DELETED + 1)
  t.is((await cli('verify', dir)).code, 0)
})

test('repair: a damaged table and a lost CURRENT; what is lost is reported; the result opens', async t => {
  const dir = await copyOf('ts')
  const victim = tables(dir)[0]!
  corrupt(join(dir, victim))
  unlinkSync(join(dir, 'CURRENT'))
  t.is((await cli('stats', dir)).code, 3, 'no CURRENT: no database')
  const manifest = readdirSync(dir).find(n => n.startsWith('MANIFEST-'))!
  corrupt(join(dir, manifest), 40)
  const r = await cli('repair', dir, '--json')
  t.is(r.code, 0, r.stderr)
  const rep = JSON.parse(r.stdout)
  t.is(rep.manifestUsed, undefined, 'no usable MANIFEST: every table and WAL is used')
  t.regex(rep.manifestProblem, /CURRENT unusable.*MANIFEST-\d+ unusable/)
  t.is(rep.tables.find((x: { file: string }) => x.file === victim).status, 'salvaged')
  t.true(rep.lost.some((l: string) => l.includes(victim)))
  t.true(existsSync(join(dir, 'lost', victim)))
  t.is((await cli('verify', dir)).code, 0)
  const db = await DB.open(dir, { engine: 'ts', createIfMissing: false })
  let n = 0
  for await (const _ of db.iterator()) n++
  t.is(n, rep.keys)
  t.true(n > N - DELETED - 200 && n <= N - DELETED + 1, `most keys survive (${n})`)
  t.is(await db.get(key(3)), undefined, 'deleted keys stay deleted')
  await db.close()

  // Repairing an intact database keeps everything.
  const clean = await copyOf('ts')
  const r2 = await cli('repair', clean)
  t.is(r2.code, 0, r2.stderr)
  t.regex(r2.stdout, /^used MANIFEST-\d+ for the live set/m)
  t.regex(r2.stdout, /nothing was lost/)
  const after = await cli('scan', clean, '--json')
  t.is(after.code, 0, after.stderr)
  t.is(JSON.parse(after.stdout).length, N - DELETED + 1)
})

test('repair of a database cut off during synced writes: the WAL\'s zeroed runway is no damage', async t => {
  const live = mkdtempSync(join(scratch, 'runway-'))
  const db = await DB.open(live, { engine: 'ts' })
  for (let i = 0; i < 50; i++) await db.put(`r${i}`, `v${i}`, { sync: true })
  // A copy while it is open: the newest WAL ends in the zeros written ahead of its data.
  const dir = mkdtempSync(join(scratch, 'runway-copy-'))
  cpSync(live, dir, { recursive: true })
  await db.close()
  unlinkSync(join(dir, 'LOCK'))
  const wal = readdirSync(dir).find(n => n.endsWith('.log'))!
  const bytes = readFileSync(join(dir, wal))
  t.is(bytes[bytes.length - 1], 0, 'the copied WAL ends in its runway')
  const r = await cli('repair', dir)
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /nothing was lost/)
  const scan = await cli('scan', dir, '--json')
  t.is(JSON.parse(scan.stdout).length, 50)
})

test('error exits: usage, missing directory, no database, locked, corruption', async t => {
  const dir = await copyOf('ts')
  t.is((await cli()).code, 2)
  t.is((await cli('--help')).code, 0)
  t.regex((await cli('--help')).stdout, /exit codes/)
  t.is((await cli('frobnicate', dir)).code, 2)
  t.is((await cli('get', dir)).code, 2, 'missing argument')
  t.is((await cli('stats', dir, '--bogus')).code, 2, 'unknown option')
  t.is((await cli('get', dir, 'k', '--svg', 'x')).code, 2, 'option of another command')
  t.is((await cli('scan', dir, '--limit', '-3')).code, 2)
  t.is((await cli('stats', dir, '--engine', 'fast')).code, 2)

  const missing = await cli('stats', join(scratch, 'does-not-exist'), '--json')
  t.is(missing.code, 3)
  t.is(JSON.parse(missing.stdout).error.code, 'NOT_FOUND')
  const empty = mkdtempSync(join(scratch, 'empty-'))
  t.is((await cli('verify', empty)).code, 3)
  t.is((await cli('repair', empty)).code, 3)

  const busy = await copyOf('ts')
  const db = await DB.open(busy, { engine: 'ts' })
  try {
    for (const cmd of [['stats', busy], ['get', busy, 'k'], ['verify', busy], ['compact', busy], ['repair', busy]]) {
      const r = await cli(...cmd)
      t.is(r.code, 4, `${cmd[0]} on a locked database`)
      t.regex(r.stderr, /locked/)
    }
  } finally {
    await db.close()
  }

  const broken = await copyOf('ts')
  writeFileSync(join(broken, 'CURRENT'), 'MANIFEST-000001 00000000\n')
  t.is((await cli('stats', broken)).code, 5)
  t.is((await cli('verify', broken)).code, 5)
  t.is((await cli('dump-manifest', broken)).code, 5)
})
