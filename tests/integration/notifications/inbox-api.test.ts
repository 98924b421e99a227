import { expect, it } from 'vitest'
import type { NotificationDto } from '../../../shared/api/notifications.ts'
import { runCleanup } from '../../../server/notifications/cleanup.ts'
import { enqueueOutbox } from '../../../server/notifications/outbox.queries.ts'
import { findSettings } from '../../../server/notifications/preferences.queries.ts'
import { startServer } from '../../../server/server.ts'
import { api, createDocument, createShareLink, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { editAs, inbox, unreadCount } from '../../helpers/inbox.ts'
import { startTestServer, testConfig, type TestServer } from '../../helpers/server.ts'

/** `reader` is on `count` documents of `owner`, each edited once by the owner: `count` unread items (after the share items are read). */
async function itemsFor(server: Pick<TestServer, 'url' | 'notifier'>, owner: TestUser, reader: TestUser, count: number): Promise<NotificationDto[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const { id } = await createDocument(server, owner, undefined, `Doc ${i}`)
    await share(server, owner, id, reader, 'viewer')
    ids.push(id)
  }
  await api(server, 'POST', '/notifications/read-all', { token: reader.accessToken })
  for (const id of ids) await editAs(server, owner, id, `edit of ${id}`)
  return inbox(server, reader, '&unread=true')
}

