#!/usr/bin/env node
// Stands in for node-gyp when prebuildify runs (`npm run prebuildify`):
// prebuildify calls `<node-gyp> rebuild --release ...` and then collects
// build/Release/*.node. The addon is Rust, so the build is `napi build`.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
if (process.argv[2] !== 'rebuild') {
  console.error(`napi-gyp: only "rebuild" is supported (got ${process.argv.slice(2).join(' ')})`)
  process.exit(2)
}
const outDir = join(root, 'target', 'napi')
execFileSync(join(root, 'node_modules', '.bin', 'napi'), ['build', '--release', '--platform', '--output-dir', outDir], { cwd: join(root, 'crates', 'lsm-node'), stdio: 'inherit' })
const built = readdirSync(outDir).filter(f => f.endsWith('.node')).map(f => join(outDir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
if (built.length === 0) throw new Error('napi build produced no .node file')
mkdirSync(join(root, 'build', 'Release'), { recursive: true })
copyFileSync(built[0], join(root, 'build', 'Release', 'lsm_rust.node'))
