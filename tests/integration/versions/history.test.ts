import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { docToJson } from '../../../server/documents/content.ts'
import { applyServerEdit } from '../../../server/versions/server-edits.ts'
import { foldSessions } from '../../../server/versions/sessions.ts'
import { updateLogDefaults } from '../../../server/versions/update-log.options.ts'
import { appendUpdates, type NewLogEntry } from '../../../server/versions/update-log.queries.ts'
import { listVersionRows } from '../../../server/versions/versions.queries.ts'
import { api, createShareLink, documentWithOwner, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { checkpointRows, logRows } from '../../helpers/log.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

type Json = Record<string, unknown>

async function list(server: TestServer, user: TestUser, id: string, query = '') {
  const response = await api(server, 'GET', `/documents/${id}/versions${query}`, { token: user.accessToken })
  expect(response.status, JSON.stringify(response.body)).toBe(200)
  return response.body as { items: Json[]; nextCursor: string | null }
}

/** Every item of a view, page by page through `nextCursor`. */
async function allPages(server: TestServer, user: TestUser, id: string, query: string, limit: number) {
  const pages: Json[][] = []
  let cursor: string | null = null
  do {
    const page = await list(server, user, id, `?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
    pages.push(page.items)
    cursor = page.nextCursor
  } while (cursor !== null && pages.length < 50)
  return pages
}

async function version(server: TestServer, user: TestUser, id: string, seq: number, format: string) {
  const response = await api(server, 'GET', `/documents/${id}/versions/${seq}?format=${format}`, { token: user.accessToken })
  expect(response.status, `version ${seq} as ${format}`).toBe(200)
  return response.body
}

async function waitForRows(server: TestServer, id: string, count: number) {
  await expect.poll(async () => (await logRows(server.database.db, id)).length, { timeout: 10_000 }).toBe(count)
}

/** The content JSON of every root, as the server renders it. */
const contentOf = (doc: Y.Doc) => JSON.parse(JSON.stringify(docToJson(doc))) as Json

async function converged(a: Y.Doc, b: Y.Doc) {
  await expect.poll(() => contentOf(b), { timeout: 10_000 }).toEqual(contentOf(a))
}

/** Waits (the clock must move on) until `gapMs` has passed since the newest row was stored. */
async function pastGap(server: TestServer, id: string, gapMs: number) {
  const newest = (await logRows(server.database.db, id)).at(-1)!
  const wait = Number(newest.created_at) + gapMs + 100 - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
}

/** Applies a server-side edit of `kind` that inserts `text` at the end of the `default` text. */
function serverEdit(server: TestServer, id: string, author: string, kind: 'update' | 'restore' | 'import', text = '', label?: string) {
  return applyServerEdit(server.collab, id, { author, kind, label }, (doc) => {
    if (!text) return null
    const scratch = new Y.Doc()
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(doc))
    const before = Y.encodeStateVector(scratch)
    const root = scratch.getText('default')
    root.insert(root.length, text)
    const update = Y.encodeStateAsUpdate(scratch, before)
    scratch.destroy()
    return update
  })
}

const seqs = (items: Json[]) => items.map((item) => item.seq)

describeEachDatabase('version history', (databases) => {
  it('two users editing in turns: the list names both, newest first, and each version is what the clients had', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await documentWithOwner(server, 'turns')
    const bob = await registerUser(server, 'Bob')
    await share(server, alice, 'turns', bob, 'editor')
    const hp = connectHocuspocus(server, 'turns', { token: alice.accessToken })
    const yws = connectYWebsocket(server, 'turns', { token: bob.accessToken })
    await Promise.all([hp.synced, yws.synced])

    const turns: [Y.Doc, (doc: Y.Doc) => void][] = [
      [hp.doc, (doc) => doc.getText('default').insert(0, 'Hello')],
      [yws.doc, (doc) => doc.getText('default').insert(5, ' world')],
      [hp.doc, (doc) => doc.getMap('meta').set('title', 'Greeting')],
      [yws.doc, (doc) => doc.getText('default').delete(0, 1)],
      [hp.doc, (doc) => doc.getText('default').insert(0, 'J')],
    ]
    const expected: { text: string; json: Json }[] = []
    for (const [i, [doc, edit]] of turns.entries()) {
      // Each writer starts from what the other one stored.
      await converged(hp.doc, yws.doc)
      edit(doc)
      await waitForRows(server, 'turns', i + 1)
      expected.push({ text: doc.getText('default').toString(), json: contentOf(doc) })
    }

    const { items, nextCursor } = await list(server, alice, 'turns')
    expect(nextCursor).toBeNull()
    expect(seqs(items)).toEqual([5, 4, 3, 2, 1])
    const aliceAuthor = { id: alice.id, name: 'Owner' }
    const bobAuthor = { id: bob.id, name: 'Bob' }
    expect(items.map((item) => item.authors)).toEqual([[aliceAuthor], [bobAuthor], [aliceAuthor], [bobAuthor], [aliceAuthor]])
    const rows = await logRows(server.database.db, 'turns')
    for (const item of items) {
      const row = rows.find((r) => r.seq === item.seq)!
      expect(item).toEqual({
        seq: row.seq,
        createdAt: new Date(Number(row.created_at)).toISOString(),
        authors: item.authors,
        bytes: row.bytes,
        label: null,
        kind: 'update',
      })
    }

    for (const [i, { text, json }] of expected.entries()) {
      const seq = i + 1
      expect(await version(server, bob, 'turns', seq, 'text')).toEqual(Buffer.from(text))
      expect(await version(server, bob, 'turns', seq, 'json')).toEqual(json)
      const binary = new Y.Doc()
      Y.applyUpdate(binary, await version(server, bob, 'turns', seq, 'yjs'))
      expect(binary.getText('default').toString()).toBe(text)
    }
    expect(expected.map((e) => e.text)).toEqual(['Hello', 'Hello world', 'Hello world', 'ello world', 'Jello world'])
  })

  it('names every author: current names, guests by link, anonymous and deleted users', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'names')
    const carol = await registerUser(server, 'Carol')
    await share(server, owner, 'names', carol, 'editor')
    const link = await createShareLink(server, owner, 'names', 'editor')
    const guest = connectYWebsocket(server, 'names', { token: link.token })
    await guest.synced
    guest.doc.getText('default').insert(0, 'from a link')
    await waitForRows(server, 'names', 1)
    await serverEdit(server, 'names', 'anonymous', 'update', '!')
    await serverEdit(server, 'names', carol.id, 'update', '?')
    await server.database.db.deleteFrom('users').where('id', '=', carol.id).execute()

    const { items } = await list(server, owner, 'names')
    expect(items.map((item) => item.authors)).toEqual([
      [{ id: carol.id, name: 'Deleted user' }],
      [{ id: 'anonymous', name: 'Anonymous' }],
      [{ id: `link:${link.id}`, name: 'Guest' }],
    ])
  })

  it('folds rows into sessions that split on the gap, on labels and on restore and import rows', async () => {
    const gapMs = 1_000
    const server = await startTestServer(await databases.create(), { VERSION_SESSION_GAP_SECONDS: '1' })
    const alice = await documentWithOwner(server, 'sessions')
    const bob = await registerUser(server, 'Bob')
    await share(server, alice, 'sessions', bob, 'editor')
    const hp = connectHocuspocus(server, 'sessions', { token: alice.accessToken })
    const yws = connectYWebsocket(server, 'sessions', { token: bob.accessToken })
    await Promise.all([hp.synced, yws.synced])
    const type = async (doc: Y.Doc, text: string, rows: number) => {
      doc.getText('default').insert(0, text)
      await waitForRows(server, 'sessions', rows)
    }

    await type(hp.doc, 'a', 1)
    await type(yws.doc, 'b', 2)
    await pastGap(server, 'sessions', gapMs)
    await type(yws.doc, 'c', 3)
    await type(hp.doc, 'd', 4)
    const named = await api(server, 'PATCH', '/documents/sessions/versions/4', { token: bob.accessToken, body: { label: 'Draft' } })
    expect(named.status).toBe(200)
    await type(yws.doc, 'e', 5)
    expect(await serverEdit(server, 'sessions', alice.id, 'restore', '', 'Restored from version 1')).toBe(6)
    await type(hp.doc, 'f', 7)
    expect(await serverEdit(server, 'sessions', bob.id, 'import', 'imported')).toBe(8)
    await type(hp.doc, 'g', 9)

    const rows = await logRows(server.database.db, 'sessions')
    const at = (seq: number) => new Date(Number(rows[seq - 1]!.created_at)).toISOString()
    const bytes = (from: number, to: number) => rows.slice(from - 1, to).reduce((sum, r) => sum + r.bytes, 0)
    const A = { id: alice.id, name: 'Owner' }
    const B = { id: bob.id, name: 'Bob' }
    const session = (fromSeq: number, seq: number, authors: Json[], kind = 'update', label: string | null = null) => ({
      seq,
      fromSeq,
      startedAt: at(fromSeq),
      createdAt: at(seq),
      authors,
      bytes: bytes(fromSeq, seq),
      label,
      kind,
    })
    const expected = [
      session(9, 9, [A]),
      session(8, 8, [B], 'import'),
      session(7, 7, [A]),
      session(6, 6, [A], 'restore', 'Restored from version 1'),
      session(5, 5, [B]),
      session(3, 4, [B, A], 'update', 'Draft'),
      session(1, 2, [A, B]),
    ]
    expect((await list(server, alice, 'sessions', '?group=session')).items).toEqual(expected)

    // Pages of every view, joined, are the whole view; a cursor never splits a session.
    expect((await allPages(server, alice, 'sessions', 'group=session', 2)).flat()).toEqual(expected)
    expect((await allPages(server, alice, 'sessions', 'group=session', 2)).map((p) => p.length)).toEqual([2, 2, 2, 1])
    expect((await allPages(server, alice, 'sessions', 'group=session', 7)).map((p) => p.length)).toEqual([7])
    const raw = (await list(server, alice, 'sessions', '?limit=100')).items
    expect(seqs(raw)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1])
    expect((await allPages(server, alice, 'sessions', '', 4)).map(seqs)).toEqual([[9, 8, 7, 6], [5, 4, 3, 2], [1]])

    // Named versions only: labelled rows (restores are named), and the sessions they end.
    const labelled = await list(server, bob, 'sessions', '?labelled=true')
    expect(labelled.items.map((v) => [v.seq, v.kind, v.label])).toEqual([
      [6, 'restore', 'Restored from version 1'],
      [4, 'update', 'Draft'],
    ])
    expect((await allPages(server, bob, 'sessions', 'labelled=true', 1)).map(seqs)).toEqual([[6], [4]])
    expect((await list(server, bob, 'sessions', '?labelled=true&group=session')).items).toEqual([expected[3], expected[5]])
    expect((await allPages(server, bob, 'sessions', 'labelled=true&group=session', 1)).flat()).toEqual([expected[3], expected[5]])

    // Clearing the name joins the session again with the rows after it (they are within the gap).
    await api(server, 'PATCH', '/documents/sessions/versions/4', { token: bob.accessToken, body: { label: null } })
    expect((await list(server, alice, 'sessions', '?group=session')).items.slice(4)).toEqual([
      session(3, 5, [B, A]),
      session(1, 2, [A, B]),
    ])

    for (const query of ['?cursor=bm90LWEtY3Vyc29y', '?limit=0', '?limit=101', '?group=day', '?labelled=maybe']) {
      const bad = await api(server, 'GET', `/documents/sessions/versions${query}`, { token: alice.accessToken })
      expect(bad, query).toMatchObject({ status: 400, body: { code: 'invalid_input' } })
    }
  })

  it('pages through a long history give the same sessions as folding it whole, across read chunks', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'long')
    const { db } = server.database
    const scratch = new Y.Doc()
    scratch.getText('default').insert(0, 'x')
    const data = Y.encodeStateAsUpdate(scratch)
    // 1,300 rows in batches stored at once; every seventh batch comes after a pause longer than the gap.
    let now = Date.now() - 86_400_000
    for (let batch = 0; batch < 26; batch++) {
      now += batch % 7 === 6 ? 301_000 : 60_000
      const entries: NewLogEntry[] = Array.from({ length: 50 }, (_, i) => ({
        data,
        kind: (batch * 50 + i) % 311 === 0 ? 'import' : 'update',
        authors: i % 3 === 0 ? ['anonymous', owner.id] : [owner.id],
      }))
      await appendUpdates(db, 'long', entries, now)
    }
    await db.updateTable('document_updates').set({ label: 'Named' }).where('document_id', '=', 'long').where('seq', 'in', [3, 480, 501, 777, 1_250]).execute()

    const rows = await listVersionRows(db, 'long', { limit: 10_000 })
    expect(rows).toHaveLength(1_300)
    const whole = foldSessions(rows, 300_000)
    const shape = (s: object) => { const { seq, fromSeq, label, kind, bytes } = s as Json; return [seq, fromSeq, label, kind, bytes] }
    expect(whole.length).toBeGreaterThan(10)
    const sessions = (await allPages(server, owner, 'long', 'group=session', 3)).flat()
    expect(sessions.map(shape)).toEqual(whole.map(shape))
    const named = (await allPages(server, owner, 'long', 'group=session&labelled=true', 2)).flat()
    expect(named.map(shape)).toEqual(whole.filter((s) => s.label !== null).map(shape))
    const raw = await allPages(server, owner, 'long', '', 100)
    expect(raw).toHaveLength(13)
    expect(raw.flat().map((v) => v.seq)).toEqual(rows.map((r) => r.seq))
  })

  it('reads a version far behind the newest through the checkpoint before it, never a row after it', async () => {
    // A small row bound, so a short test has several checkpoints (production: 200 rows).
    const bound = 6
    const original = updateLogDefaults.checkpointMaxRows
    updateLogDefaults.checkpointMaxRows = bound
    defer(() => {
      updateLogDefaults.checkpointMaxRows = original
    })
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'far')
    const client = connectHocuspocus(server, 'far', { token: owner.accessToken })
    await client.synced
    const text = client.doc.getText('default')
    const total = 4 * bound + 3
    for (let seq = 1; seq <= total; seq++) {
      // Tiny edits: only the row bound, never the byte bound, makes checkpoints here.
      if (seq % 4 === 0) text.delete(0, 1)
      else text.insert(text.length, String.fromCharCode(96 + seq))
      await waitForRows(server, 'far', seq)
    }
    const { db } = server.database
    await expect.poll(async () => (await checkpointRows(db, 'far')).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    const checkpoints = (await checkpointRows(db, 'far')).map((c) => c.seq)
    // No version is more than a bounded number of rows after a checkpoint (a row may slip in while one is written).
    for (let seq = 1; seq <= total; seq++) {
      const base = Math.max(0, ...checkpoints.filter((c) => c <= seq))
      expect(seq - base, `version ${seq} (checkpoints ${checkpoints})`).toBeLessThan(2 * bound)
    }

    const all = await db.selectFrom('document_updates').select(['seq', 'data']).where('document_id', '=', 'far').orderBy('seq').execute()
    const replay = (upto: number) => {
      const doc = new Y.Doc()
      for (const row of all.slice(0, upto)) Y.applyUpdate(doc, row.data)
      return doc
    }
    const far = checkpoints[1]! + 2
    expect(total - far).toBeGreaterThan(bound)
    const probes = [1, checkpoints[0]!, far, total]
    const expected = probes.map((seq) => ({ seq, text: replay(seq).getText('default').toString(), json: contentOf(replay(seq)) }))

    // Rows after `far` now hold something else: a read that loaded any of them would show it.
    const poison = new Y.Doc()
    poison.getText('default').insert(0, 'POISON')
    await db
      .updateTable('document_updates')
      .set({ data: Y.encodeStateAsUpdate(poison) })
      .where('document_id', '=', 'far')
      .where('seq', '>', far)
      .execute()
    for (const { seq, text: want, json } of expected) {
      if (seq > far) continue
      expect((await version(server, owner, 'far', seq, 'text')).toString(), `version ${seq}`).toBe(want)
      expect(await version(server, owner, 'far', seq, 'json')).toEqual(json)
    }
    expect(expected.at(-1)!.text).toBe(client.doc.getText('default').toString())
  })

  it('names versions: set (trimmed), clear, too long or blank is a 400 that changes nothing, unknown seq 404', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'labels')
    const editor = await registerUser(server, 'Editor')
    await share(server, owner, 'labels', editor, 'editor')
    await serverEdit(server, 'labels', owner.id, 'update', 'one')
    await serverEdit(server, 'labels', owner.id, 'update', 'two')
    const patch = (seq: number, label: unknown, user: TestUser = editor) =>
      api(server, 'PATCH', `/documents/labels/versions/${seq}`, { token: user.accessToken, body: { label } })

    const named = await patch(1, '  First draft  ')
    expect(named).toMatchObject({ status: 200, body: { seq: 1, label: 'First draft', kind: 'update', authors: [{ id: owner.id, name: 'Owner' }] } })
    expect((await list(server, owner, 'labels')).items.map((v) => v.label)).toEqual([null, 'First draft'])
    expect((await list(server, owner, 'labels', '?labelled=true')).items.map((v) => v.seq)).toEqual([1])

    const longest = 'é'.repeat(200)
    expect((await patch(2, longest)).body.label).toBe(longest)
    for (const bad of ['x'.repeat(201), '', '   ', 42]) {
      const response = await patch(2, bad)
      expect(response, JSON.stringify(bad)).toMatchObject({ status: 400, body: { code: 'invalid_input' } })
    }
    expect((await list(server, owner, 'labels')).items.map((v) => v.label)).toEqual([longest, 'First draft'])

    expect((await patch(1, null, owner)).body.label).toBeNull()
    expect((await list(server, owner, 'labels', '?labelled=true')).items.map((v) => v.seq)).toEqual([2])

    for (const seq of [3, 99]) {
      expect(await patch(seq, 'Nope')).toMatchObject({ status: 404, body: { code: 'not_found' } })
      const read = await api(server, 'GET', `/documents/labels/versions/${seq}`, { token: owner.accessToken })
      expect(read).toMatchObject({ status: 404, body: { code: 'not_found' } })
    }
    for (const seq of ['0', 'abc', '-1']) {
      expect((await api(server, 'GET', `/documents/labels/versions/${seq}`, { token: owner.accessToken })).status).toBe(400)
    }
    expect(await logRows(server.database.db, 'labels')).toHaveLength(2)
  })

  it('members read history; only editors name versions; share links and strangers get 404 everywhere', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await documentWithOwner(server, 'perm')
    const [editor, viewer, stranger] = await Promise.all(['Editor', 'Viewer', 'Stranger'].map((n) => registerUser(server, n)))
    await share(server, owner, 'perm', editor!, 'editor')
    await share(server, owner, 'perm', viewer!, 'viewer')
    const links = await Promise.all((['viewer', 'editor'] as const).map((role) => createShareLink(server, owner, 'perm', role)))
    await serverEdit(server, 'perm', owner.id, 'update', 'content')

    const routes = [
      ['GET', '/documents/perm/versions', undefined],
      ['GET', '/documents/perm/versions?group=session&labelled=true', undefined],
      ['GET', '/documents/perm/versions/1?format=text', undefined],
      ['PATCH', '/documents/perm/versions/1', { label: 'Named' }],
    ] as const
    const callers = { owner: owner.accessToken, editor: editor!.accessToken, viewer: viewer!.accessToken, linkViewer: links[0]!.token, linkEditor: links[1]!.token, stranger: stranger!.accessToken, none: undefined }
    const statuses: Record<string, number> = {}
    for (const [method, path, body] of routes) {
      for (const [who, token] of Object.entries(callers)) {
        statuses[`${method} ${path} ${who}`] = (await api(server, method, path, { token, body })).status
      }
    }
    const expected = (read: number, write: number) => (method: string) => (method === 'GET' ? read : write)
    const want: Record<string, (method: string) => number> = {
      owner: expected(200, 200),
      editor: expected(200, 200),
      viewer: expected(200, 403),
      linkViewer: expected(404, 404),
      linkEditor: expected(404, 404),
      stranger: expected(404, 404),
      none: expected(401, 401),
    }
    expect(statuses).toEqual(
      Object.fromEntries(routes.flatMap(([method, path]) => Object.keys(callers).map((who) => [`${method} ${path} ${who}`, want[who]!(method)]))),
    )
    // The same 404 as a document that does not exist.
    const unknown = await api(server, 'GET', '/documents/nothing-here/versions', { token: owner.accessToken })
    expect(unknown.body).toEqual((await api(server, 'GET', '/documents/perm/versions', { token: links[1]!.token })).body)
  })
})
