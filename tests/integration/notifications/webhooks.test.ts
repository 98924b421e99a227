import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ConfigError, loadConfig } from '../../../server/config/config.ts'
import { api, createDocument, registerUser } from '../../helpers/api.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { fastDelivery, outboxRows, settledOutboxRows, startDeliveryServer } from '../../helpers/delivery.ts'
import { openDatabase } from '../../helpers/multi-instance.ts'
import { startServerProcess } from '../../helpers/process.ts'
import { postUpdate } from '../../helpers/raw-body.ts'
import { newWebhookSecret, type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.ts'

function webhookEnv(receiver: WebhookReceiver) {
  return { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: receiver.secret }
}

const ofType = (receiver: WebhookReceiver, type: string, documentId?: string): ReceivedWebhook[] =>
  receiver.requests.filter((r) => r.body.type === type && (!documentId || r.body.data.documentId === documentId))

function textUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('default').insert(0, text)
  const update = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return update
}

describeEachDatabase('webhooks', (databases) => {
  it('retries a failing receiver with the same webhook-id and delivers exactly once (500, 500, then 200)', async () => {
    const receiver = await startWebhookReceiver()
    receiver.respondWith(500, 500)
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver))
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'hooked', 'Hooked')

    await expect.poll(() => receiver.delivered().length, { timeout: 10_000 }).toBe(1)
    const tries = ofType(receiver, 'document.created', 'hooked')
    expect(tries.map((t) => t.status)).toEqual([500, 500, 200])
    expect(new Set(tries.map((t) => t.id)).size).toBe(1)
    expect(tries.every((t) => t.verified)).toBe(true)
    expect(tries[2]!.body).toEqual({
      type: 'document.created',
      timestamp: expect.any(String),
      data: { documentId: 'hooked', title: 'Hooked', ownerId: owner.id },
    })
    // Delivered and nothing left pending: no try will follow.
    const [row, ...others] = await settledOutboxRows(server.database.db, 'webhook')
    expect(others).toEqual([])
    expect(row).toMatchObject({ status: 'delivered', claimed_by: null, last_error: null })
    expect(Number(row!.attempts)).toBe(2)
    expect(JSON.parse(row!.payload).messageId).toBe(tries[0]!.id)
  })

  it('delivers once across a restart between tries (a new server on the same database sends the same webhook-id)', async () => {
    const database = await databases.create()
    const receiver = await startWebhookReceiver()
    receiver.answer(500)
    const first = await startDeliveryServer(database, webhookEnv(receiver))
    const owner = await registerUser(first, 'Owner')
    await createDocument(first, owner, 'restarted')
    await expect.poll(() => receiver.requests.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1)
    await first.close()
    const beforeRestart = receiver.requests.length

    receiver.answer(200)
    const second = await startDeliveryServer(database, webhookEnv(receiver))
    await expect.poll(() => receiver.delivered().length, { timeout: 10_000 }).toBe(1)
    const tries = ofType(receiver, 'document.created', 'restarted')
    expect(tries.length).toBe(receiver.requests.length)
    expect(new Set(tries.map((t) => t.id)).size).toBe(1)
    expect(tries.slice(0, beforeRestart).every((t) => t.status === 500)).toBe(true)
    expect(tries.at(-1)!.status).toBe(200)
    const rows = await settledOutboxRows(second.database.db, 'webhook')
    expect(rows.map((r) => r.status)).toEqual(['delivered'])
  })

  it('signs in the Standard Webhooks format: a tampered body, signature or secret fails verification', async () => {
    const receiver = await startWebhookReceiver()
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver))
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'signed', 'Signed')
    await expect.poll(() => receiver.delivered().length, { timeout: 10_000 }).toBe(1)
    const [sent] = receiver.requests
    expect(sent).toMatchObject({ verified: true, id: expect.stringMatching(/^msg_/), signature: expect.stringMatching(/^v1,/) })
    expect(Math.abs(Number(sent!.timestamp) - Date.now() / 1000)).toBeLessThan(300)
    expect(receiver.verify(sent!.raw, sent!)).toEqual(sent!.body)

    const tamperedBody = sent!.raw.replace('"Signed"', '"Forged"')
    expect(tamperedBody).not.toBe(sent!.raw)
    expect(() => receiver.verify(tamperedBody, sent!)).toThrow()
    const [version, signature] = sent!.signature.split(',') as [string, string]
    const flipped = `${version},${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`
    expect(() => receiver.verify(sent!.raw, { ...sent!, signature: flipped })).toThrow()
    expect(() => receiver.verify(sent!.raw, { ...sent!, id: 'msg_other' })).toThrow()
    const other = await startWebhookReceiver(newWebhookSecret())
    expect(() => other.verify(sent!.raw, sent!)).toThrow()

    // Sent over HTTP, the receiver refuses the forgery.
    const forged = await fetch(receiver.url, {
      method: 'POST',
      headers: { 'webhook-id': sent!.id, 'webhook-timestamp': sent!.timestamp, 'webhook-signature': sent!.signature },
      body: tamperedBody,
    })
    expect(forged.status).toBe(401)
    expect(receiver.requests.at(-1)).toMatchObject({ verified: false })
  })

  it('debounces document.updated per document: a burst of stored rows gives few events that carry every seq once', async () => {
    const receiver = await startWebhookReceiver()
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver))
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'busy')
    const seqs: number[] = []
    for (let i = 0; i < 12; i++) {
      const response = await postUpdate(server, 'busy', owner.accessToken, textUpdate(`edit ${i}. `))
      expect(response.status).toBe(201)
      seqs.push(response.body.seq)
    }
    const reported = () => ofType(receiver, 'document.updated', 'busy').flatMap((r) => r.body.data.seqs as number[])
    await expect.poll(() => reported().sort((a, b) => a - b), { timeout: 15_000 }).toEqual(seqs)
    const events = ofType(receiver, 'document.updated', 'busy')
    expect(events.length).toBeLessThan(seqs.length)
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
    for (const event of events) {
      expect(event.body.data).toEqual({ documentId: 'busy', seqs: expect.any(Array) })
      expect(event.verified).toBe(true)
    }
  })

  it('queues a pending document.updated at shutdown, and the next server sends it', async () => {
    const database = await databases.create()
    const receiver = await startWebhookReceiver()
    // A debounce far longer than the test: only the shutdown flush can queue the event.
    const timing = { ...fastDelivery, documentWebhooks: { quietMs: 600_000, maxWaitMs: 600_000 } }
    const first = await startDeliveryServer(database, webhookEnv(receiver), { timing })
    const owner = await registerUser(first, 'Owner')
    await createDocument(first, owner, 'closing')
    const posted = await postUpdate(first, 'closing', owner.accessToken, textUpdate('last words'))
    expect(posted.status).toBe(201)
    await first.close()

    const second = await startDeliveryServer(database, webhookEnv(receiver), { timing })
    await expect
      .poll(() => ofType(receiver, 'document.updated', 'closing').map((r) => r.body.data), { timeout: 10_000 })
      .toEqual([{ documentId: 'closing', seqs: [posted.body.seq] }])
    expect((await settledOutboxRows(second.database.db, 'webhook')).every((r) => r.status === 'delivered')).toBe(true)
  })

  it('a document.updated waiting out its debounce when the server is killed is sent by the next one', async () => {
    const database = await databases.create()
    const receiver = await startWebhookReceiver()
    const killed = await startServerProcess({
      DATABASE_URL: database.url,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'collab-data-')),
      ...webhookEnv(receiver),
    })
    const owner = await registerUser(killed, 'Owner')
    await createDocument(killed, owner, 'crashing')
    const posted = await postUpdate(killed, 'crashing', owner.accessToken, textUpdate('last words'))
    expect(posted.status).toBe(201)
    const db = openDatabase(database)
    await expect
      .poll(async () => (await outboxRows(db, 'webhook')).map((r) => JSON.parse(r.payload).body).filter((b) => b.type === 'document.updated').map((b) => b.data))
      .toEqual([{ documentId: 'crashing', seqs: [posted.body.seq] }])
    // Killed within its 2 s debounce: nothing was sent, the event is only in the database.
    await killed.stop('SIGKILL')
    expect(receiver.requests).toHaveLength(0)

    await startDeliveryServer(database, webhookEnv(receiver))
    await expect
      .poll(() => ofType(receiver, 'document.updated', 'crashing').map((r) => r.body.data), { timeout: 10_000 })
      .toEqual([{ documentId: 'crashing', seqs: [posted.body.seq] }])
  })

  it('sends version.restored and document.deleted with what happened', async () => {
    const receiver = await startWebhookReceiver()
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver))
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'lifecycle', 'Lifecycle')
    expect((await postUpdate(server, 'lifecycle', owner.accessToken, textUpdate('first'))).status).toBe(201)
    const restored = await api(server, 'POST', '/documents/lifecycle/versions/0/restore', { token: owner.accessToken })
    expect(restored.status).toBe(201)
    await expect
      .poll(() => ofType(receiver, 'version.restored', 'lifecycle').map((r) => r.body.data), { timeout: 10_000 })
      .toEqual([{ documentId: 'lifecycle', seq: restored.body.seq, restoredFrom: 0 }])

    expect((await api(server, 'DELETE', '/documents/lifecycle', { token: owner.accessToken })).status).toBe(204)
    await expect
      .poll(() => ofType(receiver, 'document.deleted', 'lifecycle').map((r) => r.body.data), { timeout: 10_000 })
      .toEqual([{ documentId: 'lifecycle', title: 'Lifecycle' }])
    expect(receiver.requests.every((r) => r.verified)).toBe(true)
  })

  it('a document.updated still waiting when its document is deleted is withdrawn: document.deleted is the last word', async () => {
    const receiver = await startWebhookReceiver()
    const timing = { ...fastDelivery, documentWebhooks: { quietMs: 600_000, maxWaitMs: 600_000 } }
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver), { timing })
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'doomed')
    expect((await postUpdate(server, 'doomed', owner.accessToken, textUpdate('soon gone'))).status).toBe(201)
    const waiting = async () =>
      (await outboxRows(server.database.db, 'webhook')).filter((r) => JSON.parse(r.payload).body.type === 'document.updated')
    await expect.poll(async () => (await waiting()).length).toBe(1)

    expect((await api(server, 'DELETE', '/documents/doomed', { token: owner.accessToken })).status).toBe(204)
    await expect.poll(() => ofType(receiver, 'document.deleted', 'doomed').length).toBe(1)
    expect(await waiting()).toEqual([])
    expect(ofType(receiver, 'document.updated', 'doomed')).toEqual([])
  })

  it('queues nothing without WEBHOOK_URLS', async () => {
    const server = await startDeliveryServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'quiet')
    expect((await postUpdate(server, 'quiet', owner.accessToken, textUpdate('x'))).status).toBe(201)
    expect(await api(server, 'DELETE', '/documents/quiet', { token: owner.accessToken })).toMatchObject({ status: 204 })
    expect(await outboxRows(server.database.db, 'webhook')).toEqual([])
  })
})

