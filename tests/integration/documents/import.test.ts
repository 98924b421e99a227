import { expect, it } from 'vitest'
import * as Y from 'yjs'
import type { ProsemirrorNode } from '../../../server/documents/content.ts'
import { markdownToProsemirror } from '../../../server/documents/markdown.ts'
import { prosemirrorToYXml } from '../../../server/documents/prosemirror-yjs.ts'
import { api, createShareLink, documentWithOwner, registerUser, share } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { logRows, replayJson } from '../../helpers/log.ts'
import { apiRaw } from '../../helpers/raw-body.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'
import { readAsTiptap, TIPTAP_DOCUMENT, TIPTAP_MARKDOWN, tiptapReading, writeAsTiptap } from '../../helpers/starter-kit.ts'

function put(server: TestServer, token: string | undefined, id: string, query: string, type: string, body: string) {
  return apiRaw(server, 'PUT', `/documents/${id}/content${query}`, { token, type, body })
}

async function content(server: TestServer, token: string, path: string) {
  const response = await api(server, 'GET', path, { token })
  expect(response.status, String(response.body)).toBe(200)
  return response
}

/** What a Tiptap editor reads from a fragment the server filled with `json` (y-prosemirror's encoding, see the unit tests). */
function storedReading(json: ProsemirrorNode): ProsemirrorNode {
  const fragment = new Y.Doc().getXmlFragment('default')
  fragment.insert(0, prosemirrorToYXml(json.content ?? []))
  return readAsTiptap(fragment)
}

const PARAGRAPHS = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Seeded' }] },
    { type: 'paragraph', content: [{ type: 'text', text: 'from a ' }, { type: 'text', text: 'backend', marks: [{ type: 'bold' }] }] },
  ],
}

