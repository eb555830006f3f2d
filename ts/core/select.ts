/**
 * Picks the core for `DB.open({ engine })`: `auto` takes the native addon
 * when it loaded and says once, on stderr, when it falls back to pure
 * TypeScript; `native` fails clearly when the addon is unavailable.
 */
import { LsmError } from '../errors.js'
import type { Core } from './core.js'
import { nativeLoadError } from './native-binding.js'
import { nativeCore } from './native-core.js'
import { tsCore } from './ts-core.js'
import { setCrc32cAccelerator } from './ts/crc32c.js'

let warned = false

export function selectCore(engine: 'auto' | 'native' | 'ts'): Core {
  if (engine === 'ts') return tsCore
  if (nativeCore !== undefined) {
    // From now on the TypeScript side's own checksums (WAL and MANIFEST
    // records) use the addon's CRC-32C for long inputs: same values, ~10× faster.
    const native = nativeCore
    setCrc32cAccelerator((data, crc) => native.crc32c(data, crc))
    return native
  }
  if (engine === 'native') {
    throw new LsmError('NOT_SUPPORTED', `the native engine is not available: ${nativeLoadError?.message ?? 'unknown reason'}`)
  }
  if (!warned && process.env.LSM_RUST_QUIET !== '1') {
    warned = true
    process.emitWarning(`lsm-rust: native addon unavailable (${nativeLoadError?.message ?? 'unknown reason'}); using the pure-TypeScript engine`)
  }
  return tsCore
}
