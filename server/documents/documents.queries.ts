import type { Db, DocumentRow } from '../db/schema.ts'

export async function findDocument(db: Db, id: string): Promise<DocumentRow | undefined> {
  return db.selectFrom('documents').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Inserts a document; returns false when the id is taken. */
export async function insertDocument(db: Db, id: string, title: string, now = Date.now()): Promise<boolean> {
  const result = await db
    .insertInto('documents')
    .ignore()
    .values({ id, title, last_seq: 0, created_at: now, updated_at: now })
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0
}
