import type { Db, NotificationEventsTable, Trx } from '../db/schema.ts'

export type StreamEventName = NotificationEventsTable['event']

export interface StreamEvent {
  id: number
  event: StreamEventName
  /** The event's data, as JSON text (sent as the SSE `data:` line unchanged). */
  data: string
  createdAt: number
}

/**
 * Records a user's stream events (write it in the transaction that changes the inbox) and returns
 * the id of the last one: ids only grow, so they order a user's events across connections and
 * instances, and a stream resumes after `Last-Event-ID` by reading what follows it.
 */
export async function appendStreamEvents(
  db: Db | Trx,
  userId: string,
  events: readonly { event: StreamEventName; data: unknown }[],
  now = Date.now(),
): Promise<number> {
  let last = 0
  // One insert per event: MySQL reports only the first id of a multi-row insert.
  for (const { event, data } of events) {
    const result = await db
      .insertInto('notification_events')
      .values({ user_id: userId, event, data: JSON.stringify(data), created_at: now })
      .executeTakeFirst()
    last = Number(result.insertId)
  }
  return last
}

/** A user's events after `afterId`, oldest first (at most `limit`). */
export async function readStreamEvents(db: Db, userId: string, afterId: number, limit = 500): Promise<StreamEvent[]> {
  const rows = await db
    .selectFrom('notification_events')
    .select(['id', 'event', 'data', 'created_at'])
    .where('user_id', '=', userId)
    .where('id', '>', afterId)
    .orderBy('id', 'asc')
    .limit(limit)
    .execute()
  return rows.map((row) => ({ id: Number(row.id), event: row.event, data: row.data, createdAt: Number(row.created_at) }))
}

/** The newest event id of a user (0 when none): where a fresh stream starts. */
export async function latestStreamEventId(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('notification_events')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return Number(row?.id ?? 0)
}
