import test from 'ava'
import { Kind } from '../ts/core/ts/internal-key.js'
import { decodeWriteGroup } from '../ts/core/ts/write-group.js'
import { entrySize, WriteQueue, type EncodedOp, type Segment } from '../ts/write-queue.js'

const b = (s: string) => Buffer.from(s)

function batch(tag: string, n: number, valueBytes: number): EncodedOp[] {
  return Array.from({ length: n }, (_, i) => ({ kind: Kind.Put, key: b(`${tag}-${String(i).padStart(5, '0')}`), value: Buffer.alloc(valueBytes, tag.charCodeAt(0)) }))
}

const sizeOf = (ops: EncodedOp[]) => ops.reduce((n, o) => n + entrySize(o.kind, o.key, o.value), 0)

/** A queue whose commits record each group's buffer and decoded entries. */
function recordingQueue(maxGroupBytes: number, asyncCommit = false) {
  const groups: { buf: Buffer, keys: string[], values: string[] }[] = []
  let seq = 1
  const commit = (seg: Segment): Promise<void> | undefined => {
    seg.seal(seq)
    const decoded = decodeWriteGroup(seg.group)
    seq += seg.count
    groups.push({ buf: seg.buf, keys: decoded.ops.map(o => Buffer.from(o.key).toString()), values: decoded.ops.map(o => Buffer.from(o.value ?? new Uint8Array(0)).toString()) })
    return asyncCommit ? new Promise(r => setTimeout(r, 1)) : undefined
  }
  return { queue: new WriteQueue(commit, maxGroupBytes, 0), groups }
}

test('groups that start with a large batch reuse maxGroupBytes buffers, and each commit sees exactly its own entries', async t => {
  const max = 1 << 20
  for (const asyncCommit of [false, true]) {
    const { queue, groups } = recordingQueue(max, asyncCommit)
    // Rounds of batches larger than the 64 KiB small buffers: each round is
    // submitted in one turn (so batches join one group), then awaited.
    const expected: string[][] = []
    for (let round = 0; round < 6; round++) {
      const batches = Array.from({ length: 3 }, (_, i) => batch(`${String.fromCharCode(97 + ((round * 3 + i) % 26))}${round}`, 400, 200 + round))
      await Promise.all(batches.map(ops => queue.submitMany(ops, sizeOf(ops), false)))
      expected.push(batches.flat().map(o => `${o.key.toString()}=${Buffer.from(o.value!).toString()}`))
    }
    await queue.idle()
    t.deepEqual(groups.map(g => g.keys.map((k, i) => `${k}=${g.values[i]}`)), expected)
    // Every group's buffer is a maxGroupBytes one, and they were reused
    // (at most two distinct buffers for six sequential groups).
    t.deepEqual(groups.map(g => g.buf.length), groups.map(() => max))
    t.true(new Set(groups.map(g => g.buf)).size <= 2, `${new Set(groups.map(g => g.buf)).size} distinct buffers`)
  }
})

test('a batch larger than maxGroupBytes gets a group (and buffer) of its own; small puts still share a group', async t => {
  const max = 256 * 1024
  const { queue, groups } = recordingQueue(max)
  const big = batch('big', 3000, 100) // ~370 KB > max
  const small = batch('s', 10, 10)
  await Promise.all([
    ...small.slice(0, 5).map(o => queue.submitOne(o.kind, o.key, o.value, entrySize(o.kind, o.key, o.value), false)),
    queue.submitMany(big, sizeOf(big), false),
    ...small.slice(5).map(o => queue.submitOne(o.kind, o.key, o.value, entrySize(o.kind, o.key, o.value), false)),
  ])
  t.deepEqual(groups.map(g => g.keys.length), [5, 3000, 5])
  t.true(groups[1]!.buf.length > max)
  t.deepEqual(groups[1]!.keys, big.map(o => o.key.toString()))
})
