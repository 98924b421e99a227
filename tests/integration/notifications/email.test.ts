import { createHash } from 'node:crypto'
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { api, createDocument, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { type DeliveryServer, fastDelivery, outboxRows, startDeliveryServer } from '../../helpers/delivery.ts'
import { postUpdate } from '../../helpers/raw-body.ts'
import { smtpSink, type SmtpSink } from '../../helpers/smtp.ts'

const PUBLIC_URL = 'https://collab.example.test'
const FAR_FUTURE = () => Date.now() + 7 * 86_400_000
/** Digests only when the test runs a pass itself (`runOnce`), so no pass of the timer races it. */
const manualDigests = { timing: { ...fastDelivery, digests: { intervalMs: 3_600_000, minuteMs: 400 } } }

function emailEnv(smtp: SmtpSink) {
  return { SMTP_URL: smtp.url, EMAIL_FROM: 'Collab <notify@collab.example.test>', PUBLIC_URL }
}

/** One stored row by `author`, and its inbox items written. */
async function edit(server: DeliveryServer, author: TestUser, documentId: string, text = 'x'): Promise<void> {
  const doc = new Y.Doc()
  doc.getText('default').insert(0, text)
  const response = await postUpdate(server, documentId, author.accessToken, Y.encodeStateAsUpdate(doc))
  doc.destroy()
  expect(response.status).toBe(201)
  await server.notifier.idle()
}

async function settings(server: DeliveryServer, user: TestUser, body: { email: 'off' | 'digest'; digestMinutes: number }) {
  const response = await api(server, 'PUT', '/me/notification-settings', { token: user.accessToken, body })
  expect(response.status).toBe(200)
}

/** Owner shares "Plans" with Alice (editor); Alice's own "you were added" item is read, so only edits follow. */
async function plans(server: DeliveryServer) {
  const [owner, alice] = await Promise.all([registerUser(server, 'Owner'), registerUser(server, 'Alice')])
  const { id } = await createDocument(server, owner!, undefined, 'Plans')
  await share(server, owner!, id, alice!, 'editor')
  await server.notifier.idle()
  await api(server, 'POST', '/notifications/read-all', { token: alice!.accessToken })
  return { owner: owner!, alice: alice!, documentId: id }
}

const emails = (server: DeliveryServer) => outboxRows(server.database.db, 'email')

describeEachDatabase('email', (databases) => {
  it('SMTP down, then up: one digest is delivered, with the edits, who made them and a link', async () => {
    const smtp = await smtpSink({ startDown: true })
    const server = await startDeliveryServer(await databases.create(), emailEnv(smtp))
    const { owner, alice, documentId } = await plans(server)
    await settings(server, alice, { email: 'digest', digestMinutes: 1 })
    await edit(server, owner, documentId)

    // Queued once due, then tried and refused while SMTP is down.
    await expect.poll(async () => Number((await emails(server))[0]?.attempts ?? 0), { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    expect((await emails(server))[0]).toMatchObject({ status: 'pending', last_error: expect.stringMatching(/ECONNREFUSED/) })
    await smtp.up()
    await expect.poll(() => smtp.messages.length, { timeout: 10_000 }).toBe(1)
    await expect.poll(async () => (await emails(server)).map((r) => r.status)).toEqual(['delivered'])

    const [{ mail, to }] = smtp.messages as [SmtpSink['messages'][number]]
    expect(to).toEqual([alice.email])
    expect(mail.from?.text).toContain('notify@collab.example.test')
    expect(mail.subject).toBe('Owner edited “Plans” (1 edit)')
    const link = `${PUBLIC_URL}/#/d/${documentId}`
    expect(mail.text).toContain('Owner edited “Plans” (1 edit)')
    expect(mail.text).toContain(link)
    expect(mail.html).toContain(`href="${link}"`)
    // The Message-ID is derived from the delivery's idempotency key: the same on every try.
    const [row] = await emails(server)
    const hash = createHash('sha256').update(row!.idempotency_key).digest('hex').slice(0, 32)
    expect(mail.messageId).toBe(`<${hash}@collab.example.test>`)
    expect(row!.idempotency_key).toMatch(new RegExp(`^digest:${alice.id}:`))
    // Nothing else is waiting: the owner had nothing to read about their own edit.
    expect(await server.delivery.digests!.runOnce(FAR_FUTURE())).toBe(0)
    expect(await emails(server)).toHaveLength(1)
  })

  it('two quick edits make one digest, not two', async () => {
    const smtp = await smtpSink()
    const timing = { ...fastDelivery, digests: { intervalMs: 50, minuteMs: 1_500 } }
    const server = await startDeliveryServer(await databases.create(), emailEnv(smtp), { timing })
    const { owner, alice, documentId } = await plans(server)
    const other = await createDocument(server, owner, undefined, 'Budget')
    await share(server, owner, other.id, alice, 'viewer')
    await server.notifier.idle()
    await api(server, 'POST', '/notifications/read-all', { token: alice.accessToken })
    await settings(server, alice, { email: 'digest', digestMinutes: 1 })
    await edit(server, owner, documentId, 'one')
    await edit(server, owner, documentId, 'two')
    await edit(server, owner, other.id, 'three')

    await expect.poll(() => smtp.messages.length, { timeout: 10_000 }).toBe(1)
    await expect.poll(async () => (await emails(server)).map((r) => r.status)).toEqual(['delivered'])
    // Later passes find nothing new: every item is in the digest already.
    expect(await server.delivery.digests!.runOnce(FAR_FUTURE())).toBe(0)
    expect(smtp.messages).toHaveLength(1)
    const { mail } = smtp.messages[0]!
    expect(mail.subject).toBe('2 documents have news for you')
    expect(mail.text).toContain('Owner edited “Plans” (2 edits)')
    expect(mail.text).toContain('Owner edited “Budget” (1 edit)')
  })

  it('never sends two digests within digestMinutes', async () => {
    const smtp = await smtpSink()
    const server = await startDeliveryServer(await databases.create(), emailEnv(smtp), manualDigests)
    const { owner, alice, documentId } = await plans(server)
    const period = 2 * manualDigests.timing.digests.minuteMs
    await settings(server, alice, { email: 'digest', digestMinutes: 2 })
    await edit(server, owner, documentId, 'one')
    const sentAt = Date.now()
    expect(await server.delivery.digests!.runOnce(sentAt + period + 10)).toBe(1)
    // Sent before Alice reads (a digest is composed when sent and leaves out what was read by then).
    await expect.poll(() => smtp.messages.length, { timeout: 10_000 }).toBe(1)
    // A new item that has waited far longer than a period is still held back, because the last
    // digest went out less than a period ago.
    await api(server, 'POST', '/notifications/read-all', { token: alice.accessToken })
    await edit(server, owner, documentId, 'two')
    await server.database.db.updateTable('notifications').set({ created_at: sentAt - 10 * period }).where('user_id', '=', alice.id).where('read_at', 'is', null).execute()
    expect(await server.delivery.digests!.runOnce(Date.now())).toBe(0)
    expect(await server.delivery.digests!.runOnce(Date.now() + period + 10)).toBe(1)
    await expect.poll(() => smtp.messages.length, { timeout: 10_000 }).toBe(2)
  })

  it('no email for read items: read before the digest, or between queueing and sending', async () => {
    const smtp = await smtpSink({ startDown: true })
    const server = await startDeliveryServer(await databases.create(), emailEnv(smtp), manualDigests)
    const { owner, alice, documentId } = await plans(server)
    await settings(server, alice, { email: 'digest', digestMinutes: 30 })

    // Read before the digest is due: nothing is queued.
    await edit(server, owner, documentId)
    await api(server, 'POST', '/notifications/read-all', { token: alice.accessToken })
    expect(await server.delivery.digests!.runOnce(FAR_FUTURE())).toBe(0)
    expect(await emails(server)).toEqual([])

    // Queued while SMTP is down, read before it is back: delivered as nothing.
    await edit(server, owner, documentId)
    expect(await server.delivery.digests!.runOnce(FAR_FUTURE())).toBe(1)
    await expect.poll(async () => Number((await emails(server))[0]?.attempts ?? 0), { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    await api(server, 'POST', '/notifications/read-all', { token: alice.accessToken })
    await smtp.up()
    await expect.poll(async () => (await emails(server)).map((r) => r.status), { timeout: 10_000 }).toEqual(['delivered'])
    expect(smtp.messages).toEqual([])
  })

  it('no email for users with email off, without an address, for muted documents, or once access is lost', async () => {
    const smtp = await smtpSink({ startDown: true })
    const server = await startDeliveryServer(await databases.create(), emailEnv(smtp), manualDigests)
    const { owner, alice, documentId } = await plans(server)
    const { db } = server.database

    // Email off.
    await settings(server, alice, { email: 'off', digestMinutes: 1 })
    await edit(server, owner, documentId)
    expect(await server.delivery.digests!.runOnce(FAR_FUTURE())).toBe(0)

    // No address (a Clerk account whose token carried none).
    const now = Date.now()
    await db.insertInto('users').values({ id: 'no-address', email: null, name: 'Nobody', password_hash: null, created_at: now, updated_at: now }).execute()
    await db.insertInto('document_members').values({ document_id: documentId, user_id: 'no-address', role: 'viewer', created_at: now, updated_at: now }).execute()
    await edit(server, owner, documentId)
    expect(await db.selectFrom('notifications').select('id').where('user_id', '=', 'no-address').execute()).not.toEqual([])
    expect(await server.delivery.digests!.runOnce(FAR_FUTURE())).toBe(0)

    // Muted after the item was written.
    await settings(server, alice, { email: 'digest', digestMinutes: 1 })
    const muted = await api(server, 'PUT', `/documents/${documentId}/subscription`, { token: alice.accessToken, body: { muted: true } })
    expect(muted.status).toBe(200)
    expect(await server.delivery.digests!.runOnce(FAR_FUTURE())).toBe(0)
    expect(await emails(server)).toEqual([])

    // Queued, then access lost before it could be sent.
    await api(server, 'PUT', `/documents/${documentId}/subscription`, { token: alice.accessToken, body: { muted: false } })
    await edit(server, owner, documentId)
    expect(await server.delivery.digests!.runOnce(FAR_FUTURE())).toBe(1)
    const removed = await api(server, 'DELETE', `/documents/${documentId}/collaborators/${alice.id}`, { token: owner.accessToken })
    expect(removed.status).toBe(204)
    await server.notifier.idle()
    await smtp.up()
    await expect.poll(async () => (await emails(server)).map((r) => r.status), { timeout: 10_000 }).toEqual(['delivered'])
    expect(smtp.messages).toEqual([])
  })

  it('emails an invitation to an address with no account at once, not digested', async () => {
    const smtp = await smtpSink()
    const timing = { ...fastDelivery, digests: { intervalMs: 60_000, minuteMs: 60_000 } }
    const server = await startDeliveryServer(await databases.create(), emailEnv(smtp), { timing })
    const owner = await registerUser(server, 'Owner')
    const { id } = await createDocument(server, owner, undefined, 'Roadmap')
    const invited = await api(server, 'POST', `/documents/${id}/collaborators`, {
      token: owner.accessToken,
      body: { email: 'New.Person@Example.test', role: 'editor' },
    })
    expect(invited.status).toBe(202)

    await expect.poll(() => smtp.messages.length, { timeout: 10_000 }).toBe(1)
    const { mail, to } = smtp.messages[0]!
    expect(to).toEqual(['new.person@example.test'])
    expect(mail.subject).toBe('Owner invited you to “Roadmap”')
    expect(mail.text).toContain('Owner invited you to edit “Roadmap”')
    expect(mail.text).toContain(`${PUBLIC_URL}/#/d/${id}`)
    expect(mail.html).toContain(`href="${PUBLIC_URL}/#/d/${id}"`)

    // An account holder is added at once and hears of it in their inbox (and digest), not by invitation email.
    const member = await registerUser(server, 'Member')
    expect((await api(server, 'POST', `/documents/${id}/collaborators`, { token: owner.accessToken, body: { email: member.email, role: 'viewer' } })).status).toBe(202)
    expect((await emails(server)).map((r) => r.idempotency_key)).toEqual([expect.stringMatching(/^invitation:/)])
  })

  it('queues no email without SMTP_URL', async () => {
    const server = await startDeliveryServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    const { id } = await createDocument(server, owner)
    expect((await api(server, 'POST', `/documents/${id}/collaborators`, { token: owner.accessToken, body: { email: 'x@example.test', role: 'viewer' } })).status).toBe(202)
    expect(server.delivery.digests).toBeUndefined()
    expect(await emails(server)).toEqual([])
  })
})
