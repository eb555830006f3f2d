/**
 * The VersionSet: the design's "level meta". It owns the MANIFEST (a log of
 * version edits), CURRENT, the counters (next file number, last sequence, log
 * number), the current version, the open tables, and table GC.
 *
 * Crash argument for every change: the tables an edit names are fsynced
 * before the edit is appended; the edit is fsynced before the new version is
 * installed; so after a crash the MANIFEST names only complete tables, and a
 * torn last record is an edit nobody was told about.
 */
import { existsSync, readdirSync } from 'node:fs'
import { closeSync, fdatasync, fsyncSync, openSync, readFileSync, rename, unlink, unlinkSync, writeAllSync } from './io.js'
import { basename, join } from 'node:path'
import { corruption, LsmError } from './errors.js'
import { ioError, setCurrent, syncDir } from './env.js'
import type { Core, CoreCaches, CoreTable } from './core/core.js'
import { DecodeError } from './core/ts/coding.js'
import { encodeLogFileHeader, encodeRecord, MANIFEST_MAGIC, readLog } from './core/ts/log-format.js'
import { decodeCurrent, decodeVersionEdit, encodeVersionEdit, fileNames, parseFileName, type VersionEdit } from './core/ts/version-edit.js'
import { Version } from './version.js'

/** A MANIFEST larger than this is replaced by a fresh snapshot at the next edit. */
const MANIFEST_ROLL_BYTES = 16 * 1024 * 1024

export class VersionSet {
  current: Version = Version.empty()
  nextFileNumber = 2
  lastSequence = 0
  /** WALs numbered below this are fully in tables. */
  logNumber = 0
  compactPointers: (Uint8Array | undefined)[] = []
  /** Versions some reader still holds (the current one included). */
  private readonly live = new Set<Version>()
  /** Open tables by file number. */
  private readonly tables = new Map<number, CoreTable>()
  /** Files being written by a running job: GC must not touch them. */
  readonly pendingOutputs = new Set<number>()
  /** Files being unlinked (or renamed into the recycle pool) in the background, by name. */
  private readonly deleting = new Map<string, Promise<void>>()
  /**
   * Dead table files kept for compactions to write over, as paths, oldest
   * first: writing a table into a file's existing page-cache pages is much
   * cheaper here than into fresh ones (docs/PERFORMANCE.md, thirty-second
   * session). At most {@link recycleLimit}; emptied at close, and any a crash
   * leaves are deleted by the next open's GC.
   */
  private readonly recyclePool: string[] = []
  /** Names of files being renamed into the pool: GC must not delete them meanwhile. */
  private readonly recycling = new Set<string>()
  /** Paths taken from the pool by running jobs: GC must not delete them either. */
  private readonly lent = new Set<string>()
  /** How many dead tables the pool keeps (the `recycleTableFiles` option; 0 = none). */
  recycleLimit = 0
  private manifestFd = -1
  private manifestNumber = 0
  private manifestSize = 0

  constructor(readonly dir: string, readonly core: Core, private readonly caches?: CoreCaches) {}

  /** Number of the live MANIFEST. */
  get currentManifest(): number {
    return this.manifestNumber
  }

  newFileNumber(): number {
    return this.nextFileNumber++
  }

  /** The open table for a file number (opened on first use). */
  table(fileNumber: number): CoreTable {
    let t = this.tables.get(fileNumber)
    if (t === undefined) {
      t = this.core.openTable(join(this.dir, fileNames.table(fileNumber)), this.caches)
      this.tables.set(fileNumber, t)
    }
    return t
  }

