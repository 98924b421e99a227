import type { Db, Trx } from '../db/schema.ts'

/** Everyone who can see a document (owner and members; share links are not people), and who muted it. */
export interface Audience {
  documentId: string
  title: string
  userIds: string[]
  muted: ReadonlySet<string>
}

/**
 * The document's audience now, or undefined when the document is gone. Capture it before a
 * delete: memberships and mutes go with the document.
 */
export async function documentAudience(db: Db | Trx, documentId: string): Promise<Audience | undefined> {
  const document = await db.selectFrom('documents').select(['id', 'title', 'owner_id']).where('id', '=', documentId).executeTakeFirst()
  if (!document) return undefined
  const members = await db.selectFrom('document_members').select('user_id').where('document_id', '=', documentId).execute()
  const muted = await db
    .selectFrom('document_subscriptions')
    .select('user_id')
    .where('document_id', '=', documentId)
    .where('muted', '=', 1)
    .execute()
  const everyone = new Set([...(document.owner_id ? [document.owner_id] : []), ...members.map((row) => row.user_id)])
  return { documentId, title: document.title, userIds: [...everyone], muted: new Set(muted.map((row) => row.user_id)) }
}

/** Who gets items: the audience minus those who muted the document. */
export function recipientsOf(audience: Audience): string[] {
  return audience.userIds.filter((id) => !audience.muted.has(id))
}

/**
 * Whether the user may still see the document (owner or member). Delivery checks it again before
 * anything about the document leaves (an email line, a stream event): access may have ended since
 * the item was written.
 */
export async function stillHasAccess(db: Db | Trx, userId: string, documentId: string): Promise<boolean> {
  const row = await db
    .selectFrom('documents')
    .leftJoin('document_members', (join) =>
      join.onRef('document_members.document_id', '=', 'documents.id').on('document_members.user_id', '=', userId),
    )
    .select(['documents.owner_id', 'document_members.role'])
    .where('documents.id', '=', documentId)
    .executeTakeFirst()
  return row !== undefined && (row.owner_id === userId || row.role !== null)
}

/** Whether the user muted the document. */
export async function isMuted(db: Db | Trx, userId: string, documentId: string): Promise<boolean> {
  const row = await db
    .selectFrom('document_subscriptions')
    .select('muted')
    .where('document_id', '=', documentId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return Number(row?.muted ?? 0) === 1
}
