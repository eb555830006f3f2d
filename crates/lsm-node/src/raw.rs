//! `readViewGet` as a plain N-API callback. A point read is one boundary
//! crossing whose glue is a large share of a read the block cache answers
//! (about 190 ns of the ~1.3 µs of a read that finds nothing): napi-rs wraps
//! each exported function in argument-borrow bookkeeping (a scope, a
//! barrier, guards for every typed array), which a read that keeps no
//! reference to its arguments past the call does not need. This callback
//! does the same conversions by hand, with the same checks: the view through
//! napi-rs's type-checked `External`, the key and output as `Uint8Array`s,
//! errors and panics thrown as the generated functions throw them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::{External, FromNapiRef, JsObjectValue, Object};
use napi::{sys, Env, JsError};
use napi_derive::napi;

use crate::convert::{invalid, out_start, overlap, panic_error, point_read_at, to_js};
use crate::view::SharedView;

/// Adds the callbacks of this module to the addon's exports.
#[napi(module_exports)]
pub fn register_raw(mut exports: Object, env: Env) -> napi::Result<()> {
    let name = "readViewGetRaw";
    let mut f = ptr::null_mut();
    // SAFETY: `env` is the live environment this init runs in; the name is
    // passed with its length, and the callback takes no data pointer.
    let status = unsafe {
        sys::napi_create_function(
            env.raw(),
            name.as_ptr().cast(),
            name.len() as isize,
            Some(read_view_get_raw),
            ptr::null_mut(),
            &mut f,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_reason(format!(
            "IO_ERROR: could not create {name} (status {status})"
        )));
    }
    // SAFETY: `f` is a function value just created in `env`.
    exports.set_named_property(name, unsafe {
        napi::Unknown::from_raw_unchecked(env.raw(), f)
    })
}

/// `readViewGetRaw(reader, userKey, snapshotSeq, out, outOffset)`: the same
/// contract as `readViewGet` (see `view.rs`).
unsafe extern "C" fn read_view_get_raw(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // A panic must become an exception, never unwind into Node.
    // SAFETY: `env` and `info` are the ones Node passed to this callback.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe { read_view_get(env, info) }))
        .unwrap_or_else(|payload| Err(panic_error(payload)));
    match result {
        Ok(n) => {
            let mut value = ptr::null_mut();
            // SAFETY: `env` is live for the whole callback.
            if unsafe { sys::napi_create_double(env, n, &mut value) } != sys::Status::napi_ok {
                return ptr::null_mut();
            }
            value
        }
        Err(e) => {
            // SAFETY: as above; returning null with an exception pending is
            // how an N-API callback throws.
            unsafe { JsError::from(e).throw_into(env) };
            ptr::null_mut()
        }
    }
}

/// # Safety
/// `env` and `info` must be those of the current callback.
unsafe fn read_view_get(env: sys::napi_env, info: sys::napi_callback_info) -> napi::Result<f64> {
    let mut argc = 5usize;
    let mut argv = [ptr::null_mut(); 5];
    // SAFETY: `argv` has room for `argc` values.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok || argc < 5 {
        return Err(invalid(
            "readViewGet takes (reader, userKey, snapshotSeq, out, outOffset)",
        ));
    }
    // SAFETY: the values are arguments of this callback; `External` checks
    // that the value is an external holding a `SharedView`.
    let reader = unsafe { <External<SharedView> as FromNapiRef>::from_napi_ref(env, argv[0]) }?;
    // SAFETY: as above.
    let (key_ptr, key_len) = unsafe { uint8_array(env, argv[1], "userKey") }?;
    let snapshot_seq = unsafe { number(env, argv[2], "snapshotSeq") }?;
    let (out_ptr, out_len) = unsafe { uint8_array(env, argv[3], "out") }?;
    let out_offset = unsafe { number(env, argv[4], "outOffset") }?;
    let start = out_start(out_len, out_offset)?;
    // A key that lies in the output (a value handed out earlier, read back
    // as a key) is copied before the output is written.
    let overlaps = overlap((key_ptr, key_len), (out_ptr, out_len));
    // SAFETY: both ranges are the live contents of typed arrays for the
    // length of this synchronous call (no JS runs before it returns, so
    // nothing can detach or resize them); the key slice is only read, and
    // when it overlaps the output it is copied and dropped before the
    // output slice exists, so the `&mut` aliases nothing.
    let copied: Option<Vec<u8>> =
        overlaps.then(|| unsafe { std::slice::from_raw_parts(key_ptr, key_len) }.to_vec());
    let key: &[u8] = match &copied {
        Some(k) => k,
        None => unsafe { std::slice::from_raw_parts(key_ptr, key_len) },
    };
    let out = unsafe { std::slice::from_raw_parts_mut(out_ptr, out_len) };
    let view = reader.borrow();
    point_read_at(&mut out[start..], key, snapshot_seq, |key, snap, visit| {
        view.get_with(key, snap, visit).map_err(to_js)
    })
}

/// The bytes of a `Uint8Array` (a Buffer is one) as a pointer and length.
///
/// # Safety
/// `env` and `value` must be live in the current callback.
unsafe fn uint8_array(
    env: sys::napi_env,
    value: sys::napi_value,
    what: &str,
) -> napi::Result<(*mut u8, usize)> {
    let mut ty = 0;
    let mut len = 0usize;
    let mut data: *mut std::ffi::c_void = ptr::null_mut();
    // SAFETY: out-parameters are valid; N-API reports a non-typed-array as
    // an error status.
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env,
            value,
            &mut ty,
            &mut len,
            &mut data,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok || ty != sys::TypedarrayType::uint8_array {
        return Err(invalid(format!("{what} must be a Uint8Array")));
    }
    // An empty array may have no backing memory.
    if data.is_null() || len == 0 {
        return Ok((ptr::NonNull::<u8>::dangling().as_ptr(), 0));
    }
    Ok((data.cast(), len))
}

/// A JS number argument.
///
/// # Safety
/// `env` and `value` must be live in the current callback.
unsafe fn number(env: sys::napi_env, value: sys::napi_value, what: &str) -> napi::Result<f64> {
    let mut n = 0f64;
    // SAFETY: out-parameter valid; a non-number is an error status.
    if unsafe { sys::napi_get_value_double(env, value, &mut n) } != sys::Status::napi_ok {
        return Err(invalid(format!("{what} must be a number")));
    }
    Ok(n)
}
