/**
 * Table files (docs/FORMAT.md §4): the builder that turns a sorted run of
 * internal keys into SST bytes, and the reader that serves point lookups
 * (bloom → index → one data block) and two-level iteration from them.
 *
 * The reader keeps the index block, filter and properties in memory (the
 * "meta cache" of the design) and reads data blocks on demand through a
 * {@link RandomAccess} source, verifying each block's checksum before use and
 * decompressing it when it is stored Snappy-compressed (FORMAT.md §4.1); the
 * block cache holds blocks decompressed. The builder compresses a data block
 * when that saves at least an eighth, after cutting it on its uncompressed size.
 */
import { Buffer } from 'node:buffer'
import { closeSync, fstatSync, openSync } from 'node:fs'
import { basename } from 'node:path'
import { corruption } from '../../errors.js'
import { Block, BlockBuilder, pointHit, pointKey, scanPoint, type BlockIterator } from './block.js'
import { buildBloomFromHashes, bloomMayContainHash, murmur3, murmur3At } from './bloom.js'
import { ByteWriter, Cursor, DecodeError, getFixed32, getFixed64, putFixed32, putFixed64, setBytes } from './coding.js'
import { crc32c, crc32cRange, maskCrc, mcrc } from './crc32c.js'
import { readFully, type BufferPool, type CacheOwner, type FdPool, type LruCache } from './cache.js'
import { compareInternalKeyAt, compareInternalKeys, Kind, MAX_SEQUENCE, TRAILER_LENGTH, writeTrailer } from './internal-key.js'
import type { InternalIterator } from './iterator.js'
import { compressView, decompressRange, decompressWithin, MAX_DECOMPRESSED_LENGTH, PartialDecode, type OutputBuffers } from './snappy.js'

export const FOOTER_SIZE = 64
export const BLOCK_TRAILER_SIZE = 5
export const TABLE_FORMAT_VERSION = 1
export const SST_MAGIC = new TextEncoder().encode('LSMR-SST')
/** Compression types (FORMAT.md §4.1). Never renumber. */
export const COMPRESSION_NONE = 0
/** Compression type 1: the block is stored in the Snappy raw format (./snappy.ts). */
export const COMPRESSION_SNAPPY = 1

const TRAILER_SCRATCH = new Uint8Array(BLOCK_TRAILER_SIZE)
const TYPE_BYTES = [new Uint8Array([COMPRESSION_NONE]), new Uint8Array([COMPRESSION_SNAPPY])] as const

/** True when a compressed block of `compressed` bytes is worth keeping for a block of `raw` bytes: it saves at least an eighth (FORMAT.md §4.1). */
export function worthCompressing(raw: number, compressed: number): boolean {
  return compressed < raw - Math.floor(raw / 8)
}

