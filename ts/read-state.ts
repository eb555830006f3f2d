/**
 * What a read consults, pinned as one unit: the memtables (active first, then
 * immutables newest first), the version (its tables) and the core read view
 * built over them. The engine swaps in a new state whenever a memtable is
 * frozen or a version is installed; readers that started on an old state keep
 * it (and so its table files) alive until they release it.
 */
import type { CoreMemtable, CoreReadView } from './core/core.js'
import type { Version } from './version.js'
import type { VersionSet } from './version-set.js'

export class ReadState {
  /** One reference for being current, plus one per pinning reader. */
  private refs = 1

  constructor(
    readonly view: CoreReadView,
    readonly memtables: readonly CoreMemtable[],
    readonly version: Version,
    private readonly versions: VersionSet,
  ) {
    versions.ref(version)
  }

  /** Pins this state for a reader; call {@link unpin} once when done. */
  pin(): this {
    this.refs++
    return this
  }

  /** Drops one reference; true when that released a version nobody uses any more (GC may now free files). */
  unpin(): boolean {
    if (this.refs <= 0) return false
    if (--this.refs === 0) {
      // Tables the version drops can close (and unmap) now, not at the next GC.
      this.view.release?.()
      return this.versions.unref(this.version)
    }
    return false
  }
}
