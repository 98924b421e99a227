import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { appendInboxEvents, publishSignals } from '../../../server/notifications/inbox-events.ts'
import { startServer } from '../../../server/server.ts'
import { api, createDocument, createShareLink, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startServerProcess } from '../../helpers/process.ts'
import { postUpdate } from '../../helpers/raw-body.ts'
import { startTestServer, testConfig, type TestServer } from '../../helpers/server.ts'
import { openStream, type SseEvent, type SseStream, stream } from '../../helpers/sse.ts'

// The shortest access token the server allows; streams close 5 s (the clock tolerance) after it.
const TTL = { ACCESS_TOKEN_TTL_SECONDS: '10' }
const EXPIRY = { timeout: 25_000, interval: 100 }

const isNotification = (event: SseEvent) => event.event === 'notification'
const isCount = (event: SseEvent) => event.event === 'unread-count'
const json = (event: SseEvent) => JSON.parse(event.data)
const ids = (events: readonly SseEvent[]) => events.map((event) => Number(event.id))

/** An owner, a document, and an editor who hears about the owner's edits (with nothing unread yet). */
async function sharedDocument(server: TestServer): Promise<{ owner: TestUser; member: TestUser; documentId: string }> {
  const owner = await registerUser(server, 'Owner')
  const member = await registerUser(server, 'Member')
  const { id: documentId } = await createDocument(server, owner)
  await share(server, owner, documentId, member, 'editor')
  await readAll(server, member)
  return { owner, member, documentId }
}

/** Marks the user's inbox read once it holds `unread` items (a share leaves a `document.shared` item). */
async function readAll(server: TestServer, user: TestUser, unread = 1): Promise<void> {
  const count = () => api(server, 'GET', '/notifications/unread-count', { token: user.accessToken })
  await expect.poll(async () => (await count()).body.count).toBe(unread)
  await api(server, 'POST', '/notifications/read-all', { token: user.accessToken })
}

/** One stored row by `author`, through the REST updates route (applied live, stored on its own). */
async function edit(server: TestServer, author: TestUser, documentId: string, text: string): Promise<void> {
  const doc = new Y.Doc()
  doc.getText('default').insert(0, text)
  const response = await postUpdate(server, documentId, author.accessToken, Y.encodeStateAsUpdate(doc))
  doc.destroy()
  if (response.status !== 201) throw new Error(`edit failed: ${response.status} ${JSON.stringify(response.body)}`)
}

/** Waits until the stream has heard `count` unread-counts after the ones it had. */
async function nextCount(stream: SseStream, seen = stream.events.filter(isCount).length): Promise<number> {
  const counts = await stream.waitFor(isCount, { count: seen + 1 })
  return json(counts.at(-1)!).count
}

