//! How a job on a thread of ours settles its promise on the JS thread.
//!
//! One libuv async handle per JS thread (per Node environment) carries every
//! wake-up: a finished job pushes its result on a queue, lets go of the
//! queue's lock, and only then signals the handle; the handle's callback, on
//! the JS thread, takes the queue and settles each promise. Nothing the JS
//! thread waits for is held while it is woken.
//!
//! Why not napi-rs's `JsDeferred`: it makes a threadsafe function per promise,
//! and Node signals a threadsafe function's handle while holding that
//! function's queue lock. Woken at once (it runs at a higher priority than
//! our threads), the JS thread then had to wait for that lock until the
//! signalling thread ran again: on two busy cores up to 7 ms per promise
//! (`perf` of the main thread's futex waits, docs/PERFORMANCE.md). The value a
//! job kept alive (a JS buffer it read) is also let go of on the JS thread
//! here, instead of through napi-rs's own threadsafe function for stray
//! references.

use std::cell::Cell;
use std::ffi::c_void;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Arc, Mutex, RwLock};

use napi::bindgen_prelude::{FromNapiValue, Object, ToNapiValue};
use napi::{sys, Env};

/// libuv's `uv_async_t`, used only through pointers (its size comes from
/// `uv_handle_size`).
#[repr(C)]
struct UvAsync {
    _opaque: [u8; 0],
}

/// `UV_ASYNC` of libuv's `uv_handle_type`.
const UV_ASYNC: c_int = 1;

// Exported by the Node binary, as napi-sys's own `uv_run`.
extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_async_init(
        event_loop: *mut sys::uv_loop_s,
        handle: *mut UvAsync,
        cb: extern "C" fn(*mut UvAsync),
    ) -> c_int;
    fn uv_async_send(handle: *mut UvAsync) -> c_int;
    fn uv_close(handle: *mut UvAsync, cb: extern "C" fn(*mut UvAsync));
    fn uv_ref(handle: *mut UvAsync);
    fn uv_unref(handle: *mut UvAsync);
}

/// Makes a settled promise's value (or its rejection) on the JS thread, and
/// drops there whatever the job kept alive.
pub(crate) type Settle = Box<dyn FnOnce(sys::napi_env) -> napi::Result<sys::napi_value> + Send>;

/// A finished job: its promise (a `napi_deferred`) and how to settle it.
struct Done {
    deferred: usize,
    settle: Settle,
}

/// What the job threads share with the JS thread.
struct Shared {
    /// Finished jobs not yet settled.
    queue: Mutex<Vec<Done>>,
    /// The async handle (as an address) while it is open. Signalling threads
    /// hold it shared; the environment's teardown takes it exclusively to
    /// close the handle, so no thread signals a closed handle.
    handle: RwLock<Option<usize>>,
}

/// The JS thread's side, owned by the handle (its `data`) and freed when the
/// handle closes.
struct Local {
    env: sys::napi_env,
    handle: *mut UvAsync,
    shared: Arc<Shared>,
    /// Promises made and not yet settled: the handle keeps the event loop
    /// alive while there are any, as a pending `fs` call would.
    pending: usize,
    /// The queue's other vector, swapped with it on each wake-up.
    spare: Vec<Done>,
    /// Async context for the callback scope the promises settle in.
    context: sys::napi_async_context,
}

thread_local! {
    /// This JS thread's settler (null until its first job).
    static LOCAL: Cell<*mut Local> = const { Cell::new(ptr::null_mut()) };
}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!(
            "IO_ERROR: {what} failed (napi status {status})"
        )))
    }
}