/** True when `a` is exactly `alen` long and a[0..n) equals b[0..n). */
function sameBytes(a: Uint8Array, alen: number, b: Uint8Array, n: number): boolean {
  if (a.length !== alen) return false
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

/** Where a block lives: offset of its contents and their size (trailer excluded). */
export interface BlockHandle {
  /** File offset of the block's contents, in bytes. */
  offset: number
  /** Length of the contents in bytes, not counting the 5-byte trailer (type + CRC). */
  size: number
}

/** The properties block (FORMAT.md §4.4). */
export interface TableProperties {
  /** Entries in the table: every version of every key, deletes included. */
  entryCount: number
  /** Entries that are deletes (tombstones). */
  deletionCount: number
  /** Number of data blocks. */
  dataBlockCount: number
  /** Total length of the user keys of all entries, in bytes (internal-key trailers excluded). */
  rawKeyBytes: number
  /** Total length of the values of all entries, in bytes. */
  rawValueBytes: number
  /** Bytes of the data section (data blocks with their trailers), i.e. the offset where the meta blocks start. */
  dataBytes: number
  /** Smallest sequence number among the entries. */
  minSeq: number
  /** Largest sequence number among the entries. */
  maxSeq: number
  /** First internal key of the table. */
  smallest: Uint8Array
  /** Last internal key of the table. */
  largest: Uint8Array
}

/** How {@link TableBuilder} lays out a table (FORMAT.md §4). */
export interface TableBuilderOptions {
  /** A data block is finished once its estimated size reaches this many bytes (default 2048). */
  blockSize?: number
  /** Entries between restart points in data blocks (default 16). */
  restartInterval?: number
  /** Bloom filter bits per key (default 10); 0 disables the filter. */
  bitsPerKey?: number
  /** How data blocks are stored (default `'snappy'`); index, filter and properties blocks are never compressed. */
  compression?: 'snappy' | 'none'
}

export function encodeProperties(p: TableProperties): Uint8Array {
  return new ByteWriter(64 + p.smallest.length + p.largest.length)
    .varint(1).varint(p.entryCount).varint(p.deletionCount).varint(p.dataBlockCount)
    .varint(p.rawKeyBytes).varint(p.rawValueBytes).varint(p.dataBytes)
    .varint(p.minSeq).varint(p.maxSeq).lpbytes(p.smallest).lpbytes(p.largest)
    .finish()
}

export function decodeProperties(b: Uint8Array): TableProperties {
  const c = new Cursor(b)
  const version = c.varint32()
  if (version !== 1) throw new DecodeError(`unsupported properties version ${version}`)
  const p: TableProperties = {
    entryCount: c.varint64(), deletionCount: c.varint64(), dataBlockCount: c.varint64(),
    rawKeyBytes: c.varint64(), rawValueBytes: c.varint64(), dataBytes: c.varint64(),
    minSeq: c.varint64(), maxSeq: c.varint64(),
    smallest: c.lpbytes().slice(), largest: c.lpbytes().slice(),
  }
  if (c.remaining !== 0) throw new DecodeError('trailing bytes after the properties')
  return p
}

/**
 * Builds one table in memory. Entries must be added in strictly ascending
 * internal-key order. `finish()` returns the complete file bytes.
 */
export class TableBuilder {
  private readonly out: ByteWriter
  private readonly data: BlockBuilder
  private readonly index = new BlockBuilder(1)
  private readonly blockSize: number
  private readonly bitsPerKey: number
  private readonly compress: boolean
  /** murmur3 hashes of the distinct user keys added so far (the filter is built from them), `[0..distinctKeys)`. */
  private filterHashes = new Uint32Array(1024)
  private distinctKeys = 0
  /** The last key added is `lastSrc[lastOff..lastOff+lastLen)`; `lastLen` is -1 before the first. */
  private lastSrc: Uint8Array = new Uint8Array(0)
  private lastOff = 0
  private lastLen = -1
  private smallest: Uint8Array | undefined
  private props = { entryCount: 0, deletionCount: 0, dataBlockCount: 0, rawKeyBytes: 0, rawValueBytes: 0, minSeq: Infinity, maxSeq: 0 }

  /**
   * @param expectedBytes About how large the table will be (a flush knows its
   *   memtable's size): the output buffer starts that large instead of
   *   growing by doubling and copying.
   */
  constructor(options: TableBuilderOptions = {}, expectedBytes = 64 * 1024) {
    this.out = new ByteWriter(Math.min(Math.max(expectedBytes, 4096), 256 * 1024 * 1024))
    this.blockSize = options.blockSize ?? 2048
    this.bitsPerKey = options.bitsPerKey ?? 10
    const compression = options.compression ?? 'snappy'
    if (compression !== 'snappy' && compression !== 'none') throw new RangeError(`compression must be 'snappy' or 'none', got ${String(compression)}`)
    this.compress = compression === 'snappy'
    this.data = new BlockBuilder(options.restartInterval ?? 16)
  }

  /** Entries added so far. */
  get entryCount(): number {
    return this.props.entryCount
  }

  /** Bytes of the file so far, counting the open data block. */
  get estimatedSize(): number {
    return this.out.length + this.data.estimatedSize + (this.bitsPerKey > 0 ? this.distinctKeys * 2 : 0)
  }

  /** Adds an entry (internal key, value). */
  add(ikey: Uint8Array, value: Uint8Array): void {
    this.addFrom(ikey, 0, ikey.length, value, 0, value.length)
  }

  /**
   * {@link TableBuilder.add} of the internal key `src[off..off+len)` and the
   * value `vsrc[voff..voff+vlen)`, without views of them (a flush adds
   * straight from the memtable's chunks). The key's bytes must not change
   * before the next add or `finish`: the last key is kept by reference.
   */
  addFrom(src: Uint8Array, off: number, len: number, vsrc: Uint8Array, voff: number, vlen: number): void {
    const ulen = len - TRAILER_LENGTH
    if (ulen < 0) throw new DecodeError(`internal key of ${len} bytes is shorter than its trailer`)
    // One pass over the previous key gives the order check, whether the user
    // key is new, and the prefix the data block shares.
    let common = 0
    let newUserKey = true
    const alen = this.lastLen
    if (alen >= 0) {
      const a = this.lastSrc
      const ao = this.lastOff
      const n = alen < len ? alen : len
      while (common < n && a[ao + common] === src[off + common]) common++
      const aulen = alen - TRAILER_LENGTH
      let c: number
      if (common < (aulen < ulen ? aulen : ulen)) {
        c = a[ao + common]! - src[off + common]!
      } else if (aulen !== ulen) {
        c = aulen - ulen
      } else {
        newUserKey = false
        // Another version of the same user key: the larger trailer (newer sequence) sorts first.
        const ahi = getFixed32(a, ao + aulen + 4)
        const bhi = getFixed32(src, off + ulen + 4)
        c = ahi !== bhi ? bhi - ahi : getFixed32(src, off + ulen) - getFixed32(a, ao + aulen)
      }
      if (c >= 0) throw new RangeError('table keys must be added in strictly ascending order')
    } else {
      this.smallest = src.slice(off, off + len)
    }
    // A new user key (not another version of the last one) goes into the filter.
    if (newUserKey) {
      if (this.bitsPerKey > 0) {
        if (this.distinctKeys === this.filterHashes.length) {
          const grown = new Uint32Array(this.filterHashes.length * 2)
          grown.set(this.filterHashes)
          this.filterHashes = grown
        }
        this.filterHashes[this.distinctKeys] = murmur3At(src, off, ulen)
      }
      this.distinctKeys++
    }
    this.lastSrc = src
    this.lastOff = off
    this.lastLen = len
    // The trailer, decoded in place (seqOf / kindOf without their bounds checks).
    const t = off + ulen
    const lo = (src[t]! | (src[t + 1]! << 8) | (src[t + 2]! << 16)) + src[t + 3]! * 0x100_0000
    const seq = ((src[t + 4]! | (src[t + 5]! << 8) | (src[t + 6]! << 16)) + src[t + 7]! * 0x100_0000) * 0x100_0000 + Math.floor(lo / 256)
    const p = this.props
    p.entryCount++
    if ((lo & 0xff) === Kind.Delete) p.deletionCount++
    p.rawKeyBytes += ulen
    p.rawValueBytes += vlen
    if (seq < p.minSeq) p.minSeq = seq
    if (seq > p.maxSeq) p.maxSeq = seq
    this.data.addFrom(src, off, len, vsrc, voff, vlen, common)
    if (this.data.estimatedSize >= this.blockSize) this.flushDataBlock()
  }

  /** The last key added, as a view. */
  private lastKeyView(): Uint8Array {
    return this.lastSrc.subarray(this.lastOff, this.lastOff + this.lastLen)
  }

  /** Appends `stored ‖ type ‖ mcrc(stored ‖ type)`; the handle's size is the stored size. */
  private writeBlock(stored: Uint8Array, type: typeof COMPRESSION_NONE | typeof COMPRESSION_SNAPPY = COMPRESSION_NONE): BlockHandle {
    const handle = { offset: this.out.length, size: stored.length }
    this.out.bytes(stored)
    // crc over stored ‖ type, extended by the one type byte instead of copying the block.
    TRAILER_SCRATCH[0] = type
    putFixed32(TRAILER_SCRATCH, 1, maskCrc(crc32c(TYPE_BYTES[type], crc32c(stored))))
    this.out.bytes(TRAILER_SCRATCH)
    return handle
  }

  private flushDataBlock(): void {
    if (this.data.empty) return
    // The cut (FORMAT.md §4.2) was decided on the uncompressed block; compress after it.
    const raw = this.data.finishView()
    let handle: BlockHandle | undefined
    if (this.compress && raw.length <= MAX_DECOMPRESSED_LENGTH) {
      const packed = compressView(raw)
      if (worthCompressing(raw.length, packed.length)) handle = this.writeBlock(packed, COMPRESSION_SNAPPY)
    }
    handle ??= this.writeBlock(raw)
    this.data.reset()
    this.props.dataBlockCount++
    const hv = new ByteWriter(20).varint(handle.offset).varint(handle.size).finish()
    this.index.add(this.lastKeyView(), hv)
  }

  /** Finishes the table and returns its bytes and properties. */
  finish(): {
    /** The complete table file (a view of the builder's buffer, not a copy). */
    bytes: Uint8Array
    /** The properties written into the table. */
    properties: TableProperties
  } {
    if (this.props.entryCount === 0) throw new RangeError('a table must hold at least one entry')
    this.flushDataBlock()
    const dataBytes = this.out.length
    let filter: BlockHandle = { offset: 0, size: 0 }
    if (this.bitsPerKey > 0) filter = this.writeBlock(buildBloomFromHashes(this.filterHashes, this.distinctKeys, this.bitsPerKey))
    const properties: TableProperties = {
      ...this.props,
      dataBytes,
      smallest: this.smallest!,
      largest: this.lastKeyView().slice(),
    }
    const propsHandle = this.writeBlock(encodeProperties(properties))
    const indexHandle = this.writeBlock(this.index.finishView())
    const footer = new Uint8Array(FOOTER_SIZE)
    putFixed64(footer, 0, filter.offset)
    putFixed64(footer, 8, filter.size)
    putFixed64(footer, 16, propsHandle.offset)
    putFixed64(footer, 24, propsHandle.size)
    putFixed64(footer, 32, indexHandle.offset)
    putFixed64(footer, 40, indexHandle.size)
    putFixed32(footer, 48, TABLE_FORMAT_VERSION)
    putFixed32(footer, 52, mcrc(footer.subarray(0, 52)))
    footer.set(SST_MAGIC, 56)
    this.out.bytes(footer)
    // The builder is done with its buffer: hand it over without a copy.
    return { bytes: this.out.view(), properties }
  }
}

/** Positional reads from a file or a buffer. */
export interface RandomAccess {
  /** Total length of the source, in bytes. */
  readonly size: number
  /** Exactly `length` bytes starting at `offset` (may be a view into the source's memory). */
  read(offset: number, length: number): Uint8Array
  /**
   * Optional: copies exactly `length` bytes starting at `offset` into `dst[0..length)`.
   * Sources that read from files implement it, so that the table reader can read
   * blocks into a reusable buffer and allocate only what it keeps.
   */
  readInto?(offset: number, length: number, dst: Uint8Array): void
  /** Releases the underlying file descriptor, if any. */
  close(): void
}

/** A RandomAccess over bytes already in memory. */
export class BytesSource implements RandomAccess {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length
  }
  read(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length)
  }
  close(): void {}
}

