import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { ELLIPSIS } from '../../../server/versions/diff.ts'
import { applyServerEdit } from '../../../server/versions/server-edits.ts'
import { api, createShareLink, documentWithOwner, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { connectHocuspocus } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { logRows } from '../../helpers/log.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

async function waitForRows(server: TestServer, id: string, count: number) {
  await expect.poll(async () => (await logRows(server.database.db, id)).length, { timeout: 10_000 }).toBe(count)
}

async function diff(server: TestServer, token: string | undefined, id: string, seq: number, query = '') {
  return api(server, 'GET', `/documents/${id}/versions/${seq}/diff${query}`, { token })
}

async function diffOk(server: TestServer, user: TestUser, id: string, seq: number, query = '') {
  const response = await diff(server, user.accessToken, id, seq, query)
  expect(response.status, JSON.stringify(response.body)).toBe(200)
  return response.body
}

/** An update that makes `change` on a scratch copy of the live document's `default` text. */
function editText(change: (text: Y.Text) => void) {
  return (live: Y.Doc) => {
    const scratch = new Y.Doc()
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(live))
    const before = Y.encodeStateVector(scratch)
    change(scratch.getText('default'))
    const update = Y.encodeStateAsUpdate(scratch, before)
    scratch.destroy()
    return update
  }
}

