import test from 'ava'
import fc from 'fast-check'
import assert from 'node:assert/strict'
import { compareInternalKeys, Kind, makeInternalKey, MAX_SEQUENCE } from '../ts/core/ts/internal-key.js'
import type { InternalIterator } from '../ts/core/ts/iterator.js'
import { Memtable } from '../ts/core/ts/memtable.js'
import { MergingIterator, UserIterator } from '../ts/core/ts/merge-iterator.js'

const b = (s: string) => new TextEncoder().encode(s)
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
const str = (u: Uint8Array) => Buffer.from(u).toString('latin1')

/** Index of the last element satisfying `pred`, or -1 (Array#findLastIndex is ES2023). */
function findLast<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i]!)) return i
  return -1
}

/** A sorted-array InternalIterator: the simplest possible child. */
class ArrayIterator implements InternalIterator {
  private i = -1
  constructor(private readonly rows: readonly (readonly [Uint8Array, Uint8Array])[]) {}
  valid() { return this.i >= 0 && this.i < this.rows.length }
  seekToFirst() { this.i = 0 }
  seekToLast() { this.i = this.rows.length - 1 }
  seek(target: Uint8Array) {
    this.i = this.rows.findIndex(r => compareInternalKeys(r[0], target) >= 0)
    if (this.i < 0) this.i = this.rows.length
  }
  seekForPrev(target: Uint8Array) {
    this.i = findLast(this.rows, r => compareInternalKeys(r[0], target) <= 0)
  }
  next() { assert.ok(this.valid()); this.i++ }
  prev() { assert.ok(this.valid()); this.i-- }
  key() { assert.ok(this.valid()); return this.rows[this.i]![0] }
  value() { assert.ok(this.valid()); return this.rows[this.i]![1] }
}

interface Version { key: Uint8Array; seq: number; kind: Kind; value: Uint8Array }

/** Builds child iterators from `parts`, alternating memtables and array iterators. */
function makeChild(part: Version[], useMemtable: boolean): InternalIterator {
  if (useMemtable) {
    const m = new Memtable()
    for (const v of part) m.add(v.seq, v.kind, v.key, v.value)
    return m.iterator()
  }
  const rows = part.map(v => [makeInternalKey(v.key, v.seq, v.kind), v.kind === Kind.Put ? v.value : new Uint8Array(0)] as const)
  return new ArrayIterator(rows.sort((x, y) => compareInternalKeys(x[0], y[0])))
}

const keyArb = fc.uint8Array({ maxLength: 3, min: 0x61, max: 0x63 })
const seqArb = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: MAX_SEQUENCE }))

/** Versions with distinct sequences, each assigned to one of `children` children. */
const partitionedArb = fc.integer({ min: 0, max: 6 }).chain(children =>
  fc.array(fc.record({ key: keyArb, kind: fc.constantFrom(Kind.Put, Kind.Delete), value: fc.uint8Array({ maxLength: 4 }), child: fc.nat(Math.max(0, children - 1)) }), { maxLength: children === 0 ? 0 : 80 })
    .chain(ops => fc.uniqueArray(seqArb, { minLength: ops.length, maxLength: ops.length }).map(seqs => ({
      children,
      versions: ops.map((op, i) => ({ key: op.key, kind: op.kind, value: op.kind === Kind.Put ? op.value : new Uint8Array(0), seq: seqs[i]!, child: op.child })),
    }))))

/** A positioning call followed by single steps (true = next, false = prev). */
const walkArb = fc.record({
  start: fc.oneof(
    fc.constant({ op: 'first' as const }),
    fc.constant({ op: 'last' as const }),
    fc.record({ op: fc.constantFrom('seek' as const, 'seekForPrev' as const), key: keyArb, seq: seqArb, kind: fc.constantFrom(Kind.Put, Kind.Delete) }),
  ),
  steps: fc.array(fc.boolean(), { maxLength: 14 }),
})

/** Checks `valid/key/value` against `rows[i]` after each step. */
function followWalk(valid: () => boolean, current: () => [string, string], rows: [string, string][], i: number, steps: boolean[], step: (fwd: boolean) => void, what: string): void {
  for (const fwd of [...steps, true]) {
    assert.equal(valid(), i >= 0 && i < rows.length, `${what}: valid() at model index ${i} of ${rows.length}`)
    if (!valid()) return
    assert.deepEqual(current(), rows[i], `${what}: entry at model index ${i}`)
    step(fwd)
    i += fwd ? 1 : -1
  }
}

