import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { api, createDocument, registerUser, share } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer } from '../../helpers/server.ts'

describeEachDatabase('documents REST', (databases) => {
  it('creates a document owned by the caller, with a chosen or generated id', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const created = await api(server, 'POST', '/documents', {
      token: alice.accessToken,
      body: { title: 'Quarterly plan', id: 'plan-2026' },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ id: 'plan-2026', title: 'Quarterly plan', lastSeq: 0, role: 'owner', ownerId: alice.id })
    expect(new Date(created.body.createdAt).toISOString()).toBe(created.body.createdAt)

    const fetched = await api(server, 'GET', '/documents/plan-2026', { token: alice.accessToken })
    expect(fetched).toMatchObject({ status: 200, body: created.body })

    const generated = await api(server, 'POST', '/documents', { token: alice.accessToken, body: { title: 'Untitled' } })
    expect(generated.status).toBe(201)
    expect(generated.body.id).toMatch(/^[0-9a-f-]{36}$/)

    const duplicate = await api(server, 'POST', '/documents', {
      token: alice.accessToken,
      body: { title: 'Again', id: 'plan-2026' },
    })
    expect(duplicate).toMatchObject({ status: 409, body: { statusCode: 409, code: 'conflict' } })
    expect((await api(server, 'POST', '/documents', { body: { title: 'No token' } })).status).toBe(401)
  })

  it('lists what I own and what is shared with me, newest activity first, with search and pages', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const bob = await registerUser(server, 'Bob')
    for (const [i, title] of ['Alpha notes', 'Beta plan', 'Gamma notes', '100% done_ok'].entries()) {
      await createDocument(server, alice, `a-${i}`, title)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await createDocument(server, bob, 'bob-private', 'Bob notes')
    await createDocument(server, bob, 'bob-shared', 'Shared notes')
    await share(server, bob, 'bob-shared', alice, 'viewer')

    const all = await api(server, 'GET', '/documents', { token: alice.accessToken })
    expect(all.status).toBe(200)
    expect(all.body.items.map((d: { id: string }) => d.id)).toEqual(['bob-shared', 'a-3', 'a-2', 'a-1', 'a-0'])
    expect(all.body.items[0]).toMatchObject({ role: 'viewer', ownerId: bob.id })
    expect(all.body.nextCursor).toBeNull()

    const notes = await api(server, 'GET', '/documents?q=NOTES', { token: alice.accessToken })
    expect(notes.body.items.map((d: { id: string }) => d.id)).toEqual(['bob-shared', 'a-2', 'a-0'])
    // LIKE wildcards in the query are literal characters.
    const literal = await api(server, 'GET', `/documents?q=${encodeURIComponent('0% done_')}`, { token: alice.accessToken })
    expect(literal.body.items.map((d: { id: string }) => d.id)).toEqual(['a-3'])
    expect((await api(server, 'GET', '/documents?q=%25', { token: alice.accessToken })).body.items).toHaveLength(1)

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: Awaited<ReturnType<typeof api>> = await api(
        server,
        'GET',
        `/documents?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: alice.accessToken },
      )
      expect(page.body.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.body.items.map((d: { id: string }) => d.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen).toEqual(['bob-shared', 'a-3', 'a-2', 'a-1', 'a-0'])

    // An edit is activity: the document moves to the top.
    const client = connectHocuspocus(server, 'a-0', { token: alice.accessToken })
    await client.synced
    client.doc.getText('default').insert(0, 'fresh')
    await expect
      .poll(async () => (await api(server, 'GET', '/documents', { token: alice.accessToken })).body.items[0].id, {
        timeout: 5_000,
      })
      .toBe('a-0')
    expect((await api(server, 'GET', '/documents?cursor=garbage', { token: alice.accessToken })).status).toBe(400)
  })

  it('renames (editor+) and deletes (owner), closing live connections on delete', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const eve = await registerUser(server, 'Eve')
    await createDocument(server, alice, 'doomed', 'Old title')
    await share(server, alice, 'doomed', eve, 'editor')

    const renamed = await api(server, 'PATCH', '/documents/doomed', { token: eve.accessToken, body: { title: 'New title' } })
    expect(renamed).toMatchObject({ status: 200, body: { title: 'New title', role: 'editor' } })
    expect((await api(server, 'DELETE', '/documents/doomed', { token: eve.accessToken })).status).toBe(403)

    const hp = connectHocuspocus(server, 'doomed', { token: eve.accessToken })
    const yws = connectYWebsocket(server, 'doomed', { token: alice.accessToken })
    await Promise.all([hp.synced, yws.synced])
    const hpClosed = new Promise<string>((resolve) => hp.provider.on('close', ({ event }: { event: { reason: string } }) => resolve(event.reason)))
    const ywsClosed = new Promise<number>((resolve) => yws.provider.on('connection-close', (event: { code: number } | null) => resolve(event?.code ?? 0)))

    expect((await api(server, 'DELETE', '/documents/doomed', { token: alice.accessToken })).status).toBe(204)
    expect(await hpClosed).toBe('not-found')
    expect(await ywsClosed).toBe(4404)
    expect((await api(server, 'GET', '/documents/doomed', { token: alice.accessToken })).status).toBe(404)
    const rows = await server.database.db.selectFrom('document_updates').select('seq').where('document_id', '=', 'doomed').execute()
    expect(rows).toEqual([])
  })

  it('serves the content as JSON, plain text and a binary Yjs update, including unstored edits', async () => {
    // A long debounce: the edit is only in memory when the content is read.
    const server = await startTestServer(await databases.create(), {
      STORE_DEBOUNCE_MS: '60000',
      STORE_MAX_DEBOUNCE_MS: '60000',
    })
    const alice = await registerUser(server, 'Alice')
    await createDocument(server, alice, 'notes')
    const client = connectHocuspocus(server, 'notes', { token: alice.accessToken })
    await client.synced
    client.doc.getText('default').insert(0, 'Hello, world')
    client.doc.getMap('meta').set('pinned', true)
    await expect
      .poll(() => server.collab.hocuspocus.documents.get('notes')?.getText('default').toString())
      .toBe('Hello, world')

    const token = alice.accessToken
    const json = await api(server, 'GET', '/documents/notes/content?format=json', { token })
    expect(json).toMatchObject({ status: 200, body: { default: 'Hello, world', meta: { pinned: true } } })
    const plain = await api(server, 'GET', '/documents/notes/content?format=text', { token })
    expect(plain.type).toContain('text/plain')
    expect(plain.body.toString()).toBe('Hello, world')
    const binary = await api(server, 'GET', '/documents/notes/content?format=yjs', { token })
    expect(binary.type).toBe('application/octet-stream')
    const copy = new Y.Doc()
    Y.applyUpdate(copy, binary.body)
    expect(copy.getText('default').toString()).toBe('Hello, world')
    // JSON is the default format.
    expect((await api(server, 'GET', '/documents/notes/content', { token })).body).toEqual(json.body)
  })

  it('reads content from the database when the document is not open', async () => {
    const database = await databases.create()
    const first = await startTestServer(database)
    const alice = await registerUser(first, 'Alice')
    await createDocument(first, alice, 'closed-doc')
    const client = connectHocuspocus(first, 'closed-doc', { token: alice.accessToken })
    await client.synced
    client.doc.getText('default').insert(0, 'persisted')
    await expect.poll(() => first.collab.hocuspocus.documents.get('closed-doc')?.getText('default').toString()).toBe('persisted')
    await expect.poll(() => first.collab.updateLog.pendingCount('closed-doc'), { timeout: 5_000 }).toBe(0)
    await first.close()

    const second = await startTestServer(database)
    const token = alice.accessToken
    expect(second.collab.hocuspocus.documents.has('closed-doc')).toBe(false)
    expect((await api(second, 'GET', '/documents/closed-doc/content', { token })).body).toEqual({ default: 'persisted' })
    expect((await api(second, 'GET', '/documents/closed-doc', { token })).body).toMatchObject({ id: 'closed-doc', lastSeq: 1 })
  })

  it('answers 404 for unknown documents and 400 with details for bad input, changing nothing', async () => {
    const server = await startTestServer(await databases.create())
    const alice = await registerUser(server, 'Alice')
    const token = alice.accessToken
    expect(await api(server, 'GET', '/documents/nope', { token })).toMatchObject({
      status: 404,
      body: { statusCode: 404, code: 'not_found', error: 'Not Found' },
    })
    expect((await api(server, 'GET', '/documents/nope/content', { token })).status).toBe(404)

    const bad: [string, string, unknown][] = [
      ['POST', '/documents', {}],
      ['POST', '/documents', { title: '' }],
      ['POST', '/documents', { title: 42 }],
      ['POST', '/documents', { title: ['a'] }],
      ['POST', '/documents', { title: 'x'.repeat(256) }],
      ['POST', '/documents', { title: 'ok', id: 'has spaces' }],
      ['POST', '/documents', { title: 'ok', id: 'x'.repeat(129) }],
      ['POST', '/documents', { title: 'ok', extra: true }],
      ['GET', '/documents/bad%20id', undefined],
      ['GET', '/documents/x/content?format=pdf', undefined],
      ['GET', '/documents?limit=0', undefined],
      ['GET', '/documents?limit=1000', undefined],
      ['GET', '/documents?limit=abc', undefined],
      ['PATCH', '/documents/x', { title: null }],
    ]
    for (const [method, path, body] of bad) {
      const response = await api(server, method, path, { token, body })
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400)
      expect(response.body).toMatchObject({ statusCode: 400, code: 'invalid_input', error: 'Bad Request' })
      expect(response.body.details.length).toBeGreaterThan(0)
    }
    const rows = await server.database.db.selectFrom('documents').select('id').execute()
    expect(rows).toEqual([])

    const malformed = await fetch(`${server.url}/api/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"title": ',
    })
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toMatchObject({ code: 'invalid_input' })
  })
})

describeEachDatabase('migrations', (databases) => {
  it('several instances starting at once on a fresh database all come up', async () => {
    const database = await databases.create()
    const servers = await Promise.all([1, 2, 3].map(() => startTestServer(database)))
    for (const server of servers) {
      const ready = await fetch(`${server.url}/ready`)
      expect(ready.status).toBe(200)
    }
  })
})