describeEachDatabase('version diff', (databases) => {
  it('shows word changes between versions of two users editing in turns, with the authors of the range', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'turns')
    const editor = await registerUser(server, 'Edith')
    await share(server, owner, 'turns', editor, 'editor')
    const mine = connectHocuspocus(server, 'turns', { token: owner.accessToken })
    const theirs = connectHocuspocus(server, 'turns', { token: editor.accessToken })
    await Promise.all([mine.synced, theirs.synced])

    mine.doc.getText('default').insert(0, 'The quick brown fox')
    await waitForRows(server, 'turns', 1)
    await expect.poll(() => theirs.doc.getText('default').toString()).toBe('The quick brown fox')
    theirs.doc.transact(() => {
      theirs.doc.getText('default').delete(10, 5)
      theirs.doc.getText('default').insert(10, 'red')
    })
    await waitForRows(server, 'turns', 2)
    await expect.poll(() => mine.doc.getText('default').toString()).toBe('The quick red fox')
    mine.doc.getText('default').insert(17, ' jumps.')
    await waitForRows(server, 'turns', 3)

    // `from` defaults to the version before.
    expect(await diffOk(server, owner, 'turns', 2)).toEqual({
      from: 1,
      to: 2,
      authors: [{ id: editor.id, name: 'Edith' }],
      changes: [
        { op: 'equal', text: 'The quick ' },
        { op: 'delete', text: 'brown' },
        { op: 'insert', text: 'red' },
        { op: 'equal', text: ' fox' },
      ],
    })
    expect(await diffOk(server, owner, 'turns', 3)).toMatchObject({
      from: 2,
      authors: [{ id: owner.id, name: 'Owner' }],
      changes: [
        { op: 'equal', text: 'The quick red fox' },
        { op: 'insert', text: ' jumps.' },
      ],
    })
    // 0 is the empty document; authors in order of first appearance.
    expect(await diffOk(server, owner, 'turns', 3, '?from=0')).toEqual({
      from: 0,
      to: 3,
      authors: [
        { id: owner.id, name: 'Owner' },
        { id: editor.id, name: 'Edith' },
      ],
      changes: [{ op: 'insert', text: 'The quick red fox jumps.' }],
    })
    expect(await diffOk(server, editor, 'turns', 3, '?from=1')).toMatchObject({
      authors: [{ id: editor.id }, { id: owner.id }],
      changes: [
        { op: 'equal', text: 'The quick ' },
        { op: 'delete', text: 'brown' },
        { op: 'insert', text: 'red' },
        { op: 'equal', text: ' fox' },
        { op: 'insert', text: ' jumps.' },
      ],
    })
    expect(await diffOk(server, owner, 'turns', 3, '?from=3')).toEqual({
      from: 3,
      to: 3,
      authors: [],
      changes: [{ op: 'equal', text: 'The quick red fox jumps.' }],
    })
  })

  it('names guests (share links) and deleted users, and diffs the root asked for', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'guests')
    const link = await createShareLink(server, owner, 'guests', 'editor')
    const guest = connectHocuspocus(server, 'guests', { token: link.token })
    await guest.synced
    guest.doc.getText('default').insert(0, 'guest words')
    guest.doc.getText('notes').insert(0, 'a note')
    await waitForRows(server, 'guests', 1)
    await applyServerEdit(server.collab, 'guests', { author: 'user-that-left', kind: 'update' }, editText((t) => t.insert(0, 'old ')))

    expect(await diffOk(server, owner, 'guests', 2, '?from=0')).toEqual({
      from: 0,
      to: 2,
      authors: [
        { id: `link:${link.id}`, name: 'Guest' },
        { id: 'user-that-left', name: 'Deleted user' },
      ],
      changes: [{ op: 'insert', text: 'old guest words' }],
    })
    expect((await diffOk(server, owner, 'guests', 2, '?root=notes')).changes).toEqual([{ op: 'equal', text: 'a note' }])
    expect((await diffOk(server, owner, 'guests', 1, '?root=notes')).changes).toEqual([{ op: 'insert', text: 'a note' }])
  })

  it('elides long unchanged stretches, so a one-word change in a long document is a small answer', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'long')
    const paragraph = (n: number) => `Paragraph ${n} says something fairly ordinary about nothing in particular.`
    const text = Array.from({ length: 400 }, (_, n) => paragraph(n)).join('\n')
    await applyServerEdit(server.collab, 'long', { author: owner.id, kind: 'import' }, editText((t) => t.insert(0, text)))
    const at = text.indexOf(paragraph(200)) + 'Paragraph 200 says something '.length
    await applyServerEdit(server.collab, 'long', { author: owner.id, kind: 'update' }, editText((t) => {
      t.delete(at, 'fairly'.length)
      t.insert(at, 'quite')
    }))

    const response = await diff(server, owner.accessToken, 'long', 2)
    expect(response.status).toBe(200)
    expect(JSON.stringify(response.body).length).toBeLessThan(800)
    const changes = response.body.changes as { op: string; text: string }[]
    expect(changes.map((c) => c.op)).toEqual(['equal', 'delete', 'insert', 'equal'])
    expect(changes.slice(1, 3)).toEqual([
      { op: 'delete', text: 'fairly' },
      { op: 'insert', text: 'quite' },
    ])
    // Context on both sides of the change, the rest elided.
    expect(changes[0]!.text.startsWith(ELLIPSIS)).toBe(true)
    expect(changes[0]!.text.endsWith('Paragraph 200 says something ')).toBe(true)
    expect(changes[3]!.text.startsWith(' ordinary about nothing in particular.\nParagraph 201')).toBe(true)
    expect(changes[3]!.text.endsWith(ELLIPSIS)).toBe(true)
  })

  it('refuses a from after the version (400) and unknown versions (404)', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'bounds')
    await applyServerEdit(server.collab, 'bounds', { author: owner.id, kind: 'update' }, editText((t) => t.insert(0, 'one')))
    await applyServerEdit(server.collab, 'bounds', { author: owner.id, kind: 'update' }, editText((t) => t.insert(3, ' two')))

    const after = await diff(server, owner.accessToken, 'bounds', 1, '?from=2')
    expect(after.status).toBe(400)
    expect(after.body).toMatchObject({ code: 'invalid_input', message: 'from (2) must not be after the version (1)' })
    for (const query of ['?from=-1', '?from=one', '?root=', '?other=1']) {
      expect((await diff(server, owner.accessToken, 'bounds', 2, query)).status, query).toBe(400)
    }
    expect((await diff(server, owner.accessToken, 'bounds', 0)).status).toBe(400)
    expect((await diff(server, owner.accessToken, 'bounds', 3)).body).toMatchObject({ statusCode: 404, code: 'not_found' })
    expect((await diff(server, owner.accessToken, 'bounds', 3, '?from=1')).status).toBe(404)
    expect((await diff(server, owner.accessToken, 'nowhere', 1)).status).toBe(404)
  })

  it('is for members: viewers read it; share links and strangers get 404, no token 401', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'members')
    const viewer = await registerUser(server, 'Viewer')
    const stranger = await registerUser(server, 'Stranger')
    await share(server, owner, 'members', viewer, 'viewer')
    await applyServerEdit(server.collab, 'members', { author: owner.id, kind: 'update' }, editText((t) => t.insert(0, 'hi')))
    const viewerLink = await createShareLink(server, owner, 'members', 'viewer')
    const editorLink = await createShareLink(server, owner, 'members', 'editor')

    expect((await diff(server, viewer.accessToken, 'members', 1)).status).toBe(200)
    for (const token of [viewerLink.token, editorLink.token, stranger.accessToken]) {
      const response = await diff(server, token, 'members', 1)
      expect(response.status).toBe(404)
      expect(response.body.message).toBe('Document not found')
    }
    expect((await diff(server, undefined, 'members', 1)).status).toBe(401)
  })
})
