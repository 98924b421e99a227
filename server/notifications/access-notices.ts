import type { Db, NotificationType, Trx } from '../db/schema.ts'
import { findUserNames } from '../versions/versions.queries.ts'
import { InboxWrite, newItem } from './inbox-write.ts'
import { actorName, mergeActors, parseActors, toNotificationDto } from './notification-dto.ts'
import { coalesceItems, insertNotifications, removeItemsAbout, unreadItemsAbout } from './notifications.queries.ts'
import { type Audience, documentAudience, isMuted } from './recipients.ts'

/**
 * `document.shared` for a user who was just added or whose role changed. While such an item is
 * unread, a further change updates it (so a share followed by a role change is one item).
 */
export async function recordShared(
  trx: Db | Trx,
  write: InboxWrite,
  change: { documentId: string; userId: string; actorId: string },
  now: number,
): Promise<void> {
  const { documentId, userId, actorId } = change
  if (actorId === userId) return
  const audience = await documentAudience(trx, documentId)
  if (!audience || !audience.userIds.includes(userId) || audience.muted.has(userId)) return
  const actors = [{ id: actorId, name: actorName(actorId, await findUserNames(trx, [actorId])) }]
  const [existing] = await unreadItemsAbout(trx, documentId, 'document.shared', [userId])
  if (existing) {
    const merged = mergeActors(actors, parseActors(existing.actors))
    if ((await coalesceItems(trx, [existing.id], { actors: JSON.stringify(merged), add: 1, title: audience.title }, now)) > 0) {
      const row = { ...existing, actors: JSON.stringify(merged), count: Number(existing.count) + 1, document_title: audience.title }
      write.updated(userId, toNotificationDto({ ...row, updated_at: now, digested_at: null }))
      return
    }
  }
  await insertItems(trx, write, [userId], { type: 'document.shared', documentId, title: audience.title, actorId, now })
}

/**
 * Pending invitations became memberships as the account got its email (sign-up): `document.shared`
 * items from whoever invited them, in that transaction. Nothing to publish: the account is new (or
 * its streams pick the items up with their next event).
 */
export async function recordAcceptedInvitations(
  trx: Db | Trx,
  userId: string,
  invitations: readonly { documentId: string; invitedBy: string }[],
  now = Date.now(),
): Promise<void> {
  const write = new InboxWrite()
  for (const { documentId, invitedBy } of invitations) {
    await recordShared(trx, write, { documentId, userId, actorId: invitedBy }, now)
  }
  // No webhooks here: the sign-up paths don't know the endpoints (see README, Notifications).
  await write.finish(trx, undefined, now)
}

/**
 * A user lost access to a document: their items about it go (they may no longer follow it), and
 * unless they left on their own, a `document.unshared` item with the title is left in their place.
 */
export async function recordUnshared(
  trx: Trx,
  write: InboxWrite,
  change: { documentId: string; title: string; userId: string; actorId: string },
  now: number,
): Promise<void> {
  const { documentId, title, userId, actorId } = change
  await removeItemsAbout(trx, documentId, [userId])
  write.touched(userId)
  if (actorId === userId || (await isMuted(trx, userId, documentId))) return
  await insertItems(trx, write, [userId], { type: 'document.unshared', documentId, title, actorId, now })
}

/**
 * A document was deleted: everyone who could see it (captured before the delete) loses their items
 * about it, and everyone but the one who deleted it (and those who muted it) gets `document.deleted`.
 */
export async function recordDeleted(trx: Trx, write: InboxWrite, audience: Audience, actorId: string, now: number): Promise<void> {
  const { documentId, title } = audience
  await removeItemsAbout(trx, documentId, audience.userIds)
  for (const userId of audience.userIds) write.touched(userId)
  const recipients = audience.userIds.filter((id) => id !== actorId && !audience.muted.has(id))
  await insertItems(trx, write, recipients, { type: 'document.deleted', documentId, title, actorId, now })
}

async function insertItems(
  trx: Db | Trx,
  write: InboxWrite,
  userIds: readonly string[],
  item: { type: NotificationType; documentId: string; title: string; actorId: string; now: number },
): Promise<void> {
  if (userIds.length === 0) return
  const actors = [{ id: item.actorId, name: actorName(item.actorId, await findUserNames(trx, [item.actorId])) }]
  const rows = userIds.map((userId) => newItem({ userId, ...item, actors }))
  await insertNotifications(trx, rows)
  for (const row of rows) write.created(row.user_id, toNotificationDto(row))
}
