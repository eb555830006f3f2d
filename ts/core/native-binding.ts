/**
 * Loads the native addon through node-gyp-build (prebuilds/<platform>-<arch>/),
 * once. When it cannot be loaded, {@link nativeBinding} is undefined and
 * {@link nativeLoadError} says why; the pure-TypeScript engine is used instead.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The functions the Rust addon (crates/lsm-node) exports. */
export interface NativeBinding {
  coreVersion(): string
  crc32c(data: Uint8Array, init?: number): number
  maskCrc(crc: number): number
  bloomBuild(keys: Uint8Array[], bitsPerKey: number): Buffer
  bloomMayContain(filter: Uint8Array, key: Uint8Array): boolean
}

const require = createRequire(import.meta.url)
/** Package root: this file sits at ts/core/ (sources) or dist/core/ (compiled). */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function load(): { binding?: NativeBinding; error?: Error } {
  if (process.env.LSM_RUST_DISABLE_NATIVE === '1') return { error: new Error('disabled by LSM_RUST_DISABLE_NATIVE=1') }
  try {
    const gypBuild = require('node-gyp-build') as (dir: string) => unknown
    return { binding: gypBuild(packageRoot) as NativeBinding }
  } catch (e) {
    return { error: e as Error }
  }
}

const loaded = load()
/** The native addon, or undefined when it could not be loaded. */
export const nativeBinding: NativeBinding | undefined = loaded.binding
/** Why the native addon could not be loaded, when it could not. */
export const nativeLoadError: Error | undefined = loaded.error
