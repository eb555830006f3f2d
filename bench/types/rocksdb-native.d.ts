// Minimal typings for the parts of rocksdb-native (3.x, which ships none) the bench uses.
declare module 'rocksdb-native' {
  interface RocksRange {
    gt?: Buffer
    gte?: Buffer
    lt?: Buffer
    lte?: Buffer
    reverse?: boolean
    limit?: number
  }
  interface RocksWriteBatch {
    put(key: Buffer, value: Buffer): Promise<void>
    delete(key: Buffer): Promise<void>
    flush(): Promise<void>
    destroy(): void
  }
  class RocksDB {
    constructor(path: string, opts?: Record<string, unknown>)
    ready(): Promise<void>
    close(): Promise<void>
    get(key: Buffer): Promise<Buffer | null>
    put(key: Buffer, value: Buffer): Promise<void>
    delete(key: Buffer): Promise<void>
    write(opts?: Record<string, unknown>): RocksWriteBatch
    iterator(range?: RocksRange, opts?: Record<string, unknown>): AsyncIterable<{ key: Buffer; value: Buffer }>
    flush(): Promise<void>
  }
  export default RocksDB
}