/** A RandomAccess that borrows a descriptor from a bounded {@link FdPool}. */
export class PooledFileSource implements RandomAccess {
  readonly size: number
  constructor(readonly path: string, private readonly pool: FdPool) {
    this.size = pool.size(path)
  }
  read(offset: number, length: number): Uint8Array {
    return this.pool.read(this.path, offset, length)
  }
  readInto(offset: number, length: number, dst: Uint8Array): void {
    this.pool.readInto(this.path, offset, length, dst)
  }
  close(): void {
    this.pool.close(this.path)
  }
}

/** A RandomAccess over an open file descriptor (synchronous positional reads). */
export class FileSource implements RandomAccess {
  readonly size: number
  private fd: number
  /**
   * Opens the file read-only and records its size.
   * @param path Path of the file to read.
   */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'r')
    this.size = fstatSync(this.fd).size
  }
  read(offset: number, length: number): Uint8Array {
    const out = Buffer.allocUnsafe(length)
    readFully(this.fd, offset, length, out)
    return out
  }
  /**
   * Copies `[offset, offset + length)` into `dst`. A read that starts where the
   * previous one ended (a table scanned block after block, as compactions do)
   * reads `READ_AHEAD` bytes at once and serves the next blocks from them.
   */
  readInto(offset: number, length: number, dst: Uint8Array): void {
    const end = offset + length
    if (offset >= this.windowStart && end <= this.windowEnd) {
      const at = offset - this.windowStart
      setBytes(dst, this.window!.subarray(at, at + length), 0)
    } else if (offset === this.lastEnd && length <= READ_AHEAD && end <= this.size) {
      const n = Math.min(READ_AHEAD, this.size - offset)
      this.window ??= new Uint8Array(READ_AHEAD)
      this.windowStart = this.windowEnd = 0
      readFully(this.fd, offset, n, this.window)
      this.windowStart = offset
      this.windowEnd = offset + n
      setBytes(dst, this.window.subarray(0, length), 0)
    } else {
      readFully(this.fd, offset, length, dst)
    }
    this.lastEnd = end
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
    this.window = undefined
    this.windowStart = this.windowEnd = 0
  }
  private window: Uint8Array | undefined
  private windowStart = 0
  private windowEnd = 0
  private lastEnd = -1
}

