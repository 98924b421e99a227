import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { replayDocument } from '../../../server/versions/replay.ts'
import { applyServerEdit } from '../../../server/versions/server-edits.ts'
import { documentWithOwner } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

async function rows(server: TestServer, id: string) {
  return server.database.db
    .selectFrom('document_updates')
    .select(['seq', 'kind', 'label', 'authors'])
    .where('document_id', '=', id)
    .orderBy('seq')
    .execute()
}

/** An update that inserts `text` at the start of the `default` text of `doc`. */
function insertAtStart(doc: Y.Doc, text: string): Uint8Array {
  const scratch = new Y.Doc()
  Y.applyUpdate(scratch, Y.encodeStateAsUpdate(doc))
  const before = Y.encodeStateVector(scratch)
  scratch.getText('default').insert(0, text)
  const update = Y.encodeStateAsUpdate(scratch, before)
  scratch.destroy()
  return update
}

describeEachDatabase('server-side edits', (databases) => {
  it('reach live clients on both protocols and are stored as a row of their own, named and attributed', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'edited')
    const hp = connectHocuspocus(server, 'edited', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'edited', { token: owner.accessToken })
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'typed')
    await expect.poll(async () => (await rows(server, 'edited')).length).toBe(1)

    // A client keeps typing while the server edits: its updates never share the server's row.
    hp.doc.getText('default').insert(5, '!')
    const seq = await applyServerEdit(server.collab, 'edited', { author: owner.id, kind: 'import', label: 'Seeded' }, (doc) =>
      insertAtStart(doc, 'server '),
    )
    await expect.poll(() => yws.doc.getText('default').toString()).toBe('server typed!')
    await expect.poll(() => hp.doc.getText('default').toString()).toBe('server typed!')

    await expect.poll(async () => (await rows(server, 'edited')).length).toBe(3)
    const row = (await rows(server, 'edited')).find((r) => Number(r.seq) === seq)
    expect(row).toMatchObject({ kind: 'import', label: 'Seeded', authors: JSON.stringify([owner.id]) })
    const others = (await rows(server, 'edited')).filter((r) => Number(r.seq) !== seq)
    expect(others.every((r) => r.kind === 'update' && r.label === null)).toBe(true)
  })

  it('records an edit that changes nothing as an empty row, and works on an unloaded document', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'quiet')
    const seq = await applyServerEdit(server.collab, 'quiet', { author: owner.id, kind: 'restore', label: 'Restored from version 0' }, () => null)
    expect(seq).toBe(1)
    expect(await rows(server, 'quiet')).toMatchObject([{ kind: 'restore', label: 'Restored from version 0' }])
    const second = await applyServerEdit(server.collab, 'quiet', { author: owner.id, kind: 'update' }, (doc) => insertAtStart(doc, 'x'))
    expect(second).toBe(2)
    expect(server.collab.hocuspocus.documents.has('quiet')).toBe(false)
  })

  it('stores the parts of an update that wait for missing dependencies, so a restart keeps them', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'pending')
    const source = new Y.Doc()
    source.getText('default').insert(0, 'first')
    const first = Y.encodeStateAsUpdate(source)
    const before = Y.encodeStateVector(source)
    source.getText('default').insert(5, ' second')
    const second = Y.encodeStateAsUpdate(source, before)
    // The second edit arrives before the one it builds on: Yjs holds it aside.
    await applyServerEdit(server.collab, 'pending', { author: owner.id, kind: 'update' }, () => second)
    const stored = await replayDocument(server.database.db, 'pending')
    Y.applyUpdate(stored, first)
    expect(stored.getText('default').toString()).toBe('first second')
    stored.destroy()
  })
})
