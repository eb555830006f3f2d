import test from 'ava'
import fc from 'fast-check'
import { DecodeError, putFixed32, putFixed64 } from '../ts/core/ts/coding.js'
import { Kind, MAX_KEY_LENGTH, MAX_SEQUENCE } from '../ts/core/ts/internal-key.js'
import { decodeWriteGroup, encodeWriteGroup, forEachInGroup, GroupWalker, validateWriteGroup, type WriteOp } from '../ts/core/ts/write-group.js'

const b = (s: string) => new TextEncoder().encode(s)
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')

/** Plain-data form of ops, so deepEqual compares bytes, not array types. */
const plain = (ops: WriteOp[]) => ops.map(o => (o.kind === Kind.Put ? [o.kind, hex(o.key), hex(o.value ?? new Uint8Array(0))] : [o.kind, hex(o.key)]))

const opArb: fc.Arbitrary<WriteOp> = fc.oneof(
  fc.record({ kind: fc.constant(Kind.Put), key: fc.uint8Array({ maxLength: 20 }), value: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({ kind: fc.constant(Kind.Delete), key: fc.uint8Array({ maxLength: 20 }) }),
) as fc.Arbitrary<WriteOp>
const groupArb = fc.record({
  firstSeq: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: MAX_SEQUENCE - 100 })),
  ops: fc.array(opArb, { minLength: 1, maxLength: 12 }),
})

/** Header bytes by hand, for building malformed groups. */
function header(firstSeq: number, count: number): number[] {
  const h = new Uint8Array(12)
  putFixed64(h, 0, firstSeq)
  putFixed32(h, 8, count)
  return [...h]
}

test('encoding matches the byte layout of FORMAT.md §2.2', t => {
  const bytes = encodeWriteGroup(0x0102_0304_05, [
    { kind: Kind.Put, key: b('ab'), value: b('xyz') },
    { kind: Kind.Delete, key: b('c') },
    { kind: Kind.Put, key: new Uint8Array(0) },
  ])
  t.is(hex(bytes), [
    '0504030201000000', // firstSeq fixed64 LE
    '03000000', // count fixed32
    '01' + '02' + '6162' + '03' + '78797a', // PUT "ab" = "xyz"
    '00' + '01' + '63', // DELETE "c" (no value)
    '01' + '00' + '00', // PUT "" = ""
  ].join(''))
})

test('a 200-byte key uses a two-byte varint length', t => {
  const key = new Uint8Array(200).fill(7)
  const bytes = encodeWriteGroup(1, [{ kind: Kind.Delete, key }])
  t.deepEqual([...bytes.subarray(12, 15)], [0, 0xc8, 0x01])
  t.is(bytes.length, 12 + 3 + 200)
})

test('decode returns what was encoded; forEachInGroup visits the same entries with consecutive sequences', t => {
  fc.assert(fc.property(groupArb, ({ firstSeq, ops }) => {
    const bytes = encodeWriteGroup(firstSeq, ops)
    const d = decodeWriteGroup(bytes)
    t.is(d.firstSeq, firstSeq)
    t.deepEqual(plain(d.ops), plain(ops))
    // DELETE ops carry no value after decoding.
    d.ops.forEach(o => t.is(o.value === undefined, o.kind === Kind.Delete))
    const seen: unknown[] = []
    const last = forEachInGroup(bytes, (seq, kind, key, value) => seen.push([seq, kind, hex(key), hex(value)]))
    t.is(last, firstSeq + ops.length - 1)
    t.deepEqual(seen, ops.map((o, i) => [firstSeq + i, o.kind, hex(o.key), o.kind === Kind.Put ? hex(o.value!) : '']))
    t.is(validateWriteGroup(bytes), ops.length)
  }), { numRuns: 300 })
})

test('views returned by the decoders point into the input bytes', t => {
  const bytes = encodeWriteGroup(9, [{ kind: Kind.Put, key: b('key'), value: b('value') }])
  const op = decodeWriteGroup(bytes).ops[0]!
  t.is(op.key.buffer, bytes.buffer)
  t.is(op.value!.buffer, bytes.buffer)
})

