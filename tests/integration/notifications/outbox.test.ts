import { describe, expect, it } from 'vitest'
import { enqueueOutbox } from '../../../server/notifications/outbox.queries.ts'
import { backoffMs } from '../../../server/notifications/outbox-worker.ts'
import { createDocument, registerUser } from '../../helpers/api.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { fastDelivery, outboxRows, settledOutboxRows, startDeliveryServer } from '../../helpers/delivery.ts'
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.ts'

const webhookEnv = (receiver: WebhookReceiver, extra: Record<string, string> = {}) => ({
  WEBHOOK_URLS: receiver.url,
  WEBHOOK_SECRET: receiver.secret,
  ...extra,
})

describe('retry backoff', () => {
  it('starts near 5 s, doubles, is capped at one hour, and is jittered', () => {
    const base = 5_000
    const hour = 3_600_000
    expect(backoffMs(1, base, hour, () => 0.5)).toBe(5_000)
    expect(backoffMs(2, base, hour, () => 0.5)).toBe(10_000)
    expect(backoffMs(3, base, hour, () => 0.5)).toBe(20_000)
    expect(backoffMs(20, base, hour, () => 0.5)).toBe(hour)
    expect(backoffMs(20, base, hour, () => 1)).toBe(hour)
    expect(backoffMs(1, base, hour, () => 0)).toBe(4_000)
    expect(backoffMs(1, base, hour, () => 0.999)).toBeGreaterThan(5_900)
    const spread = new Set(Array.from({ length: 50 }, () => backoffMs(4, base, hour)))
    expect(spread.size).toBeGreaterThan(1)
    for (const delay of spread) expect(delay).toBeGreaterThanOrEqual(32_000)
  })
})

