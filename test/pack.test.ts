/**
 * Packaging: `npm pack` ships the prebuilt binary, and the packed tarball,
 * installed where no Rust toolchain is on PATH, loads the native engine.
 */
import test from 'ava'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { tempDir } from './helpers/engines.js'

const root = join(import.meta.dirname, '..')

/** PATH without any directory that holds cargo or rustc. */
function pathWithoutRust(): string {
  return (process.env.PATH ?? '').split(delimiter)
    .filter(d => !['cargo', 'rustc', 'rustup'].some(b => existsSync(join(d, b))))
    .join(delimiter)
}

test('the packed tarball installs and loads the native engine without a Rust toolchain', async t => {
  t.timeout(5 * 60_000)
  const work = tempDir(t, 'lsm-pack-')
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const info = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[]
  const files = info[0]!.files.map(f => f.path)
  t.true(files.some(f => /^prebuilds\/linux-x64\/lsm-rust\.glibc\.node$/.test(f)), 'the tarball ships the prebuilt binary')
  t.true(files.includes('dist/index.js'))
  t.false(files.some(f => f.startsWith('build/') || f.startsWith('crates/') || f.startsWith('target/')), 'no build tree, sources of Rust or cargo output')

  const app = join(work, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }))
  const env = { ...process.env, PATH: pathWithoutRust() }
  t.throws(() => execFileSync('cargo', ['--version'], { env, stdio: 'ignore' }), undefined, 'cargo must not be reachable')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, info[0]!.filename)], { cwd: app, env, stdio: 'pipe' })
  t.true(existsSync(join(app, 'node_modules', 'lsm-rust', 'prebuilds', 'linux-x64')))
  t.deepEqual(readdirSync(join(app, 'node_modules', 'lsm-rust')).filter(f => f === 'crates'), [])

  writeFileSync(join(app, 'main.mjs'), `
    import { DB } from 'lsm-rust'
    const db = await DB.open('./data', { engine: 'native' })
    await db.put('hello', 'world', { sync: true })
    const v = await db.get('hello')
    console.log(JSON.stringify({ engine: db.engine, value: v.toString() }))
    await db.close()
  `)
  const result = JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: app, env, encoding: 'utf8' }).trim()) as { engine: string; value: string }
  t.deepEqual(result, { engine: 'native', value: 'world' })

  // Without the binary (and without Rust), the package falls back to pure TS and says so once.
  rmSync(join(app, 'node_modules', 'lsm-rust', 'prebuilds'), { recursive: true, force: true })
  writeFileSync(join(app, 'fallback.mjs'), `
    import { DB } from 'lsm-rust'
    const a = await DB.open('./data')
    const v = (await a.get('hello')).toString()
    await a.close()
    const b = await DB.open('./data')
    console.log(JSON.stringify({ engine: b.engine, value: v }))
    await b.close()
  `)
  const r = spawnSync(process.execPath, ['fallback.mjs'], { cwd: app, env, encoding: 'utf8' })
  t.is(r.status, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout.trim()), { engine: 'ts', value: 'world' }, 'the pure-TS engine reads what the native one wrote')
  t.is(r.stderr.split('native addon unavailable').length - 1, 1, `warned once: ${r.stderr}`)
})
