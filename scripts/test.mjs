#!/usr/bin/env node
// The README's test command: type check, cargo test, then every ava test.
// Prints each stage's output as it runs and ends with one summary line,
// `N passed, N failed`, summed over all stages (CI reads that line).
import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = name => join(root, 'node_modules', '.bin', name)
let passed = 0
let failed = 0
/** Lines naming failed tests, repeated before the summary so a truncated log still shows them. */
const failures = []
const started = Date.now()

function run(label, cmd, args, parse) {
  return new Promise(resolve => {
    console.log(`\n=== ${label}: ${cmd.split('/').pop()} ${args.join(' ')}`)
    const t0 = Date.now()
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env })
    let out = ''
    child.stdout.on('data', d => { out += d; process.stdout.write(d) })
    child.stderr.on('data', d => { out += d; process.stderr.write(d) })
    child.on('close', code => {
      const r = parse(out, code)
      const lines = out.split('\n')
      lines.forEach((line, i) => {
        if (!/^not ok \d+/.test(line) && !/^test .+ \.\.\. FAILED$/.test(line)) return
        failures.push(`${label}: ${line.trim()}`)
        // TAP puts the reason in an indented YAML block under the line: keep its first lines.
        for (const more of lines.slice(i + 1, i + 13)) {
          if (!/^\s+\S/.test(more) || /^\s+\.\.\.$/.test(more)) break
          failures.push(`    ${more.trim().slice(0, 200)}`)
        }
      })
      if (r.failed > 0 && !failures.some(f => f.startsWith(`${label}: `))) failures.push(`${label}: ${r.failed} failed (exit ${code}); see its output above`)
      passed += r.passed
      failed += r.failed
      console.log(`=== ${label}: ${r.passed} passed, ${r.failed} failed (exit ${code}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`)
      resolve()
    })
  })
}

// 1. Type check: one check that passes or fails as a whole.
await run('typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit'], (_, code) => (code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 }))

// 2. cargo test, when a Rust toolchain is present (it is in CI and in a dev checkout).
if (spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0) {
  await run('cargo test', 'cargo', ['test', '--release', '--workspace', '--color', 'never'], (out, code) => {
    let p = 0
    let f = 0
    for (const m of out.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
      p += Number(m[1])
      f += Number(m[2])
    }
    if (code !== 0 && f === 0) f = 1 // a build failure counts as a failure
    return { passed: p, failed: f }
  })
} else {
  console.log('\n=== cargo test: skipped (no Rust toolchain on PATH)')
}

// 3. ava (TAP output so that pass/fail counts can be read).
await run('ava', bin('ava'), ['--tap', ...process.argv.slice(2)], (out, code) => {
  const p = Number(/^# pass (\d+)/m.exec(out)?.[1] ?? 0)
  let f = Number(/^# fail (\d+)/m.exec(out)?.[1] ?? 0)
  if (code !== 0 && f === 0) f = 1
  return { passed: p, failed: f }
})

// 4. The abstract-level compliance suite (tape) against LsmLevel, once per available engine,
// from the TypeScript sources. Each engine's run prints `# pass N` / `# fail N`.
await run('abstract-level suite', process.execPath, ['--import', 'tsx', 'test/level-suite.ts'], (out, code) => {
  let p = 0
  let f = 0
  for (const m of out.matchAll(/^# pass\s+(\d+)/gm)) p += Number(m[1])
  for (const m of out.matchAll(/^# fail\s+(\d+)/gm)) f += Number(m[1])
  if (code !== 0 && f === 0) f = 1
  return { passed: p, failed: f }
})

if (failures.length > 0) {
  console.log('\nfailures:')
  for (const f of failures.slice(0, 50)) console.log(`  ${f}`)
  if (failures.length > 50) console.log(`  … and ${failures.length - 50} more`)
}
console.log(`\ntotal time ${((Date.now() - started) / 1000).toFixed(1)} s`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