test('merging interleaved children gives one sorted stream both ways', t => {
  const v = (k: string, seq: number, kind: Kind = Kind.Put): Version => ({ key: b(k), seq, kind, value: b(`${k}${seq}`) })
  const a = makeChild([v('a', 1), v('c', 3), v('e', 9)], true)
  const c = makeChild([v('b', 2), v('c', 7), v('f', 4, Kind.Delete)], false)
  const d = makeChild([], true)
  const it = new MergingIterator([a, d, c])
  const show = () => `${str(it.key().subarray(0, it.key().length - 8))}${str(it.value())}`
  const fwd: string[] = []
  for (it.seekToFirst(); it.valid(); it.next()) fwd.push(show())
  t.deepEqual(fwd, ['aa1', 'bb2', 'cc7', 'cc3', 'ee9', 'f'])
  const back: string[] = []
  for (it.seekToLast(); it.valid(); it.prev()) back.push(show())
  t.deepEqual(back, [...fwd].reverse())
  // Direction switches in the middle, as LevelDB's merger test does.
  it.seek(makeInternalKey(b('c'), 5, Kind.Put))
  t.is(show(), 'cc3')
  it.prev()
  t.is(show(), 'cc7')
  it.prev()
  t.is(show(), 'bb2')
  it.next()
  t.is(show(), 'cc7')
  it.next()
  t.is(show(), 'cc3')
  it.next()
  t.is(show(), 'ee9')
  it.seekForPrev(makeInternalKey(b('d'), 0, Kind.Delete))
  t.is(show(), 'cc3')
  it.next()
  t.is(show(), 'ee9')
  it.seekForPrev(makeInternalKey(b('a'), 0, Kind.Put))
  t.is(show(), 'aa1')
  it.prev()
  t.false(it.valid())
})

test('a merging iterator with no children is never valid', t => {
  const it = new MergingIterator([])
  it.seekToFirst()
  t.false(it.valid())
  it.seekToLast()
  t.false(it.valid())
  it.seek(b('anything'))
  t.false(it.valid())
})

test('property: merging agrees with the sorted union, through seeks and direction switches', t => {
  fc.assert(fc.property(partitionedArb, fc.array(fc.boolean(), { maxLength: 6 }), fc.array(walkArb, { maxLength: 8 }), fc.boolean(), (p, kinds, walks, dupes) => {
    const parts: Version[][] = Array.from({ length: p.children }, () => [])
    for (const v of p.versions) parts[v.child]!.push(v)
    // Optionally copy one child's entries into another with other values: equal internal
    // keys in two children must come out in child order forward and the reverse backward.
    if (dupes && p.children >= 2) parts[1]!.push(...parts[0]!.map(v => ({ ...v, value: v.kind === Kind.Put ? b('dup') : v.value })))
    const rows = parts.flatMap((part, child) => part.map(v => ({ ik: makeInternalKey(v.key, v.seq, v.kind), child, value: v.value })))
      .sort((x, y) => compareInternalKeys(x.ik, y.ik) || x.child - y.child)
    const model = rows.map(r => [hex(r.ik), hex(r.value)] as [string, string])
    const it = new MergingIterator(parts.map((part, i) => makeChild(part, kinds[i] ?? false)))
    const cur = (): [string, string] => [hex(it.key()), hex(it.value())]
    const fwd: [string, string][] = []
    for (it.seekToFirst(); it.valid(); it.next()) fwd.push(cur())
    assert.deepEqual(fwd, model)
    const back: [string, string][] = []
    for (it.seekToLast(); it.valid(); it.prev()) back.push(cur())
    assert.deepEqual(back, [...model].reverse())
    for (const w of walks) {
      let i: number
      const s = w.start
      if (s.op === 'first') { it.seekToFirst(); i = 0 }
      else if (s.op === 'last') { it.seekToLast(); i = model.length - 1 }
      else {
        const target = makeInternalKey(s.key, s.seq, s.kind)
        if (s.op === 'seek') { it.seek(target); i = rows.findIndex(r => compareInternalKeys(r.ik, target) >= 0); if (i < 0) i = rows.length }
        else { it.seekForPrev(target); i = findLast(rows, r => compareInternalKeys(r.ik, target) <= 0) }
      }
      followWalk(() => it.valid(), cur, model, i, w.steps, fwd => (fwd ? it.next() : it.prev()), s.op)
    }
  }), { numRuns: 400 })
  t.pass()
})

