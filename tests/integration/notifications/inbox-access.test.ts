import { randomBytes } from 'node:crypto'
import { expect, it } from 'vitest'
import { readStreamEvents } from '../../../server/notifications/notification-events.queries.ts'
import { stillHasAccess } from '../../../server/notifications/recipients.ts'
import { api, createDocument, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { editAs, inbox, outline, unreadCount } from '../../helpers/inbox.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

async function people(server: TestServer, ...names: string[]): Promise<TestUser[]> {
  return Promise.all(names.map((name) => registerUser(server, name)))
}

const lastStreamEvent = async (server: TestServer, user: TestUser) => {
  const event = (await readStreamEvents(server.database.db, user.id, 0)).at(-1)
  return event && { event: event.event, data: JSON.parse(event.data) }
}

describeEachDatabase('inbox: access changes', (databases) => {
  it('being added is a document.shared item; a role change while it is unread updates it; never to the one who shared', async () => {
    const server = await startTestServer(await databases.create())
    const [owner, member] = await people(server, 'Owner', 'Member')
    const { id } = await createDocument(server, owner!, undefined, 'Roadmap')
    await share(server, owner!, id, member!, 'viewer')
    const [added] = await inbox(server, member!)
    expect(added).toMatchObject({ type: 'document.shared', documentId: id, documentTitle: 'Roadmap', count: 1, readAt: null })
    expect(added!.actors).toEqual([{ id: owner!.id, name: 'Owner' }])
    expect(await inbox(server, owner!)).toEqual([])

    await share(server, owner!, id, member!, 'editor')
    const items = await inbox(server, member!)
    expect(items.map(outline)).toEqual([{ type: 'document.shared', documentId: id, actors: [owner!.id], count: 2 }])
    expect(items[0]!.id).toBe(added!.id)

    // Read, then changed again: a new item.
    await api(server, 'POST', '/notifications/read-all', { token: member!.accessToken })
    await share(server, owner!, id, member!, 'viewer')
    expect((await inbox(server, member!)).map((item) => [item.type, item.readAt === null])).toEqual([
      ['document.shared', true],
      ['document.shared', false],
    ])
  })

  it('an invitation by email: an existing account hears at once, a new one when it signs up', async () => {
    const server = await startTestServer(await databases.create())
    const [owner, existing] = await people(server, 'Owner', 'Existing')
    const { id } = await createDocument(server, owner!, undefined, 'Invited doc')
    const invite = (email: string) =>
      api(server, 'POST', `/documents/${id}/collaborators`, { token: owner!.accessToken, body: { email, role: 'editor' } })
    expect((await invite(existing!.email)).status).toBe(202)
    expect((await inbox(server, existing!)).map(outline)).toEqual([{ type: 'document.shared', documentId: id, actors: [owner!.id], count: 1 }])

    const email = `later.${randomBytes(4).toString('hex')}@example.test`
    expect((await invite(email)).status).toBe(202)
    const registered = await api(server, 'POST', '/auth/register', { body: { email, password: 'correct horse battery', name: 'Later' } })
    expect(registered.status).toBe(201)
    const later = { accessToken: registered.body.accessToken as string }
    const [item] = await inbox(server, later)
    expect(item).toMatchObject({ type: 'document.shared', documentId: id, documentTitle: 'Invited doc', actors: [{ id: owner!.id, name: 'Owner' }] })
    expect(await unreadCount(server, later)).toBe(1)
  })

  it('being removed leaves only a document.unshared item with the title, and nothing more arrives about it', async () => {
    const server = await startTestServer(await databases.create())
    const [owner, member, other] = await people(server, 'Owner', 'Member', 'Other')
    const { id } = await createDocument(server, owner!, undefined, 'Secret plans')
    const { id: elsewhere } = await createDocument(server, owner!, undefined, 'Elsewhere')
    await share(server, owner!, id, member!, 'editor')
    await share(server, owner!, id, other!, 'editor')
    await share(server, owner!, elsewhere, member!, 'viewer')
    await editAs(server, owner!, id, 'one')
    await api(server, 'POST', '/notifications/read-all', { token: member!.accessToken })
    await editAs(server, other!, id, 'two')
    await editAs(server, owner!, elsewhere, 'three')
    expect(await unreadCount(server, member!)).toBe(2)
    expect(await stillHasAccess(server.database.db, member!.id, id)).toBe(true)

    expect((await api(server, 'DELETE', `/documents/${id}/collaborators/${member!.id}`, { token: owner!.accessToken })).status).toBe(204)
    await server.notifier.idle()
    expect(await stillHasAccess(server.database.db, member!.id, id)).toBe(false)
    const about = (await inbox(server, member!)).filter((item) => item.documentId === id)
    expect(about.map(outline)).toEqual([{ type: 'document.unshared', documentId: id, actors: [owner!.id], count: 1 }])
    expect(about[0]!.documentTitle).toBe('Secret plans')
    // Items about other documents stay.
    expect((await inbox(server, member!)).filter((item) => item.documentId === elsewhere).length).toBeGreaterThan(0)
    expect(await unreadCount(server, member!)).toBe(2)
    // Live streams hear the new count.
    expect(await lastStreamEvent(server, member!)).toEqual({ event: 'unread-count', data: { count: 2 } })

    await editAs(server, other!, id, 'after')
    expect((await inbox(server, member!)).filter((item) => item.documentId === id).map((item) => item.type)).toEqual(['document.unshared'])
  })

  it('leaving a document removes my items about it without an item for my own action', async () => {
    const server = await startTestServer(await databases.create())
    const [owner, member] = await people(server, 'Owner', 'Member')
    const { id } = await createDocument(server, owner!)
    await share(server, owner!, id, member!, 'viewer')
    await editAs(server, owner!, id, 'one')
    expect(await unreadCount(server, member!)).toBe(2)
    expect((await api(server, 'DELETE', `/documents/${id}/collaborators/${member!.id}`, { token: member!.accessToken })).status).toBe(204)
    await server.notifier.idle()
    expect(await inbox(server, member!)).toEqual([])
    expect(await lastStreamEvent(server, member!)).toEqual({ event: 'unread-count', data: { count: 0 } })
  })

  it('deleting a document leaves a document.deleted item for everyone else who could see it, and removes their other items', async () => {
    const server = await startTestServer(await databases.create())
    const [owner, editor, viewer, muted] = await people(server, 'Owner', 'Editor', 'Viewer', 'Muted')
    const { id } = await createDocument(server, owner!, undefined, 'Doomed')
    for (const [user, role] of [
      [editor, 'editor'],
      [viewer, 'viewer'],
      [muted, 'viewer'],
    ] as const) {
      await share(server, owner!, id, user!, role)
    }
    await editAs(server, editor!, id, 'one')
    await api(server, 'PUT', `/documents/${id}/subscription`, { token: muted!.accessToken, body: { muted: true } })
    expect(await unreadCount(server, owner!)).toBe(1)

    expect((await api(server, 'DELETE', `/documents/${id}`, { token: owner!.accessToken })).status).toBe(204)
    await server.notifier.idle()
    for (const user of [editor, viewer]) {
      const items = await inbox(server, user!)
      expect(items.map(outline)).toEqual([{ type: 'document.deleted', documentId: id, actors: [owner!.id], count: 1 }])
      expect(items[0]!.documentTitle).toBe('Doomed')
    }
    // The one who deleted it hears nothing of it, and their items about it are gone.
    expect(await inbox(server, owner!)).toEqual([])
    expect(await lastStreamEvent(server, owner!)).toEqual({ event: 'unread-count', data: { count: 0 } })
    // Muted: no item, but the old ones go too.
    expect(await inbox(server, muted!)).toEqual([])
    expect(await stillHasAccess(server.database.db, viewer!.id, id)).toBe(false)
  })
})