describeEachDatabase('inbox REST', (databases) => {
  it('read, read-all and delete change the unread count; someone else’s item is a 404', async () => {
    const server = await startTestServer(await databases.create())
    const [owner, reader, other] = await Promise.all(['Owner', 'Reader', 'Other'].map((name) => registerUser(server, name)))
    const items = await itemsFor(server, owner!, reader!, 3)
    expect(items).toHaveLength(3)
    expect(await unreadCount(server, reader!)).toBe(3)
    const token = reader!.accessToken
    const [a, b, c] = items

    const read = await api(server, 'POST', `/notifications/${a!.id}/read`, { token })
    expect(read.status).toBe(200)
    expect(read.body).toMatchObject({ id: a!.id, count: a!.count })
    expect(Date.parse(read.body.readAt)).not.toBeNaN()
    // Again: no change, same answer.
    expect((await api(server, 'POST', `/notifications/${a!.id}/read`, { token })).body.readAt).toBe(read.body.readAt)
    expect(await unreadCount(server, reader!)).toBe(2)
    expect((await inbox(server, reader!, '&unread=true')).map((item) => item.id)).toEqual([b!.id, c!.id])

    // Not yours: the same 404 as an unknown id, and nothing changes.
    for (const [method, path] of [
      ['POST', `/notifications/${b!.id}/read`],
      ['DELETE', `/notifications/${b!.id}`],
      ['POST', '/notifications/ntf_unknown/read'],
      ['DELETE', '/notifications/ntf_unknown'],
    ] as const) {
      const response = await api(server, method, path, { token: other!.accessToken })
      expect(response.status).toBe(404)
      expect(response.body.code).toBe('not_found')
    }
    expect(await unreadCount(server, reader!)).toBe(2)

    expect((await api(server, 'DELETE', `/notifications/${b!.id}`, { token })).status).toBe(204)
    expect((await api(server, 'DELETE', `/notifications/${b!.id}`, { token })).status).toBe(404)
    expect(await unreadCount(server, reader!)).toBe(1)

    const all = await api(server, 'POST', '/notifications/read-all', { token })
    expect(all.status).toBe(200)
    expect(all.body).toEqual({ count: 0 })
    expect(await unreadCount(server, reader!)).toBe(0)
    expect((await inbox(server, reader!)).filter((item) => item.type === 'document.edited').map((item) => item.id)).toEqual([a!.id, c!.id])
  })

  it('pages through the inbox newest first with a cursor; a bad cursor or limit is a 400', async () => {
    const server = await startTestServer(await databases.create())
    const [owner, reader] = await Promise.all(['Owner', 'Reader'].map((name) => registerUser(server, name)))
    await itemsFor(server, owner!, reader!, 3)
    const everything = await inbox(server, reader!)
    // Three share items (read) and three edit items.
    expect(everything).toHaveLength(6)
    const sorted = [...everything].sort((x, y) => Date.parse(y.updatedAt) - Date.parse(x.updatedAt) || (y.id < x.id ? -1 : 1))
    expect(everything.map((item) => item.id)).toEqual(sorted.map((item) => item.id))

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { status: number; body: { items: NotificationDto[]; nextCursor: string | null } } = await api(
        server,
        'GET',
        `/notifications?limit=4${cursor ? `&cursor=${cursor}` : ''}`,
        { token: reader!.accessToken },
      )
      expect(page.status).toBe(200)
      expect(page.body.items.length).toBeLessThanOrEqual(4)
      seen.push(...page.body.items.map((item) => item.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen).toEqual(everything.map((item) => item.id))

    const unread = await api(server, 'GET', '/notifications?unread=true&limit=2', { token: reader!.accessToken })
    expect(unread.body.items.every((item: NotificationDto) => item.readAt === null && item.type === 'document.edited')).toBe(true)
    const rest = await api(server, 'GET', `/notifications?unread=true&limit=2&cursor=${unread.body.nextCursor}`, { token: reader!.accessToken })
    expect(rest.body).toMatchObject({ nextCursor: null })
    expect(rest.body.items).toHaveLength(1)

    for (const query of ['cursor=nonsense', 'limit=0', 'limit=101', 'unread=maybe', 'extra=1']) {
      const response = await api(server, 'GET', `/notifications?${query}`, { token: reader!.accessToken })
      expect(response.status, query).toBe(400)
      expect(response.body.code).toBe('invalid_input')
    }
  })

  it('share links and missing tokens get a 401 on the inbox and settings; links and strangers get a 404 on a subscription', async () => {
    const server = await startTestServer(await databases.create())
    const [owner, stranger] = await Promise.all(['Owner', 'Stranger'].map((name) => registerUser(server, name)))
    const { id } = await createDocument(server, owner!)
    const link = await createShareLink(server, owner!, id, 'editor')
    for (const token of [link.token, undefined]) {
      for (const [method, path] of [
        ['GET', '/notifications'],
        ['GET', '/notifications/unread-count'],
        ['POST', '/notifications/read-all'],
        ['GET', '/me/notification-settings'],
      ] as const) {
        expect((await api(server, method, path, { token })).status, `${method} ${path}`).toBe(401)
      }
    }
    for (const token of [link.token, stranger!.accessToken]) {
      expect((await api(server, 'GET', `/documents/${id}/subscription`, { token })).status).toBe(404)
      expect((await api(server, 'PUT', `/documents/${id}/subscription`, { token, body: { muted: true } })).status).toBe(404)
    }
    expect((await api(server, 'GET', '/documents/no-such-doc/subscription', { token: owner!.accessToken })).status).toBe(404)
    const bad = await api(server, 'PUT', `/documents/${id}/subscription`, { token: owner!.accessToken, body: { muted: 'yes' } })
    expect(bad.status).toBe(400)
    expect((await api(server, 'GET', `/documents/${id}/subscription`, { token: owner!.accessToken })).body).toEqual({ muted: false })
  })

  it('notification settings: digest every 30 minutes by default, changed field by field, bad values refused without a change', async () => {
    const server = await startTestServer(await databases.create())
    const user = await registerUser(server, 'Settled')
    const token = user.accessToken
    const get = async () => (await api(server, 'GET', '/me/notification-settings', { token })).body
    expect(await get()).toEqual({ email: 'digest', digestMinutes: 30 })

    const off = await api(server, 'PUT', '/me/notification-settings', { token, body: { email: 'off' } })
    expect(off.status).toBe(200)
    expect(off.body).toEqual({ email: 'off', digestMinutes: 30 })
    expect((await api(server, 'PUT', '/me/notification-settings', { token, body: { digestMinutes: 1440 } })).body).toEqual({
      email: 'off',
      digestMinutes: 1440,
    })
    expect((await api(server, 'PUT', '/me/notification-settings', { token, body: { email: 'digest', digestMinutes: 1 } })).body).toEqual({
      email: 'digest',
      digestMinutes: 1,
    })
    // The same again changes nothing and still answers.
    expect((await api(server, 'PUT', '/me/notification-settings', { token, body: { email: 'digest', digestMinutes: 1 } })).status).toBe(200)

    for (const body of [{}, { digestMinutes: 0 }, { digestMinutes: 1441 }, { digestMinutes: 1.5 }, { digestMinutes: '30' }, { email: 'weekly' }, { email: 'off', extra: true }]) {
      const response = await api(server, 'PUT', '/me/notification-settings', { token, body })
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(response.body.code).toBe('invalid_input')
    }
    expect(await get()).toEqual({ email: 'digest', digestMinutes: 1 })

    // An account without an email address gets no digests unless it asks.
    const now = Date.now()
    await server.database.db
      .insertInto('users')
      .values({ id: 'usr_no_email', email: null, name: 'No email', password_hash: null, created_at: now, updated_at: now })
      .execute()
    expect(await findSettings(server.database.db, 'usr_no_email')).toEqual({ email: 'off', digestMinutes: 30 })
  })

  it('the cleanup job deletes old read items, old delivered outbox rows and old stream events, and keeps the rest', async () => {
    const server = await startTestServer(await databases.create(), { NOTIFICATION_RETENTION_DAYS: '1' })
    const [owner, reader] = await Promise.all(['Owner', 'Reader'].map((name) => registerUser(server, name)))
    const [older, recent] = await itemsFor(server, owner!, reader!, 2)
    await api(server, 'POST', `/notifications/${older!.id}/read`, { token: reader!.accessToken })
    const { db } = server.database
    const dayAgo = Date.now() - 2 * 86_400_000
    const weeksAgo = Date.now() - 8 * 86_400_000
    // An unread item as old as the read one: unread items are never cleaned up.
    await db.updateTable('notifications').set({ updated_at: dayAgo }).where('id', 'in', [older!.id, recent!.id]).execute()
    await db.updateTable('notifications').set({ read_at: dayAgo }).where('id', '=', older!.id).execute()
    await enqueueOutbox(db, [
      { channel: 'email', idempotencyKey: 'old-delivered', payload: {} },
      { channel: 'email', idempotencyKey: 'old-pending', payload: {} },
      { channel: 'email', idempotencyKey: 'new-delivered', payload: {} },
    ])
    // Pending rows would be claimed by the delivery worker; these are only here to be kept or deleted.
    await db.updateTable('outbox').set({ status: 'delivered', delivered_at: weeksAgo, next_attempt_at: Date.now() + 86_400_000 }).where('idempotency_key', '=', 'old-delivered').execute()
    await db.updateTable('outbox').set({ status: 'dead', created_at: weeksAgo, next_attempt_at: Date.now() + 86_400_000 }).where('idempotency_key', '=', 'old-pending').execute()
    await db.updateTable('outbox').set({ status: 'delivered', delivered_at: Date.now(), next_attempt_at: Date.now() + 86_400_000 }).where('idempotency_key', '=', 'new-delivered').execute()
    const events = await db.selectFrom('notification_events').select('id').where('user_id', '=', reader!.id).orderBy('id').execute()
    await db.updateTable('notification_events').set({ created_at: weeksAgo }).where('id', '=', events[0]!.id).execute()

    const result = await runCleanup({ db, log: server.log, retentionDays: server.config.notificationRetentionDays })
    expect(result).toEqual({ status: 'done', notifications: 1, outbox: 1, streamEvents: 1 })
    expect((await inbox(server, reader!)).map((item) => item.id)).not.toContain(older!.id)
    expect((await inbox(server, reader!)).map((item) => item.id)).toContain(recent!.id)
    expect((await db.selectFrom('outbox').select('idempotency_key').orderBy('idempotency_key').execute()).map((row) => row.idempotency_key)).toEqual(
      expect.arrayContaining(['new-delivered', 'old-pending']),
    )
    expect(await db.selectFrom('outbox').select('id').where('idempotency_key', '=', 'old-delivered').execute()).toEqual([])
    expect(await db.selectFrom('notification_events').select('id').where('id', '=', events[0]!.id).execute()).toEqual([])
    expect((await db.selectFrom('notification_events').select('id').where('user_id', '=', reader!.id).execute()).length).toBe(events.length - 1)

    // One instance at a time: while another holds the lease, a pass does nothing.
    await db.insertInto('job_locks').values({ name: 'notification-cleanup', holder: 'elsewhere', expires_at: Date.now() + 60_000 }).execute()
    expect((await runCleanup({ db, log: server.log, retentionDays: 1 })).status).toBe('locked')
  })

  it('the server runs the cleanup job on its own, and stops it on close', async () => {
    const database = await databases.create()
    const server = await startServer(testConfig(database, { NOTIFICATION_RETENTION_DAYS: '1' }), {
      notificationCleanup: { startDelayMs: 0, intervalMs: 50 },
    })
    defer(() => server.close())
    const [owner, reader] = await Promise.all(['Owner', 'Reader'].map((name) => registerUser(server, name)))
    const [item] = await itemsFor(server, owner!, reader!, 1)
    const { db } = server.database
    await db.updateTable('notifications').set({ read_at: Date.now() - 2 * 86_400_000, updated_at: Date.now() - 2 * 86_400_000 }).where('id', '=', item!.id).execute()
    await expect.poll(async () => (await inbox(server, reader!)).map((i) => i.id), { timeout: 5_000 }).not.toContain(item!.id)
  })
})