/** Bytes a sequential {@link FileSource} reads at once. */
const READ_AHEAD = 128 * 1024

/** Result of a point lookup. */
export type LookupResult =
  | {
    /** The table holds no version of the key visible at the snapshot. */
    found: false
  }
  | {
    /** A version was found; a `Delete` one means the key is deleted. */
    found: true
    /** `Kind.Put` or `Kind.Delete` (a tombstone). */
    kind: Kind
    /** Sequence number of the version found. */
    seq: number
    /** The value (empty for a delete), a view into the data block. */
    value: Uint8Array
  }

function wrap<T>(file: string, fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof DecodeError) throw corruption(file, e.message)
    throw e
  }
}

/**
 * Where blocks are read to when the source can read into a buffer: the stored
 * bytes are checked and decompressed from here, and only the result the caller
 * keeps is allocated. Reused by every read (reads are synchronous).
 */
/**
 * A table's index, decoded when the table opens: separator keys in one array,
 * and the handles they map to. Point reads binary-search it and iterators move
 * over it by position; the index block itself is not kept.
 */
interface PointIndex {
  /** Number of index entries (data blocks). */
  count: number
  /** The separator keys (internal keys), concatenated. */
  keys: Uint8Array
  /** Separator i is `keys[starts[i]..starts[i + 1])`. */
  starts: Uint32Array
  /** File offset of data block i. */
  offsets: Float64Array
  /** Stored size of data block i. */
  sizes: Float64Array
  /** Length of the user-key prefix every separator shares. */
  prefix: number
}

/**
 * The answer of a point read whose seek found `pointKey()` with its value at
 * `pointHit` in `data`: the version found when its user key is `userKey`.
 * With `copy`, the value is copied out of `data` (a scratch buffer the next
 * read reuses); otherwise it is a view of `data`.
 */
