/**
 * File-system steps the engine's crash arguments rest on, in one place:
 * durable file writes, directory fsync, atomic replacement of CURRENT.
 * Errors from the OS become LsmError IO_ERROR.
 */
import { closeSync, fsyncSync, openSync, renameSync, syncDir, writeAllSync } from './io.js'
import { join } from 'node:path'
import { LsmError } from './errors.js'
import { encodeCurrent, fileNames } from './core/ts/version-edit.js'

/** Wraps an OS error as IO_ERROR (LsmErrors pass through). */
export function ioError(e: unknown, what: string): LsmError {
  if (e instanceof LsmError) return e
  const err = e as NodeJS.ErrnoException
  return new LsmError('IO_ERROR', `${what}: ${err.message ?? String(e)}`, { cause: e })
}

export { syncDir }

/**
 * Points CURRENT at manifest `n`. Crash argument: CURRENT.tmp is complete and
 * durable before the rename; rename is atomic, so CURRENT names either the old
 * or the new manifest; the directory fsync makes the new name durable.
 */
export function setCurrent(dir: string, manifestNumber: number): void {
  const tmp = join(dir, fileNames.currentTmp)
  const fd = openSync(tmp, 'w')
  try {
    writeAllSync(fd, encodeCurrent(manifestNumber))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, join(dir, fileNames.current))
  syncDir(dir)
}
