import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { api, createShareLink, documentWithOwner, registerUser, share } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { logRows, replayJson } from '../../helpers/log.ts'
import { apiRaw, postUpdate } from '../../helpers/raw-body.ts'
import { startTestServer } from '../../helpers/server.ts'

/** What a backend would send: an update made on its own copy of the document. */
function textUpdate(text: string, base?: Y.Doc): Uint8Array {
  const doc = new Y.Doc()
  if (base) Y.applyUpdate(doc, Y.encodeStateAsUpdate(base))
  const before = Y.encodeStateVector(doc)
  doc.getText('default').insert(doc.getText('default').length, text)
  const update = Y.encodeStateAsUpdate(doc, before)
  doc.destroy()
  return update
}

describeEachDatabase('POST updates over REST', (databases) => {
  it('applies a valid update live on both protocols and stores it as a version by the caller', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'posted')
    const editor = await registerUser(server, 'Editor')
    await share(server, owner, 'posted', editor, 'editor')
    const hp = connectHocuspocus(server, 'posted', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'posted', { token: owner.accessToken })
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'typed.')
    await expect.poll(async () => (await logRows(server.database.db, 'posted')).length).toBe(1)

    const response = await postUpdate(server, 'posted', editor.accessToken, textUpdate(' posted.', hp.doc))
    expect(response.status).toBe(201)
    expect(response.body).toEqual({ seq: 2 })
    await expect.poll(() => hp.doc.getText('default').toString(), { timeout: 1_000 }).toBe('typed. posted.')
    await expect.poll(() => yws.doc.getText('default').toString(), { timeout: 1_000 }).toBe('typed. posted.')
    const rows = await logRows(server.database.db, 'posted')
    expect(rows.at(-1)).toMatchObject({ seq: 2, kind: 'update', authors: [editor.id] })
    expect(await replayJson(server.database.db, 'posted')).toEqual({ default: 'typed. posted.' })

    // An editor share link may post too; the row names the link.
    const link = await createShareLink(server, owner, 'posted', 'editor')
    const byLink = await postUpdate(server, 'posted', link.token, textUpdate(' linked.', hp.doc))
    expect(byLink.status).toBe(201)
    expect((await logRows(server.database.db, 'posted')).at(-1)).toMatchObject({ seq: byLink.body.seq, authors: [`link:${link.id}`] })
    await expect.poll(() => yws.doc.getText('default').toString()).toBe('typed. posted. linked.')
  })

  it('accepts an update whose dependencies are missing: Yjs keeps it pending until they arrive', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'pending')
    const yws = connectYWebsocket(server, 'pending', { token: owner.accessToken })
    await yws.synced
    const base = new Y.Doc()
    base.getText('default').insert(0, 'sent later')
    const dependent = textUpdate(', then this', base)
    expect((await postUpdate(server, 'pending', owner.accessToken, dependent)).status).toBe(201)
    expect(yws.doc.getText('default').toString()).toBe('')

    expect((await postUpdate(server, 'pending', owner.accessToken, Y.encodeStateAsUpdate(base))).status).toBe(201)
    await expect.poll(() => yws.doc.getText('default').toString()).toBe('sent later, then this')
    await expect.poll(() => replayJson(server.database.db, 'pending')).toEqual({ default: 'sent later, then this' })
  })

  it('answers 400 for bytes that are not one Yjs update, and changes nothing', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'garbage')
    const hp = connectHocuspocus(server, 'garbage', { token: owner.accessToken })
    await hp.synced
    hp.doc.getText('default').insert(0, 'kept')
    await expect.poll(async () => (await logRows(server.database.db, 'garbage')).length).toBe(1)

    const valid = textUpdate(' more', hp.doc)
    const deleting = (() => {
      const copy = new Y.Doc()
      Y.applyUpdate(copy, Y.encodeStateAsUpdate(hp.doc))
      const before = Y.encodeStateVector(copy)
      copy.getText('default').delete(0, 4)
      return Y.encodeStateAsUpdate(copy, before)
    })()
    const bad: Record<string, Uint8Array> = {
      text: new TextEncoder().encode('this is not a yjs update'),
      random: new Uint8Array(randomBytes(64)),
      truncated: valid.subarray(0, valid.byteLength - 3),
      'trailing bytes': new Uint8Array([...valid, 7, 7]),
      'truncated delete': deleting.subarray(0, deleting.byteLength - 1),
      empty: new Uint8Array(0),
    }
    for (const [name, bytes] of Object.entries(bad)) {
      const response = await postUpdate(server, 'garbage', owner.accessToken, bytes)
      expect(response.status, name).toBe(400)
      expect(response.body.code, name).toBe('invalid_input')
    }
    expect(await logRows(server.database.db, 'garbage')).toHaveLength(1)
    expect(server.collab.updateLog.pendingCount('garbage')).toBe(0)
    expect(hp.doc.getText('default').toString()).toBe('kept')
    expect(server.collab.hocuspocus.documents.get('garbage')?.getText('default').toString()).toBe('kept')
  })

  it('answers 413 above the socket frame cap or the binary body cap, whichever is smaller', async () => {
    const caps: Record<string, string>[] = [{ MAX_MESSAGE_BYTES: '2048' }, { BODY_LIMIT_BYTES: '2048' }]
    for (const overrides of caps) {
      const server = await startTestServer(await databases.create(), overrides)
      const owner = await documentWithOwner(server, 'large')
      const small = textUpdate('x'.repeat(1_000))
      expect((await postUpdate(server, 'large', owner.accessToken, small)).status).toBe(201)
      const large = textUpdate('y'.repeat(4_000), (() => {
        const doc = new Y.Doc()
        Y.applyUpdate(doc, small)
        return doc
      })())
      const response = await postUpdate(server, 'large', owner.accessToken, large)
      expect(response.status, JSON.stringify(overrides)).toBe(413)
      expect(response.body.code).toBe('payload_too_large')
      expect(await logRows(server.database.db, 'large')).toHaveLength(1)
    }
  })

  it('lets only editors and up post: viewers 403, strangers 404, no token 401, other bodies 415', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'guarded')
    const viewer = await registerUser(server, 'Viewer')
    const stranger = await registerUser(server, 'Stranger')
    await share(server, owner, 'guarded', viewer, 'viewer')
    const viewerLink = await createShareLink(server, owner, 'guarded', 'viewer')
    const update = textUpdate('nope')
    expect((await postUpdate(server, 'guarded', viewer.accessToken, update)).status).toBe(403)
    expect((await postUpdate(server, 'guarded', viewerLink.token, update)).status).toBe(403)
    expect((await postUpdate(server, 'guarded', stranger.accessToken, update)).status).toBe(404)
    expect((await postUpdate(server, 'unknown-doc', owner.accessToken, update)).status).toBe(404)
    expect((await postUpdate(server, 'guarded', undefined, update)).status).toBe(401)
    const json = await api(server, 'POST', '/documents/guarded/updates', { token: owner.accessToken, body: { update: 'x' } })
    expect(json.status).toBe(415)
    const text = await apiRaw(server, 'POST', '/documents/guarded/updates', { token: owner.accessToken, type: 'text/plain', body: 'x' })
    expect(text.status).toBe(415)
    expect(await logRows(server.database.db, 'guarded')).toHaveLength(0)
  })
})