describe('webhook settings', () => {
  const base = { DATABASE_URL: 'sqlite:/tmp/unused.db' }
  it('needs WEBHOOK_SECRET with WEBHOOK_URLS, in whsec_ form, and http(s) URLs', () => {
    expect(() => loadConfig({ ...base, WEBHOOK_URLS: 'https://hooks.example.com/a' })).toThrow(/WEBHOOK_SECRET: required/)
    expect(() => loadConfig({ ...base, WEBHOOK_URLS: 'https://hooks.example.com/a', WEBHOOK_SECRET: 'plain-secret' })).toThrow(ConfigError)
    expect(() => loadConfig({ ...base, WEBHOOK_URLS: 'ftp://hooks.example.com/a?token=abc', WEBHOOK_SECRET: newWebhookSecret() })).toThrow(
      /WEBHOOK_URLS: every entry must be an http\(s\) URL/,
    )
    const secret = newWebhookSecret()
    const config = loadConfig({ ...base, WEBHOOK_URLS: ' https://a.example.com/x , http://b.example.com/y ', WEBHOOK_SECRET: secret })
    expect(config.webhookUrls).toEqual(['https://a.example.com/x', 'http://b.example.com/y'])
    expect(config.webhookSecret).toBe(secret)
    // A bad secret is named, never shown.
    const refused = (() => {
      try {
        loadConfig({ ...base, WEBHOOK_URLS: 'https://a.example.com/x', WEBHOOK_SECRET: 'whsec_short' })
      } catch (error) {
        return String(error)
      }
    })()
    expect(refused).toMatch(/WEBHOOK_SECRET/)
    expect(refused).not.toMatch(/whsec_short/)
  })
})
