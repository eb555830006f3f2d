/**
 * The one iterator shape every sorted source implements (memtable, block,
 * table, merge). Keys are internal keys. Positioning calls leave the iterator
 * either on an entry (`valid()`) or exhausted.
 */
export interface InternalIterator {
  /** True when positioned on an entry. */
  valid(): boolean
  /** Positions on the first entry. */
  seekToFirst(): void
  /** Positions on the last entry. */
  seekToLast(): void
  /** Positions on the first entry whose internal key is ≥ `target`. */
  seek(target: Uint8Array): void
  /** Positions on the last entry whose internal key is ≤ `target`. */
  seekForPrev(target: Uint8Array): void
  /** Moves to the next entry. Requires `valid()`. */
  next(): void
  /** Moves to the previous entry. Requires `valid()`. */
  prev(): void
  /** The current internal key. Requires `valid()`; the bytes stay valid until the iterator moves. */
  key(): Uint8Array
  /** The current value. Requires `valid()`. */
  value(): Uint8Array
  /**
   * Optional: lets go of what the iterator holds (a table iterator's pin on
   * its block). No call may follow but another `close`.
   */
  close?(): void
}
