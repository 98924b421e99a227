import { sql } from 'kysely'
import type { Db, DocumentRow, MemberRole } from '../db/schema.ts'

export async function findDocument(db: Db, id: string): Promise<DocumentRow | undefined> {
  return db.selectFrom('documents').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Inserts a document; returns false when the id is taken. */
export async function insertDocument(
  db: Db,
  document: { id: string; title: string; ownerId: string },
  now = Date.now(),
): Promise<boolean> {
  const result = await db
    .insertInto('documents')
    .ignore()
    .values({
      id: document.id,
      title: document.title,
      owner_id: document.ownerId,
      last_seq: 0,
      created_at: now,
      updated_at: now,
    })
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
}

export async function renameDocument(db: Db, id: string, title: string, now = Date.now()): Promise<void> {
  await db.updateTable('documents').set({ title, updated_at: now }).where('id', '=', id).execute()
}

/** Deletes a document; its log, checkpoints, members and links go with it (ON DELETE CASCADE). */
export async function deleteDocument(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('documents').where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

export type VisibleDocumentRow = DocumentRow & { member_role: MemberRole | null }

/**
 * Documents the user owns or was invited to, newest activity first, keyset-paginated on
 * (updated_at, id) so pages stay stable while documents change.
 */
export async function listVisibleDocuments(
  db: Db,
  userId: string,
  options: { q?: string; limit: number; after?: readonly [number, string] },
): Promise<VisibleDocumentRow[]> {
  let query = db
    .selectFrom('documents')
    .leftJoin('document_members as m', (join) =>
      join.onRef('m.document_id', '=', 'documents.id').on('m.user_id', '=', userId),
    )
    .selectAll('documents')
    .select('m.role as member_role')
    .where((eb) => eb.or([eb('documents.owner_id', '=', userId), eb('m.user_id', '=', userId)]))
  if (options.q) {
    // '!' as the LIKE escape: SQLite has no default escape character and MySQL's backslash
    // means different things in the two dialects' string literals.
    const pattern = `%${options.q.replace(/[!%_]/g, (c) => `!${c}`)}%`
    query = query.where(sql<boolean>`documents.title like ${pattern} escape '!'`)
  }
  if (options.after) {
    const [updatedAt, id] = options.after
    query = query.where((eb) =>
      eb.or([
        eb('documents.updated_at', '<', updatedAt),
        eb.and([eb('documents.updated_at', '=', updatedAt), eb('documents.id', '<', id)]),
      ]),
    )
  }
  return (await query
    .orderBy('documents.updated_at', 'desc')
    .orderBy('documents.id', 'desc')
    .limit(options.limit)
    .execute()) as VisibleDocumentRow[]
}