describeEachDatabase('outbox worker', (databases) => {
  it('keeps at most 4 sends in flight, whatever the batch (the sync loop is shared with them)', async () => {
    const receiver = await startWebhookReceiver()
    receiver.answer('hang')
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver))
    // Twelve rows in one commit, so one poll claims them all (a batch is 20).
    await server.database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 12; i++) await server.delivery.webhookEvents.enqueue(trx, 'document.created', { documentId: `held-${i}` })
    })
    await expect.poll(() => receiver.requests.length).toBe(4)
    // None of the four answers: nothing else leaves meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(receiver.requests.length).toBe(4)
  })

  it('two servers on one database never send a row twice', async () => {
    const database = await databases.create()
    const receiver = await startWebhookReceiver()
    // Small batches and fast polls so both workers claim all the time.
    const timing = { ...fastDelivery, outbox: { ...fastDelivery.outbox, pollIntervalMs: 10, batchSize: 3 } }
    const a = await startDeliveryServer(database, webhookEnv(receiver), { timing })
    const b = await startDeliveryServer(database, webhookEnv(receiver), { timing })
    const owner = await registerUser(a, 'Owner')
    const count = 30
    await Promise.all(Array.from({ length: count }, (_, i) => createDocument(i % 2 ? a : b, owner, `doc-${i}`)))

    await expect.poll(() => receiver.requests.length, { timeout: 20_000 }).toBe(count)
    const rows = await settledOutboxRows(a.database.db, 'webhook')
    expect(rows.map((r) => r.status)).toEqual(Array(count).fill('delivered'))
    expect(rows.every((r) => Number(r.attempts) === 0)).toBe(true)
    expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(count)
    expect(new Set(receiver.requests.map((r) => r.body.data.documentId)).size).toBe(count)
  })

  it('picks up a row whose claim ran out (its holder died) and sends it', async () => {
    const receiver = await startWebhookReceiver()
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver))
    const { db } = server.database
    const claimedUntil = Date.now() + 1_000
    // What a process that died mid-send leaves behind: a pending row with its claim.
    await db.transaction().execute(async (trx) => {
      await server.delivery.webhookEvents.enqueue(trx, 'document.created', { documentId: 'orphan' })
      await trx.updateTable('outbox').set({ claimed_by: 'crashed-instance', claimed_until: claimedUntil }).execute()
    })
    await expect.poll(() => receiver.delivered().length, { timeout: 10_000 }).toBe(1)
    expect(receiver.requests).toHaveLength(1)
    // Not before the claim ran out.
    expect(receiver.requests[0]!.receivedAt).toBeGreaterThanOrEqual(claimedUntil)
    expect((await settledOutboxRows(db, 'webhook')).map((r) => r.status)).toEqual(['delivered'])
  })

  it(`dead-letters after OUTBOX_MAX_ATTEMPTS tries, with an error log line`, async () => {
    const receiver = await startWebhookReceiver()
    receiver.answer(503)
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver, { OUTBOX_MAX_ATTEMPTS: '3' }), {
      captureLogs: true,
    })
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'unreachable')
    await expect.poll(async () => (await outboxRows(server.database.db, 'webhook'))[0]?.status, { timeout: 10_000 }).toBe('dead')
    const [row] = await outboxRows(server.database.db, 'webhook')
    expect(row).toMatchObject({ claimed_by: null, last_error: 'receiver answered HTTP 503' })
    expect(Number(row!.attempts)).toBe(3)
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 503, 503])
    const deadLines = server.logs.lines().filter((l) => l.level >= 50 && /dead-lettered/.test(l.msg))
    expect(deadLines).toEqual([expect.objectContaining({ outboxId: row!.id, channel: 'webhook', attempts: 3 })])
    // The secret and the endpoint never reach the log.
    const logged = JSON.stringify(server.logs.lines())
    expect(logged).not.toContain(receiver.secret)
    expect(logged).not.toContain(receiver.url)
  })

  it('stops cleanly: a send still in flight at shutdown is released untried and sent by the next server', async () => {
    const database = await databases.create()
    const receiver = await startWebhookReceiver()
    receiver.respondWith('hang')
    const timing = { ...fastDelivery, outbox: { ...fastDelivery.outbox, stopGraceMs: 100 } }
    const first = await startDeliveryServer(database, webhookEnv(receiver), { timing })
    const owner = await registerUser(first, 'Owner')
    await createDocument(first, owner, 'in-flight')
    await expect.poll(() => receiver.requests.length, { timeout: 10_000 }).toBe(1)
    await first.close()

    const second = await startDeliveryServer(database, webhookEnv(receiver), { timing })
    await expect.poll(() => receiver.delivered().length, { timeout: 10_000 }).toBe(1)
    const [row] = await settledOutboxRows(second.database.db, 'webhook')
    // The cut-short try was not counted against the row.
    expect(row).toMatchObject({ status: 'delivered' })
    expect(Number(row!.attempts)).toBe(0)
    expect(new Set(receiver.requests.map((r) => r.id)).size).toBe(1)
  })

  it('leaves rows of a channel it has no sender for (email while SMTP is off) pending', async () => {
    const receiver = await startWebhookReceiver()
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver))
    await enqueueOutbox(server.database.db, [{ channel: 'email', idempotencyKey: 'waiting', payload: { kind: 'digest', userId: 'x', itemIds: [] } }])
    // The worker polls (it sends webhooks), several times over, and never takes the email row.
    for (let i = 0; i < 3; i++) {
      await server.database.db.transaction().execute((trx) => server.delivery.webhookEvents.enqueue(trx, 'document.created', { documentId: `d-${i}` }))
      await expect.poll(() => receiver.delivered().length).toBe(i + 1)
    }
    expect((await outboxRows(server.database.db, 'email')).map((r) => [r.status, r.claimed_by])).toEqual([['pending', null]])
  })

  it('a receiver that never answers holds one lane, not the rows queued after it', async () => {
    const receiver = await startWebhookReceiver()
    receiver.respondWith('hang')
    const server = await startDeliveryServer(await databases.create(), webhookEnv(receiver))
    const enqueue = (documentId: string) =>
      server.database.db.transaction().execute((trx) => server.delivery.webhookEvents.enqueue(trx, 'document.created', { documentId }))
    await enqueue('hangs')
    await expect.poll(() => receiver.requests.length).toBe(1)
    // Queued while that send waits out its 10 s timeout: sent at once all the same.
    await enqueue('after')
    await expect.poll(() => receiver.delivered().map((r) => r.body.data.documentId), { timeout: 2_000 }).toEqual(['after'])
    expect(receiver.requests).toHaveLength(2)
  })
})
