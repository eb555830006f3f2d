/**
 * One adapter per engine, each through the engine's normal public API and its
 * default options. The same call style for everyone: point writes, deletes and
 * (where the engine has an async one) point reads return promises and the
 * driver keeps C of them in flight; range reads use the engine's iterator.
 *
 * Durability: the fills other than fillsync use each engine's ordinary
 * (non-fsync) writes; fillsync uses the engine's durable-write option:
 * - lsm-native / lsm-ts: `put(k, v, { sync: true })` (fdatasync of the WAL, group-committed)
 * - classic-level: `put(k, v, { sync: true })`
 * - lmdb: opened with its defaults (every commit synced, overlapping sync), and a
 *   write counts as done once `db.flushed` resolves after its `put`; the other
 *   fills open it with `noSync: true` (no fsync), which is what the LSM
 *   engines' default writes mean.
 * - rocksdb-native 3.x: its write path takes no WriteOptions (no `sync`), so
 *   it has no durable-write option: fillsync is reported unavailable.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { readFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ALL_ENGINES = ['lsm-native', 'lsm-ts', 'classic-level', 'rocksdb-native', 'lmdb'] as const
export type EngineName = (typeof ALL_ENGINES)[number]

export interface RangeOptions {
  gte?: Buffer
  reverse?: boolean
  limit?: number
}

/** What may be returned: a value, or a promise of one (the driver awaits only promises). */
export type MaybePromise<T> = T | Promise<T>

export interface Store {
  put(key: Buffer, value: Buffer): MaybePromise<unknown>
  /** A write that resolves once durable; undefined when the engine has no durable-write option. */
  putDurable?: (key: Buffer, value: Buffer) => MaybePromise<unknown>
  /** The value, or undefined/null when absent. */
  get(key: Buffer): MaybePromise<Buffer | Uint8Array | undefined | null>
  del(key: Buffer): MaybePromise<unknown>
  /** One atomic batch of puts. */
  batchPut(keys: Buffer[], values: Buffer[]): MaybePromise<unknown>
  /** Visits the entries of a range through the engine's iterator; returns how many. */
  range(opts: RangeOptions, visit: (key: Uint8Array, value: Uint8Array) => void): MaybePromise<number>
  close(): Promise<void>
  /** Engine-reported counters worth recording (optional). */
  engineStats?: () => Record<string, unknown>
}

export interface Engine {
  name: EngineName
  /** Package and version, for the report. */
  version: string
  /** How it is called, for the report. */
  notes: string
  /** Opens (creating) a database in `dir`; `durable` selects the durable-write configuration where that is an open option. */
  open(dir: string, opts: { durable: boolean }): Promise<Store>
  /** Why a workload cannot run on this engine, if it cannot. */
  unsupported?: Partial<Record<string, string>>
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(join(root, 'package.json'))

function pkgVersion(name: string): string {
  try {
    const p = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }
    return `${name}@${p.version}`
  } catch {
    try {
      const p = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
      return `${name}@${p.version}`
    } catch {
      return name
    }
  }
}

async function lsm(name: 'lsm-native' | 'lsm-ts'): Promise<Engine> {
  // run.ts compiles ts/ into .bench-dist/ first (--build dist, the default):
  // JavaScript, as an installed package runs. From ts/ under tsx, the pure-TS
  // engine's workers would transpile their modules inside every timed fill.
  const { DB } = (process.env.LSM_BENCH_BUILD === 'dist'
    ? await import(pathToFileURL(join(root, '.bench-dist', 'index.js')).href)
    : await import('../../ts/index.js')) as typeof import('../../ts/index.js')
  const engine = name === 'lsm-native' ? 'native' : 'ts'
  const self = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  return {
    name,
    version: `lsm-rust@${self.version} (engine: '${engine}')`,
    notes: `DB.open(dir, { engine: '${engine}' }), defaults; put/get/del/batch (async), iterator() with for await; fillsync: put(k, v, { sync: true })`,
    async open(dir) {
      const db = await DB.open(dir, { engine })
      if (db.engine !== engine) throw new Error(`asked for engine ${engine}, got ${db.engine}`)
      return {
        put: (k, v) => db.put(k, v),
        putDurable: (k, v) => db.put(k, v, { sync: true }),
        get: k => db.get(k),
        del: k => db.del(k),
        batchPut: (ks, vs) => db.batch(ks.map((key, i) => ({ type: 'put' as const, key, value: vs[i]! }))),
        async range(opts, visit) {
          let n = 0
          for await (const [k, v] of db.iterator(opts)) {
            visit(k, v)
            n++
          }
          return n
        },
        close: () => db.close(),
        engineStats() {
          const s = db.stats()
          return {
            levels: s.levels.map(l => l.files).join('/'),
            flushes: s.flushes,
            compactions: s.compactions,
            trivialMoves: s.trivialMoves,
            stalls: s.stalls.count,
            stallMs: Math.round(s.stalls.totalMs),
            walSyncs: s.walSyncs,
            writeGroups: s.writeGroups,
            bytesWritten: s.bytesWritten,
            writeAmplification: Number(s.writeAmplification.toFixed(3)),
            readBatches: s.readBatches,
          }
        },
      }
    },
  }
}