test('user iteration shows the newest visible version per key and hides deleted keys', t => {
  const m = new Memtable()
  m.add(1, Kind.Put, b('a'), b('a1'))
  m.add(2, Kind.Put, b('b'), b('b2'))
  m.add(3, Kind.Delete, b('a'))
  m.add(4, Kind.Put, b('c'), b('c4'))
  m.add(5, Kind.Put, b('b'), b('b5'))
  m.add(6, Kind.Put, b('a'), b('a6'))
  m.add(7, Kind.Delete, b('c'))
  const view = (snap: number, reverse = false): string[] => {
    const it = new UserIterator(new MergingIterator([m.iterator()]), snap)
    const out: string[] = []
    if (reverse) for (it.seekToLast(); it.valid(); it.prev()) out.push(`${str(it.key())}=${str(it.value())}`)
    else for (it.seekToFirst(); it.valid(); it.next()) out.push(`${str(it.key())}=${str(it.value())}`)
    return out
  }
  t.deepEqual(view(0), [])
  t.deepEqual(view(2), ['a=a1', 'b=b2'])
  t.deepEqual(view(3), ['b=b2'])
  t.deepEqual(view(4), ['b=b2', 'c=c4'])
  t.deepEqual(view(6), ['a=a6', 'b=b5', 'c=c4'])
  t.deepEqual(view(7), ['a=a6', 'b=b5'])
  t.deepEqual(view(7, true), ['b=b5', 'a=a6'])
  t.deepEqual(view(4, true), ['c=c4', 'b=b2'])

  const it = new UserIterator(m.iterator(), 4)
  it.seek(b('a'))
  t.is(str(it.key()), 'b')
  it.seekForPrev(b('bb'))
  t.is(str(it.key()), 'b')
  t.is(str(it.value()), 'b2')
  it.next()
  t.is(str(it.key()), 'c')
  it.prev()
  t.is(str(it.key()), 'b')
  it.prev()
  t.false(it.valid())
  it.seekForPrev(b('a'))
  t.false(it.valid(), 'a is deleted at snapshot 4')
  it.seek(b('d'))
  t.false(it.valid())
})

test('property: user iteration agrees with a per-key model at random snapshots, with direction switches', t => {
  const userWalk = fc.record({
    start: fc.oneof(
      fc.constant({ op: 'first' as const }),
      fc.constant({ op: 'last' as const }),
      fc.record({ op: fc.constantFrom('seek' as const, 'seekForPrev' as const), key: keyArb }),
    ),
    steps: fc.array(fc.boolean(), { maxLength: 14 }),
  })
  fc.assert(fc.property(partitionedArb, fc.array(fc.boolean(), { maxLength: 6 }), seqArb, fc.array(userWalk, { maxLength: 8 }), (p, kinds, snapshot, walks) => {
    // The model: for each user key, its newest version at or below the snapshot, if a PUT.
    const newest = new Map<string, Version>()
    for (const v of p.versions) {
      if (v.seq > snapshot) continue
      const k = hex(v.key)
      const cur = newest.get(k)
      if (cur === undefined || v.seq > cur.seq) newest.set(k, v)
    }
    const visible = [...newest.values()].filter(v => v.kind === Kind.Put).sort((x, y) => Buffer.compare(x.key, y.key))
    const model = visible.map(v => [hex(v.key), hex(v.value)] as [string, string])
    const parts: Version[][] = Array.from({ length: p.children }, () => [])
    for (const v of p.versions) parts[v.child]!.push(v)
    const it = new UserIterator(new MergingIterator(parts.map((part, i) => makeChild(part, kinds[i] ?? true))), snapshot)
    const cur = (): [string, string] => [hex(it.key()), hex(it.value())]
    const fwd: [string, string][] = []
    for (it.seekToFirst(); it.valid(); it.next()) fwd.push(cur())
    assert.deepEqual(fwd, model)
    const back: [string, string][] = []
    for (it.seekToLast(); it.valid(); it.prev()) back.push(cur())
    assert.deepEqual(back, [...model].reverse())
    for (const w of walks) {
      let i: number
      const s = w.start
      if (s.op === 'first') { it.seekToFirst(); i = 0 }
      else if (s.op === 'last') { it.seekToLast(); i = model.length - 1 }
      else if (s.op === 'seek') { it.seek(s.key); i = visible.findIndex(v => Buffer.compare(v.key, s.key) >= 0); if (i < 0) i = visible.length }
      else { it.seekForPrev(s.key); i = findLast(visible, v => Buffer.compare(v.key, s.key) <= 0) }
      followWalk(() => it.valid(), cur, model, i, w.steps, fwd => (fwd ? it.next() : it.prev()), `${s.op} at snapshot ${snapshot}`)
    }
  }), { numRuns: 500 })
  t.pass()
})

test('keys and values shown while moving backward stay intact after further moves', t => {
  const m = new Memtable()
  for (let i = 0; i < 50; i++) m.add(i + 1, Kind.Put, b(`k${String(i % 10)}`), b(`v${i}`))
  const it = new UserIterator(m.iterator(), 1000)
  it.seekToLast()
  const k = it.key()
  const v = it.value()
  it.prev()
  it.prev()
  t.is(str(k), 'k9')
  t.is(str(v), 'v49')
  t.is(str(it.key()), 'k7')
  t.is(str(it.value()), 'v47')
})
