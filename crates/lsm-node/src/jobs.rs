//! Flush and compaction, run on a Rust thread of their own, and large
//! memtable inserts, run on the apply lane (one long-lived thread); each is
//! reported back through a promise.
//!
//! Why threads of ours rather than the libuv pool: the pool has 4 threads
//! shared with every `fs` call of the process, and a compaction can run for
//! seconds; occupying a pool thread that long would stall unrelated file I/O.
//! And a thread of ours can run at a lower priority than the JS thread, which
//! a pool thread cannot be given and then handed back. A thread per flush or
//! compaction is cheap next to the job (one of each at a time in practice).
//! The JS thread only converts arguments and, at the end, results.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{Buffer, Object, ToNapiValue};
use napi::Env;
use napi_derive::napi;

use lsm_core::jobs::{flush_memtable, run_compaction, CompactionJob, WrittenTable};

use crate::convert::{
    invalid, panic_error, properties, table_options, to_js, whole, JsProperties, JsTableOptions,
};
use crate::memtable::NativeMemtable;
use crate::settle::promise;

/// What writing a table produced (`WrittenTable` of ts/core/core.ts).
#[napi(object)]
pub struct JsWrittenTable {
    pub file_size: f64,
    pub properties: JsProperties,
}

/// One table a compaction wrote (`CompactionOutput` of ts/core/core.ts).
#[napi(object)]
pub struct JsCompactionOutput {
    pub path: String,
    pub file_size: f64,
    pub properties: JsProperties,
}

/// `CompactionJob` of ts/core/core.ts.
#[napi(object)]
pub struct JsCompactionJob {
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub smallest_snapshot: f64,
    pub drop_deletes: bool,
    pub target_file_size: f64,
    pub table_options: Option<JsTableOptions>,
    /// First user key to merge (inclusive); all keys when absent.
    pub start: Option<Buffer>,
    /// User key to stop before (exclusive); all keys when absent.
    pub end: Option<Buffer>,
    /// Dead table files the job may write its outputs over, in order.
    pub recycle: Option<Vec<String>>,
}

fn written(w: WrittenTable) -> JsWrittenTable {
    JsWrittenTable {
        file_size: w.file_size as f64,
        properties: properties(&w.properties),
    }
}

/// Lowers the calling thread's scheduling priority to `nice` so that, when
/// background threads and the JS thread want more cores than there are, the
/// kernel runs the JS thread first: background work must not show up as
/// event-loop delay. Best effort: a failure changes nothing else.
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take plain integers and touch no memory
    // of ours; on Linux PRIO_PROCESS with a thread id applies to that thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// Nice value of flush and compaction threads.
const JOB_NICE: i32 = 10;
/// Nice value of the apply lane: below the JS thread, above flush and
/// compaction (a write group waits on it; a compaction waits on nothing).
const LANE_NICE: i32 = 5;

/// Where a job runs.
pub(crate) enum Runner {
    /// A new thread of this name, at nice [`JOB_NICE`] (flush, compaction).
    Thread(&'static str),
    /// The apply lane: one long-lived thread, shared by every database of the
    /// process, that takes jobs in submission order at nice [`LANE_NICE`].
    /// Used for memtable inserts of large write groups: on the libuv pool
    /// they ran at the JS thread's priority and, on a machine with few cores,
    /// took its CPU (event-loop delay) whenever it woke.
    Lane,
}

/// Runs `work(&keep)` as `runner` says and settles the returned promise with
/// `convert(result)` on the JS thread (through [`crate::settle`]), where
/// `keep` (what the work reads, such as a JS buffer) is also dropped. A panic
/// in `work` rejects the promise; so does a job that cannot be started.
pub(crate) fn run_job<'env, K, T, D>(
    env: &'env Env,
    runner: Runner,
    keep: K,
    work: impl FnOnce(&K) -> lsm_core::Result<T> + Send + 'static,
    convert: fn(T) -> D,
) -> napi::Result<Object<'env>>
where
    K: Send + 'static,
    T: Send + 'static,
    D: ToNapiValue + 'static,
{
    let (promise, ticket) = promise(env)?;
    let job: LaneJob = Box::new(move || {
        let outcome = catch_unwind(AssertUnwindSafe(|| work(&keep)));
        ticket.settle(Box::new(move |env| {
            drop(keep);
            match outcome {
                // SAFETY: called on the JS thread of `env` (see `settle`).
                Ok(Ok(value)) => unsafe { D::to_napi_value(env, convert(value)) },
                Ok(Err(e)) => Err(to_js(e)),
                Err(payload) => Err(panic_error(payload)),
            }
        }));
    });
    // A job that cannot be handed to a thread is dropped with its ticket,
    // which rejects the promise.
    let _ = match runner {
        Runner::Thread(name) => std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                lower_priority(JOB_NICE);
                job();
            })
            .map(drop),
        Runner::Lane => lane_submit(Some(job)),
    };
    Ok(promise)
}

