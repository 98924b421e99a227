import { randomBytes } from 'node:crypto'
import type { NotificationActor, NotificationDto } from '../../shared/api/notifications.ts'
import type { Db, NotificationRow, NotificationType, Trx } from '../db/schema.ts'
import { appendInboxEvents, type PendingSignals } from './inbox-events.ts'
import { countUnreadFor } from './notifications.queries.ts'
import { WebhookEventTypes, type WebhookEvents } from './webhook-events.ts'

export function newNotificationId(): string {
  return `ntf_${randomBytes(12).toString('base64url')}`
}

/** A new inbox row (not yet inserted). */
export function newItem(item: {
  userId: string
  type: NotificationType
  documentId: string
  title: string
  actors: readonly NotificationActor[]
  count?: number
  now: number
}): NotificationRow {
  return {
    id: newNotificationId(),
    user_id: item.userId,
    type: item.type,
    document_id: item.documentId,
    document_title: item.title,
    actors: JSON.stringify(item.actors),
    count: item.count ?? 1,
    created_at: item.now,
    updated_at: item.now,
    read_at: null,
    digested_at: null,
  }
}

/**
 * Collects what one transaction did to inboxes, then records it with the change: stream events
 * (each item written, then the new unread count, per user) and a `notification.created` webhook
 * per created item. The caller publishes the returned signals after the commit.
 */
export class InboxWrite {
  readonly #items = new Map<string, NotificationDto[]>()
  readonly #created: { userId: string; item: NotificationDto }[] = []

  created(userId: string, item: NotificationDto): void {
    this.#created.push({ userId, item })
    this.updated(userId, item)
  }

  updated(userId: string, item: NotificationDto): void {
    this.#itemsOf(userId).push(item)
  }

  /** The user's unread count may have changed (items removed or read) without an item to show. */
  touched(userId: string): void {
    this.#itemsOf(userId)
  }

  get empty(): boolean {
    return this.#items.size === 0
  }

  async finish(trx: Db | Trx, webhooks: WebhookEvents | undefined, now = Date.now()): Promise<PendingSignals> {
    if (this.#items.size === 0) return new Map()
    const unread = await countUnreadFor(trx, [...this.#items.keys()])
    const changes = [...this.#items].map(([userId, items]) => ({ userId, items, unread: unread.get(userId) ?? 0 }))
    const signals = await appendInboxEvents(trx, changes, now)
    for (const { userId, item } of this.#created) {
      await webhooks?.enqueue(trx, WebhookEventTypes.NotificationCreated, { userId, notification: item }, now)
    }
    return signals
  }

  #itemsOf(userId: string): NotificationDto[] {
    let items = this.#items.get(userId)
    if (!items) {
      items = []
      this.#items.set(userId, items)
    }
    return items
  }
}
