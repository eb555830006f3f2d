/** The engines a DB test runs on: pure TS always, native when its addon loads. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nativeBinding } from '../../ts/core/native-binding.js'
import { selectCore } from '../../ts/core/select.js'

export function engines(): ('ts' | 'native')[] {
  try {
    if (nativeBinding && selectCore('native').name === 'native') return ['ts', 'native']
  } catch { /* native core not available */ }
  return ['ts']
}

/** A fresh temporary directory removed after the test. */
export function tempDir(t: { teardown: (fn: () => void) => void }, prefix = 'lsm-db-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Polls `cond` every 5 ms until it holds, or fails after `ms` (for work the DB finishes in the background). */
export async function eventually(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) return false
    await new Promise(r => setTimeout(r, 5))
  }
  return true
}
