import { expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Db } from '../../../server/db/schema.ts'
import { docToJson } from '../../../server/documents/content.ts'
import { startServer } from '../../../server/server.ts'
import { acquireJobLock, applyMergedRuns, HOUR_MS } from '../../../server/versions/retention.queries.ts'
import { RETENTION_LOCK, runRetention } from '../../../server/versions/retention.ts'
import { applyServerEdit } from '../../../server/versions/server-edits.ts'
import { insertCheckpoint } from '../../../server/versions/update-log.queries.ts'
import { documentWithOwner, registerUser, share } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { checkpointRows, replayJson } from '../../helpers/log.ts'
import { startTestServer, testConfig, type TestServer } from '../../helpers/server.ts'

const DAY_MS = 86_400_000

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

async function rows(db: Db, id: string) {
  const found = await db
    .selectFrom('document_updates')
    .select(['seq', 'data', 'bytes', 'kind', 'label', 'authors', 'created_at'])
    .where('document_id', '=', id)
    .orderBy('seq')
    .execute()
  return found.map((r) => ({
    seq: Number(r.seq),
    data: Buffer.from(r.data).toString('base64'),
    bytes: Number(r.bytes),
    kind: r.kind,
    label: r.label,
    authors: JSON.parse(r.authors) as string[],
    createdAt: Number(r.created_at),
  }))
}

/** Runs `edit`, then waits until it is stored as exactly one more row. */
async function storedAs(server: TestServer, id: string, edit: () => unknown): Promise<number> {
  const { db } = server.database
  const before = (await rows(db, id)).length
  await edit()
  await expect.poll(async () => (await rows(db, id)).length, { timeout: 5_000 }).toBe(before + 1)
  await expect.poll(() => server.collab.updateLog.pendingCount(id)).toBe(0)
  return (await rows(db, id)).at(-1)!.seq
}

/** Moves rows into the past, as if written at `at(seq)`. */
async function backdate(db: Db, id: string, at: Record<number, number>): Promise<void> {
  for (const [seq, createdAt] of Object.entries(at)) {
    await db
      .updateTable('document_updates')
      .set({ created_at: createdAt })
      .where('document_id', '=', id)
      .where('seq', '=', Number(seq))
      .execute()
  }
}

/** The rows-only state at `seq`, as a checkpoint would hold it. */
async function stateAt(db: Db, id: string, seq: number): Promise<Uint8Array> {
  const doc = new Y.Doc()
  for (const row of await rows(db, id)) if (row.seq <= seq) Y.applyUpdate(doc, Buffer.from(row.data, 'base64'))
  return Y.encodeStateAsUpdate(doc)
}

/** The start of the hour `days` days ago: rows then are well past a one-day window. */
const hourAgo = (days: number) => {
  const t = Date.now() - days * DAY_MS
  return t - (t % HOUR_MS)
}

const retentionDays = (server: TestServer) =>
  testConfig(server.config.database, { VERSION_RETENTION_DAYS: '1' }).versionRetentionDays!

/** Six edits by two authors, stored one row each, three hours (and days) ago. */
async function oldEdits(server: TestServer, id: string): Promise<void> {
  const owner = await documentWithOwner(server, id)
  const client = connectHocuspocus(server, id, { token: owner.accessToken })
  await client.synced
  const text = client.doc.getText('default')
  for (let i = 0; i < 6; i++) await storedAs(server, id, () => text.insert(text.length, `edit ${i}. `))
  client.destroy()
  const base = hourAgo(3)
  await backdate(server.database.db, id, { 1: base, 2: base + 1, 3: base + 2, 4: base + HOUR_MS, 5: base + HOUR_MS + 1, 6: base + HOUR_MS + 2 })
}

