import type { NotificationDto } from '../../shared/api/notifications.ts'
import type { Db, Trx } from '../db/schema.ts'
import type { NotificationBus } from './notification-bus.ts'
import type { StreamEventName } from './notification-events.queries.ts'

/** What one user's live streams should hear about one inbox change. */
export interface InboxChange {
  userId: string
  /** Items created or updated, in order. */
  items: readonly NotificationDto[]
  /** The user's unread count after the change. */
  unread: number
}

/** The last stream event id written per user: what to publish once the transaction has committed. */
export type PendingSignals = Map<string, number>

/**
 * Records the stream events of many users' inbox changes in the transaction that made them: a
 * `notification` event per item, then one `unread-count`. One multi-row insert rather than
 * `appendStreamEvents`' insert per event: an edit to a document shared with hundreds of people
 * touches hundreds of inboxes, and this runs once per stored log row.
 */
export async function appendInboxEvents(trx: Db | Trx, changes: readonly InboxChange[], now = Date.now()): Promise<PendingSignals> {
  const signals: PendingSignals = new Map()
  const rows = changes.flatMap(({ userId, items, unread }) => [
    ...items.map((item) => eventRow(userId, 'notification', item, now)),
    eventRow(userId, 'unread-count', { count: unread }, now),
  ])
  if (rows.length === 0) return signals
  await trx.insertInto('notification_events').values(rows).execute()
  // MySQL reports only the first id of a multi-row insert; ask for each user's newest instead.
  const latest = await trx
    .selectFrom('notification_events')
    .select(['user_id', (eb) => eb.fn.max('id').as('id')])
    .where('user_id', 'in', [...new Set(changes.map((c) => c.userId))])
    .groupBy('user_id')
    .execute()
  for (const row of latest) signals.set(row.user_id, Number(row.id))
  return signals
}

/** Nudges live streams; call after the commit, so a stream never reads before the rows are visible. */
export function publishSignals(bus: NotificationBus, signals: PendingSignals): void {
  for (const [userId, eventId] of signals) bus.publish({ userId, eventId })
}

function eventRow(userId: string, event: StreamEventName, data: unknown, now: number) {
  return { user_id: userId, event, data: JSON.stringify(data), created_at: now }
}
