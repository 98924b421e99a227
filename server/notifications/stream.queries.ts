import type { Db } from '../db/schema.ts'
import { findDocument } from '../documents/documents.queries.ts'
import { findMemberRole } from '../sharing/sharing.queries.ts'

/** The user's unread inbox items: what a fresh stream starts with. */
export async function countUnreadItems(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('notifications')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirst()
  return Number(row?.count ?? 0)
}

/** Whether the user may still see the document (owner or member): streams re-check before sending. */
export async function canSeeDocument(db: Db, userId: string, documentId: string): Promise<boolean> {
  const document = await findDocument(db, documentId)
  if (!document) return false
  return document.owner_id === userId || (await findMemberRole(db, documentId, userId)) !== undefined
}