describeEachDatabase('history retention', (databases) => {
  it('merges old unlabelled rows into one row per hour; named, restore and recent rows and every surviving version stay as they were', async () => {
    const server = await startTestServer(await databases.create())
    const { db } = server.database
    const owner = await documentWithOwner(server, 'kept')
    const editor = await registerUser(server, 'Editor')
    await share(server, owner, 'kept', editor, 'editor')
    const hp = connectHocuspocus(server, 'kept', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'kept', { token: editor.accessToken })
    await Promise.all([hp.synced, yws.synced])
    const text = hp.doc.getText('default')

    // Two users in turns, one row per edit: 1–6 in one old hour, 7–11 in the next, 12–13 today.
    await storedAs(server, 'kept', () => text.insert(0, 'Hello'))
    await storedAs(server, 'kept', () => yws.doc.getText('default').insert(5, ' world'))
    await storedAs(server, 'kept', () => text.insert(text.length, '!'))
    await storedAs(server, 'kept', () => yws.doc.getMap('meta').set('title', 'Greeting'))
    await storedAs(server, 'kept', () => text.insert(0, '» '))
    await storedAs(server, 'kept', () => yws.doc.getArray('items').push(['one']))
    await storedAs(server, 'kept', () => text.delete(0, 2))
    await storedAs(server, 'kept', () => yws.doc.getArray('items').push(['two']))
    await storedAs(server, 'kept', () =>
      applyServerEdit(server.collab, 'kept', { author: owner.id, kind: 'restore', label: 'Restored from version 3' }, (doc) => {
        const scratch = new Y.Doc()
        Y.applyUpdate(scratch, Y.encodeStateAsUpdate(doc))
        const before = Y.encodeStateVector(scratch)
        scratch.getMap('meta').delete('title')
        return Y.encodeStateAsUpdate(scratch, before)
      }),
    )
    await storedAs(server, 'kept', () => text.insert(text.length, ' again'))
    await storedAs(server, 'kept', () => text.insert(text.length, '.'))
    await storedAs(server, 'kept', () => yws.doc.getText('default').insert(0, 'Today: '))
    await storedAs(server, 'kept', () => text.insert(text.length, ' Bye.'))
    await db.updateTable('document_updates').set({ label: 'Draft' }).where('document_id', '=', 'kept').where('seq', '=', 4).execute()
    const h0 = hourAgo(3)
    const h1 = h0 + HOUR_MS
    await backdate(db, 'kept', {
      1: h0 + 60_000, 2: h0 + 120_000, 3: h0 + 180_000, 4: h0 + 240_000, 5: h0 + 300_000, 6: h0 + 360_000,
      7: h1 + 60_000, 8: h1 + 120_000, 9: h1 + 180_000, 10: h1 + 240_000, 11: h1 + 300_000,
    })
    // Checkpoints at seqs that will be merged away (2, 7, 10), as the log writer would have written them.
    for (const seq of [2, 7, 10]) await insertCheckpoint(db, 'kept', seq, await stateAt(db, 'kept', seq))

    const surviving = [3, 4, 6, 8, 9, 11, 12, 13]
    const before = await rows(db, 'kept')
    const versionsBefore = await Promise.all(surviving.map((seq) => replayJson(db, 'kept', seq)))
    const current = await replayJson(db, 'kept')
    expect(current).toEqual(docToJson(hp.doc))

    const result = await runRetention({ db, log: server.log, retentionDays: retentionDays(server) })
    expect(result).toMatchObject({ status: 'done', documents: 1, rowsRemoved: 5, rowsMerged: 4, staleChunks: 0 })

    const after = await rows(db, 'kept')
    expect(after.map((r) => r.seq)).toEqual(surviving)
    const bySeq = (list: typeof after, seq: number) => list.find((r) => r.seq === seq)!
    // Named, restore and recent rows are untouched, data and all.
    for (const seq of [4, 9, 12, 13]) expect(bySeq(after, seq)).toEqual(bySeq(before, seq))
    expect(bySeq(after, 4)).toMatchObject({ label: 'Draft', authors: [editor.id] })
    expect(bySeq(after, 9)).toMatchObject({ kind: 'restore', label: 'Restored from version 3', authors: [owner.id] })
    // Each merged row: the hour's last seq and time, its authors united, its bytes recomputed.
    for (const [seq, authors] of [[3, [owner.id, editor.id]], [6, [owner.id, editor.id]], [8, [owner.id, editor.id]], [11, [owner.id]]] as const) {
      const row = bySeq(after, seq)
      expect(row).toMatchObject({ kind: 'update', label: null, authors, createdAt: bySeq(before, seq).createdAt })
      expect(row.bytes).toBe(Buffer.from(row.data, 'base64').byteLength)
    }
    // Every surviving version reads exactly as before, and so does the whole document.
    expect(await Promise.all(surviving.map((seq) => replayJson(db, 'kept', seq)))).toEqual(versionsBefore)
    expect(await replayJson(db, 'kept')).toEqual(current)
    // Checkpoints at merged-away seqs are gone; the newest moved to its run's last seq and holds its state.
    const checkpoints = await checkpointRows(db, 'kept')
    expect(checkpoints.map((c) => c.seq)).toEqual([11])
    const moved = await db.selectFrom('document_checkpoints').select('data').where('document_id', '=', 'kept').executeTakeFirstOrThrow()
    const fromCheckpoint = new Y.Doc()
    Y.applyUpdate(fromCheckpoint, moved.data)
    expect(docToJson(fromCheckpoint)).toEqual(versionsBefore[surviving.indexOf(11)])

    // The live document never noticed; clients keep editing, and a fresh client sees it all.
    expect(docToJson(server.collab.hocuspocus.documents.get('kept')!)).toEqual(current)
    await storedAs(server, 'kept', () => yws.doc.getText('default').insert(0, 'Later: '))
    const fresh = connectHocuspocus(server, 'kept', { token: editor.accessToken })
    await fresh.synced
    expect(docToJson(fresh.doc)).toEqual(docToJson(hp.doc))
    expect(await replayJson(db, 'kept')).toEqual(docToJson(hp.doc))

    // A second pass finds nothing left to merge.
    expect(await runRetention({ db, log: server.log, retentionDays: retentionDays(server) })).toMatchObject({
      status: 'done',
      rowsRemoved: 0,
    })
  })

  it('on a long history written by the log writer, every surviving version reads as before and stays near a checkpoint', async () => {
    const server = await startTestServer(await databases.create())
    const { db } = server.database
    const owner = await documentWithOwner(server, 'long')
    // A connected client keeps the document loaded, so the writer checkpoints as it would in use.
    const client = connectHocuspocus(server, 'long', { token: owner.accessToken })
    await client.synced
    for (let i = 1; i <= 600; i++) {
      await applyServerEdit(server.collab, 'long', { author: owner.id, kind: 'update' }, (doc) => {
        const scratch = new Y.Doc()
        Y.applyUpdate(scratch, Y.encodeStateAsUpdate(doc))
        const before = Y.encodeStateVector(scratch)
        const text = scratch.getText('default')
        if (i % 7 === 0) text.delete(Math.floor(text.length / 3), 4)
        text.insert(Math.floor((text.length * (i % 5)) / 5), `row ${i}; `)
        return Y.encodeStateAsUpdate(scratch, before)
      })
      // Lets the writer's background checkpoints run between edits, as between real stores.
      await new Promise((resolve) => setImmediate(resolve))
    }
    await expect.poll(async () => (await checkpointRows(db, 'long')).length).toBeGreaterThanOrEqual(2)
    const h0 = hourAgo(3)
    const times: Record<number, number> = {}
    for (let seq = 1; seq <= 400; seq++) times[seq] = h0 + Math.floor((seq - 1) / 100) * HOUR_MS + seq
    await backdate(db, 'long', times)
    await db.updateTable('document_updates').set({ label: 'Midway' }).where('document_id', '=', 'long').where('seq', '=', 150).execute()

    const merged = new Set([...range(1, 99), ...range(101, 148), ...range(151, 199), ...range(201, 299), ...range(301, 399)])
    const surviving = range(1, 600).filter((seq) => !merged.has(seq))
    const versionsBefore = await Promise.all(surviving.map((seq) => replayJson(db, 'long', seq)))
    const result = await runRetention({ db, log: server.log, retentionDays: retentionDays(server) })
    expect(result).toMatchObject({ status: 'done', rowsRemoved: merged.size, rowsMerged: 5 })

    expect((await rows(db, 'long')).map((r) => r.seq)).toEqual(surviving)
    expect(await Promise.all(surviving.map((seq) => replayJson(db, 'long', seq)))).toEqual(versionsBefore)
    const checkpoints = (await checkpointRows(db, 'long')).map((c) => c.seq)
    for (const seq of checkpoints) {
      expect(surviving).toContain(seq)
      const stored = await db
        .selectFrom('document_checkpoints')
        .select('data')
        .where('document_id', '=', 'long')
        .where('seq', '=', seq)
        .executeTakeFirstOrThrow()
      const fromCheckpoint = new Y.Doc()
      Y.applyUpdate(fromCheckpoint, stored.data)
      const fromRows = new Y.Doc()
      Y.applyUpdate(fromRows, await stateAt(db, 'long', seq))
      expect(docToJson(fromCheckpoint)).toEqual(docToJson(fromRows))
    }
    // No version is further from the checkpoint before it than the writer's spacing allows.
    for (const seq of surviving) {
      const base = Math.max(0, ...checkpoints.filter((c) => c <= seq))
      expect(surviving.filter((s) => s > base && s <= seq).length).toBeLessThanOrEqual(200)
    }
    const whole = await replayJson(db, 'long')
    expect(whole).toEqual(docToJson(server.collab.hocuspocus.documents.get('long')!))
    await expect.poll(() => docToJson(client.doc)).toEqual(whole)
  })

  it('rolls a chunk back when one of its rows was named after it was read', async () => {
    const server = await startTestServer(await databases.create())
    const { db } = server.database
    await oldEdits(server, 'named-meanwhile')
    const before = await rows(db, 'named-meanwhile')
    await db.updateTable('document_updates').set({ label: 'Named meanwhile' }).where('document_id', '=', 'named-meanwhile').where('seq', '=', 2).execute()
    // What a pass planned before the label was set: fold 1–2 into 3.
    const planned = { removed: [1, 2], last: 3, data: Y.mergeUpdates([]), authors: [], checkpointsRemoved: [] }
    expect(await applyMergedRuns(db, 'named-meanwhile', [planned])).toBe(false)
    expect((await rows(db, 'named-meanwhile')).map(({ label: _, ...r }) => r)).toEqual(before.map(({ label: _, ...r }) => r))
  })

  it('runs on one instance at a time: a held lock makes the other wait, an expired one is taken over', async () => {
    const database = await databases.create()
    const a = await startTestServer(database)
    const b = await startTestServer(database)
    await oldEdits(a, 'shared-1')
    const days = retentionDays(a)

    // Both instances at once: one runs, the other finds the lock taken.
    const results = await Promise.all([
      runRetention({ db: a.database.db, log: a.log, retentionDays: days }),
      runRetention({ db: b.database.db, log: b.log, retentionDays: days }),
    ])
    expect(results.map((r) => r.status).sort()).toEqual(['done', 'locked'])
    expect(results.find((r) => r.status === 'locked')).toMatchObject({ rowsRemoved: 0 })
    expect((await rows(a.database.db, 'shared-1')).map((r) => r.seq)).toEqual([3, 6])

    // Someone else's live lease: nothing happens.
    await oldEdits(a, 'shared-2')
    expect(await acquireJobLock(a.database.db, RETENTION_LOCK, 'other-instance', 60_000)).toBe(true)
    expect(await runRetention({ db: b.database.db, log: b.log, retentionDays: days })).toMatchObject({ status: 'locked' })
    expect(await rows(b.database.db, 'shared-2')).toHaveLength(6)
    // A lease its holder let run out (a crashed instance) is taken over.
    await acquireJobLock(a.database.db, RETENTION_LOCK, 'other-instance', 1_000, Date.now() - 60_000)
    expect(await runRetention({ db: b.database.db, log: b.log, retentionDays: days })).toMatchObject({ status: 'done', rowsRemoved: 4 })
    expect((await rows(b.database.db, 'shared-2')).map((r) => r.seq)).toEqual([3, 6])
  })

  it('with VERSION_RETENTION_DAYS set, every instance schedules the job and the log is merged once', async () => {
    const database = await databases.create()
    const writer = await startTestServer(database)
    await oldEdits(writer, 'scheduled')
    const versions = await Promise.all([3, 6].map((seq) => replayJson(writer.database.db, 'scheduled', seq)))
    await writer.close()
    const config = testConfig(database, { VERSION_RETENTION_DAYS: '1' })
    for (let i = 0; i < 2; i++) {
      const server = await startServer(config, { retention: { startDelayMs: 10, intervalMs: 50 } })
      defer(() => server.close())
      expect(server.retention).toBeDefined()
    }
    const reader = await startTestServer(database)
    await expect.poll(async () => (await rows(reader.database.db, 'scheduled')).map((r) => r.seq), { timeout: 10_000 }).toEqual([3, 6])
    expect(await Promise.all([3, 6].map((seq) => replayJson(reader.database.db, 'scheduled', seq)))).toEqual(versions)
  })
})
