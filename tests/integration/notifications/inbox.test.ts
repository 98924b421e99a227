import { expect, it } from 'vitest'
import { readStreamEvents } from '../../../server/notifications/notification-events.queries.ts'
import { api, createDocument, createShareLink, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { connectHocuspocus, type HocuspocusClient } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { editAs, inbox, outline, unreadCount } from '../../helpers/inbox.ts'
import { logRows } from '../../helpers/log.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

const WEBHOOKS = { WEBHOOK_URLS: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}` }

interface Team {
  owner: TestUser
  alice: TestUser
  bob: TestUser
  viewer: TestUser
  documentId: string
}

/** A document owned by Owner, edited by Alice and Bob, read by a viewer. */
async function team(server: TestServer): Promise<Team> {
  const [owner, alice, bob, viewer] = await Promise.all(['Owner', 'Alice', 'Bob', 'Viewer'].map((name) => registerUser(server, name)))
  const { id: documentId } = await createDocument(server, owner!, undefined, 'Plans')
  await share(server, owner!, documentId, alice!, 'editor')
  await share(server, owner!, documentId, bob!, 'editor')
  await share(server, owner!, documentId, viewer!, 'viewer')
  // Being added is an item of its own; these tests are about edits.
  for (const user of [alice, bob, viewer]) await api(server, 'POST', '/notifications/read-all', { token: user!.accessToken })
  return { owner: owner!, alice: alice!, bob: bob!, viewer: viewer!, documentId }
}

const edited = async (server: TestServer, user: TestUser) => (await inbox(server, user)).filter((item) => item.type === 'document.edited')

/** Rows stored so far, and how many of them someone other than `userId` wrote. */
async function rowsBy(server: TestServer, documentId: string) {
  const rows = await logRows(server.database.db, documentId)
  return { total: rows.length, notOnlyBy: (userId: string) => rows.filter((row) => row.authors.some((a) => a !== userId)).length }
}

async function typeInto(client: HocuspocusClient, text: string): Promise<void> {
  await client.synced
  const root = client.doc.getText('default')
  root.insert(root.length, text)
}

describeEachDatabase('inbox: edits', (databases) => {
  it('a burst of edits from two people is one unread item per recipient, naming both, most recent first, never the actor', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, alice, bob, viewer, documentId } = await team(server)
    const aliceClient = connectHocuspocus(server, documentId, { token: alice.accessToken })
    const bobClient = connectHocuspocus(server, documentId, { token: bob.accessToken })

    await typeInto(aliceClient, 'a')
    await expect.poll(async () => (await edited(server, viewer)).map(outline)).toEqual([
      { type: 'document.edited', documentId, actors: [alice.id], count: 1 },
    ])
    // Nobody hears of their own edit.
    expect(await edited(server, alice)).toEqual([])

    await typeInto(bobClient, 'b')
    await expect.poll(async () => (await edited(server, viewer))[0]?.actors.map((a) => a.id)).toEqual([bob.id, alice.id])
    const before = (await edited(server, viewer))[0]!

    // The burst: both type at once, over many stores.
    for (let round = 0; round < 12; round++) {
      const stored = (await rowsBy(server, documentId)).total
      await typeInto(aliceClient, 'a')
      await typeInto(bobClient, 'b')
      if (round % 3 === 2) await expect.poll(async () => (await rowsBy(server, documentId)).total).toBeGreaterThan(stored)
    }
    // Every character typed (2 + 2 per round) reached the server, and nothing waits to be stored.
    await expect.poll(() => server.collab.hocuspocus.documents.get(documentId)?.getText('default').length).toBe(2 + 2 * 12)
    await expect.poll(() => server.collab.updateLog.pendingCount(documentId)).toBe(0)
    await server.notifier.idle()

    const rows = await rowsBy(server, documentId)
    expect(rows.total).toBeGreaterThan(3)
    for (const user of [owner, viewer]) {
      const items = await edited(server, user)
      expect(items).toHaveLength(1)
      expect(new Set(items[0]!.actors.map((a) => a.id))).toEqual(new Set([alice.id, bob.id]))
      expect(items[0]!.actors.map((a) => a.name).sort()).toEqual(['Alice', 'Bob'])
      expect(items[0]!.count).toBe(rows.total)
      expect(items[0]!.readAt).toBeNull()
    }
    const viewerItem = (await edited(server, viewer))[0]!
    expect(viewerItem.id).toBe(before.id)
    expect(viewerItem.count).toBeGreaterThan(before.count)
    expect(Date.parse(viewerItem.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt))
    expect(viewerItem.createdAt).toBe(before.createdAt)
    // Each editor hears of the other only, for the rows the other wrote.
    for (const [self, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const items = await edited(server, self)
      expect(items.map(outline)).toEqual([{ type: 'document.edited', documentId, actors: [other.id], count: rows.notOnlyBy(self.id) }])
    }
    // One row per recipient in the table: updates, not inserts.
    const stored = await server.database.db.selectFrom('notifications').select('user_id').where('type', '=', 'document.edited').execute()
    expect(stored.map((row) => row.user_id).sort()).toEqual([owner.id, alice.id, bob.id, viewer.id].sort())
  })

  it('a read item is not added to: the next edit starts a new item at the top', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, viewer, documentId } = await team(server)
    await editAs(server, owner, documentId, 'one')
    await editAs(server, owner, documentId, 'two')
    const [first] = await edited(server, viewer)
    expect(first!.count).toBe(2)
    expect((await api(server, 'POST', `/notifications/${first!.id}/read`, { token: viewer.accessToken })).status).toBe(200)
    await editAs(server, owner, documentId, 'three')
    const items = await edited(server, viewer)
    expect(items.map((item) => [item.count, item.readAt === null])).toEqual([
      [1, true],
      [2, false],
    ])
    expect(items[1]!.id).toBe(first!.id)
    expect(await unreadCount(server, viewer)).toBe(1)
  })

  it('viewers are told too; share-link edits are by a Guest; the document title is current', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, viewer, documentId } = await team(server)
    const link = await createShareLink(server, owner, documentId, 'editor')
    await editAs(server, { accessToken: link.token }, documentId, 'guest')
    await api(server, 'PATCH', `/documents/${documentId}`, { token: owner.accessToken, body: { title: 'Renamed plans' } })
    await editAs(server, owner, documentId, 'owner')
    const [item] = await edited(server, viewer)
    expect(item).toMatchObject({ documentTitle: 'Renamed plans', count: 2 })
    expect(item!.actors).toEqual([
      { id: owner.id, name: 'Owner' },
      { id: `link:${link.id}`, name: 'Guest' },
    ])
    // The owner hears of the guest.
    expect((await edited(server, owner)).map(outline)).toEqual([
      { type: 'document.edited', documentId, actors: [`link:${link.id}`], count: 1 },
    ])
  })

  it('a muted document makes no items for that user; unmuting brings them back', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, alice, viewer, documentId } = await team(server)
    const mute = (muted: boolean) => api(server, 'PUT', `/documents/${documentId}/subscription`, { token: viewer.accessToken, body: { muted } })
    expect((await api(server, 'GET', `/documents/${documentId}/subscription`, { token: viewer.accessToken })).body).toEqual({ muted: false })
    expect((await mute(true)).body).toEqual({ muted: true })
    expect((await api(server, 'GET', `/documents/${documentId}/subscription`, { token: viewer.accessToken })).body).toEqual({ muted: true })
    const eventsBefore = await readStreamEvents(server.database.db, viewer.id, 0)

    await editAs(server, owner, documentId, 'quiet')
    await share(server, owner, documentId, viewer, 'editor')
    expect(await inbox(server, viewer, '&unread=true')).toEqual([])
    expect(await readStreamEvents(server.database.db, viewer.id, 0)).toEqual(eventsBefore)
    // Others still hear.
    expect((await edited(server, alice)).map(outline)).toEqual([{ type: 'document.edited', documentId, actors: [owner.id], count: 1 }])

    expect((await mute(false)).body).toEqual({ muted: false })
    await editAs(server, owner, documentId, 'loud')
    expect((await edited(server, viewer)).map(outline)).toEqual([{ type: 'document.edited', documentId, actors: [owner.id], count: 1 }])
  })

  it('each inbox write appends the item and the unread count to the stream log; a webhook only when an item is created', async () => {
    const server = await startTestServer(await databases.create(), WEBHOOKS)
    const { owner, viewer, documentId } = await team(server)
    const after = (await readStreamEvents(server.database.db, viewer.id, 0)).at(-1)?.id ?? 0
    await editAs(server, owner, documentId, 'one')
    await editAs(server, owner, documentId, 'two')
    const events = await readStreamEvents(server.database.db, viewer.id, after)
    expect(events.map((e) => e.event)).toEqual(['notification', 'unread-count', 'notification', 'unread-count'])
    const [created, , updated, count] = events.map((e) => JSON.parse(e.data))
    expect(created).toMatchObject({ type: 'document.edited', documentId, count: 1, readAt: null })
    expect(updated).toMatchObject({ id: created.id, count: 2 })
    expect(updated).toEqual((await edited(server, viewer))[0])
    expect(count).toEqual({ count: 1 })

    const webhooks = (await server.database.db.selectFrom('outbox').select('payload').where('channel', '=', 'webhook').execute())
      .map((row) => JSON.parse(row.payload).body)
      .filter((body) => body.type === 'notification.created' && body.data.notification.type === 'document.edited')
    // Owner's edits: one item created for each of Alice, Bob and the viewer; the second edit only updated them.
    expect(webhooks.map((body) => body.data.userId).sort()).toEqual(
      (await server.database.db.selectFrom('document_members').select('user_id').where('document_id', '=', documentId).execute())
        .map((row) => row.user_id)
        .sort(),
    )
    expect(webhooks.find((body) => body.data.userId === viewer.id)!.data.notification.id).toBe(created.id)
  })

  it('a restore is a document.restored item for everyone but the one who restored', async () => {
    const server = await startTestServer(await databases.create())
    const { owner, alice, viewer, documentId } = await team(server)
    await editAs(server, owner, documentId, 'first')
    await api(server, 'POST', '/notifications/read-all', { token: viewer.accessToken })
    const restored = await api(server, 'POST', `/documents/${documentId}/versions/1/restore`, { token: alice.accessToken })
    expect(restored.status).toBe(201)
    await server.notifier.idle()
    for (const user of [owner, viewer]) {
      const [item] = await inbox(server, user)
      expect(outline(item!)).toEqual({ type: 'document.restored', documentId, actors: [alice.id], count: 1 })
    }
    expect((await inbox(server, alice)).filter((item) => item.type === 'document.restored')).toEqual([])
    // A restore stands on its own: it is not folded into an unread edit item.
    expect((await edited(server, owner)).length).toBe(0)
  })
})

/** Registered users with no access hear nothing. */
describeEachDatabase('inbox: strangers', (databases) => {
  it('people without access to the document get nothing', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    const stranger = await registerUser(server, 'Stranger')
    const { id } = await createDocument(server, owner)
    await editAs(server, owner, id, 'private')
    expect(await inbox(server, stranger)).toEqual([])
    expect(await unreadCount(server, stranger)).toBe(0)
  })
})
