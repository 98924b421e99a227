import type { NotificationActor } from '../../shared/api/notifications.ts'
import type { NotificationRow, Trx } from '../db/schema.ts'
import type { StoredRows } from '../versions/update-log.options.ts'
import { findUserNames } from '../versions/versions.queries.ts'
import { type InboxWrite, newItem } from './inbox-write.ts'
import { actorName, mergeActors, parseActors, toNotificationDto, userAuthorIds } from './notification-dto.ts'
import { coalesceItems, insertNotifications, unreadItemsAbout } from './notifications.queries.ts'
import { recipientsOf, documentAudience } from './recipients.ts'

export type StoredRow = StoredRows['rows'][number]

/** What one recipient hears about a batch of rows: the rows someone else wrote, and who. */
interface Share {
  actors: NotificationActor[]
  count: number
}

/**
 * Writes the inbox items for rows stored in a document: restores become `document.restored`
 * items, every other row an edit folded into the recipient's unread `document.edited` item (or a
 * new one). Everyone who can see the document hears, unless they muted it; nobody hears of rows
 * only they wrote. At most one write per recipient and kind, however many rows.
 */
export async function recordStoredRows(trx: Trx, write: InboxWrite, documentId: string, rows: readonly StoredRow[], now: number): Promise<void> {
  const audience = await documentAudience(trx, documentId)
  if (!audience) return
  const names = await findUserNames(trx, userAuthorIds(rows.flatMap((row) => row.authors)))
  const recipients = recipientsOf(audience)
  const edits = rows.filter((row) => row.kind !== 'restore')
  const restores = rows.filter((row) => row.kind === 'restore')
  const context = { trx, write, documentId, title: audience.title, now }
  await recordEdits(context, sharesOf(edits, recipients, names))
  const inserts = [...sharesOf(restores, recipients, names)].map(([userId, share]) =>
    newItem({ userId, type: 'document.restored', documentId, title: audience.title, ...share, now }),
  )
  await insertNotifications(trx, inserts)
  for (const row of inserts) write.created(row.user_id, toNotificationDto(row))
}

interface Context {
  trx: Trx
  write: InboxWrite
  documentId: string
  title: string
  now: number
}

async function recordEdits(context: Context, shares: Map<string, Share>): Promise<void> {
  const { trx, write, documentId, title, now } = context
  if (shares.size === 0) return
  const existing = await unreadItemsAbout(trx, documentId, 'document.edited', [...shares.keys()])
  const coalesced = await coalesce(context, existing, shares)
  const inserts = [...shares]
    .filter(([userId]) => !coalesced.has(userId))
    .map(([userId, share]) => newItem({ userId, type: 'document.edited', documentId, title, ...share, now }))
  await insertNotifications(trx, inserts)
  for (const row of inserts) write.created(row.user_id, toNotificationDto(row))
}

/**
 * Folds the shares into existing unread items; returns the users whose item took them. Items that
 * end up with the same actors get one UPDATE, so a document edited by the same few people costs a
 * statement or two for any number of recipients.
 */
async function coalesce(context: Context, existing: readonly NotificationRow[], shares: Map<string, Share>): Promise<Set<string>> {
  const { trx, write, title, now } = context
  const groups = new Map<string, { actors: NotificationActor[]; add: number; rows: NotificationRow[] }>()
  const seen = new Set<string>()
  for (const row of existing) {
    const share = shares.get(row.user_id)
    // One item per user normally; a second (two instances raced) is left as it is.
    if (!share || seen.has(row.user_id)) continue
    seen.add(row.user_id)
    const actors = mergeActors(share.actors, parseActors(row.actors))
    const key = `${share.count}:${JSON.stringify(actors)}`
    const group = groups.get(key) ?? { actors, add: share.count, rows: [] }
    group.rows.push(row)
    groups.set(key, group)
  }
  const done = new Set<string>()
  for (const { actors, add, rows } of groups.values()) {
    const ids = rows.map((row) => row.id)
    const changed = await coalesceItems(trx, ids, { actors: JSON.stringify(actors), add, title }, now)
    // An item read between our select and update (another connection) keeps its read state; its
    // user gets a new item instead. Rows this transaction changed show its `updated_at`.
    const updated = changed === ids.length ? new Set(ids) : await idsUpdatedAt(trx, ids, now)
    for (const row of rows) {
      if (!updated.has(row.id)) continue
      done.add(row.user_id)
      const item = { ...row, actors: JSON.stringify(actors), count: Number(row.count) + add, document_title: title, updated_at: now }
      write.updated(row.user_id, toNotificationDto({ ...item, digested_at: null }))
    }
  }
  return done
}

async function idsUpdatedAt(trx: Trx, ids: readonly string[], now: number): Promise<Set<string>> {
  const rows = await trx.selectFrom('notifications').select('id').where('id', 'in', ids).where('updated_at', '=', now).execute()
  return new Set(rows.map((row) => row.id))
}

/**
 * Per recipient: the rows someone else wrote and their authors, most recent first (rows come
 * oldest first). A row written together with the recipient still counts for its other authors.
 */
function sharesOf(rows: readonly StoredRow[], recipients: readonly string[], names: ReadonlyMap<string, string>): Map<string, Share> {
  const shares = new Map<string, Share>()
  for (const userId of recipients) {
    const ids: string[] = []
    let count = 0
    for (const row of [...rows].reverse()) {
      const others = row.authors.filter((author) => author !== userId)
      if (others.length === 0) continue
      count++
      ids.push(...others)
    }
    if (count === 0) continue
    const actors = [...new Set(ids)].map((id) => ({ id, name: actorName(id, names) }))
    shares.set(userId, { actors: mergeActors(actors, []), count })
  }
  return shares
}