describeEachDatabase('notification stream', (databases) => {
  it('refuses missing, bad and share-link tokens with a 401 before any stream starts', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    const { id } = await createDocument(server, owner)
    const link = await createShareLink(server, owner, id, 'editor')
    const refusals = [
      await openStream(server),
      await openStream(server, { token: 'not-a-token' }),
      await openStream(server, { query: { token: 'not-a-token' } }),
      await openStream(server, { token: link.token }),
      await openStream(server, { query: { token: link.token } }),
    ]
    for (const refusal of refusals) {
      expect(refusal.status).toBe(401)
      expect(refusal.headers.get('content-type')).toContain('application/json')
      expect((refusal as { body: { code: string } }).body.code).toBe('unauthorized')
    }
    // A bad header beats a good query token: the header is what the client meant.
    expect((await openStream(server, { token: 'not-a-token', query: { token: owner.accessToken } })).status).toBe(401)
    expect((await openStream(server, { token: owner.accessToken, headers: { 'last-event-id': 'abc' } })).status).toBe(400)
  })

  it('starts with the unread count, then sends an edit by another user within a second of its store', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, member, documentId } = await sharedDocument(server)
    const live = await stream(server, { token: member.accessToken })
    expect(live.headers.get('content-type')).toContain('text/event-stream')
    expect(live.headers.get('cache-control')).toContain('no-cache')
    const [first] = await live.waitFor(isCount)
    expect(json(first!)).toEqual({ count: 0 })

    const stored = new Promise<number>((resolve) => {
      const off = server.collab.updateLog.onStored(({ documentName }) => {
        if (documentName !== documentId) return
        off()
        resolve(Date.now())
      })
    })
    const editor = connectHocuspocus(server, documentId, { token: owner.accessToken })
    await editor.synced
    editor.doc.getText('default').insert(0, 'hello')
    await stored
    const [event] = await live.waitFor(isNotification, { timeout: 1_000 })
    const item = json(event!)
    expect(item).toMatchObject({ type: 'document.edited', documentId, actors: [{ id: owner.id, name: 'Owner' }], readAt: null })
    expect(await nextCount(live, 1)).toBe(1)
    // Ids order the user's events.
    expect(ids(live.events)).toEqual([...ids(live.events)].sort((a, b) => a - b))
    // Nobody hears of their own edit.
    const own = await stream(server, { token: owner.accessToken })
    await own.waitFor(isCount)
    await edit(server, owner, documentId, 'more')
    await live.waitFor(isCount, { count: 3 })
    expect(own.events.filter(isNotification)).toEqual([])
  })

  it('unread-count follows reads, read-all and deletes', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, member, documentId } = await sharedDocument(server)
    const other = await createDocument(server, owner)
    await share(server, owner, other.id, member, 'viewer')
    await readAll(server, member)
    const live = await stream(server, { token: member.accessToken })
    await live.waitFor(isCount)
    await edit(server, owner, documentId, 'one')
    await edit(server, owner, other.id, 'two')
    await live.waitFor(isNotification, { count: 2 })
    await expect.poll(() => json(live.events.filter(isCount).at(-1)!).count).toBe(2)
    const [firstItem, secondItem] = live.events.filter(isNotification).map(json)

    let counts = live.events.filter(isCount).length
    expect((await api(server, 'POST', `/notifications/${firstItem.id}/read`, { token: member.accessToken })).status).toBeLessThan(300)
    expect(await nextCount(live, counts)).toBe(1)
    counts = live.events.filter(isCount).length
    expect((await api(server, 'POST', '/notifications/read-all', { token: member.accessToken })).status).toBeLessThan(300)
    expect(await nextCount(live, counts)).toBe(0)
    await edit(server, owner, documentId, 'three')
    await expect.poll(() => json(live.events.filter(isCount).at(-1)!).count).toBe(1)
    const [, , third] = live.events.filter(isNotification).map(json)
    counts = live.events.filter(isCount).length
    expect((await api(server, 'DELETE', `/notifications/${third.id}`, { token: member.accessToken })).status).toBeLessThan(300)
    expect(await nextCount(live, counts)).toBe(0)
    expect(secondItem.documentId).toBe(other.id)
  })

  it('the unread count a stream sends is counted as it is sent, not the one an inbox write stored', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, member, documentId } = await sharedDocument(server)
    const live = await stream(server, { token: member.accessToken })
    await live.waitFor(isCount)
    await edit(server, owner, documentId, 'one')
    await expect.poll(() => json(live.events.filter(isCount).at(-1)!).count).toBe(1)

    // What an inbox write committing alongside another one stores: a count blind to the other's
    // item (two passes on two instances each store "1" for a user who now has 2 unread).
    const counts = live.events.filter(isCount).length
    const stale = await appendInboxEvents(server.database.db, [{ userId: member.id, items: [], unread: 0 }])
    publishSignals(server.notificationBus, stale)
    expect(await nextCount(live, counts)).toBe(1)
  })

  it('a reconnect with Last-Event-ID (or ?lastEventId=) gets exactly what it missed, in order', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, member, documentId } = await sharedDocument(server)
    // Open throughout: what the client would have heard.
    const reference = await stream(server, { token: member.accessToken })
    const first = await stream(server, { token: member.accessToken })
    await Promise.all([reference.waitFor(isCount), first.waitFor(isCount)])
    await edit(server, owner, documentId, 'seen')
    await first.waitFor(isCount, { count: 2 })
    first.close()
    const lastSeen = Number(first.events.at(-1)!.id)

    // Missed: a coalesced edit, a read, and an edit that makes a new item.
    await edit(server, owner, documentId, 'missed 1')
    await reference.waitFor(isCount, { count: 3 })
    const item = json(reference.events.filter(isNotification)[0]!)
    await api(server, 'POST', `/notifications/${item.id}/read`, { token: member.accessToken })
    await reference.waitFor(isCount, { count: 4 })
    await edit(server, owner, documentId, 'missed 2')
    await reference.waitFor(isCount, { count: 5 })
    const missed = reference.events.filter((event) => Number(event.id) > lastSeen)
    expect(missed.map((event) => event.event)).toEqual(['notification', 'unread-count', 'unread-count', 'notification', 'unread-count'])

    const resumed = await stream(server, { token: member.accessToken, headers: { 'last-event-id': String(lastSeen) } })
    await resumed.waitFor(() => true, { count: missed.length })
    const viaQuery = await stream(server, { token: member.accessToken, query: { lastEventId: String(lastSeen) } })
    await viaQuery.waitFor(() => true, { count: missed.length })
    // Nothing more trails in: the next event anyone gets is a new one, on every stream alike.
    await edit(server, owner, documentId, 'after')
    await reference.waitFor(isCount, { count: 6 })
    const after = reference.events.filter((event) => Number(event.id) > Number(missed.at(-1)!.id))
    await resumed.waitFor(() => true, { count: missed.length + after.length })
    await viaQuery.waitFor(() => true, { count: missed.length + after.length })
    expect(resumed.events).toEqual([...missed, ...after])
    expect(viaQuery.events).toEqual([...missed, ...after])
  })

  it('a replay leaves out what was said about a document the user has since lost', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, member, documentId } = await sharedDocument(server)
    const reference = await stream(server, { token: member.accessToken })
    const first = await stream(server, { token: member.accessToken })
    await Promise.all([reference.waitFor(isCount), first.waitFor(isCount)])
    first.close()
    const lastSeen = Number(first.events.at(-1)!.id)
    await edit(server, owner, documentId, 'while away')
    await reference.waitFor(isCount, { count: 2 })
    await api(server, 'DELETE', `/documents/${documentId}/collaborators/${member.id}`, { token: owner.accessToken })
    const [unshared] = await reference.waitFor((event) => isNotification(event) && json(event).type === 'document.unshared')
    const lastId = Number(reference.events.at(-1)!.id)
    expect(Number(unshared!.id)).toBeLessThanOrEqual(lastId)

    const resumed = await stream(server, { token: member.accessToken, headers: { 'last-event-id': String(lastSeen) } })
    await resumed.waitFor((event) => Number(event.id) === lastId)
    const types = resumed.events.filter(isNotification).map((event) => json(event).type)
    expect(types).toEqual(['document.unshared'])
    expect(json(resumed.events.filter(isCount).at(-1)!)).toEqual(json(reference.events.filter(isCount).at(-1)!))
  })

  it('two streams of one user get the same events with the same ids', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, member, documentId } = await sharedDocument(server)
    const a = await stream(server, { token: member.accessToken })
    const login = await api(server, 'POST', '/auth/login', { body: { email: member.email, password: member.password } })
    const b = await stream(server, { query: { token: login.body.accessToken } })
    await Promise.all([a.waitFor(isCount), b.waitFor(isCount)])
    await edit(server, owner, documentId, 'one')
    await edit(server, owner, documentId, 'two')
    await a.waitFor(isCount, { count: 3 })
    await b.waitFor(isCount, { count: 3 })
    expect(a.events.filter(isNotification).length).toBe(2)
    expect(b.events).toEqual(a.events)
  })

  it('sends a heartbeat comment on a quiet stream', async () => {
    const database = await databases.create()
    const server = await startServer(testConfig(database), { notificationStream: { heartbeatMs: 100 } })
    defer(() => server.close())
    const user = await registerUser(server, 'Quiet')
    const live = await stream(server, { token: user.accessToken })
    await expect.poll(() => live.comments.filter((comment) => comment === 'heartbeat').length).toBeGreaterThanOrEqual(2)
    expect(live.ended()).toBe(false)
  })

  it('ends the stream when its token expires; a fresh token opens a new one', async () => {
    const server = await startTestServer(await databases.create(), TTL)
    const user = await registerUser(server, 'Expiring')
    const live = await stream(server, { query: { token: user.accessToken } })
    await live.waitFor(isCount)
    await expect.poll(() => live.ended(), EXPIRY).toBe(true)
    expect(server.notificationStreams.size).toBe(0)
    // The expired token is refused from now on, as on REST.
    expect((await openStream(server, { query: { token: user.accessToken } })).status).toBe(401)
    const refreshed = await api(server, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })
    const again = await stream(server, { query: { token: refreshed.body.accessToken, lastEventId: live.events.at(-1)!.id! } })
    expect(again.ended()).toBe(false)
  })

  it('ends the streams of a sign-in when it signs out, and only those', async () => {
    const server = await startTestServer(await databases.create())
    const user = await registerUser(server, 'Leaving')
    const login = await api(server, 'POST', '/auth/login', { body: { email: user.email, password: user.password } })
    const leaving = await stream(server, { token: user.accessToken })
    const staying = await stream(server, { token: login.body.accessToken })
    await Promise.all([leaving.waitFor(isCount), staying.waitFor(isCount)])
    await api(server, 'POST', '/auth/logout', { body: { refreshToken: user.refreshToken } })
    await expect.poll(() => leaving.ended()).toBe(true)
    expect(staying.ended()).toBe(false)
  })

  it('ends the stream of a deleted account', async () => {
    const server = await startTestServer(await databases.create(), { SESSION_CHECK_INTERVAL_SECONDS: '1' })
    const user = await registerUser(server, 'Gone')
    const other = await registerUser(server, 'Other')
    const gone = await stream(server, { token: user.accessToken })
    const staying = await stream(server, { token: other.accessToken })
    await Promise.all([gone.waitFor(isCount), staying.waitFor(isCount)])
    // No route deletes accounts (an operator or a Clerk deletion does); the row goes, with its cascade.
    await server.database.db.deleteFrom('users').where('id', '=', user.id).execute()
    await expect.poll(() => gone.ended(), { timeout: 10_000 }).toBe(true)
    expect(staying.ended()).toBe(false)
  })

  it('shutdown ends open streams and the server stops promptly', async () => {
    const database = await databases.create()
    const server = await startServer(testConfig(database))
    const user = await registerUser(server, 'Open')
    const live = await stream(server, { token: user.accessToken })
    await live.waitFor(isCount)
    await server.close()
    await expect.poll(() => live.ended()).toBe(true)
  })

  it('never writes a ?token= to the log, request logs included', async () => {
    const database = await databases.create()
    const server = await startServerProcess({ DATABASE_URL: database.url, LOG_LEVEL: 'info' })
    defer(() => server.stop())
    const user = await registerUser(server, 'Logged')
    const { id } = await createDocument(server, user)
    const live = await stream(server, { query: { token: user.accessToken } })
    await live.waitFor(isCount)
    const refused = await openStream(server, { query: { token: `${user.accessToken}x` } })
    expect(refused.status).toBe(401)
    await fetch(`${server.url}/api/v1/nowhere?token=${user.accessToken}`)
    const yws = connectYWebsocket(server, id, { token: user.accessToken })
    await yws.synced
    yws.destroy()
    live.close()
    await expect.poll(() => server.output()).toContain('/api/v1/notifications/stream?token=[redacted]')
    expect(server.output()).toContain('/api/v1/nowhere?token=[redacted]')
    expect(server.output()).not.toContain(user.accessToken)
  })
})
