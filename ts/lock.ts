/**
 * The `LOCK` file: one opener per database directory, across processes and
 * within this one.
 *
 * Node has no portable advisory file lock, so the lock is a file holding the
 * owner's pid, created atomically with link(2) (which fails when the name
 * exists). A lock left behind by a process that died (kill -9) names a pid
 * that no longer runs and is taken over; a lock naming a live process fails
 * with LOCKED. Within one process, a registry of open directories does the job.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { LsmError } from './errors.js'

const openHere = new Set<string>()

function alive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A held lock; release it once. */
export class DirLock {
  private released = false
  private constructor(private readonly dir: string) {}

  /** Takes the lock of `dir` or throws LsmError LOCKED. */
  static acquire(dir: string): DirLock {
    const abs = resolve(dir)
    if (openHere.has(abs)) throw new LsmError('LOCKED', `database is already open in this process: ${abs}`)
    const lockPath = join(abs, 'LOCK')
    const tmp = join(abs, `LOCK.${process.pid}.tmp`)
    writeFileSync(tmp, `${process.pid}\n`)
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(tmp, lockPath)
          break
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e
          let owner = NaN
          try {
            owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10)
          } catch { /* vanished meanwhile: retry */ }
          if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
            throw new LsmError('LOCKED', `database is locked by process ${owner}: ${abs}`)
          }
          // Stale (owner died) or unreadable: remove and retry the atomic link.
          try {
            unlinkSync(lockPath)
          } catch { /* someone else removed it */ }
        }
      }
    } finally {
      try {
        unlinkSync(tmp)
      } catch { /* best effort */ }
    }
    openHere.add(abs)
    return new DirLock(abs)
  }

  release(): void {
    if (this.released) return
    this.released = true
    openHere.delete(this.dir)
    try {
      unlinkSync(join(this.dir, 'LOCK'))
    } catch { /* already gone */ }
  }
}