/// The settler of the environment `env` runs on this thread, made on first use.
fn local(env: sys::napi_env) -> napi::Result<*mut Local> {
    let existing = LOCAL.with(Cell::get);
    // SAFETY: a non-null pointer in LOCAL is a live `Local` of this thread:
    // it is cleared before the `Local` is freed.
    if !existing.is_null() && unsafe { (*existing).env } == env {
        return Ok(existing);
    }
    // SAFETY: plain N-API and libuv calls on the JS thread of `env`, with
    // out-pointers to locals; the handle's memory is sized by libuv itself
    // and lives until its close callback.
    unsafe {
        let mut event_loop = ptr::null_mut();
        check(
            sys::napi_get_uv_event_loop(env, &mut event_loop),
            "napi_get_uv_event_loop",
        )?;
        let mut name = ptr::null_mut();
        let label = "lsm-rust:settle";
        check(
            sys::napi_create_string_utf8(
                env,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            ),
            "napi_create_string_utf8",
        )?;
        let mut context = ptr::null_mut();
        check(
            sys::napi_async_init(env, ptr::null_mut(), name, &mut context),
            "napi_async_init",
        )?;
        let size = uv_handle_size(UV_ASYNC);
        let layout = handle_layout(size);
        let handle = std::alloc::alloc_zeroed(layout).cast::<UvAsync>();
        if handle.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        if uv_async_init(event_loop, handle, on_signal) != 0 {
            std::alloc::dealloc(handle.cast(), layout);
            sys::napi_async_destroy(env, context);
            return Err(napi::Error::from_reason(
                "IO_ERROR: uv_async_init failed".to_string(),
            ));
        }
        // Idle until a job is pending.
        uv_unref(handle);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            handle: RwLock::new(Some(handle as usize)),
        });
        let local = Box::into_raw(Box::new(Local {
            env,
            handle,
            shared,
            pending: 0,
            spare: Vec::new(),
            context,
        }));
        // `data` is the first field of every libuv handle.
        *handle.cast::<*mut c_void>() = local.cast();
        sys::napi_add_env_cleanup_hook(env, Some(teardown), local.cast());
        LOCAL.with(|l| l.set(local));
        Ok(local)
    }
}

fn handle_layout(size: usize) -> std::alloc::Layout {
    // libuv handles hold pointers and 64-bit fields: 16 covers every platform.
    std::alloc::Layout::from_size_align(size.max(1), 16).expect("a handle's size is small")
}

/// A promise made on the JS thread and the ticket a job settles it with.
pub(crate) fn promise<'env>(env: &'env Env) -> napi::Result<(Object<'env>, Ticket)> {
    let raw = env.raw();
    let local = local(raw)?;
    let mut deferred = ptr::null_mut();
    let mut value = ptr::null_mut();
    // SAFETY: on the JS thread of `env`; `local` is this thread's live settler.
    unsafe {
        check(
            sys::napi_create_promise(raw, &mut deferred, &mut value),
            "napi_create_promise",
        )?;
        let l = &mut *local;
        l.pending += 1;
        if l.pending == 1 {
            uv_ref(l.handle);
        }
        Ok((
            Object::from_napi_value(raw, value)?,
            Ticket {
                shared: Arc::clone(&l.shared),
                deferred: deferred as usize,
            },
        ))
    }
}

/// The right to settle one promise, from any thread, once. A ticket dropped
/// unused (its job could not start) rejects the promise.
pub(crate) struct Ticket {
    shared: Arc<Shared>,
    /// The `napi_deferred`; 0 once settled.
    deferred: usize,
}

impl Ticket {
    /// Settles the promise with what `settle` makes on the JS thread.
    pub(crate) fn settle(mut self, settle: Settle) {
        self.send(settle);
    }

    fn send(&mut self, settle: Settle) {
        let deferred = std::mem::take(&mut self.deferred);
        if deferred == 0 {
            return;
        }
        let first = {
            let mut queue = self
                .shared
                .queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.push(Done { deferred, settle });
            queue.len() == 1
        };
        // Signalled after the queue's lock is let go of, so that the JS thread,
        // woken, finds nothing held. Only the first of a run signals: the
        // others join a wake-up still to come.
        if first {
            let handle = self
                .shared
                .handle
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(h) = *handle {
                // SAFETY: the handle stays open while `handle` is held shared.
                unsafe { uv_async_send(h as *mut UvAsync) };
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.deferred != 0 {
            self.send(Box::new(|_env| {
                Err(napi::Error::from_reason(
                    "IO_ERROR: a background job ended without a result (its thread could not start)"
                        .to_string(),
                ))
            }));
        }
    }
}

/// The async handle's callback, on the JS thread: settles every finished job.
extern "C" fn on_signal(handle: *mut UvAsync) {
    // A panic must not unwind into libuv; settling does not panic.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `data` is the handle's live `Local` (see `local`).
        let local = unsafe { &mut *(*handle.cast::<*mut c_void>()).cast::<Local>() };
        drain(local);
    }));
}