describeEachDatabase('content import', (databases) => {
  it('replaces a root from text, ProseMirror JSON and markdown, live on both protocols, stored as imports by the caller', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'seeded')
    const hp = connectHocuspocus(server, 'seeded', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'seeded', { token: owner.accessToken })
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'typed by hand')
    await expect.poll(async () => (await logRows(server.database.db, 'seeded')).length).toBe(1)

    const text = await put(server, owner.accessToken, 'seeded', '', 'text/plain; charset=utf-8', 'Seeded from a backend ✓')
    expect(text.status, JSON.stringify(text.body)).toBe(201)
    expect(text.body).toEqual({ seq: 2 })
    for (const client of [hp, yws]) await expect.poll(() => client.doc.getText('default').toString()).toBe('Seeded from a backend ✓')

    const json = await api(server, 'PUT', '/documents/seeded/content?format=json&root=pm', { token: owner.accessToken, body: PARAGRAPHS })
    expect(json.status, JSON.stringify(json.body)).toBe(201)
    for (const client of [hp, yws]) await expect.poll(() => readAsTiptap(client.doc.getXmlFragment('pm'))).toEqual(tiptapReading(PARAGRAPHS))

    const markdown = await put(server, owner.accessToken, 'seeded', '?root=md', 'text/markdown', TIPTAP_MARKDOWN)
    expect(markdown.status, JSON.stringify(markdown.body)).toBe(201)
    const parsed = storedReading(markdownToProsemirror(TIPTAP_MARKDOWN))
    expect(parsed.content!.map((node) => node.type)).toEqual(TIPTAP_DOCUMENT.content!.map((node) => node.type))
    for (const client of [hp, yws]) await expect.poll(() => readAsTiptap(client.doc.getXmlFragment('md'))).toEqual(parsed)

    // A JSON string replaces a text root; imports may be larger than ordinary JSON bodies.
    const long = 'word '.repeat(10_000)
    expect((await api(server, 'PUT', '/documents/seeded/content', { token: owner.accessToken, body: long })).status).toBe(201)
    await expect.poll(() => yws.doc.getText('default').toString()).toBe(long)
    // Replacing again leaves nothing of the old content.
    const again = await api(server, 'PUT', '/documents/seeded/content', { token: owner.accessToken, body: 'Replaced' })
    expect(again.status).toBe(201)
    for (const client of [hp, yws]) await expect.poll(() => client.doc.getText('default').toString()).toBe('Replaced')

    const rows = await logRows(server.database.db, 'seeded')
    expect(rows.map((row) => [row.seq, row.kind, row.authors])).toEqual([
      [1, 'update', [owner.id]],
      [2, 'import', [owner.id]],
      [3, 'import', [owner.id]],
      [4, 'import', [owner.id]],
      [5, 'import', [owner.id]],
      [6, 'import', [owner.id]],
    ])
    expect(await replayJson(server.database.db, 'seeded')).toMatchObject({ default: 'Replaced', pm: PARAGRAPHS })
    // Markdown comes back out as it went in.
    expect((await content(server, owner.accessToken, '/documents/seeded/content?format=markdown&root=md')).body.toString()).toBe(TIPTAP_MARKDOWN)
  })

  it('exports a Tiptap document as markdown, now and at a version, and a text root as its text', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'notes')
    const editor = connectHocuspocus(server, 'notes', { token: owner.accessToken })
    await editor.synced
    writeAsTiptap(editor.doc.getXmlFragment('default'), TIPTAP_DOCUMENT)
    editor.doc.getText('plain').insert(0, '*as is*')
    await expect.poll(async () => (await logRows(server.database.db, 'notes')).length).toBe(1)
    editor.doc.getXmlFragment('default').delete(0, editor.doc.getXmlFragment('default').length)
    await expect.poll(async () => (await logRows(server.database.db, 'notes')).length).toBe(2)

    const now = await content(server, owner.accessToken, '/documents/notes/content?format=markdown')
    expect(now.type).toBe('text/markdown; charset=utf-8')
    expect(now.body.toString()).toBe('')
    const then = await content(server, owner.accessToken, '/documents/notes/versions/1?format=markdown')
    expect(then.type).toBe('text/markdown; charset=utf-8')
    expect(then.body.toString()).toBe(TIPTAP_MARKDOWN)
    expect((await content(server, owner.accessToken, '/documents/notes/content?format=markdown&root=plain')).body.toString()).toBe('*as is*')
  })

  it('refuses bad input and a root of another type, and changes nothing', async () => {
    const server = await startTestServer(await databases.create(), { MAX_MESSAGE_BYTES: '4096' })
    const owner = await documentWithOwner(server, 'guarded')
    const token = owner.accessToken
    const client = connectHocuspocus(server, 'guarded', { token })
    await client.synced
    client.doc.getText('default').insert(0, 'keep me')
    writeAsTiptap(client.doc.getXmlFragment('rich'), PARAGRAPHS)
    client.doc.getMap('settings').set('theme', 'dark')
    await expect.poll(async () => (await logRows(server.database.db, 'guarded')).length).toBe(1)
    const before = await replayJson(server.database.db, 'guarded')

    const cases: [string, Promise<{ status: number; body: { code?: string; message?: string; details?: unknown } }>, number, string?][] = [
      ['not a doc', api(server, 'PUT', '/documents/guarded/content?root=rich', { token, body: { type: 'paragraph' } }), 400],
      ['a number', api(server, 'PUT', '/documents/guarded/content', { token, body: 42 }), 400],
      [
        'a bad nested node',
        api(server, 'PUT', '/documents/guarded/content?root=rich', { token, body: { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text' }] }] } }),
        400,
        'body/content/0/content/0/text',
      ],
      ['text into a fragment', put(server, token, 'guarded', '?root=rich', 'text/plain', 'flat'), 409, 'holds a Y.XmlFragment; text imports need a Y.Text root'],
      ['markdown into a text', put(server, token, 'guarded', '', 'text/markdown', '# no'), 409, 'holds a Y.Text; ProseMirror and markdown imports need a Y.XmlFragment root'],
      ['a document into a map', api(server, 'PUT', '/documents/guarded/content?root=settings', { token, body: PARAGRAPHS }), 409, 'holds a Y.Map'],
      ['json format, text body', put(server, token, 'guarded', '?format=json', 'text/plain', '"x"'), 415],
      ['text format, json body', api(server, 'PUT', '/documents/guarded/content?format=markdown', { token, body: 'x' }), 415],
      ['binary', apiRaw(server, 'PUT', '/documents/guarded/content', { token, type: 'application/octet-stream', body: new Uint8Array(4) }), 415],
      ['too large', put(server, token, 'guarded', '?root=big', 'text/plain', 'x'.repeat(5000)), 413],
      ['unknown format', put(server, token, 'guarded', '?format=html', 'text/plain', 'x'), 400],
      ['no body', api(server, 'PUT', '/documents/guarded/content', { token }), 400, 'is missing'],
    ]
    for (const [name, request, status, detail] of cases) {
      const response = await request
      expect(response.status, `${name}: ${JSON.stringify(response.body)}`).toBe(status)
      if (detail) expect(JSON.stringify(response.body), name).toContain(detail)
    }
    expect(await logRows(server.database.db, 'guarded')).toHaveLength(1)
    expect(await replayJson(server.database.db, 'guarded')).toEqual(before)
    expect(client.doc.getText('default').toString()).toBe('keep me')
    // Markdown of a map has no meaning.
    expect((await api(server, 'GET', '/documents/guarded/content?format=markdown&root=settings', { token })).status).toBe(409)
  })

  it('is for editors: editor links import as guests; viewers and viewer links get 403, strangers 404', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'rights')
    const [editor, viewer, stranger] = await Promise.all(['Editor', 'Viewer', 'Stranger'].map((name) => registerUser(server, name)))
    await share(server, owner, 'rights', editor!, 'editor')
    await share(server, owner, 'rights', viewer!, 'viewer')
    const viewerLink = await createShareLink(server, owner, 'rights', 'viewer')
    const editorLink = await createShareLink(server, owner, 'rights', 'editor')

    expect((await put(server, viewer!.accessToken, 'rights', '', 'text/plain', 'no')).status).toBe(403)
    expect((await put(server, viewerLink.token, 'rights', '', 'text/plain', 'no')).status).toBe(403)
    expect((await put(server, stranger!.accessToken, 'rights', '', 'text/plain', 'no')).status).toBe(404)
    expect((await put(server, undefined, 'rights', '', 'text/plain', 'no')).status).toBe(401)
    expect(await logRows(server.database.db, 'rights')).toHaveLength(0)

    expect((await put(server, editor!.accessToken, 'rights', '', 'text/plain', 'by editor')).status).toBe(201)
    expect((await put(server, editorLink.token, 'rights', '', 'text/plain', 'by guest')).status).toBe(201)
    expect((await logRows(server.database.db, 'rights')).map((row) => row.authors)).toEqual([[editor!.id], [`link:${editorLink.id}`]])
    expect(await replayJson(server.database.db, 'rights')).toEqual({ default: 'by guest' })
  })
})
