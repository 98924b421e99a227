import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { api, createDocument, createShareLink, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { outboxRows } from '../../helpers/delivery.ts'
import { collectNotices, hocuspocusDenied, ready, refusedUpdates, within, yWebsocketClosed } from '../../helpers/live-checks.ts'
import { openDatabase, startInstance, startInstances } from '../../helpers/multi-instance.ts'
import type { ServerProcess } from '../../helpers/process.ts'
import { postUpdate } from '../../helpers/raw-body.ts'
import { startTestRedis } from '../../helpers/redis.ts'
import { type SseEvent, stream } from '../../helpers/sse.ts'
import { startWebhookReceiver } from '../../helpers/webhook-receiver.ts'

// "Within a second" of the REST call that made the change; these fail only by timeout.
const A_SECOND = 1_000
const WITHIN_A_SECOND = { timeout: A_SECOND, interval: 10 }

/** The document's plain text as the instance serves it (its live copy while a client has it open). */
async function text(instance: ServerProcess, user: { accessToken: string }, id: string): Promise<string> {
  const response = await api(instance, 'GET', `/documents/${id}/content?format=text`, { token: user.accessToken })
  if (response.status !== 200) throw new Error(`content read failed: ${response.status}`)
  return response.body.toString()
}

/** The `redis_connected` gauge as the instance reports it on `/metrics`. */
async function redisConnected(instance: ServerProcess): Promise<string | undefined> {
  const metrics = await (await fetch(`${instance.url}/metrics`)).text()
  return /^redis_connected (\d)$/m.exec(metrics)?.[1]
}

/** One edit through the REST updates route of `instance` (applied live there, stored as a version). */
async function restEdit(instance: ServerProcess, user: TestUser, id: string, insert: string): Promise<void> {
  const doc = new Y.Doc()
  doc.getText('default').insert(0, insert)
  const response = await postUpdate(instance, id, user.accessToken, Y.encodeStateAsUpdate(doc))
  doc.destroy()
  if (response.status !== 201) throw new Error(`edit failed: ${response.status} ${JSON.stringify(response.body)}`)
}

/** An owner and an editor of a fresh document, all made through instance A. */
async function sharedDocument(a: ServerProcess, documentId?: string) {
  const owner = await registerUser(a, 'Owner')
  const member = await registerUser(a, 'Member')
  const { id } = await createDocument(a, owner, documentId)
  await share(a, owner, id, member, 'editor')
  return { owner, member, id }
}

describeEachDatabase('[multi-instance] control messages', (databases) => {
  it('removing a collaborator on A closes their sockets on B within a second, on both protocols', async () => {
    const [a, b] = await startInstances(await databases.create())
    // Named like the control channel: document sync and control messages must not share a channel.
    const { owner, member, id } = await sharedDocument(a, 'control')
    const hp = connectHocuspocus(b, id, { token: member.accessToken })
    const yws = connectYWebsocket(b, id, { token: member.accessToken })
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'synced')
    await expect.poll(() => text(a, owner, id)).toBe('synced')
    const denied = hocuspocusDenied(hp)
    const closed = yWebsocketClosed(yws)

    const removal = api(a, 'DELETE', `/documents/${id}/collaborators/${member.id}`, { token: owner.accessToken })
    const [reason, close] = await within(Promise.all([denied, closed]), A_SECOND, "closing B's sockets")
    expect((await removal).status).toBe(204)
    expect(reason).toBe('not-found')
    expect(close.code).toBe(4404)
    expect(yws.provider.shouldConnect).toBe(false)
    for (const instance of [a, b]) expect(instance.output()).not.toContain('control channel: ignored')
  })

  it('downgrading on A makes B read-only within a second; upgrading brings back what was typed meanwhile', async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, member, id } = await sharedDocument(a)
    const hp = connectHocuspocus(b, id, { token: member.accessToken })
    const yws = connectYWebsocket(b, id, { token: member.accessToken })
    await Promise.all([hp.synced, yws.synced])
    const refused = refusedUpdates(hp)
    hp.doc.getText('default').insert(0, 'A')
    await expect.poll(() => text(b, owner, id)).toBe('A')

    expect((await api(a, 'PUT', `/documents/${id}/collaborators/${member.id}`, { token: owner.accessToken, body: { role: 'viewer' } })).status).toBe(200)
    // Types one character at a time, each once the last was acknowledged, until B refuses one.
    await expect
      .poll(() => {
        if (refused.count === 0 && !hp.provider.hasUnsyncedChanges) hp.doc.getText('default').insert(0, 'v')
        return refused.count
      }, WITHIN_A_SECOND)
      .toBeGreaterThan(0)
    // The same refresh switched the y-websocket connection: its edit is dropped too. Its awareness
    // probe, sent after the edit on the same socket, marks when B has handled the edit.
    yws.doc.getText('default').insert(0, 'Y')
    yws.provider.awareness.setLocalStateField('probe', 1)
    await expect.poll(() => [...hp.provider.awareness!.getStates().values()].some((state) => state.probe === 1)).toBe(true)
    const readOnlyText = await text(b, owner, id)
    expect(readOnlyText).not.toContain('Y')
    // Still connected and still receiving: the owner's edit through B reaches both.
    await restEdit(b, owner, id, 'owner:')
    await expect.poll(() => hp.doc.getText('default').toString()).toContain('owner:')
    await expect.poll(() => yws.doc.getText('default').toString()).toContain('owner:')

    expect((await api(a, 'PUT', `/documents/${id}/collaborators/${member.id}`, { token: owner.accessToken, body: { role: 'editor' } })).status).toBe(200)
    // Writable again: B asks both clients for what it lacks, so the edits typed while read-only land.
    await expect.poll(() => text(b, owner, id), WITHIN_A_SECOND).toContain('Y')
    expect(await text(b, owner, id)).toContain('v')
  })

  it('an editor open on B is told of a role change and a rename made on A within a second', async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, member, id } = await sharedDocument(a)
    const hp = connectHocuspocus(b, id, { token: member.accessToken })
    await hp.synced
    const notices = collectNotices(hp)

    expect((await api(a, 'PUT', `/documents/${id}/collaborators/${member.id}`, { token: owner.accessToken, body: { role: 'viewer' } })).status).toBe(200)
    await expect.poll(() => notices, WITHIN_A_SECOND).toEqual([{ type: 'access', role: 'viewer' }])
    expect((await api(a, 'PATCH', `/documents/${id}`, { token: owner.accessToken, body: { title: 'Renamed on A' } })).status).toBe(200)
    await expect.poll(() => notices.at(-1), WITHIN_A_SECOND).toEqual({ type: 'document', title: 'Renamed on A' })
  })

  it('revoking a share link on A closes the sockets opened with it on B within a second', async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, id } = await sharedDocument(a)
    const link = await createShareLink(a, owner, id, 'editor')
    const hp = connectHocuspocus(b, id, { token: link.token })
    const yws = connectYWebsocket(b, id, { token: link.token })
    await Promise.all([hp.synced, yws.synced])
    const closes = Promise.all([hocuspocusDenied(hp), yWebsocketClosed(yws)])

    const revoke = api(a, 'DELETE', `/documents/${id}/share-links/${link.id}`, { token: owner.accessToken })
    const [reason, close] = await within(closes, A_SECOND, "closing B's link sockets")
    expect((await revoke).status).toBe(204)
    expect(reason).toBe('not-found')
    expect(close.code).toBe(4404)
  })

  it('a share link made on A closes its sockets on B when it expires', async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, id } = await sharedDocument(a)
    const link = await createShareLink(a, owner, id, 'viewer', new Date(Date.now() + 1_500).toISOString())
    const yws = connectYWebsocket(b, id, { token: link.token })
    await yws.synced
    // The instance holding the sockets arms the timer: 1.5 s to expiry, then at most a second.
    expect((await within(yWebsocketClosed(yws), 4_000, 'closing at expiry')).code).toBe(4404)
  })

  it("deleting a document on A closes every socket on B within a second, the owner's too", async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, member, id } = await sharedDocument(a)
    const memberHp = connectHocuspocus(b, id, { token: member.accessToken })
    const ownerYws = connectYWebsocket(b, id, { token: owner.accessToken })
    await Promise.all([memberHp.synced, ownerYws.synced])
    const closes = Promise.all([hocuspocusDenied(memberHp), yWebsocketClosed(ownerYws)])

    const removal = api(a, 'DELETE', `/documents/${id}`, { token: owner.accessToken })
    const [reason, close] = await within(closes, A_SECOND, "closing B's sockets")
    expect((await removal).status).toBe(204)
    expect(reason).toBe('not-found')
    expect(close.code).toBe(4404)
    expect((await api(b, 'GET', `/documents/${id}/content`, { token: owner.accessToken })).status).toBe(404)
  })

  it("signing out on A closes that sign-in's sockets and stream on B within a second, and only those", async () => {
    const [a, b] = await startInstances(await databases.create())
    const { member, id } = await sharedDocument(a)
    const otherSignIn = (await api(a, 'POST', '/auth/login', { body: { email: member.email, password: member.password } })).body
    const hp = connectHocuspocus(b, id, { token: member.accessToken })
    const yws = connectYWebsocket(b, id, { token: member.accessToken })
    const otherDevice = connectHocuspocus(b, id, { token: otherSignIn.accessToken })
    await Promise.all([hp.synced, yws.synced, otherDevice.synced])
    const live = await stream(b, { token: member.accessToken })
    const closes = Promise.all([hocuspocusDenied(hp), yWebsocketClosed(yws)])

    const logout = api(a, 'POST', '/auth/logout', { body: { refreshToken: member.refreshToken } })
    const [reason, close] = await within(closes, A_SECOND, "closing the sign-in's sockets on B")
    expect((await logout).status).toBe(204)
    expect(reason).toBe('unauthorized:signed-out')
    expect(close).toEqual({ code: 4401, reason: 'unauthorized:signed-out' })
    await expect.poll(() => live.ended(), WITHIN_A_SECOND).toBe(true)
    // The other sign-in's socket on B is untouched: its edit still lands.
    otherDevice.doc.getText('default').insert(0, 'other device')
    await expect.poll(() => text(b, otherSignIn, id)).toBe('other device')
  })

  it('an SSE client on A receives the notification for an edit made through B', async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, member, id } = await sharedDocument(a)
    const live = await stream(a, { token: member.accessToken })
    await live.waitFor((event) => event.event === 'unread-count')

    await restEdit(b, owner, id, 'edited through B')
    const [notification] = await live.waitFor(
      (event: SseEvent) => event.event === 'notification' && JSON.parse(event.data).type === 'document.edited',
    )
    expect(JSON.parse(notification!.data)).toMatchObject({ documentId: id, actors: [{ id: owner.id }] })
  })

  it('the outbox is shared: each webhook is sent once, whichever instance queued it and both polling', async () => {
    const receiver = await startWebhookReceiver()
    const database = await databases.create()
    const instances = await startInstances(database, { env: { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: receiver.secret } })
    const owner = await registerUser(instances[0], 'Owner')
    const count = 12
    await Promise.all(Array.from({ length: count }, (_, i) => createDocument(instances[i % 2]!, owner)))

    const db = openDatabase(database)
    await expect
      .poll(async () => (await outboxRows(db, 'webhook')).map((row) => row.status), { timeout: 20_000, interval: 100 })
      .toEqual(Array(count).fill('delivered'))
    // Every row is marked delivered, so none can be sent again: what arrived is all there will be.
    const created = receiver.requests.filter((request) => request.body.type === 'document.created')
    expect(created).toHaveLength(count)
    expect(new Set(created.map((request) => request.id)).size).toBe(count)
    expect(created.every((request) => request.verified)).toBe(true)
  })
})