function pointResult(userKey: Uint8Array, data: Uint8Array, copy: boolean): LookupResult {
  const ulen = userKey.length
  const k = pointKey()
  const kul = pointHit.keyLength - TRAILER_LENGTH
  if (kul !== ulen) return NOT_FOUND
  for (let i = 0; i < ulen; i++) if (k[i] !== userKey[i]) return NOT_FOUND
  const lo32 = getFixed32(k, kul)
  return {
    found: true,
    kind: (lo32 & 0xff) as Kind,
    seq: getFixed32(k, kul + 4) * 0x100_0000 + Math.floor(lo32 / 256),
    value: copy ? data.slice(pointHit.valueStart, pointHit.valueEnd) : data.subarray(pointHit.valueStart, pointHit.valueEnd),
  }
}

/** The result of every lookup that finds nothing (shared, frozen). */
const NOT_FOUND: LookupResult = Object.freeze({ found: false })
/** Where {@link Table.get} builds its seek target (reads are synchronous, so one buffer serves all). */
let targetScratch = new Uint8Array(0)

/**
 * One buffer handed out again and again (an {@link OutputBuffers} for block
 * reads): each block a reusing table iterator reads replaces the one before.
 */
export class ReusedBuffer {
  private buf = new ArrayBuffer(0)

  /** The buffer, grown first when it holds fewer than `n` bytes (what it held is then gone). */
  take(n: number): ArrayBuffer {
    if (this.buf.byteLength < n) this.buf = new ArrayBuffer(Math.max(n, 2 * this.buf.byteLength, 8192))
    return this.buf
  }
}

/** A copy of `bytes` at the start of a buffer taken from `pool`. */
function inPool(pool: OutputBuffers, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(pool.take(bytes.length), 0, bytes.length)
  out.set(bytes)
  return out
}

/**
 * The block cache's eviction hook: a dropped block that no iterator pins and
 * whose memory came from `pool` gives that memory back. Point reads use a block
 * only within one synchronous call and copy what they return, and every
 * iterator pins the block it stands on ({@link TableIterator}), so no one can
 * still be reading it.
 */
export function recycleBlock(pool: BufferPool, b: Block): void {
  if (b.pins !== 0 || !b.pooled) return
  b.pooled = false
  pool.give(b.data.buffer as ArrayBuffer)
}

let readScratch = new Uint8Array(64 * 1024)
/** Whether the last `Table.readVerified` read into {@link readScratch}. */
let readBorrowed = false
/** The decoder of point reads that scan a block without caching it (reads are synchronous, so one serves all). */
const partial = new PartialDecode()
/** Blocks larger than this are read into a buffer of their own (the scratch does not grow past it). */
const MAX_SCRATCH = 1024 * 1024

/** An open table: footer, index, filter and properties in memory; data blocks read on demand. */
export class Table {
  /** The table's file name (e.g. `000012.sst`), used in error messages. */
  readonly name: string
  /** This table's blocks in the block cache, by file offset. */
  private readonly cached: CacheOwner<Block> = new Map()
  private blockCache: LruCache<Block> | undefined
  /** Where data blocks read into the block cache get their memory (see {@link recycleBlock}). */
  private blockPool: BufferPool | undefined
  /** The table's properties block, decoded at open. */
  readonly properties: TableProperties
  /** Size of the table file, in bytes. */
  readonly fileSize: number
  private readonly filter: Uint8Array | undefined
  /** The index, decoded. */
  private readonly point: PointIndex

  private constructor(private readonly source: RandomAccess, name: string) {
    this.name = name
    this.fileSize = source.size
    const size = source.size
    if (size < FOOTER_SIZE) throw new DecodeError(`table of ${size} bytes is shorter than its footer`)
    const footer = source.read(size - FOOTER_SIZE, FOOTER_SIZE)
    for (let i = 0; i < 8; i++) if (footer[56 + i] !== SST_MAGIC[i]) throw new DecodeError('bad table magic')
    if (getFixed32(footer, 52) !== mcrc(footer.subarray(0, 52))) throw new DecodeError('bad footer checksum')
    const version = getFixed32(footer, 48)
    if (version !== TABLE_FORMAT_VERSION) throw new DecodeError(`unsupported table format version ${version}`)
    const handle = (off: number): BlockHandle => ({ offset: getFixed64(footer, off), size: getFixed64(footer, off + 8) })
    const filterH = handle(0)
    this.properties = decodeProperties(this.readBlock(handle(16)))
    this.point = Table.decodeIndex(new Block(this.readBlock(handle(32))))
    this.filter = filterH.size > 0 ? this.readBlock(filterH) : undefined
  }

  /** Opens a table from a source; a malformed file throws LsmError CORRUPTION naming it. */
  static open(source: RandomAccess, name: string, blockCache?: LruCache<Block>, blockPool?: BufferPool): Table {
    const t = wrap(name, () => new Table(source, name))
    t.blockCache = blockCache
    t.blockPool = blockCache === undefined ? undefined : blockPool
    return t
  }

  /** Opens a table file by path. */
  static openFile(path: string): Table {
    const src = new FileSource(path)
    try {
      return Table.open(src, basename(path))
    } catch (e) {
      src.close()
      throw e
    }
  }