  /**
   * Opens the tables a job has just written before their edit is installed,
   * off the JS thread where the core can (`Core.openTableAsync`); without
   * it, or for tables already open, nothing happens here and
   * {@link VersionSet.table} opens them on first use. A compaction's dozen
   * or more outputs took ~2 ms of the event loop at install. A table that
   * fails to open throws here, before any edit names it; those opened
   * meanwhile stay in the map until garbage collection closes them with
   * the job's other outputs.
   */
  async preopen(fileNumbers: readonly number[]): Promise<void> {
    const open = this.core.openTableAsync
    if (open === undefined) return
    const wanted = fileNumbers.filter(n => !this.tables.has(n))
    const settled = await Promise.allSettled(wanted.map(n => open.call(this.core, join(this.dir, fileNames.table(n)), this.caches)))
    settled.forEach((r, i) => {
      if (r.status !== 'fulfilled') return
      // Opened synchronously meanwhile: keep that one.
      if (this.tables.has(wanted[i]!)) r.value.close()
      else this.tables.set(wanted[i]!, r.value)
    })
    const failed = settled.find(r => r.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
  }

  /** Tables of a version in read-view shape. */
  tablesOf(v: Version): CoreTable[][] {
    return v.levels.map(l => l.map(f => this.table(f.fileNumber)))
  }

  ref(v: Version): void {
    v.refs++
    this.live.add(v)
  }

  /** Drops a reference; true when the version is no longer used by anyone. */
  unref(v: Version): boolean {
    if (--v.refs === 0) {
      this.live.delete(v)
      return true
    }
    return false
  }

  /** True when a database exists in the directory (CURRENT is present). */
  static exists(dir: string): boolean {
    return existsSync(join(dir, fileNames.current))
  }

  /** Reads CURRENT and replays the MANIFEST it names. */
  recover(): void {
    let manifestNumber: number
    try {
      manifestNumber = decodeCurrent(readFileSync(join(this.dir, fileNames.current)))
    } catch (e) {
      if (e instanceof DecodeError) throw corruption(fileNames.current, e.message)
      throw ioError(e, 'cannot read CURRENT')
    }
    const name = fileNames.manifest(manifestNumber)
    let bytes: Uint8Array
    try {
      bytes = readFileSync(join(this.dir, name))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw corruption(name, 'CURRENT names a MANIFEST that does not exist')
      throw ioError(e, `cannot read ${name}`)
    }
    let records: Uint8Array[]
    let v = Version.empty()
    try {
      records = readLog(bytes, MANIFEST_MAGIC, manifestNumber, true).records
      if (records.length === 0) throw new DecodeError('MANIFEST holds no snapshot record')
      for (const r of records) {
        const e = decodeVersionEdit(r)
        v = v.apply(e, name)
        if (e.logNumber !== undefined) this.logNumber = e.logNumber
        if (e.nextFileNumber !== undefined) this.nextFileNumber = e.nextFileNumber
        if (e.lastSequence !== undefined) this.lastSequence = e.lastSequence
        for (const cp of e.compactPointers ?? []) this.compactPointers[cp.level] = cp.key
      }
    } catch (e) {
      if (e instanceof DecodeError) throw corruption(name, e.message)
      throw e
    }
    for (const n of v.fileNumbers()) {
      if (n >= this.nextFileNumber) throw corruption(name, `file ${n} is not below the next file number ${this.nextFileNumber}`)
    }
    this.manifestNumber = manifestNumber
    this.install(v)
  }

  /** Applies an edit in memory only; the caller writes a new MANIFEST next (recovery). */
  applyLocally(edit: VersionEdit): void {
    if (edit.logNumber !== undefined) this.logNumber = edit.logNumber
    if (edit.lastSequence !== undefined) this.lastSequence = Math.max(this.lastSequence, edit.lastSequence)
    this.install(this.current.apply(edit, 'recovery'))
  }

  private install(v: Version): void {
    const old = this.current
    this.current = v
    this.ref(v)
    if (this.live.has(old)) this.unref(old)
  }

  private fullEdit(): VersionEdit {
    const cps = this.compactPointers.flatMap((key, level) => (key ? [{ level, key }] : []))
    return {
      logNumber: this.logNumber,
      nextFileNumber: this.nextFileNumber,
      lastSequence: this.lastSequence,
      ...(cps.length > 0 && { compactPointers: cps }),
      ...this.current.snapshotEdit(),
    }
  }

  /**
   * Starts a new MANIFEST holding a snapshot of the current state and points
   * CURRENT at it. Used at open and when the MANIFEST grows large.
   */
  writeNewManifest(): void {
    const number = this.newFileNumber()
    const path = join(this.dir, fileNames.manifest(number))
    const fd = openSync(path, 'wx')
    try {
      const bytes = Buffer.concat([encodeLogFileHeader(MANIFEST_MAGIC), encodeRecord(encodeVersionEdit(this.fullEdit()), number)])
      writeAllSync(fd, bytes)
      this.manifestSize = bytes.length
      // Rare (once per open or roll), so a synchronous fsync is acceptable here.
      fsyncSync(fd)
    } catch (e) {
      closeSync(fd)
      throw ioError(e, `cannot write ${fileNames.manifest(number)}`)
    }
    setCurrent(this.dir, number)
    const oldFd = this.manifestFd
    if (oldFd >= 0) closeSync(oldFd)
    this.manifestFd = fd
    this.manifestNumber = number
  }

  /**
   * Records `edit` durably and installs the version it makes. The counters
   * (log number, next file number, last sequence) are stamped into the edit.
   */
  async logAndApply(edit: VersionEdit, lastSequence: number): Promise<void> {
    // Flush and compaction lanes both log edits: one at a time, in call order,
    // so each edit applies to the version the previous one installed.
    const prior = this.applying
    let done!: () => void
    this.applying = new Promise<void>(r => { done = r })
    try {
      await prior
      // After a failed edit the MANIFEST may end in a partial record: appending
      // after it would bury that damage mid-file, so every later edit fails too.
      if (this.broken !== undefined) throw this.broken
      try {
        await this.logAndApplyNow(edit, lastSequence)
      } catch (e) {
        if (!(e instanceof LsmError && e.code === 'CLOSED')) this.broken = e
        throw e
      }
    } finally {
      done()
    }
  }

  private applying: Promise<void> = Promise.resolve()
  /** The failure of an earlier edit, if any. */
  private broken: unknown

  private async logAndApplyNow(edit: VersionEdit, lastSequence: number): Promise<void> {
    if (this.manifestFd < 0) throw new LsmError('CLOSED', 'manifest is closed')
    if (edit.logNumber !== undefined) this.logNumber = edit.logNumber
    this.lastSequence = Math.max(this.lastSequence, lastSequence)
    for (const cp of edit.compactPointers ?? []) this.compactPointers[cp.level] = cp.key
    const full: VersionEdit = { ...edit, logNumber: this.logNumber, nextFileNumber: this.nextFileNumber, lastSequence: this.lastSequence }
    const next = this.current.apply(full, fileNames.manifest(this.manifestNumber))
    if (this.manifestSize > MANIFEST_ROLL_BYTES) {
      this.install(next)
      this.writeNewManifest()
      return
    }
    const rec = encodeRecord(encodeVersionEdit(full), this.manifestNumber)
    try {
      writeAllSync(this.manifestFd, rec)
      await fdatasync(this.manifestFd)
    } catch (e) {
      throw ioError(e, `cannot append to ${fileNames.manifest(this.manifestNumber)}`)
    }
    this.manifestSize += rec.length
    this.install(next)
  }

  /**
   * Table GC: deletes table files no live version lists, WALs older than the
   * log number, old manifests and leftovers. `keepWals` are WALs in use.
   *
   * With `onError` the files are unlinked on the libuv pool (the event loop
   * does not wait for the file system) and a failure goes to `onError`;
   * {@link VersionSet.settleDeletes} waits for them. Without it they are
   * unlinked before this returns, and a failure throws. Either way the
   * returned names are the files this call set out to delete.
   */
  collectGarbage(keepWals: ReadonlySet<number>, onError?: (e: LsmError) => void): { deleted: string[] } {
    const liveTables = new Set<number>(this.pendingOutputs)
    for (const v of this.live) for (const n of v.fileNumbers()) liveTables.add(n)
    for (const [n, t] of this.tables) {
      if (!liveTables.has(n)) {
        t.close()
        this.tables.delete(n)
      }
    }
    const deleted: string[] = []
    for (const name of readdirSync(this.dir)) {
      const p = parseFileName(name)
      let remove = false
      if (p === undefined) remove = name === fileNames.currentTmp
      else if (p.kind === 'table') remove = !liveTables.has(p.number)
      else if (p.kind === 'recycle') {
        const full = join(this.dir, name)
        remove = !this.recycling.has(name) && !this.lent.has(full) && !this.recyclePool.includes(full)
      }
      else if (p.kind === 'wal') remove = p.number < this.logNumber && !keepWals.has(p.number)
      else if (p.kind === 'manifest') remove = p.number !== this.manifestNumber
      if (!remove || this.deleting.has(name)) continue
      const path = join(this.dir, name)
      const failed = (e: unknown, verb = 'delete') => {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        return ioError(e, `cannot ${verb} ${name}`)
      }
      // A background failure goes to the listener; a throwing listener must
      // not become an unhandled rejection here.
      const report = (err: LsmError | undefined) => {
        try {
          if (err !== undefined) onError?.(err)
        } catch {
          // Nothing more to do with it.
        }
      }
      if (p?.kind === 'table' && onError !== undefined && this.recyclePool.length + this.recycling.size < this.recycleLimit) {
        // Kept for a compaction to write over instead of deleted. The table
        // left `tables` above and no live version lists it: nothing reads it.
        const target = fileNames.recycle(p.number)
        this.recycling.add(target)
        const done = rename(path, join(this.dir, target)).then(
          () => {
            this.recyclePool.push(join(this.dir, target))
          },
          // Not kept: the next GC deletes whichever name is left.
          (e: unknown) => report(failed(e, 'recycle')),
        ).finally(() => {
          this.recycling.delete(target)
          this.deleting.delete(name)
        })
        this.deleting.set(name, done)
        deleted.push(name)
        continue
      }
      if (onError === undefined) {
        try {
          unlinkSync(path)
          deleted.push(name)
        } catch (e) {
          const err = failed(e)
          if (err !== undefined) throw err
        }
      } else {
        const done = unlink(path).then(
          () => undefined,
          (e: unknown) => report(failed(e)),
        ).finally(() => this.deleting.delete(name))
        this.deleting.set(name, done)
        deleted.push(name)
      }
    }
    return { deleted }
  }

  /**
   * Lends up to `n` files of the recycle pool to a compaction job
   * ({@link CompactionJob.recycle}); hand them back with
   * {@link settleRecycled} when the job ends.
   */
  takeRecycled(n: number): string[] {
    const taken = this.recyclePool.splice(0, Math.min(n, this.recyclePool.length))
    for (const p of taken) this.lent.add(p)
    return taken
  }

  /**
   * Ends a loan: the job wrote its first `used` outputs over the first
   * `used` files (now tables of their own); the rest go back to the pool, or
   * are deleted beyond its limit. `used` undefined (the job failed, so what
   * it did with them is unknown) deletes whichever are left.
   */
  settleRecycled(paths: readonly string[], used: number | undefined): void {
    paths.forEach((p, i) => {
      this.lent.delete(p)
      if (used !== undefined && i < used) return
      if (used !== undefined && this.recyclePool.length < this.recycleLimit) this.recyclePool.push(p)
      else this.unlinkQuietly(p)
    })
  }

  /**
   * Deletes every file of the recycle pool once the renames into it have
   * ended, and resolves when they are gone: what `compactRange` frees is then
   * given back, and a closed database keeps only live files. With `stop`, no
   * file is kept from then on (at close).
   */
  async emptyRecyclePool(stop = false): Promise<void> {
    if (stop) this.recycleLimit = 0
    await this.settleDeletes()
    for (const p of this.recyclePool.splice(0)) this.unlinkQuietly(p)
    await this.settleDeletes()
  }

  private unlinkQuietly(path: string): void {
    const name = basename(path)
    const done = unlink(path).then(
      () => undefined,
      () => undefined, // Whatever is left is deleted by a later GC (at the next open at the latest).
    ).finally(() => this.deleting.delete(name))
    this.deleting.set(name, done)
  }

  /** Resolves when every deletion started by {@link VersionSet.collectGarbage} has ended (it never rejects). */
  async settleDeletes(): Promise<void> {
    while (this.deleting.size > 0) await Promise.all(this.deleting.values())
  }

  /** Number of files in live versions other than the current one (pinned by readers). */
  pinnedOnlyFiles(): number {
    const cur = new Set(this.current.fileNumbers())
    const pinned = new Set<number>()
    for (const v of this.live) for (const n of v.fileNumbers()) if (!cur.has(n)) pinned.add(n)
    return pinned.size
  }

  close(): void {
    for (const t of this.tables.values()) t.close()
    this.tables.clear()
    if (this.manifestFd >= 0) closeSync(this.manifestFd)
    this.manifestFd = -1
  }

  syncDir(): void {
    syncDir(this.dir)
  }
}
