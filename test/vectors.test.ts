import test from 'ava'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildVectors, vectorInput, vectorsDir } from '../scripts/gen-vectors.js'
import { readLog, MANIFEST_MAGIC } from '../ts/core/ts/log-format.js'
import { compareInternalKeys, makeInternalKey } from '../ts/core/ts/internal-key.js'
import { BytesSource, Table } from '../ts/core/ts/sst.js'
import { decodeCurrent, decodeVersionEdit } from '../ts/core/ts/version-edit.js'
import { readWalBytes } from '../ts/core/ts/wal.js'
import { decodeWriteGroup } from '../ts/core/ts/write-group.js'
import { tsCore } from '../ts/core/ts-core.js'

const golden = (name: string) => new Uint8Array(readFileSync(join(vectorsDir, name)))
const vectors = buildVectors()

for (const name of Object.keys(vectors.files)) {
  test(`the TS components reproduce ${name} byte for byte`, t => {
    t.true(existsSync(join(vectorsDir, name)), `${name} is missing: run npm run vectors`)
    t.deepEqual(Buffer.from(vectors.files[name]!), Buffer.from(golden(name)))
  })
}

test('the golden WAL reads back as the input write groups', t => {
  const wal = readWalBytes(golden('000003.log'), '000003.log', 3, false)
  const input = vectorInput()
  t.is(wal.groups.length, input.length)
  wal.groups.forEach((g, i) => {
    const d = decodeWriteGroup(g)
    t.is(d.firstSeq, input[i]!.firstSeq)
    t.deepEqual(d.ops.map(o => [o.kind, Buffer.from(o.key), o.value && Buffer.from(o.value)]), input[i]!.ops.map(o => [o.kind, Buffer.from(o.key), o.value && Buffer.from(o.value)]))
  })
})

test('the golden SST reads back as the sorted input, with several blocks', t => {
  const table = Table.open(new BytesSource(golden('000004.sst')), '000004.sst')
  const expected = vectorInput().flatMap(g => g.ops.map((op, i) => [makeInternalKey(op.key, g.firstSeq + i, op.kind), op.value ?? new Uint8Array(0)] as const))
    .sort((a, b) => compareInternalKeys(a[0], b[0]))
  const it = table.iterator()
  const got: [Buffer, Buffer][] = []
  for (it.seekToFirst(); it.valid(); it.next()) got.push([Buffer.from(it.key()), Buffer.from(it.value())])
  t.deepEqual(got, expected.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]))
  t.true(table.properties.dataBlockCount >= 5)
  t.is(table.properties.entryCount, 86)
  t.is(table.properties.deletionCount, 2)
  const apple = table.get(Buffer.from('apple'), 86)
  t.true(apple.found && Buffer.from(apple.value).toString() === 'green')
  const oldApple = table.get(Buffer.from('apple'), 10)
  t.true(oldApple.found && Buffer.from(oldApple.value).toString() === 'red')
})

test('the golden MANIFEST and CURRENT read back as the input edits', t => {
  const m = readLog(golden('MANIFEST-000002'), MANIFEST_MAGIC, 2, false)
  const edits = m.records.map(decodeVersionEdit)
  t.is(edits.length, 3)
  t.is(edits[1]!.addedFiles![0]!.fileNumber, 4)
  t.is(edits[1]!.addedFiles![0]!.fileSize, golden('000004.sst').length)
  t.deepEqual(edits[2]!.deletedFiles, [{ level: 0, fileNumber: 4 }])
  t.is(edits[2]!.addedFiles![0]!.level, 1)
  t.is(decodeCurrent(golden('CURRENT')), 2)
})

test('the core reads the golden table through a read view', t => {
  const table = tsCore.openTable(join(vectorsDir, '000004.sst'))
  t.teardown(() => table.close())
  const view = tsCore.newReadView([], [[], [table]])
  const r = view.get(Buffer.from('key-010'), 70)
  t.true(r.found && r.kind === 0, 'key-010 was deleted at seq 64 and rewritten at 77')
  const r2 = view.get(Buffer.from('key-010'), 86)
  t.true(r2.found && Buffer.from(r2.value).toString() === 'over-10')
  const c = view.cursor({ snapshotSeq: 86, lower: Buffer.from('key-000'), upper: Buffer.from('key-003') })
  const chunk = c.nextChunk(100)
  t.deepEqual(chunk.keys.map(k => Buffer.from(k).toString()), ['key-000', 'key-001', 'key-002'])
  t.deepEqual(chunk.values.map(k => Buffer.from(k).toString()), ['over-0', 'over-1', 'over-2'])
  t.true(chunk.done)
})