/** [case, the reason the decoders must give, bytes]: the regex proves each is refused for its own reason. */
const malformed: [string, RegExp, number[]][] = [
  ['empty input', /shorter than its header/, []],
  ['header cut short', /shorter than its header/, header(1, 1).slice(0, 11)],
  ['count 0', /count 0/, header(1, 0)],
  ['count 0 with trailing bytes', /count 0/, [...header(1, 0), 0, 0]],
  ['firstSeq 0', /sequence 0/, [...header(0, 1), 0, 0]],
  ['unknown kind 2', /unknown kind 2/, [...header(1, 1), 2, 0]],
  ['unknown kind 0xff', /unknown kind 255/, [...header(1, 1), 0xff, 0]],
  ['leftover byte', /1 bytes after/, [...header(1, 1), 0, 0, 0]],
  ['missing entry', /cannot fit/, [...header(1, 2), 0, 0]],
  ['key runs past the end', /key runs past/, [...header(1, 1), 0, 3, 0x61, 0x62]],
  ['PUT without value length', /varint runs past/, [...header(1, 1), 1, 1, 0x61]],
  ['value runs past the end', /value runs past/, [...header(1, 1), 1, 1, 0x61, 5, 1, 2]],
  ['varint longer than 5 bytes', /longer than 5/, [...header(1, 1), 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
  ['varint32 overflow', /overflows/, [...header(1, 1), 0, 0xff, 0xff, 0xff, 0xff, 0x1f]],
  ['padded varint', /minimally/, [...header(1, 1), 0, 0x80, 0x00]],
  ['key longer than MAX_KEY_LENGTH', /65537 bytes exceeds 65536/, [...header(1, 1), 0, 0x81, 0x80, 0x04, ...new Uint8Array(MAX_KEY_LENGTH + 1)]],
  ['sequence overflow', /exceed 2\^45/, [...header(MAX_SEQUENCE, 2), 0, 0, 0, 0]],
  ['firstSeq past MAX_SEQUENCE', /exceed 2\^45/, [...header(MAX_SEQUENCE + 1, 1), 0, 0]],
  ['firstSeq past 2^53', /exceeds 2\^53/, [0, 0, 0, 0, 0, 0, 0x40, 0, 1, 0, 0, 0, 0, 0]],
  ['huge count', /cannot fit/, [...header(1, 0xffff_ffff), 0, 0]],
]

for (const [name, message, bytes] of malformed) {
  test(`decoders reject: ${name}`, t => {
    const u = new Uint8Array(bytes)
    t.throws(() => decodeWriteGroup(u), { instanceOf: DecodeError, message })
    let calls = 0
    t.throws(() => forEachInGroup(u, () => calls++), { instanceOf: DecodeError, message })
    t.is(calls, 0, 'forEachInGroup validates before the first callback')
  })
}

test('boundary values are accepted: a key of exactly MAX_KEY_LENGTH, the last sequence MAX_SEQUENCE', t => {
  const key = new Uint8Array(MAX_KEY_LENGTH).fill(1)
  const bytes = encodeWriteGroup(MAX_SEQUENCE - 1, [{ kind: Kind.Delete, key }, { kind: Kind.Put, key: b('k'), value: b('v') }])
  const d = decodeWriteGroup(bytes)
  t.is(d.ops[0]!.key.length, MAX_KEY_LENGTH)
  t.is(forEachInGroup(bytes, () => {}), MAX_SEQUENCE)
})

test('encoding refuses invalid groups with INVALID_ARGUMENT', t => {
  const put = { kind: Kind.Put, key: b('k'), value: b('v') } as WriteOp
  const bad: [number, WriteOp[]][] = [
    [1, []],
    [0, [put]],
    [1.5, [put]],
    [MAX_SEQUENCE, [put, put]],
    [1, [{ kind: 7 as Kind, key: b('k') }]],
    [1, [{ kind: Kind.Delete, key: new Uint8Array(MAX_KEY_LENGTH + 1) }]],
  ]
  for (const [seq, ops] of bad) {
    const err = t.throws(() => encodeWriteGroup(seq, ops))
    t.is((err as { code?: string }).code, 'INVALID_ARGUMENT')
  }
})

/** Decodes `bytes`; a non-DecodeError exception fails the property. Accepted input must re-encode identically. */
function decodeOrRejectCleanly(bytes: Uint8Array): boolean {
  let d: { firstSeq: number; ops: WriteOp[] }
  try {
    d = decodeWriteGroup(bytes)
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e
    // forEachInGroup must refuse the same input, and with the same error type.
    try {
      forEachInGroup(bytes, () => {})
    } catch (e2) {
      if (e2 instanceof DecodeError) return false
      throw e2
    }
    throw new Error('forEachInGroup accepted bytes that decodeWriteGroup refused')
  }
  const again = encodeWriteGroup(d.firstSeq, d.ops)
  if (hex(again) !== hex(bytes)) throw new Error(`accepted ${hex(bytes)} re-encodes as ${hex(again)}`)
  return true
}

test('fuzz: random bytes are rejected with DecodeError or decode canonically', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
    decodeOrRejectCleanly(bytes)
  }), { numRuns: 2000 })
  // Random bodies behind a plausible header, made mostly of small bytes (valid kinds
  // and short lengths), reach every branch of the entry decoder and sometimes decode.
  let accepted = 0
  const byte = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 2 }), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 1 })
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.array(byte, { maxLength: 40 }), (count, body) => {
    if (decodeOrRejectCleanly(new Uint8Array([...header(5, count), ...body]))) accepted++
  }), { numRuns: 3000 })
  t.true(accepted > 0, 'some random bodies should decode')
})