type LaneJob = Box<dyn FnOnce() + Send>;

/// The apply lane's queue; its thread starts with the first job.
static LANE: Mutex<Option<Sender<LaneJob>>> = Mutex::new(None);

/// Hands `job` to the apply lane (none: only make sure its thread runs),
/// starting its thread if there is none.
fn lane_submit(job: Option<LaneJob>) -> std::io::Result<()> {
    let mut lane = LANE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let job = match (lane.as_ref(), job) {
        (Some(_), None) => return Ok(()),
        (Some(tx), Some(job)) => match tx.send(job) {
            Ok(()) => return Ok(()),
            // The thread is gone (it never exits on its own): start another.
            Err(returned) => Some(returned.0),
        },
        (None, job) => job,
    };
    let (tx, rx) = channel::<LaneJob>();
    std::thread::Builder::new()
        .name("lsm-apply".to_string())
        .spawn(move || {
            lower_priority(LANE_NICE);
            while let Ok(job) = rx.recv() {
                job();
            }
        })?;
    if let Some(job) = job {
        // The receiver is alive in the new thread: the send cannot fail.
        let _ = tx.send(job);
    }
    *lane = Some(tx);
    Ok(())
}

/// Starts the apply lane's thread if it is not running yet, so that the
/// first large write group does not wait for (and share a CPU with) a
/// starting thread: that first apply held the JS thread for ~7 ms.
pub(crate) fn lane_start() {
    // Best effort: if the thread cannot start now, the first job tries again
    // and reports the failure through its promise.
    let _ = lane_submit(None);
}

/// Writes every entry of `memtable` to a new table at `path`, fsynced before
/// the promise resolves unless `sync` is false (then the caller fsyncs it).
#[napi(catch_unwind, ts_return_type = "Promise<JsWrittenTable>")]
pub fn flush<'env>(
    env: &'env Env,
    memtable: &NativeMemtable,
    path: String,
    options: Option<JsTableOptions>,
    sync: Option<bool>,
) -> napi::Result<Object<'env>> {
    let opts = table_options(options)?;
    let mem = Arc::clone(memtable.mem()?);
    let sync = sync.unwrap_or(true);
    run_job(
        env,
        Runner::Thread("lsm-flush"),
        (),
        move |()| flush_memtable(&mem, Path::new(&path), opts, sync),
        written,
    )
}

/// Merges the input tables into new tables (drop rules on `CompactionJob`).
#[napi(catch_unwind, ts_return_type = "Promise<Array<JsCompactionOutput>>")]
pub fn compact<'env>(env: &'env Env, job: JsCompactionJob) -> napi::Result<Object<'env>> {
    if job.smallest_snapshot.is_nan() || job.smallest_snapshot < 0.0 {
        return Err(invalid(format!(
            "smallestSnapshot {} must be ≥ 0",
            job.smallest_snapshot
        )));
    }
    let target = if job.target_file_size.is_nan() {
        u64::MAX // `size >= NaN` never holds: never cut
    } else if job.target_file_size <= 0.0 {
        0
    } else {
        // `size >= t` iff `size >= ceil(t)` for whole sizes.
        whole(
            job.target_file_size.ceil().min(9_007_199_254_740_991.0),
            "targetFileSize",
        )?
    };
    let core_job = CompactionJob {
        inputs: job.inputs.into_iter().map(PathBuf::from).collect(),
        outputs: job.outputs.into_iter().map(PathBuf::from).collect(),
        smallest_snapshot: job.smallest_snapshot.min(u64::MAX as f64).floor() as u64,
        drop_deletes: job.drop_deletes,
        target_file_size: target,
        table_options: table_options(job.table_options)?,
        start: job.start.map(|b| b.to_vec()),
        end: job.end.map(|b| b.to_vec()),
        recycle: job
            .recycle
            .unwrap_or_default()
            .into_iter()
            .map(PathBuf::from)
            .collect(),
    };
    run_job(
        env,
        Runner::Thread("lsm-compaction"),
        (),
        move |()| run_compaction(&core_job),
        |outs| {
            outs.into_iter()
                .map(|o| JsCompactionOutput {
                    path: o.path.to_string_lossy().into_owned(),
                    file_size: o.table.file_size as f64,
                    properties: properties(&o.table.properties),
                })
                .collect::<Vec<_>>()
        },
    )
}
