/**
 * Loaded by ava before every test file (ava.config.mjs `require`).
 *
 * fast-check sizes arrays and strings by its `baseSize`, not only by the
 * `maxLength` a test gives: at its default ('small') an array is at most ~10
 * long whatever its `maxLength`, so a property over "inputs up to 5000 bytes"
 * never met one past a CRC's or a compressor's short-input path, nor a data
 * block's second restart point. 'medium' lets lengths reach ~100 (still
 * capped by each `maxLength`); tests that need the whole range ask for
 * `size: 'max'` themselves.
 */
import fc from 'fast-check'

fc.configureGlobal({ ...fc.readConfigureGlobal(), baseSize: 'medium' })