async function classicLevel(): Promise<Engine> {
  const { ClassicLevel } = await import('classic-level')
  return {
    name: 'classic-level',
    version: pkgVersion('classic-level'),
    notes: "new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' }), other options default; put/get/del/batch (async), iterator() with for await; fillsync: put(k, v, { sync: true })",
    async open(dir) {
      const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
      await db.open()
      return {
        put: (k, v) => db.put(k, v),
        putDurable: (k, v) => db.put(k, v, { sync: true }),
        get: k => db.get(k),
        del: k => db.del(k),
        batchPut: (ks, vs) => db.batch(ks.map((key, i) => ({ type: 'put' as const, key, value: vs[i]! }))),
        async range(opts, visit) {
          let n = 0
          for await (const [k, v] of db.iterator(opts)) {
            visit(k, v)
            n++
          }
          return n
        },
        close: () => db.close(),
      }
    },
  }
}

async function rocksdbNative(): Promise<Engine> {
  const RocksDB = (await import('rocksdb-native')).default
  const unavailable = 'rocksdb-native 3.x has no durable-write option: its write() passes no WriteOptions (sync) to RocksDB'
  return {
    name: 'rocksdb-native',
    version: pkgVersion('rocksdb-native'),
    notes: 'new RocksDB(dir), defaults; put/get/delete (async), write() batch + flush(), iterator() with for await; no durable-write option',
    unsupported: { fillsync: unavailable },
    async open(dir) {
      const db = new RocksDB(dir)
      await db.ready()
      return {
        put: (k, v) => db.put(k, v),
        get: k => db.get(k),
        del: k => db.delete(k),
        async batchPut(ks, vs) {
          const w = db.write()
          try {
            for (let i = 0; i < ks.length; i++) void w.put(ks[i]!, vs[i]!)
            await w.flush()
          } finally {
            w.destroy()
          }
        },
        async range(opts, visit) {
          let n = 0
          for await (const { key, value } of db.iterator(opts)) {
            visit(key, value)
            n++
          }
          return n
        },
        close: () => db.close(),
      }
    },
  }
}

async function lmdb(): Promise<Engine> {
  const { open } = await import('lmdb')
  return {
    name: 'lmdb',
    version: pkgVersion('lmdb'),
    notes:
      "open({ path, keyEncoding: 'binary', encoding: 'binary', noSync: true }) for the non-durable workloads, its default (synced commits) for fillsync; put/remove/batch (async), get (sync: lmdb's documented read API; getAsync is experimental), getRange(); fillsync: await put, then await db.flushed",
    async open(dir, { durable }) {
      const db = open<Buffer, Buffer>({ path: dir, keyEncoding: 'binary', encoding: 'binary', ...(durable ? {} : { noSync: true }) })
      return {
        put: (k, v) => db.put(k, v),
        putDurable: async (k, v) => {
          await db.put(k, v)
          await db.flushed
        },
        get: k => db.get(k),
        del: k => db.remove(k),
        batchPut: (ks, vs) =>
          db.batch(() => {
            for (let i = 0; i < ks.length; i++) void db.put(ks[i]!, vs[i]!)
          }),
        range(opts, visit) {
          let n = 0
          const o: { start?: Buffer; reverse?: boolean; limit?: number } = {}
          if (opts.gte !== undefined) o.start = opts.gte
          if (opts.reverse !== undefined) o.reverse = opts.reverse
          if (opts.limit !== undefined) o.limit = opts.limit
          for (const { key, value } of db.getRange(o)) {
            visit(key, value)
            n++
          }
          return n
        },
        close: () => db.close(),
      }
    },
  }
}

/** Loads an engine's module; throws (with the reason) when it cannot run here. */
export async function loadEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'lsm-native':
    case 'lsm-ts':
      return lsm(name)
    case 'classic-level':
      return classicLevel()
    case 'rocksdb-native':
      return rocksdbNative()
    case 'lmdb':
      return lmdb()
  }
}