fn drain(l: &mut Local) {
    {
        let mut queue = l
            .shared
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::swap(&mut *queue, &mut l.spare);
    }
    if l.spare.is_empty() {
        return;
    }
    let env = l.env;
    // SAFETY: N-API calls on the JS thread of `env`, from a libuv callback:
    // a handle scope for the values made, and a callback scope so that the
    // promise reactions (microtasks) run when it closes, as after any
    // callback into JS.
    unsafe {
        let mut scope = ptr::null_mut();
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            // The environment is going away: nothing can be settled.
            l.spare.clear();
            return;
        }
        let mut resource = ptr::null_mut();
        let mut callback_scope = ptr::null_mut();
        let in_scope = sys::napi_create_object(env, &mut resource) == sys::Status::napi_ok
            && sys::napi_open_callback_scope(env, resource, l.context, &mut callback_scope)
                == sys::Status::napi_ok;
        let n = l.spare.len();
        for done in l.spare.drain(..) {
            settle_one(env, done);
        }
        l.pending = l.pending.saturating_sub(n);
        if l.pending == 0 {
            uv_unref(l.handle);
        }
        if in_scope {
            sys::napi_close_callback_scope(env, callback_scope);
        }
        sys::napi_close_handle_scope(env, scope);
    }
}

/// Settles one promise on the JS thread.
///
/// # Safety
/// On the JS thread of `env`, inside a handle scope.
unsafe fn settle_one(env: sys::napi_env, done: Done) {
    let deferred = done.deferred as sys::napi_deferred;
    match (done.settle)(env) {
        Ok(value) => {
            sys::napi_resolve_deferred(env, deferred, value);
        }
        Err(e) => {
            // A failed conversion may have left an exception pending: the
            // rejection carries it instead.
            let mut pending = ptr::null_mut();
            let mut thrown = false;
            if sys::napi_is_exception_pending(env, &mut thrown) == sys::Status::napi_ok && thrown {
                sys::napi_get_and_clear_last_exception(env, &mut pending);
            }
            let reason = if pending.is_null() {
                ToNapiValue::to_napi_value(env, e).unwrap_or(ptr::null_mut())
            } else {
                pending
            };
            if reason.is_null() {
                let mut undefined = ptr::null_mut();
                sys::napi_get_undefined(env, &mut undefined);
                sys::napi_reject_deferred(env, deferred, undefined);
            } else {
                sys::napi_reject_deferred(env, deferred, reason);
            }
        }
    }
}

/// The environment is going away: close the handle (its memory and the
/// `Local` are freed in the close callback). Jobs still running find no
/// handle to signal; their promises are gone with the environment.
unsafe extern "C" fn teardown(arg: *mut c_void) {
    let local = arg.cast::<Local>();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `arg` is the live `Local` this hook was added with.
        let l = unsafe { &mut *local };
        *l.shared
            .handle
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        LOCAL.with(|c| {
            if c.get() == local {
                c.set(ptr::null_mut());
            }
        });
        // SAFETY: the async context was made for this environment, which
        // is still alive while its cleanup hooks run; the handle is open.
        unsafe {
            sys::napi_async_destroy(l.env, l.context);
            uv_close(l.handle, on_closed);
        }
    }));
}

/// Frees a closed handle and its `Local`.
extern "C" fn on_closed(handle: *mut UvAsync) {
    // SAFETY: the handle and its `Local` were allocated in `local` and
    // nothing refers to them once the handle is closed.
    unsafe {
        let local = Box::from_raw((*handle.cast::<*mut c_void>()).cast::<Local>());
        let layout = handle_layout(uv_handle_size(UV_ASYNC));
        drop(local);
        std::alloc::dealloc(handle.cast(), layout);
    }
}
