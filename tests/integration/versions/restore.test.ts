import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { docToJson } from '../../../server/documents/content.ts'
import { api, createShareLink, documentWithOwner, registerUser, share } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'
import { element, text } from '../../helpers/yxml.ts'

async function rows(server: TestServer, id: string) {
  const found = await server.database.db
    .selectFrom('document_updates')
    .select(['seq', 'kind', 'label', 'authors'])
    .where('document_id', '=', id)
    .orderBy('seq')
    .execute()
  return found.map((r) => ({ seq: Number(r.seq), kind: r.kind, label: r.label, authors: JSON.parse(r.authors) as string[] }))
}

const restore = (server: TestServer, id: string, seq: number | string, token: string | undefined) =>
  api(server, 'POST', `/documents/${id}/versions/${seq}/restore`, { token })

/** Makes an edit on `client` and waits until it is stored as a row of its own; returns its seq. */
async function storedEdit(server: TestServer, id: string, client: { doc: Y.Doc }, edit: (doc: Y.Doc) => void): Promise<number> {
  const before = (await rows(server, id)).length
  edit(client.doc)
  await expect.poll(async () => (await rows(server, id)).length).toBe(before + 1)
  return before + 1
}

describeEachDatabase('restore a version', (databases) => {
  it('shows the old content on live clients of both protocols at once, as a new named row; history is kept', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'restored')
    const editor = await registerUser(server, 'Editor')
    await share(server, owner, 'restored', editor, 'editor')
    const hp = connectHocuspocus(server, 'restored', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'restored', { token: editor.accessToken })
    await Promise.all([hp.synced, yws.synced])

    // Two users in turns; what each version held, as the clients saw it after its store.
    const seen = new Map<number, Record<string, unknown>>()
    const turns: [typeof hp | typeof yws, (doc: Y.Doc) => void][] = [
      [hp, (doc) => doc.getText('default').insert(0, 'Hello world')],
      [yws, (doc) => doc.getText('default').insert(5, ', dear')],
      [hp, (doc) => doc.getText('default').delete(0, 5)],
      [yws, (doc) => doc.getText('default').insert(0, 'Goodbye')],
    ]
    for (const [client, edit] of turns) {
      const seq = await storedEdit(server, 'restored', client, edit)
      await expect.poll(() => docToJson(hp.doc)).toEqual(docToJson(yws.doc))
      seen.set(seq, docToJson(hp.doc))
    }
    expect(seen.get(2)).toEqual({ default: 'Hello, dear world' })

    const response = await restore(server, 'restored', 2, editor.accessToken)
    expect(response.status).toBe(201)
    expect(response.body).toEqual({ seq: 5 })
    await expect.poll(() => hp.doc.getText('default').toString(), { timeout: 1_000 }).toBe('Hello, dear world')
    await expect.poll(() => yws.doc.getText('default').toString(), { timeout: 1_000 }).toBe('Hello, dear world')

    const log = await rows(server, 'restored')
    expect(log.at(-1)).toEqual({ seq: 5, kind: 'restore', label: 'Restored from version 2', authors: [editor.id] })
    expect(log.slice(0, 4).every((r) => r.kind === 'update' && r.label === null)).toBe(true)
    for (const [seq, content] of seen) expect(await replayJson(server.database.db, 'restored', seq)).toEqual(content)
    expect(await replayJson(server.database.db, 'restored')).toEqual({ default: 'Hello, dear world' })

    // Editing goes on on top of the restore.
    hp.doc.getText('default').insert(0, '> ')
    await expect.poll(() => yws.doc.getText('default').toString()).toBe('> Hello, dear world')
  })

  it('reverts edits still in the store debounce window, and seq 0 restores the empty document', async () => {
    const server = await startTestServer(await databases.create(), { STORE_DEBOUNCE_MS: '60000', STORE_MAX_DEBOUNCE_MS: '60000' })
    const owner = await documentWithOwner(server, 'unsaved')
    const hp = connectHocuspocus(server, 'unsaved', { token: owner.accessToken })
    await hp.synced
    hp.doc.getText('default').insert(0, 'not stored yet')
    await expect.poll(() => server.collab.updateLog.pendingCount('unsaved')).toBeGreaterThan(0)
    const response = await restore(server, 'unsaved', 0, owner.accessToken)
    expect(response.status).toBe(201)
    await expect.poll(() => hp.doc.getText('default').toString(), { timeout: 1_000 }).toBe('')
    // The unsaved edit is stored first, so the restore row comes after what it reverted.
    expect(response.body).toEqual({ seq: 2 })
    expect((await rows(server, 'unsaved')).map((r) => r.kind)).toEqual(['update', 'restore'])
    expect(await replayJson(server.database.db, 'unsaved', 1)).toEqual({ default: 'not stored yet' })
    expect(await replayJson(server.database.db, 'unsaved')).toEqual({ default: '' })
  })

  it('merges an offline client\'s edits, made before the restore, in after it', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'offline-restore')
    const online = connectHocuspocus(server, 'offline-restore', { token: owner.accessToken })
    const offline = connectHocuspocus(server, 'offline-restore', { token: owner.accessToken })
    await Promise.all([online.synced, offline.synced])
    const version = await storedEdit(server, 'offline-restore', online, (doc) => doc.getText('default').insert(0, 'Version one.'))
    await storedEdit(server, 'offline-restore', online, (doc) => doc.getText('default').insert(12, ' Later text.'))
    await expect.poll(() => offline.doc.getText('default').toString()).toBe('Version one. Later text.')

    offline.socket.disconnect()
    await expect.poll(() => offline.socket.status).toBe('disconnected')
    offline.doc.getText('default').insert(0, 'Offline: ')
    offline.doc.getMap('meta').set('offline', true)

    expect((await restore(server, 'offline-restore', version, owner.accessToken)).status).toBe(201)
    await expect.poll(() => online.doc.getText('default').toString(), { timeout: 1_000 }).toBe('Version one.')

    void offline.socket.connect()
    for (const client of [online, offline]) {
      await expect.poll(() => client.doc.getText('default').toString()).toBe('Offline: Version one.')
      await expect.poll(() => client.doc.getMap('meta').toJSON()).toEqual({ offline: true })
    }
    await expect
      .poll(() => replayJson(server.database.db, 'offline-restore'))
      .toEqual({ default: 'Offline: Version one.', meta: { offline: true } })
  })

  it('restores Y.Map, Y.Array and a Tiptap-shaped Y.XmlFragment on a live client', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'roots')
    const writer = connectHocuspocus(server, 'roots', { token: owner.accessToken })
    const reader = connectYWebsocket(server, 'roots', { token: owner.accessToken })
    await Promise.all([writer.synced, reader.synced])
    const version = await storedEdit(server, 'roots', writer, (doc) => {
      doc.getMap('settings').set('title', 'Plan')
      doc.getMap('settings').set('count', 1)
      doc.getArray('items').push(['a', 'b', { c: 3 }])
      tiptapDocument(doc.getXmlFragment('prosemirror'))
    })
    const atVersion = await replayJson(server.database.db, 'roots', version)
    expect(atVersion.prosemirror).toMatchObject({ type: 'doc', content: [{ type: 'heading' }, { type: 'paragraph' }, { type: 'bulletList' }] })

    await storedEdit(server, 'roots', writer, (doc) => {
      doc.getMap('settings').set('title', 'Other')
      doc.getMap('settings').delete('count')
      doc.getArray('items').delete(0, 2)
      doc.getArray('items').push(['z'])
      const fragment = doc.getXmlFragment('prosemirror')
      ;((fragment.get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'Draft ')
      ;((fragment.get(1) as Y.XmlElement).get(0) as Y.XmlText).format(0, 4, { bold: null })
      ;(fragment.get(2) as Y.XmlElement).delete(0, 1)
      fragment.delete(1, 1)
    })
    expect(await replayJson(server.database.db, 'roots')).not.toEqual(atVersion)

    expect((await restore(server, 'roots', version, owner.accessToken)).status).toBe(201)
    for (const client of [writer, reader]) {
      await expect.poll(() => clientJson(client), { timeout: 1_000 }).toEqual(atVersion)
    }
    expect(await replayJson(server.database.db, 'roots')).toEqual(atVersion)
  })

  it('lets editors and owners restore; viewers 403; share links, strangers, unknown versions 404', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'guarded')
    const viewer = await registerUser(server, 'Viewer')
    const stranger = await registerUser(server, 'Stranger')
    await share(server, owner, 'guarded', viewer, 'viewer')
    const editorLink = await createShareLink(server, owner, 'guarded', 'editor')
    const viewerLink = await createShareLink(server, owner, 'guarded', 'viewer')
    const hp = connectHocuspocus(server, 'guarded', { token: owner.accessToken })
    await hp.synced
    await storedEdit(server, 'guarded', hp, (doc) => doc.getText('default').insert(0, 'content'))

    expect((await restore(server, 'guarded', 1, viewer.accessToken)).status).toBe(403)
    for (const token of [editorLink.token, viewerLink.token, stranger.accessToken]) {
      const response = await restore(server, 'guarded', 1, token)
      expect(response.status).toBe(404)
      expect(response.body.code).toBe('not_found')
    }
    expect((await restore(server, 'guarded', 1, undefined)).status).toBe(401)
    expect((await restore(server, 'guarded', 2, owner.accessToken)).status).toBe(404)
    expect((await restore(server, 'unknown-doc', 1, owner.accessToken)).status).toBe(404)
    expect((await restore(server, 'guarded', 'one', owner.accessToken)).status).toBe(400)
    expect((await restore(server, 'guarded', -1, owner.accessToken)).status).toBe(400)
    expect(await rows(server, 'guarded')).toHaveLength(1)
    expect(hp.doc.getText('default').toString()).toBe('content')
  })
})

/** What a live client holds, read the way the server reads a stored document. */
function clientJson(client: { doc: Y.Doc }): Record<string, unknown> {
  const copy = new Y.Doc()
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(client.doc))
  try {
    return docToJson(copy)
  } finally {
    copy.destroy()
  }
}

/** A Tiptap (StarterKit) document as y-prosemirror stores it. */
function tiptapDocument(fragment: Y.XmlFragment): void {
  fragment.insert(0, [
    element('heading', { level: 1 }, [text(['Release notes'])]),
    element('paragraph', {}, [text(['Ship', { bold: {} }], [' it '], ['now', { italic: {} }])]),
    element('bulletList', {}, [
      element('listItem', {}, [element('paragraph', {}, [text(['one'])])]),
      element('listItem', {}, [element('paragraph', {}, [text(['two', { code: {} }])])]),
    ]),
  ])
}