  /**
   * Reads and verifies one block: the checksum of the stored bytes and type
   * first, then the type; a compressed block is decompressed. Returns the
   * block's contents.
   */
  readBlock(h: BlockHandle): Uint8Array {
    return this.readStoredBlock(h).contents
  }

  /**
   * Contents of a data block bound for the block cache: in a buffer from the
   * pool when there is one (the Block made of it is then `pooled`), else of its own.
   */
  private readDataBlock(h: BlockHandle): Block {
    const pool = this.blockPool
    const b = new Block(this.readStoredBlock(h, pool).contents)
    if (pool !== undefined) b.pooled = true
    return b
  }

  /**
   * {@link Table.readBlock}, also telling the block's compression type (for inspection tools).
   * With `pool`, the contents are a view at offset 0 of a buffer taken from it, and nothing else views that buffer.
   */
  readStoredBlock(h: BlockHandle, pool?: OutputBuffers): {
    /** The block's contents, decompressed. */
    contents: Uint8Array
    /** The stored compression type: 0 (none) or 1 (Snappy), FORMAT.md §4.1. */
    type: number
  } {
    const raw = this.readVerified(h)
    const size = h.size
    const borrowed = readBorrowed
    const type = raw[size]!
    if (type === COMPRESSION_NONE) {
      if (pool !== undefined) return { contents: inPool(pool, raw.subarray(0, size)), type }
      return { contents: borrowed ? raw.slice(0, size) : raw.subarray(0, size), type }
    }
    if (type === COMPRESSION_SNAPPY) {
      try {
        // In the scratch, decode right after the stored bytes (no copy of them first).
        const contents = (borrowed ? decompressWithin(raw, 0, size, pool) : undefined) ?? decompressRange(raw, 0, size, pool)
        return { contents, type }
      } catch (e) {
        if (e instanceof DecodeError) throw new DecodeError(`compressed block at ${h.offset}: ${e.message}`)
        throw e
      }
    }
    throw new DecodeError(`block at offset ${h.offset} has unknown compression type ${type}`)
  }

  /**
   * The stored bytes and trailer of a block, their checksum verified: in the
   * read scratch when the source can read into it ({@link readBorrowed} then
   * true: the bytes are not the caller's to keep), else in an array of their own.
   */
  private readVerified(h: BlockHandle): Uint8Array {
    const limit = this.fileSize - FOOTER_SIZE
    const size = h.size
    const total = size + BLOCK_TRAILER_SIZE
    if (h.offset + total > limit) throw new DecodeError(`block handle ${h.offset}+${size} lies outside the table`)
    let raw: Uint8Array
    readBorrowed = false
    const src = this.source
    if (src.readInto !== undefined && total <= MAX_SCRATCH) {
      // Room for the block and, when it is compressed, its output after it (typically 2-4x the stored size).
      const want = Math.min(2 * MAX_SCRATCH, 4 * total)
      if (readScratch.length < want) readScratch = new Uint8Array(Math.max(want, Math.min(2 * MAX_SCRATCH, readScratch.length * 2)))
      raw = readScratch
      src.readInto(h.offset, total, raw)
      readBorrowed = true
    } else {
      raw = src.read(h.offset, total)
    }
    if (getFixed32(raw, size + 1) !== maskCrc(crc32cRange(raw, 0, size + 1))) {
      throw new DecodeError(`block at offset ${h.offset} fails its checksum`)
    }
    return raw
  }

  /**
   * A point read of a data block kept out of the cache: the block is read and
   * verified whole, then decoded only as far as the entry the read wants
   * ({@link scanPoint}). True when the entry was found: `pointHit` then gives
   * its value's place in `partial.buf` (valid until the next block read). False
   * when the caller must decode the whole block instead (a block not read
   * into the scratch, a scan that gave up, anything malformed: the whole
   * block's decode reports it); a failed checksum throws.
   */
  private scanDataBlock(h: BlockHandle, target: Uint8Array): boolean {
    // Only a block read into the scratch has room after it to decode in place: leave others unread.
    const size = h.size
    if (this.source.readInto === undefined || size + BLOCK_TRAILER_SIZE > MAX_SCRATCH) return false
    const raw = this.readVerified(h)
    const type = raw[size]
    try {
      if (type === COMPRESSION_NONE) partial.plain(raw, size)
      else if (type !== COMPRESSION_SNAPPY || !partial.start(raw, 0, size)) return false
      return scanPoint(partial, target)
    } catch (e) {
      if (e instanceof DecodeError) return false
      throw e
    }
  }

  /** Decodes a block handle stored as an index value. */
  private static decodeHandle(v: Uint8Array): BlockHandle {
    const c = new Cursor(v)
    const h = { offset: c.varint64(), size: c.varint64() }
    if (c.remaining !== 0) throw new DecodeError('trailing bytes after a block handle')
    return h
  }

  /**
   * Data block `i`, through the block cache if any. Without a cache, `memory`
   * (when given) holds the block's contents, replacing what it held.
   */
  dataBlock(i: number, memory?: ReusedBuffer): Block {
    const h = this.blockHandle(i)
    if (memory !== undefined && this.blockCache === undefined) return new Block(this.readStoredBlock(h, memory).contents)
    return this.dataBlockAt(h)
  }