test('fuzz: bit flips, truncations, extensions and splices of valid groups', t => {
  let rejected = 0
  let accepted = 0
  const mutation = fc.oneof(
    fc.record({ t: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ t: fc.constant('truncate' as const), pos: fc.nat() }),
    fc.record({ t: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
    fc.record({ t: fc.constant('set' as const), pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ t: fc.constant('delete' as const), pos: fc.nat() }),
  )
  fc.assert(fc.property(groupArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), ({ firstSeq, ops }, muts) => {
    let bytes = [...encodeWriteGroup(firstSeq, ops)]
    for (const m of muts) {
      if (bytes.length === 0) break
      if (m.t === 'flip') bytes[m.pos % bytes.length]! ^= 1 << m.bit
      else if (m.t === 'set') bytes[m.pos % bytes.length] = m.byte
      else if (m.t === 'truncate') bytes = bytes.slice(0, m.pos % bytes.length)
      else if (m.t === 'delete') bytes.splice(m.pos % bytes.length, 1)
      else bytes = [...bytes, ...m.extra]
    }
    if (decodeOrRejectCleanly(new Uint8Array(bytes))) accepted++
    else rejected++
  }), { numRuns: 3000 })
  t.true(rejected > 0)
  t.true(accepted > 0, 'flips inside keys and values still decode')
})

test('every proper prefix of a valid group is rejected', t => {
  fc.assert(fc.property(groupArb, ({ firstSeq, ops }) => {
    const bytes = encodeWriteGroup(firstSeq, ops)
    for (let n = 0; n < bytes.length; n++) {
      t.throws(() => decodeWriteGroup(bytes.subarray(0, n)), { instanceOf: DecodeError })
    }
  }), { numRuns: 100 })
})

test('a GroupWalker visits in slices exactly what forEachInGroup visits', t => {
  fc.assert(fc.property(groupArb, fc.integer({ min: 1, max: 5 }), ({ firstSeq, ops }, slice) => {
    const bytes = encodeWriteGroup(firstSeq, ops)
    const whole: unknown[] = []
    forEachInGroup(bytes, (seq, kind, key, value) => whole.push([seq, kind, hex(key), hex(value)]))
    const sliced: unknown[] = []
    const w = new GroupWalker(bytes)
    let calls = 0
    while (!w.visit(slice, (seq, kind, key, value) => sliced.push([seq, kind, hex(key), hex(value)]))) calls++
    t.deepEqual(sliced, whole)
    t.is(calls, Math.ceil(ops.length / slice) - 1)
  }))
})

test('a GroupWalker finds trailing bytes only at the end, after visiting every entry', t => {
  const good = encodeWriteGroup(5, [{ kind: Kind.Put, key: b('a'), value: b('1') }, { kind: Kind.Delete, key: b('b') }])
  const bad = new Uint8Array([...good, 0])
  const w = new GroupWalker(bad)
  const seen: number[] = []
  t.false(w.visit(1, seq => seen.push(seq)))
  t.throws(() => w.visit(1, seq => seen.push(seq)), { instanceOf: DecodeError, message: /1 bytes after its 2 entries/ })
  t.deepEqual(seen, [5, 6])
  t.throws(() => new GroupWalker(bad).visit(Infinity, null), { instanceOf: DecodeError })
})
