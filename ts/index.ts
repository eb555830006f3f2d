/**
 * lsm-rust: an embedded, crash-safe LSM-tree key-value database for Node.js.
 *
 * This entry point exports the error type, the {@link Core} interface with its
 * pure-TypeScript implementation, the native addon loader, and the format
 * components (useful for tools that read lsm-rust files directly).
 *
 * @packageDocumentation
 */
export { DB, Snapshot, type Bytes, type BatchOp, type WriteOptions, type ReadOptions } from './db.js'
export { DBIterator, type IteratorOptions } from './iterator.js'
export type { OpenOptions, EngineChoice } from './options.js'
export type { ReadBatching } from './read-batcher.js'
export { AUTO_LEVEL_BASE, AUTO_MEMTABLE_SIZE } from './options.js'
export type { Stats, LevelStats } from './stats.js'
export { LsmError, type ErrorCode } from './errors.js'
export { verifyDB, verifyLocked, type VerifyReport, type FileReport } from './inspect.js'
export type { Core, CoreCaches, CacheOptions, CompactionJob, CompactionOutput, CoreMemtable, CoreTable, CoreReadView, CoreCursor, CursorOptions, Chunk, Lookup, EngineName, TableOptions, WrittenTable } from './core/core.js'
export { tsCore } from './core/ts-core.js'
export { nativeLoadError } from './core/native-binding.js'
export { Kind, MAX_KEY_LENGTH, MAX_SEQUENCE, makeInternalKey, compareInternalKeys, userKeyOf, seqOf, kindOf } from './core/ts/internal-key.js'
export { encodeWriteGroup, decodeWriteGroup, type WriteOp } from './core/ts/write-group.js'
export { Table, TableBuilder, TableIterator, ReusedBuffer, BytesSource, FileSource, type TableProperties, type TableBuilderOptions, type RandomAccess, type BlockHandle, type LookupResult } from './core/ts/sst.js'
export { Block, BlockIterator } from './core/ts/block.js'
export { LruCache, BufferPool } from './core/ts/cache.js'
export type { OutputBuffers } from './core/ts/snappy.js'
export type { InternalIterator } from './core/ts/iterator.js'
export { WalWriter, readWal, type WalContents } from './core/ts/wal.js'
export { encodeVersionEdit, decodeVersionEdit, encodeCurrent, decodeCurrent, type VersionEdit, type FileMeta } from './core/ts/version-edit.js'
export { LsmLevel, LsmLevelIterator, LsmLevelKeyIterator, LsmLevelValueIterator, LsmLevelSnapshot, LevelError, toLevelError, type LsmLevelOptions, type LsmLevelOpenOptions, type LsmLevelWriteOptions } from './level.js'
export { repairDB, type RepairOptions, type RepairReport, type RepairedTable, type RepairedWal, type RebuiltTable } from './repair.js'
