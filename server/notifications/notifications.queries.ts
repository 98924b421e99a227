import type { Insertable } from 'kysely'
import type { Db, NotificationRow, NotificationsTable, NotificationType, Trx } from '../db/schema.ts'

/** A user's items, newest `updated_at` first; `after` is the (updated_at, id) of the last item of the previous page. */
export async function listNotifications(
  db: Db,
  userId: string,
  options: { unread: boolean; limit: number; after?: readonly [number, string] },
): Promise<NotificationRow[]> {
  let query = db.selectFrom('notifications').selectAll().where('user_id', '=', userId)
  if (options.unread) query = query.where('read_at', 'is', null)
  const after = options.after
  if (after) {
    query = query.where((eb) =>
      eb.or([eb('updated_at', '<', after[0]), eb.and([eb('updated_at', '=', after[0]), eb('id', '<', after[1])])]),
    )
  }
  return query.orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute()
}

export async function findNotification(db: Db | Trx, userId: string, id: string): Promise<NotificationRow | undefined> {
  return db.selectFrom('notifications').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()
}

/** Marks one item read; false when it was read already (or is not the user's). */
export async function markRead(db: Db | Trx, userId: string, id: string, now = Date.now()): Promise<boolean> {
  const result = await db
    .updateTable('notifications')
    .set({ read_at: now })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Marks every unread item of the user read; returns how many changed. */
export async function markAllRead(db: Db | Trx, userId: string, now = Date.now()): Promise<number> {
  const result = await db
    .updateTable('notifications')
    .set({ read_at: now })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

export async function deleteNotification(db: Db | Trx, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('notifications').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

export async function countUnread(db: Db | Trx, userId: string): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirst()
  return Number(row?.count ?? 0)
}

/** Unread counts of several users in one query (users with none are 0). */
export async function countUnreadFor(db: Db | Trx, userIds: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map(userIds.map((id) => [id, 0]))
  if (userIds.length === 0) return counts
  const rows = await db
    .selectFrom('notifications')
    .select(['user_id', (eb) => eb.fn.countAll().as('count')])
    .where('user_id', 'in', userIds)
    .where('read_at', 'is', null)
    .groupBy('user_id')
    .execute()
  for (const row of rows) counts.set(row.user_id, Number(row.count))
  return counts
}

export async function insertNotifications(db: Db | Trx, rows: readonly Insertable<NotificationsTable>[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('notifications').values([...rows]).execute()
}

/** The unread items of `type` about a document for these users (the ones new events coalesce into). */
export async function unreadItemsAbout(
  db: Db | Trx,
  documentId: string,
  type: NotificationType,
  userIds: readonly string[],
): Promise<NotificationRow[]> {
  if (userIds.length === 0) return []
  return db
    .selectFrom('notifications')
    .selectAll()
    .where('document_id', '=', documentId)
    .where('type', '=', type)
    .where('user_id', 'in', userIds)
    .where('read_at', 'is', null)
    .execute()
}

/**
 * Folds new events into unread items: same actors list for all of `ids`, count increased by `add`,
 * moved to the top, due for a digest again. Only items still unread change (a read item stays as
 * the user saw it); returns how many did.
 */
export async function coalesceItems(
  db: Db | Trx,
  ids: readonly string[],
  change: { actors: string; add: number; title: string },
  now = Date.now(),
): Promise<number> {
  if (ids.length === 0) return 0
  const result = await db
    .updateTable('notifications')
    .set((eb) => ({
      actors: change.actors,
      count: eb('count', '+', change.add),
      document_title: change.title,
      updated_at: now,
      digested_at: null,
    }))
    .where('id', 'in', ids)
    .where('read_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Removes these users' items about a document (they lost access to it). */
export async function removeItemsAbout(db: Db | Trx, documentId: string, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return
  await db.deleteFrom('notifications').where('document_id', '=', documentId).where('user_id', 'in', userIds).execute()
}
