/**
 * The bench's driver: every operation of every engine is issued through it,
 * the same way (bench/engine-runner.ts; bench/probe-floor.ts measures its
 * own cost).
 */

/** Runs op(0..count-1) keeping up to `inflight` of them pending; only promises are awaited. */
export async function drive(count: number, inflight: number, op: (i: number) => unknown): Promise<void> {
  let next = 0
  let failed = false
  const lane = async () => {
    try {
      while (!failed) {
        const i = next++
        if (i >= count) return
        const r = op(i)
        if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') await r
      }
    } catch (e) {
      failed = true
      throw e
    }
  }
  const lanes: Promise<void>[] = []
  for (let c = 0; c < Math.min(inflight, count); c++) lanes.push(lane())
  await Promise.all(lanes)
}
