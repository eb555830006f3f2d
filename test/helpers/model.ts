/** Shared helpers for tests: random internal-key entry sets and a sorted-array model. */
import fc from 'fast-check'
import { compareInternalKeys, Kind, makeInternalKey } from '../../ts/core/ts/internal-key.js'
import type { InternalIterator } from '../../ts/core/ts/iterator.js'

export type Entry = [key: Uint8Array, value: Uint8Array]

/** Arbitrary: distinct internal keys with values, sorted. Small alphabets so keys share prefixes and versions. */
export const sortedEntries = (maxLength = 300): fc.Arbitrary<Entry[]> =>
  fc.array(
    fc.record({
      key: fc.uint8Array({ minLength: 0, maxLength: 12, min: 97, max: 100 }),
      seq: fc.integer({ min: 1, max: 2 ** 45 - 1 }),
      kind: fc.constantFrom(Kind.Put, Kind.Delete),
      value: fc.uint8Array({ maxLength: 40 }),
    }),
    { minLength: 1, maxLength },
  ).map(items => {
    const seen = new Set<string>()
    const out: Entry[] = []
    for (const it of items) {
      const ik = makeInternalKey(it.key, it.seq, it.kind)
      const id = Buffer.from(ik).toString('hex')
      if (seen.has(id)) continue
      seen.add(id)
      out.push([ik, it.kind === Kind.Put ? it.value : new Uint8Array(0)])
    }
    return out.sort((a, b) => compareInternalKeys(a[0], b[0]))
  })

/** Index of the first model entry ≥ target, or model.length. */
export function lowerBound(model: Entry[], target: Uint8Array): number {
  let lo = 0
  let hi = model.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareInternalKeys(model[mid]![0], target) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Reads the iterator from its current position in one direction. */
export function drain(it: InternalIterator, dir: 'next' | 'prev', max = Infinity): Entry[] {
  const out: Entry[] = []
  while (it.valid() && out.length < max) {
    out.push([it.key().slice(), it.value().slice()])
    if (dir === 'next') it.next()
    else it.prev()
  }
  return out
}

/** Checks an iterator against a sorted model: full scans both ways and seeks with direction changes. */
export function checkIterator(it: InternalIterator, model: Entry[], seeks: Uint8Array[], eq: (a: unknown, b: unknown, msg?: string) => void): void {
  it.seekToFirst()
  eq(drain(it, 'next'), model, 'forward scan')
  it.seekToLast()
  eq(drain(it, 'prev'), [...model].reverse(), 'backward scan')
  for (const target of seeks) {
    const i = lowerBound(model, target)
    it.seek(target)
    eq(it.valid() ? [it.key().slice(), it.value().slice()] : undefined, model[i], 'seek')
    if (it.valid()) {
      // Step forward twice, then back three times: crosses restart points and blocks.
      it.next()
      eq(it.valid() ? it.key().slice() : undefined, model[i + 1]?.[0], 'next after seek')
      if (it.valid()) {
        it.prev()
        it.prev()
        eq(it.valid() ? it.key().slice() : undefined, model[i - 1]?.[0], 'prev after next')
      }
    }
    it.seekForPrev(target)
    const j = i < model.length && compareInternalKeys(model[i]![0], target) === 0 ? i : i - 1
    eq(it.valid() ? it.key().slice() : undefined, model[j]?.[0], 'seekForPrev')
  }
}