  /** {@link Table.dataBlock} for a decoded handle. */
  private dataBlockAt(h: BlockHandle): Block {
    const cache = this.blockCache
    if (cache === undefined) return new Block(this.readBlock(h))
    return cache.getIn(this.cached, h.offset) ?? this.cacheDataBlock(cache, h)
  }

  /** Reads a data block that is not cached into the cache. */
  private cacheDataBlock(cache: LruCache<Block>, h: BlockHandle): Block {
    const b = this.readDataBlock(h)
    // Charged at the memory the cache holds: the decompressed size, rounded up to a pooled buffer's.
    cache.setIn(this.cached, h.offset, b, b.data.buffer.byteLength + 64)
    return b
  }

  /** Decodes every index entry once (when the table opens): reads binary-search flat arrays. */
  private static decodeIndex(index: Block): PointIndex {
    const keys: Uint8Array[] = []
    const offsets: number[] = []
    const sizes: number[] = []
    let total = 0
    const it = index.iterator()
    for (it.seekToFirst(); it.valid(); it.next()) {
      const h = Table.decodeHandle(it.value())
      const k = it.key()
      keys.push(k)
      total += k.length
      offsets.push(h.offset)
      sizes.push(h.size)
    }
    const n = keys.length
    const bytes = new Uint8Array(total)
    const starts = new Uint32Array(n + 1)
    let at = 0
    for (let i = 0; i < n; i++) {
      starts[i] = at
      setBytes(bytes, keys[i]!, at)
      at += keys[i]!.length
    }
    starts[n] = at
    // The user-key prefix all separators share: that of the first and the last (they are sorted).
    let prefix = 0
    if (n > 0) {
      const first = keys[0]!
      const last = keys[n - 1]!
      const m = Math.min(first.length, last.length) - TRAILER_LENGTH
      while (prefix < m && first[prefix] === last[prefix]) prefix++
    }
    return { count: n, keys: bytes, starts, offsets: Float64Array.from(offsets), sizes: Float64Array.from(sizes), prefix }
  }

  /** Number of data blocks. */
  get blockCount(): number {
    return this.point.count
  }

  /** The index key (separator) of data block `i`: ≥ each of its keys, < each key of the next block. */
  indexKey(i: number): Uint8Array {
    const { keys, starts } = this.point
    return keys.subarray(starts[i]!, starts[i + 1]!)
  }

  /** Where data block `i` is stored. */
  blockHandle(i: number): BlockHandle {
    return { offset: this.point.offsets[i]!, size: this.point.sizes[i]! }
  }

