import { randomUUID } from 'node:crypto'
import type { Db, Trx } from '../db/schema.ts'
import { cancelOutbox, enqueueOutbox, rescheduleOutbox } from './outbox.queries.ts'

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
    await this.enqueueAt(db, { type, timestamp: new Date(now).toISOString(), data }, now)
  }

  /**
   * Queues an event whose first try is due at `dueAt`; returns its `webhook-id`, with which
   * `reschedule` may change it until a worker takes it.
   */
  async enqueueAt(db: Db | Trx, body: WebhookPayload['body'], dueAt: number): Promise<string> {
    const messageId = `msg_${randomUUID()}`
    await enqueueOutbox(db, this.#entries(messageId, body, dueAt))
    return messageId
  }

  /**
   * Gives a queued event new data and a new due time, for every endpoint at once; false (nothing
   * changed) once a worker has taken it for any endpoint.
   */
  reschedule(db: Db, messageId: string, body: WebhookPayload['body'], dueAt: number): Promise<boolean> {
    return rescheduleOutbox(db, this.#entries(messageId, body, dueAt))
  }

  /** Withdraws a queued event from the endpoints no worker has sent it to yet. */
  cancel(db: Db | Trx, messageId: string): Promise<void> {
    return cancelOutbox(db, this.#urls.map((_, i) => `webhook:${messageId}:${i}`))
  }

  #entries(messageId: string, body: WebhookPayload['body'], dueAt: number) {
    return this.#urls.map((url, i) => ({
      channel: 'webhook' as const,
      idempotencyKey: `webhook:${messageId}:${i}`,
      payload: { url, messageId, body } satisfies WebhookPayload,
      dueAt,
    }))
  }
}