describeEachDatabase('[multi-instance] Redis outage: readiness and control messages', (databases) => {
  it('both instances stay up and serve their own clients; /ready is 503 promptly, then 200, and control messages flow again', async () => {
    const redis = await startTestRedis()
    const [a, b] = await startInstances(await databases.create(), { redisUrl: redis.url })
    const { owner, member, id } = await sharedDocument(a)
    for (const instance of [a, b]) {
      expect(await ready(instance)).toMatchObject({ status: 200, body: { checks: { redis: 'ok' } } })
      expect(await redisConnected(instance)).toBe('1')
    }

    await redis.kill()
    // Each probe must answer within its 2 s deadline (never hang), and soon say why it is not ready.
    for (const instance of [a, b]) {
      await expect.poll(async () => (await ready(instance)).status, { timeout: 5_000 }).toBe(503)
      expect((await ready(instance)).body).toMatchObject({ status: 'not-ready', checks: { redis: 'unreachable', database: 'ok' } })
      expect(await redisConnected(instance)).toBe('0')
    }
    // Local sync, REST and storage go on: two clients of one document on B edit together…
    const hp = connectHocuspocus(b, id, { token: owner.accessToken })
    const yws = connectYWebsocket(b, id, { token: member.accessToken })
    await Promise.all([hp.synced, yws.synced])
    hp.doc.getText('default').insert(0, 'during the outage')
    await expect.poll(() => yws.doc.getText('default').toString()).toBe('during the outage')
    // …and REST works on both (a user and a document made on A are usable on B).
    const late = await registerUser(a, 'Late')
    const { id: lateId } = await createDocument(b, late)
    expect((await api(a, 'GET', `/documents/${lateId}`, { token: late.accessToken })).status).toBe(200)
    // An access change made on A while Redis is away reaches B's sockets once it is back.
    const memberClosed = yWebsocketClosed(yws)
    expect((await api(a, 'DELETE', `/documents/${id}/collaborators/${member.id}`, { token: owner.accessToken })).status).toBe(204)

    await redis.restart()
    for (const instance of [a, b]) {
      await expect.poll(async () => (await ready(instance)).status, { timeout: 10_000, interval: 100 }).toBe(200)
      expect(await redisConnected(instance)).toBe('1')
    }
    expect((await within(memberClosed, 5_000, "closing the member's socket after the outage")).code).toBe(4404)
    // Redis came back empty; the instances have subscribed again, so a revocation on A acts on B.
    const link = await createShareLink(a, owner, id, 'editor')
    const viaLink = connectHocuspocus(b, id, { token: link.token })
    await viaLink.synced
    const denied = hocuspocusDenied(viaLink)
    const revoke = api(a, 'DELETE', `/documents/${id}/share-links/${link.id}`, { token: owner.accessToken })
    expect(await within(denied, A_SECOND, "closing B's link socket after the outage")).toBe('not-found')
    expect((await revoke).status).toBe(204)
    for (const instance of [a, b]) expect(instance.child.exitCode).toBeNull()
    expect(await text(b, owner, id)).toBe('during the outage')
  })

  it('/ready answers 503 promptly while Redis is frozen (connections open, no answers), 200 once it answers', async () => {
    const redis = await startTestRedis()
    const a = await startInstance(await databases.create(), { redisUrl: redis.url })
    expect((await ready(a)).status).toBe(200)
    redis.freeze()
    try {
      // The check's own timeout answers well inside the probe's 2 s deadline.
      expect(await ready(a)).toMatchObject({ status: 503, body: { checks: { redis: 'unreachable' } } })
    } finally {
      redis.thaw()
    }
    await expect.poll(async () => (await ready(a)).status, { timeout: 10_000, interval: 100 }).toBe(200)
  })
})
