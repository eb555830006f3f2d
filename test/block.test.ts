import test from 'ava'
import fc from 'fast-check'
import { Block, BlockBuilder } from '../ts/core/ts/block.js'
import { DecodeError } from '../ts/core/ts/coding.js'
import { Kind, makeInternalKey } from '../ts/core/ts/internal-key.js'
import { checkIterator, sortedEntries } from './helpers/model.js'

const enc = (s: string) => new TextEncoder().encode(s)

function build(entries: [Uint8Array, Uint8Array][], interval = 16): Uint8Array {
  const b = new BlockBuilder(interval)
  for (const [k, v] of entries) b.add(k, v)
  return b.finish()
}

test('layout: prefix compression and restart array', t => {
  const a = makeInternalKey(enc('abc'), 1, Kind.Put)
  const b = makeInternalKey(enc('abd'), 2, Kind.Put)
  const bytes = build([[a, enc('x')], [b, enc('yy')]], 16)
  // entry 0: shared 0, unshared 11, vlen 1, key, value
  t.deepEqual([...bytes.subarray(0, 3)], [0, 11, 1])
  // entry 1 shares "ab" (2 bytes) with entry 0
  const e1 = 3 + 11 + 1
  t.deepEqual([...bytes.subarray(e1, e1 + 3)], [2, 9, 2])
  // one restart at 0, count 1
  t.deepEqual([...bytes.subarray(bytes.length - 8)], [0, 0, 0, 0, 1, 0, 0, 0])
})

test('estimated size equals the finished size', t => {
  const b = new BlockBuilder(4)
  for (let i = 0; i < 50; i++) b.add(makeInternalKey(enc(`key${String(i).padStart(3, '0')}`), 1, Kind.Put), enc('v'.repeat(i)))
  const est = b.estimatedSize
  t.is(b.finish().length, est)
})

for (const interval of [1, 2, 16, 1024]) {
  test(`property: block iterator agrees with a sorted model (restart interval ${interval})`, t => {
    fc.assert(fc.property(sortedEntries(200), fc.array(fc.uint8Array({ maxLength: 12, min: 96, max: 101 }), { maxLength: 8 }), fc.integer({ min: 1, max: 2 ** 45 - 1 }), (model, seekKeys, seq) => {
      const block = new Block(build(model, interval))
      const seeks = [...seekKeys.map(k => makeInternalKey(k, seq, Kind.Put)), ...model.slice(0, 3).map(e => e[0])]
      checkIterator(block.iterator(), model, seeks, (a, b, m) => t.deepEqual(a, b, m))
    }), { numRuns: 60 })
  })
}

test('malformed blocks are rejected with DecodeError', t => {
  const good = build([[makeInternalKey(enc('a'), 1, Kind.Put), enc('1')], [makeInternalKey(enc('b'), 2, Kind.Put), enc('2')]], 1)
  t.throws(() => new Block(new Uint8Array(3)), { instanceOf: DecodeError })
  const badCount = good.slice()
  badCount[badCount.length - 4] = 200
  t.throws(() => new Block(badCount), { instanceOf: DecodeError })
  const badRestart = good.slice()
  badRestart[badRestart.length - 8] = 250
  t.throws(() => new Block(badRestart), { instanceOf: DecodeError })
  // An entry whose value length runs past the entry area.
  const badLen = good.slice()
  badLen[2] = 120
  t.throws(() => { const it = new Block(badLen).iterator(); it.seekToFirst() }, { instanceOf: DecodeError })
})

for (const interval of [1, 3, 16]) {
  test(`property: a random walk of next/prev/seek matches the model (restart interval ${interval})`, t => {
    fc.assert(fc.property(sortedEntries(120), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 300 }), (model, moves) => {
      if (model.length === 0) return
      const it = new Block(build(model, interval)).iterator()
      let i = model.length - 1
      it.seekToLast()
      for (const m of moves) {
        if (i < 0 || i >= model.length) {
          // Off either end: start again from a random place.
          i = m % model.length
          it.seek(model[i]![0])
        } else if (m < 6) {
          it.prev()
          i--
        } else if (m < 9) {
          it.next()
          i++
        } else {
          i = (i * 7 + 3) % model.length
          it.seek(model[i]![0])
        }
        const want = model[i]
        t.deepEqual(it.valid() ? [it.key().slice(), it.value().slice()] : undefined, want)
      }
    }), { numRuns: 60 })
  })
}
