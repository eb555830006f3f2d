import test from 'ava'
import fc from 'fast-check'
import { nativeBinding, nativeLoadError } from '../ts/core/native-binding.js'
import { mapError } from '../ts/core/native-core.js'
import { LsmError } from '../ts/errors.js'
import { bloomMayContain, buildBloom } from '../ts/core/ts/bloom.js'
import { crc32c, maskCrc } from '../ts/core/ts/crc32c.js'

// In a source checkout and in CI the addon is built by `npm install`; its absence is a failure.
const native = nativeBinding

test('the native addon loads through node-gyp-build', t => {
  t.truthy(native, `native addon did not load: ${nativeLoadError?.message}`)
  t.regex(native!.coreVersion(), /^\d+\.\d+\.\d+/)
})

test('property: native crc32c equals the TypeScript one, including extension', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 0, max: 0xffffffff }), (data, init) => {
    t.is(native!.crc32c(data), crc32c(data))
    t.is(native!.crc32c(data, init), crc32c(data, init))
    t.is(native!.maskCrc(init), maskCrc(init))
  }), { numRuns: 300 })
})

test('property: native bloom filters are byte-identical to the TypeScript ones and answer alike', t => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 300 }), fc.integer({ min: 1, max: 30 }), fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 50 }), (keys, bpk, probes) => {
    const n = native!.bloomBuild(keys.map(k => Buffer.from(k)), bpk)
    const ts = buildBloom(keys, bpk)
    t.deepEqual(new Uint8Array(n), ts)
    for (const p of [...probes, ...keys]) t.is(native!.bloomMayContain(n, p), bloomMayContain(ts, p))
  }), { numRuns: 200 })
})

test('bad arguments to the native addon throw instead of crashing', t => {
  const e1 = t.throws(() => native!.bloomBuild([Buffer.from('a')], 0))
  t.regex(e1!.message, /^INVALID_ARGUMENT/)
  t.throws(() => (native!.crc32c as (x: unknown) => number)('not a buffer'))
  t.throws(() => (native!.bloomMayContain as (a: unknown, b: unknown) => boolean)(null, Buffer.from('x')))
})

test('a Rust panic surfaces as an IO_ERROR exception and the process lives on', t => {
  const before = native!.crc32c(Buffer.from('still here'))
  for (let i = 0; i < 3; i++) {
    let caught: unknown
    try {
      native!.testPanic!(`deliberate panic ${i}`)
    } catch (e) {
      caught = mapError(e)
    }
    t.true(caught instanceof LsmError, 'the panic became an exception')
    t.is((caught as LsmError).code, 'IO_ERROR')
    t.regex((caught as LsmError).message, new RegExp(`internal error in the native core: deliberate panic ${i}`))
  }
  // The addon still works after the panics.
  t.is(native!.crc32c(Buffer.from('still here')), before)
  // Wrong argument types stay INVALID_ARGUMENT.
  let wrong: unknown
  try {
    native!.maskCrc('x' as unknown as number)
  } catch (e) {
    wrong = mapError(e)
  }
  t.is((wrong as LsmError).code, 'INVALID_ARGUMENT')
})
