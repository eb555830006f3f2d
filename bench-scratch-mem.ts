import { Memtable } from './ts/core/ts/memtable.ts'
import { encodeWriteGroup, type WriteOp } from './ts/core/ts/write-group.ts'
import { Kind } from './ts/core/ts/internal-key.ts'
import { randomBytes } from 'node:crypto'
const N = 1_000_000
const keys: Uint8Array[] = []
for (let i = 0; i < N; i++) keys.push(randomBytes(16))
const val = new Uint8Array(100)
for (let round = 0; round < 3; round++) {
  const m = new Memtable()
  let t = process.hrtime.bigint()
  for (let i = 0; i < N; i++) m.add(i + 1, Kind.Put, keys[i]!, val)
  let dt = Number(process.hrtime.bigint() - t) / 1e9
  console.log(`add random 16B keys: ${(N / dt / 1000).toFixed(0)}k/s size=${m.approximateSize}`)
  const m2 = new Memtable()
  const groups: Uint8Array[] = []
  for (let i = 0; i < N; i += 100) {
    const ops: WriteOp[] = []
    for (let j = 0; j < 100; j++) ops.push({ kind: Kind.Put, key: keys[i + j]!, value: val })
    groups.push(encodeWriteGroup(i + 1, ops))
  }
  t = process.hrtime.bigint()
  for (const g of groups) m2.apply(g)
  dt = Number(process.hrtime.bigint() - t) / 1e9
  console.log(`apply groups of 100: ${(N / dt / 1000).toFixed(0)}k/s`)
  const m3 = new Memtable()
  const seqKeys = keys.map((_, i) => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(12, i); return b })
  t = process.hrtime.bigint()
  for (let i = 0; i < N; i++) m3.add(i + 1, Kind.Put, seqKeys[i]!, val)
  dt = Number(process.hrtime.bigint() - t) / 1e9
  console.log(`add sequential keys: ${(N / dt / 1000).toFixed(0)}k/s`)
  t = process.hrtime.bigint()
  let f = 0
  for (let i = 0; i < N; i++) if (m.get(keys[i]!, N).found) f++
  dt = Number(process.hrtime.bigint() - t) / 1e9
  console.log(`get: ${(N / dt / 1000).toFixed(0)}k/s found=${f}`)
  const it = m.iterator(); t = process.hrtime.bigint(); let c = 0
  for (it.seekToFirst(); it.valid(); it.next()) { it.key(); c++ }
  dt = Number(process.hrtime.bigint() - t) / 1e9
  console.log(`iterate: ${(c / dt / 1000).toFixed(0)}k/s`)
}
