import { randomUUID } from 'node:crypto'
import type { Db, Trx } from '../db/schema.ts'
import { enqueueOutbox } from './outbox.queries.ts'

/** Webhook event types, as receivers see them in `type`. */
export const WebhookEventTypes = {
  DocumentCreated: 'document.created',
  DocumentUpdated: 'document.updated',
  VersionRestored: 'version.restored',
  DocumentDeleted: 'document.deleted',
  NotificationCreated: 'notification.created',
} as const
export type WebhookEventType = (typeof WebhookEventTypes)[keyof typeof WebhookEventTypes]

/** What an outbox row of channel `webhook` holds: one event for one endpoint. */
export interface WebhookPayload {
  url: string
  /** Standard Webhooks `webhook-id`: the same for every try and every endpoint of one event. */
  messageId: string
  body: { type: WebhookEventType; timestamp: string; data: Record<string, unknown> }
}

/**
 * Queues webhook events for every configured endpoint (`WEBHOOK_URLS`), one outbox row per
 * endpoint so each retries on its own. Nothing is queued when no endpoint is configured.
 */
export class WebhookEvents {
  readonly #urls: readonly string[]

  constructor(urls: readonly string[]) {
    this.#urls = urls
  }

  get enabled(): boolean {
    return this.#urls.length > 0
  }

  async enqueue(db: Db | Trx, type: WebhookEventType, data: Record<string, unknown>, now = Date.now()): Promise<void> {
    if (this.#urls.length === 0) return
    const messageId = `msg_${randomUUID()}`
    const body = { type, timestamp: new Date(now).toISOString(), data }
    await enqueueOutbox(
      db,
      this.#urls.map((url, i) => ({
        channel: 'webhook' as const,
        idempotencyKey: `webhook:${messageId}:${i}`,
        payload: { url, messageId, body } satisfies WebhookPayload,
      })),
      now,
    )
  }
}