  /**
   * The first data block whose separator is ≥ `target` (an internal key), or
   * {@link blockCount} when there is none. Every separator's user key starts
   * with the same `prefix` bytes: the target is compared with them once, then
   * only the rest of each key.
   */
  findBlock(target: Uint8Array, tlen: number): number {
    const idx = this.point
    const n = idx.count
    const keys = idx.keys
    const starts = idx.starts
    const ulen = tlen - TRAILER_LENGTH
    let lo = 0
    let hi = n
    const prefix = idx.prefix
    let c = 0
    for (let i = 0; i < prefix && i < ulen; i++) {
      c = target[i]! - keys[i]!
      if (c !== 0) break
    }
    if (c < 0 || (c === 0 && ulen < prefix)) hi = 0
    else if (c > 0) lo = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const at = starts[mid]!
      if (compareInternalKeyAt(keys, at, starts[mid + 1]! - at, target, tlen, prefix) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** True unless the bloom filter proves `userKey` absent; `keyHash`, when given, is `murmur3(userKey)`. */
  mayContain(userKey: Uint8Array, keyHash?: number): boolean {
    return this.filter === undefined || bloomMayContainHash(this.filter, keyHash ?? murmur3(userKey))
  }

  /**
   * Newest version of `userKey` with sequence ≤ `snapshotSeq` (bloom → decoded
   * index → one block). `keyHash`, when given, is `murmur3(userKey)`, so a read
   * over many tables hashes its key once for all their filters.
   */
  get(userKey: Uint8Array, snapshotSeq: number, keyHash?: number): LookupResult {
    // Nothing is visible at a NaN or negative snapshot (not even the bottom
    // level's sequence-0 entries, FORMAT.md §2.1).
    if (!(snapshotSeq >= 0) || !this.mayContain(userKey, keyHash)) return NOT_FOUND
    try {
      return this.lookup(userKey, snapshotSeq > MAX_SEQUENCE ? MAX_SEQUENCE : Math.floor(snapshotSeq))
    } catch (e) {
      if (e instanceof DecodeError) throw corruption(this.name, e.message)
      throw e
    }
  }

  private lookup(userKey: Uint8Array, snapshotSeq: number): LookupResult {
    // The seek target userKey ‖ trailer(snapshotSeq, Put), built in a reused buffer.
    const ulen = userKey.length
    const tlen = ulen + TRAILER_LENGTH
    if (targetScratch.length !== tlen) targetScratch = new Uint8Array(tlen)
    const target = targetScratch
    setBytes(target, userKey, 0)
    writeTrailer(target, ulen, snapshotSeq, Kind.Put)
    const idx = this.point
    const n = idx.count
    let lo = this.findBlock(target, tlen)
    const cache = this.blockCache
    for (; lo < n; lo++) {
      const offset = idx.offsets[lo]!
      const size = idx.sizes[lo]!
      let block = cache === undefined ? undefined : cache.getIn(this.cached, offset)
      if (block === undefined) {
        const h = { offset, size }
        if (cache !== undefined && cache.admitIn(this.cached, offset, 2 * size + 64)) block = this.cacheDataBlock(cache, h)
        else if (this.scanDataBlock(h, target)) return pointResult(userKey, partial.buf, true)
        else block = new Block(this.readBlock(h))
      }
      // A separator may lie above its block's last key: the answer can open the next block.
      if (!block.seekPoint(target)) continue
      return pointResult(userKey, block.data, false)
    }
    return NOT_FOUND
  }

  /**
   * A new iterator over all entries, in internal-key order. With
   * `reuseBlockMemory` (a table without a block cache, read once in order by
   * a compaction), each data block is decoded into the memory of the one
   * before: a value (and the block) is then valid only until the iterator
   * leaves its block, where it otherwise stays valid for good.
   */
  iterator(options?: { reuseBlockMemory?: boolean }): TableIterator {
    return new TableIterator(this, options?.reuseBlockMemory === true && this.blockCache === undefined ? new ReusedBuffer() : undefined)
  }

  /** Closes the source and evicts this table's blocks from the block cache. */
  close(): void {
    this.source.close()
    this.blockCache?.evictOwner(this.cached)
  }
}

/** Two-level iterator: a position in the decoded index picks the data block, the block iterator walks it. */
export class TableIterator implements InternalIterator {
  /** The data block under the cursor; {@link Table.blockCount} when past either end. */
  private at: number
  private bi: BlockIterator | undefined
  /** The block `bi` walks, pinned (see {@link recycleBlock}) until the iterator leaves it. */
  private block: Block | undefined

  constructor(
    private readonly table: Table,
    /** Where blocks are decoded when they replace each other (see {@link Table.iterator}). */
    private readonly memory?: ReusedBuffer,
  ) {
    this.at = table.blockCount
  }

  private guard<T>(fn: () => T): T {
    return wrap(this.table.name, fn)
  }

  private loadBlock(): void {
    // The old block is left first: its memory may then serve the new one.
    this.unpin()
    if (this.at >= this.table.blockCount) return
    const b = this.table.dataBlock(this.at, this.memory)
    b.pins++
    this.block = b
    this.bi = b.iterator()
  }

  private unpin(): void {
    if (this.block !== undefined) this.block.pins--
    this.block = undefined
    this.bi = undefined
  }

  /** Unpins the current block; the iterator is then invalid. */
  close(): void {
    this.unpin()
  }

  private skipEmptyForward(): void {
    while (this.bi !== undefined && !this.bi.valid()) {
      this.at++
      this.loadBlock()
      this.bi?.seekToFirst()
    }
  }

  private skipEmptyBackward(): void {
    while (this.bi !== undefined && !this.bi.valid()) {
      // Before the first block the cursor is past the end, as after the last.
      this.at = this.at === 0 ? this.table.blockCount : this.at - 1
      this.loadBlock()
      this.bi?.seekToLast()
    }
  }

  valid(): boolean {
    return this.bi !== undefined && this.bi.valid()
  }
  key(): Uint8Array {
    return this.bi!.key()
  }
  value(): Uint8Array {
    return this.bi!.value()
  }
  seekToFirst(): void {
    this.guard(() => {
      this.at = 0
      this.loadBlock()
      this.bi?.seekToFirst()
      this.skipEmptyForward()
    })
  }
  seekToLast(): void {
    this.guard(() => {
      this.at = Math.max(0, this.table.blockCount - 1)
      this.loadBlock()
      this.bi?.seekToLast()
      this.skipEmptyBackward()
    })
  }
  seek(target: Uint8Array): void {
    this.guard(() => {
      this.at = this.table.findBlock(target, target.length)
      this.loadBlock()
      this.bi?.seek(target)
      this.skipEmptyForward()
    })
  }
  seekForPrev(target: Uint8Array): void {
    this.guard(() => {
      this.seek(target)
      if (!this.valid()) this.seekToLast()
      else if (compareInternalKeys(this.key(), target) > 0) this.prev()
    })
  }
  next(): void {
    this.guard(() => {
      this.bi!.next()
      this.skipEmptyForward()
    })
  }
  prev(): void {
    this.guard(() => {
      this.bi!.prev()
      this.skipEmptyBackward()
    })
  }
}
