#!/usr/bin/env node
// Install step for lsm-rust's native addon.
//
// In a source checkout (crates/ present) with a Rust toolchain, builds the
// addon with `napi build` (falling back to plain cargo) and places it where
// node-gyp-build looks: prebuilds/<platform>-<arch>/lsm-rust.glibc.node.
// In an installed tarball, the shipped prebuilt binary is used as is. With
// neither, installation still succeeds: the pure-TypeScript engine runs.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const force = process.argv.includes('--force')
const tag = `${process.platform}-${process.arch}`
const libc = process.platform === 'linux' ? (isMusl() ? 'musl' : 'glibc') : ''
const outDir = join(root, 'prebuilds', tag)
const outFile = join(outDir, `lsm-rust${libc ? '.' + libc : ''}.node`)
const crate = join(root, 'crates', 'lsm-node')

function isMusl() {
  try {
    return !process.report.getReport().header.glibcVersionRuntime
  } catch {
    return false
  }
}

function has(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0
}

function log(msg) {
  console.error(`lsm-rust: ${msg}`)
}

/**
 * Copies the built library into place by rename, never by overwriting: a
 * process that has the old binary loaded keeps its (now unlinked) file,
 * instead of crashing when the mapped bytes change under it.
 */
function place(from) {
  const tmp = `${outFile}.${process.pid}.tmp`
  copyFileSync(from, tmp)
  renameSync(tmp, outFile)
}

function build() {
  mkdirSync(outDir, { recursive: true })
  const napi = join(root, 'node_modules', '.bin', 'napi')
  const t0 = Date.now()
  if (existsSync(napi)) {
    execFileSync(napi, ['build', '--release', '--platform', '--output-dir', join(root, 'target', 'napi')], { cwd: crate, stdio: 'inherit' })
    const built = readdirSync(join(root, 'target', 'napi')).filter(f => f.endsWith('.node'))
      .map(f => join(root, 'target', 'napi', f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    if (built.length === 0) throw new Error('napi build produced no .node file')
    place(built[0])
  } else {
    execFileSync('cargo', ['build', '--release', '-p', 'lsm-node'], { cwd: root, stdio: 'inherit' })
    const ext = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so'
    const lib = join(root, 'target', 'release', `${process.platform === 'win32' ? '' : 'lib'}lsm_node.${ext}`)
    place(lib)
  }
  log(`built the native addon in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${outFile}`)
}

const sourceCheckout = existsSync(join(crate, 'Cargo.toml'))
if (sourceCheckout && has('cargo')) {
  build()
} else if (existsSync(outFile) && !force) {
  log(`using the prebuilt binary ${outFile}`)
} else {
  if (force) {
    log('cannot build the native addon: no Rust toolchain (cargo) or no crates/ directory')
    process.exit(1)
  }
  log(`no prebuilt binary for ${tag} and no Rust toolchain: the pure-TypeScript engine will be used`)
}
