import { randomBytes } from 'node:crypto'
import type { Db, InvitationRow, MemberRole } from '../db/schema.ts'
import { recordAcceptedInvitations } from '../notifications/access-notices.ts'

/**
 * Invites `email` (already normalised) to a document, or changes the role of its pending invitation.
 * Race-safe without dialect-specific upserts: a concurrent insert of the same (document, email) is
 * ignored by the unique constraint and the role is written by the update after it.
 */
export async function upsertInvitation(
  db: Db,
  invitation: { documentId: string; email: string; role: MemberRole; invitedBy: string },
  now = Date.now(),
): Promise<void> {
  const update = () =>
    db
      .updateTable('document_invitations')
      .set({ role: invitation.role, invited_by: invitation.invitedBy, updated_at: now })
      .where('document_id', '=', invitation.documentId)
      .where('email', '=', invitation.email)
      .executeTakeFirst()
  if (Number((await update()).numUpdatedRows) > 0) return
  const inserted = await db
    .insertInto('document_invitations')
    .ignore()
    .values({
      id: `inv_${randomBytes(12).toString('base64url')}`,
      document_id: invitation.documentId,
      email: invitation.email,
      role: invitation.role,
      invited_by: invitation.invitedBy,
      created_at: now,
      updated_at: now,
    })
    .executeTakeFirst()
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) await update()
}

export async function listInvitations(db: Db, documentId: string): Promise<InvitationRow[]> {
  return db
    .selectFrom('document_invitations')
    .selectAll()
    .where('document_id', '=', documentId)
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc')
    .execute()
}

/** Returns false when that document has no such pending invitation. */
export async function deleteInvitation(db: Db, documentId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('document_invitations')
    .where('id', '=', id)
    .where('document_id', '=', documentId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/**
 * Turns every pending invitation for `user.email` into a membership and deletes them. Meant to run
 * in the transaction that gives the account that email, so it happens with it or not at all. A
 * membership the user already holds is kept as it is, and the owner of a document is never made a
 * member of it. The user's inbox gets a `document.shared` item per document. Returns the documents
 * the user joined.
 */
export async function acceptInvitations(db: Db, user: { id: string; email: string }, now = Date.now()): Promise<string[]> {
  const pending = await db
    .selectFrom('document_invitations')
    .innerJoin('documents', 'documents.id', 'document_invitations.document_id')
    .select([
      'document_invitations.document_id as documentId',
      'document_invitations.role as role',
      'document_invitations.invited_by as invitedBy',
      'documents.owner_id as ownerId',
    ])
    .where('document_invitations.email', '=', user.email)
    .execute()
  if (pending.length === 0) return []
  const joined: { documentId: string; invitedBy: string }[] = []
  for (const { documentId, role, invitedBy, ownerId } of pending) {
    if (ownerId === user.id) continue
    await db
      .insertInto('document_members')
      .ignore()
      .values({ document_id: documentId, user_id: user.id, role, created_at: now, updated_at: now })
      .execute()
    joined.push({ documentId, invitedBy })
  }
  await db.deleteFrom('document_invitations').where('email', '=', user.email).execute()
  await recordAcceptedInvitations(db, user.id, joined, now)
  return joined.map((j) => j.documentId)
}
