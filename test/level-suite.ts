/**
 * The abstract-level compliance suite (`abstract-level/test`, tape) against
 * LsmLevel, run from the TypeScript sources.
 *
 *   node --import tsx test/level-suite.ts           every available engine, one child process each
 *   node --import tsx test/level-suite.ts ts        one engine (TAP on stdout)
 *
 * Each engine's run prints tape's `# pass N` / `# fail N`; the parent exits
 * non-zero when any run fails.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import tape from 'tape'
// @ts-expect-error abstract-level ships its suite without type declarations
import suite from 'abstract-level/test'
import { LsmLevel } from '../ts/level.js'
import { engines } from './helpers/engines.js'

const engine = process.argv[2]

if (engine === undefined) {
  // One process per engine: each gets its own tape harness and clean exit code.
  const self = fileURLToPath(import.meta.url)
  let failed = false
  for (const e of engines()) {
    console.log(`# abstract-level suite, engine ${e}`)
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, e], { stdio: 'inherit', env: { ...process.env, LSM_RUST_QUIET: '1' } })
    if (r.status !== 0) failed = true
  }
  process.exit(failed ? 1 : 0)
} else {
  if (engine !== 'ts' && engine !== 'native') throw new Error(`unknown engine ${engine}`)
  const root = mkdtempSync(join(tmpdir(), `lsm-level-suite-${engine}-`))
  mkdirSync(root, { recursive: true })
  let n = 0
  tape.onFinish(() => rmSync(root, { recursive: true, force: true }))
  suite({
    test: tape,
    // A fresh, not yet existing directory per database: createIfMissing: false must fail on it.
    factory: (options?: Record<string, unknown>) => new LsmLevel(join(root, `db${++n}`), { ...options, engine }),
  })
}
