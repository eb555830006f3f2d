import test from 'ava'
import fc from 'fast-check'
import { ByteWriter, Cursor, DecodeError, getFixed32, getFixed64, getVarint, putFixed32, putFixed64, putVarint, varintLength } from '../ts/core/ts/coding.js'

test('fixed32 and fixed64 are little-endian', t => {
  const b = new Uint8Array(12)
  putFixed32(b, 0, 0x04030201)
  putFixed64(b, 4, 0x0706050403 * 256 + 2)
  t.deepEqual([...b.subarray(0, 4)], [1, 2, 3, 4])
  t.deepEqual([...b.subarray(4, 12)], [2, 3, 4, 5, 6, 7, 0, 0])
  t.is(getFixed32(b, 0), 0x04030201)
  t.is(getFixed64(b, 4), 0x0706050403 * 256 + 2)
})

test('varint known encodings', t => {
  const cases: [number, number[]][] = [
    [0, [0]], [1, [1]], [127, [0x7f]], [128, [0x80, 1]], [300, [0xac, 2]],
    [0xffffffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
    [Number.MAX_SAFE_INTEGER, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
  ]
  for (const [v, bytes] of cases) {
    const b = new Uint8Array(10)
    const end = putVarint(b, 0, v)
    t.deepEqual([...b.subarray(0, end)], bytes, `encode ${v}`)
    t.is(varintLength(v), bytes.length)
    t.deepEqual(getVarint(b, 0, 10), [v, bytes.length])
  }
})

test('varint decoding rejects malformed input with DecodeError', t => {
  t.throws(() => getVarint(new Uint8Array([0x80, 0x80]), 0, 10), { instanceOf: DecodeError })
  t.throws(() => getVarint(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x1f]), 0, 5), { instanceOf: DecodeError }, 'varint32 overflow')
  t.throws(() => getVarint(new Uint8Array(6).fill(0x80), 0, 5), { instanceOf: DecodeError }, 'too long')
  t.throws(() => getVarint(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 0, 10), { instanceOf: DecodeError }, 'beyond 2^53')
  t.throws(() => getFixed32(new Uint8Array(3), 0), { instanceOf: DecodeError })
})

test('property: ByteWriter and Cursor round-trip any sequence of fields', t => {
  const field = fc.oneof(
    fc.record({ t: fc.constant('u8' as const), v: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ t: fc.constant('f32' as const), v: fc.integer({ min: 0, max: 0xffffffff }) }),
    fc.record({ t: fc.constant('f64' as const), v: fc.maxSafeNat() }),
    fc.record({ t: fc.constant('var' as const), v: fc.maxSafeNat() }),
    fc.record({ t: fc.constant('lp' as const), v: fc.uint8Array({ maxLength: 300 }) }),
  )
  fc.assert(fc.property(fc.array(field, { maxLength: 40 }), fields => {
    const w = new ByteWriter(1)
    for (const f of fields) {
      if (f.t === 'u8') w.u8(f.v)
      else if (f.t === 'f32') w.fixed32(f.v)
      else if (f.t === 'f64') w.fixed64(f.v)
      else if (f.t === 'var') w.varint(f.v)
      else w.lpbytes(f.v)
    }
    const c = new Cursor(w.finish())
    for (const f of fields) {
      const got = f.t === 'u8' ? c.u8() : f.t === 'f32' ? c.fixed32() : f.t === 'f64' ? c.fixed64() : f.t === 'var' ? c.varint64() : c.lpbytes()
      if (f.t === 'lp') t.deepEqual(got, f.v)
      else t.is(got, f.v)
    }
    t.is(c.remaining, 0)
    t.throws(() => c.u8(), { instanceOf: DecodeError })
  }), { numRuns: 300 })
})
