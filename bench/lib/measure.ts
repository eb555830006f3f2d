/**
 * Process-level measurements taken around each workload: bytes written to
 * storage (/proc/self/io), peak RSS (VmHWM, reset per workload through
 * /proc/self/clear_refs where the kernel allows it), event-loop delay, and
 * disk use of a directory.
 */
import { readFileSync, readdirSync, lstatSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

export interface IoCounters {
  /** Bytes this process caused to be sent to the storage layer (all threads). */
  writeBytes: number
  /** Bytes of that which were truncated/deleted before reaching storage. */
  cancelledWriteBytes: number
  readBytes: number
  /** Bytes passed to write-type syscalls (page-cache state does not matter; includes stdout/stderr). */
  wchar: number
}

/** Counter deltas b - a. */
export function ioDelta(a: IoCounters | undefined, b: IoCounters | undefined): IoCounters | undefined {
  if (a === undefined || b === undefined) return undefined
  return { writeBytes: b.writeBytes - a.writeBytes, cancelledWriteBytes: b.cancelledWriteBytes - a.cancelledWriteBytes, readBytes: b.readBytes - a.readBytes, wchar: b.wchar - a.wchar }
}

/** /proc/self/io, or undefined where it does not exist (not Linux, or restricted). */
export function readIo(): IoCounters | undefined {
  try {
    const text = readFileSync('/proc/self/io', 'utf8')
    const get = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? NaN)
    const r = { writeBytes: get('write_bytes'), cancelledWriteBytes: get('cancelled_write_bytes'), readBytes: get('read_bytes'), wchar: get('wchar') }
    return Number.isFinite(r.writeBytes) ? r : undefined
  } catch {
    return undefined
  }
}

/** Peak resident set size in bytes: VmHWM (since the last reset), else maxRSS of the process. */
export function peakRss(): number {
  try {
    const m = /^VmHWM:\s*(\d+)\s*kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) return Number(m[1]) * 1024
  } catch {
    // fall through
  }
  return process.resourceUsage().maxRSS * 1024
}

/** Current RSS in bytes. */
export function currentRss(): number {
  return process.memoryUsage.rss()
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false when not possible. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}

/** Bytes allocated on disk under `dir` (st_blocks × 512, like du), and the apparent size. */
export function dirUsage(dir: string): { allocated: number; apparent: number; files: number } {
  let allocated = 0
  let apparent = 0
  let files = 0
  const walk = (d: string) => {
    let names: string[]
    try {
      names = readdirSync(d)
    } catch {
      return
    }
    for (const name of names) {
      const p = join(d, name)
      let st
      try {
        st = lstatSync(p)
      } catch {
        continue
      }
      if (st.isDirectory()) walk(p)
      else {
        files++
        allocated += st.blocks * 512
        apparent += st.size
      }
    }
  }
  walk(dir)
  return { allocated, apparent, files }
}

export interface LoopDelay {
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** Sampling interval of the event-loop monitor, ms. */
export const LOOP_RESOLUTION_MS = 5

/**
 * Starts an event-loop delay monitor; call the returned function with the
 * elapsed milliseconds to stop it and read it.
 *
 * Node's histogram records the whole time between two ticks of its
 * `resolution` ms timer, so an idle loop reads ≈ 5 ms. The figures here are
 * the delay beyond that interval (sample − 5 ms, at least 0): how long a
 * timer due now would have waited, which is what "event-loop delay" means.
 */
export function watchEventLoop(): (elapsedMs: number) => LoopDelay {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  h.enable()
  return elapsedMs => {
    h.disable()
    const ms = (ns: number) => Number(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS).toFixed(2))
    // No sample at all: the loop never turned while the workload ran (it was
    // entirely synchronous), so the loop was blocked for the whole of it.
    if (h.count === 0) {
      const d = Number(elapsedMs.toFixed(2))
      return { p50Ms: d, p99Ms: d, maxMs: d }
    }
    return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) }
  }
}
