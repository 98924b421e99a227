import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { connectHocuspocus } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

async function api(server: TestServer, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const type = response.headers.get('content-type') ?? ''
  const payload = type.includes('json') ? await response.json() : Buffer.from(await response.arrayBuffer())
  return { status: response.status, type, body: payload }
}

describeEachDatabase('documents REST', (databases) => {
  it('creates a document with a chosen or generated id and reads its metadata back', async () => {
    const server = await startTestServer(await databases.create())
    const created = await api(server, 'POST', '/documents', { title: 'Quarterly plan', id: 'plan-2026' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ id: 'plan-2026', title: 'Quarterly plan', lastSeq: 0 })
    expect(new Date(created.body.createdAt).toISOString()).toBe(created.body.createdAt)

    const fetched = await api(server, 'GET', '/documents/plan-2026')
    expect(fetched).toMatchObject({ status: 200, body: created.body })

    const generated = await api(server, 'POST', '/documents', { title: 'Untitled' })
    expect(generated.status).toBe(201)
    expect(generated.body.id).toMatch(/^[0-9a-f-]{36}$/)

    const duplicate = await api(server, 'POST', '/documents', { title: 'Again', id: 'plan-2026' })
    expect(duplicate).toMatchObject({ status: 409, body: { statusCode: 409, code: 'conflict' } })
  })

  it('serves the content as JSON, plain text and a binary Yjs update, including unstored edits', async () => {
    // A long debounce: the edit is only in memory when the content is read.
    const server = await startTestServer(await databases.create(), {
      STORE_DEBOUNCE_MS: '60000',
      STORE_MAX_DEBOUNCE_MS: '60000',
    })
    await api(server, 'POST', '/documents', { title: 'Notes', id: 'notes' })
    const client = connectHocuspocus(server, 'notes')
    await client.synced
    client.doc.getText('default').insert(0, 'Hello, world')
    client.doc.getMap('meta').set('pinned', true)
    await expect
      .poll(() => server.collab.hocuspocus.documents.get('notes')?.getText('default').toString())
      .toBe('Hello, world')

    const json = await api(server, 'GET', '/documents/notes/content?format=json')
    expect(json).toMatchObject({ status: 200, body: { default: 'Hello, world', meta: { pinned: true } } })
    const plain = await api(server, 'GET', '/documents/notes/content?format=text')
    expect(plain.type).toContain('text/plain')
    expect(plain.body.toString()).toBe('Hello, world')
    const binary = await api(server, 'GET', '/documents/notes/content?format=yjs')
    expect(binary.type).toBe('application/octet-stream')
    const copy = new Y.Doc()
    Y.applyUpdate(copy, binary.body)
    expect(copy.getText('default').toString()).toBe('Hello, world')
    // JSON is the default format.
    expect((await api(server, 'GET', '/documents/notes/content')).body).toEqual(json.body)
  })

  it('reads content from the database when the document is not open', async () => {
    const database = await databases.create()
    const first = await startTestServer(database)
    const client = connectHocuspocus(first, 'closed-doc')
    await client.synced
    client.doc.getText('default').insert(0, 'persisted')
    await expect.poll(() => first.collab.updateLog.pendingCount('closed-doc'), { timeout: 5_000 }).toBe(0)
    await first.close()

    const second = await startTestServer(database)
    expect(second.collab.hocuspocus.documents.has('closed-doc')).toBe(false)
    expect((await api(second, 'GET', '/documents/closed-doc/content')).body).toEqual({ default: 'persisted' })
    expect((await api(second, 'GET', '/documents/closed-doc')).body).toMatchObject({ id: 'closed-doc', lastSeq: 1 })
  })

  it('answers 404 for unknown documents and 400 with details for bad input, changing nothing', async () => {
    const server = await startTestServer(await databases.create())
    expect(await api(server, 'GET', '/documents/nope')).toMatchObject({
      status: 404,
      body: { statusCode: 404, code: 'not_found', error: 'Not Found' },
    })
    expect((await api(server, 'GET', '/documents/nope/content')).status).toBe(404)

    const bad: [string, string, unknown][] = [
      ['POST', '/documents', {}],
      ['POST', '/documents', { title: '' }],
      ['POST', '/documents', { title: 42 }],
      ['POST', '/documents', { title: 'x'.repeat(256) }],
      ['POST', '/documents', { title: 'ok', id: 'has spaces' }],
      ['POST', '/documents', { title: 'ok', id: 'x'.repeat(129) }],
      ['POST', '/documents', { title: 'ok', extra: true }],
      ['GET', '/documents/bad%20id', undefined],
      ['GET', '/documents/x/content?format=pdf', undefined],
    ]
    for (const [method, path, body] of bad) {
      const response = await api(server, method, path, body)
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400)
      expect(response.body).toMatchObject({ statusCode: 400, code: 'invalid_input', error: 'Bad Request' })
      expect(response.body.details.length).toBeGreaterThan(0)
    }
    const rows = await server.database.db.selectFrom('documents').select('id').execute()
    expect(rows).toEqual([])

    const malformed = await fetch(`${server.url}/api/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
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
