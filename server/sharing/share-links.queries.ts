import type { Db, MemberRole, ShareLinkRow } from '../db/schema.ts'

export async function insertShareLink(
  db: Db,
  link: { id: string; documentId: string; tokenHash: string; role: MemberRole; expiresAt: number | null; createdBy: string },
  now = Date.now(),
): Promise<void> {
  await db
    .insertInto('share_links')
    .values({
      id: link.id,
      document_id: link.documentId,
      token_hash: link.tokenHash,
      role: link.role,
      expires_at: link.expiresAt,
      revoked_at: null,
      created_by: link.createdBy,
      created_at: now,
    })
    .execute()
}

/** A link that is neither revoked nor expired, by the hash of its token. */
export async function findActiveShareLink(db: Db, tokenHash: string, now = Date.now()): Promise<ShareLinkRow | undefined> {
  return db
    .selectFrom('share_links')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst()
}

export async function findShareLinkById(db: Db, id: string): Promise<ShareLinkRow | undefined> {
  return db.selectFrom('share_links').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function listShareLinks(db: Db, documentId: string): Promise<ShareLinkRow[]> {
  return db
    .selectFrom('share_links')
    .selectAll()
    .where('document_id', '=', documentId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .execute()
}

/** Returns false when there was no such live link on that document. */
export async function revokeShareLink(db: Db, documentId: string, id: string, now = Date.now()): Promise<boolean> {
  const result = await db
    .updateTable('share_links')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('document_id', '=', documentId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}
