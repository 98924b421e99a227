import { sql } from 'kysely'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { docToJson } from '../../../server/documents/content.ts'
import { documentWithOwner } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { checkpointRows, logRows, replayJson } from '../../helpers/log.ts'
import { startTestServer } from '../../helpers/server.ts'

describeEachDatabase('update log', (databases) => {
  it('[P1] after many edits from both protocols, replaying the database equals the live document', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'replay')
    const token = owner.accessToken
    const { db } = server.database
    const a = connectHocuspocus(server, 'replay', { token })
    const b = connectYWebsocket(server, 'replay', { token })
    await Promise.all([a.synced, b.synced])
    const text = a.doc.getText('default')
    for (let round = 0; round < 20; round++) {
      text.insert(Math.floor(text.length / 2), `a${round} `)
      if (round % 3 === 0 && text.length > 4) text.delete(1, 2)
      b.doc.getMap('meta').set(`k${round}`, round)
      b.doc.getArray('items').push([{ round }])
      await new Promise((resolve) => setTimeout(resolve, 15))
    }
    const live = server.collab.hocuspocus.documents.get('replay')!
    await expect.poll(() => docToJson(b.doc)).toEqual(docToJson(live))
    await expect.poll(() => docToJson(a.doc)).toEqual(docToJson(live))
    await expect.poll(() => server.collab.updateLog.pendingCount('replay'), { timeout: 5_000 }).toBe(0)
    expect(await replayJson(db, 'replay')).toEqual(docToJson(live))

    const rows = await logRows(db, 'replay')
    expect(rows.length).toBeGreaterThan(0)
    // Gap-free seqs from 1, each row a version entry with its kind and authors.
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1))
    for (const row of rows) {
      expect(row.kind).toBe('update')
      expect(row.authors).toEqual([owner.id])
      expect(row.bytes).toBeGreaterThan(0)
    }
  })

  it('[P2] a one-character edit to a 1 MB document adds a row well under 1 KB', async () => {
    const server = await startTestServer(await databases.create())
    const { accessToken: token } = await documentWithOwner(server, 'big')
    const { db } = server.database
    const client = connectHocuspocus(server, 'big', { token })
    await client.synced
    const text = client.doc.getText('default')
    const line = `${'lorem ipsum dolor sit amet '.repeat(3)}\n`
    client.doc.transact(() => {
      while (text.length < 1_000_000) text.insert(text.length, line)
    })
    await expect.poll(() => server.collab.updateLog.pendingCount('big'), { timeout: 10_000 }).toBe(0)
    await expect.poll(async () => (await logRows(db, 'big')).length, { timeout: 10_000 }).toBeGreaterThan(0)
    const before = await logRows(db, 'big')
    expect(before.reduce((sum, r) => sum + r.bytes, 0)).toBeGreaterThan(1_000_000)

    text.insert(500_000, 'X')
    await expect
      .poll(async () => (await logRows(db, 'big')).length, { timeout: 10_000 })
      .toBe(before.length + 1)
    const added = (await logRows(db, 'big')).at(-1)!
    expect(added.bytes).toBeLessThan(1024)
    expect(added.bytes).toBeLessThan(100)
    expect(((await replayJson(db, 'big')).default as string).slice(499_990, 500_011)).toBe(
      text.toString().slice(499_990, 500_011),
    )
  })

  it('[P3] checkpoints are written as the log outgrows them and never change what is loaded', async () => {
    const database = await databases.create()
    const server = await startTestServer(database)
    const { accessToken: token } = await documentWithOwner(server, 'cp')
    const { db } = server.database
    const client = connectHocuspocus(server, 'cp', { token })
    await client.synced
    const text = client.doc.getText('default')
    // Enough stores, with deletions, that the rows outweigh the 64 KiB checkpoint threshold twice over.
    for (let batch = 0; batch < 12; batch++) {
      client.doc.transact(() => {
        text.insert(text.length, `batch ${batch} `.repeat(1_000))
        text.delete(Math.floor(text.length / 3), 500)
      })
      await expect.poll(() => server.collab.updateLog.pendingCount('cp'), { timeout: 10_000 }).toBe(0)
    }
    client.doc.getMap('meta').set('done', true)
    await expect.poll(() => server.collab.updateLog.pendingCount('cp'), { timeout: 10_000 }).toBe(0)
    await expect
      .poll(async () => (await checkpointRows(db, 'cp')).length, { timeout: 10_000 })
      .toBeGreaterThan(0)

    const rows = await logRows(db, 'cp')
    const checkpoints = await checkpointRows(db, 'cp')
    const logBytes = rows.reduce((sum, r) => sum + r.bytes, 0)
    const checkpointBytes = checkpoints.reduce((sum, c) => sum + c.bytes, 0)
    expect(checkpointBytes).toBeLessThanOrEqual(logBytes)

    // What loading uses (checkpoint + rows after it) equals a replay of the whole log without checkpoints.
    const withCheckpoints = await replayJson(db, 'cp')
    const fromLogOnly = new Y.Doc()
    const all = await db
      .selectFrom('document_updates')
      .select('data')
      .where('document_id', '=', 'cp')
      .orderBy('seq')
      .execute()
    for (const row of all) Y.applyUpdate(fromLogOnly, row.data)
    expect(withCheckpoints).toEqual(docToJson(fromLogOnly))
    expect(withCheckpoints).toEqual(docToJson(client.doc))
    // And at every checkpoint's own seq, the checkpoint equals the rows up to that seq.
    for (const { seq } of checkpoints) {
      const upto = new Y.Doc()
      for (const row of all.slice(0, seq)) Y.applyUpdate(upto, row.data)
      expect(await replayJson(db, 'cp', seq)).toEqual(docToJson(upto))
    }

    // A restarted server loads the same content through the checkpoint.
    await server.close()
    const restarted = await startTestServer(database)
    const reader = connectHocuspocus(restarted, 'cp', { token })
    await reader.synced
    expect(docToJson(reader.doc)).toEqual(docToJson(client.doc))
  })

  it('[P4] a failed store keeps its updates and retries until the database takes them', async () => {
    const server = await startTestServer(await databases.create())
    const { accessToken: token } = await documentWithOwner(server, 'retry')
    const { db } = server.database
    const client = connectHocuspocus(server, 'retry', { token })
    await client.synced
    client.doc.getText('default').insert(0, 'stored first. ')
    await expect.poll(async () => (await logRows(db, 'retry')).length, { timeout: 5_000 }).toBe(1)

    // A real database failure: the log table disappears for a while.
    await sql`alter table document_updates rename to document_updates_away`.execute(db)
    client.doc.getText('default').insert(14, 'written while the database fails. ')
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(server.collab.updateLog.pendingCount('retry')).toBeGreaterThan(0)
    // The client leaves: the document must stay in memory rather than lose the update.
    client.destroy()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(server.collab.hocuspocus.documents.has('retry')).toBe(true)

    await sql`alter table document_updates_away rename to document_updates`.execute(db)
    await expect.poll(() => server.collab.updateLog.pendingCount('retry'), { timeout: 10_000 }).toBe(0)
    expect(await replayJson(db, 'retry')).toEqual({
      default: 'stored first. written while the database fails. ',
    })
    expect((await logRows(db, 'retry')).map((r) => r.seq)).toEqual([1, 2])
    // Once stored, the idle document is unloaded as usual.
    await expect.poll(() => server.collab.hocuspocus.documents.has('retry'), { timeout: 5_000 }).toBe(false)
  })
})
