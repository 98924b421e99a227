import type { Db, Trx } from '../db/schema.ts'
import { invitationEmail, type EmailMessage } from './email-templates.ts'
import { enqueueOutbox } from './outbox.queries.ts'

/** An email outbox row inviting someone who has no account yet. */
export interface InvitationPayload {
  kind: 'invitation'
  documentId: string
  /** Normalised, as stored in `document_invitations`. */
  email: string
  invitedBy: string
}

/**
 * Queues the invitation email at once (invitations are not digested: the person has no inbox).
 * Inviting the same email again queues another, one per invite (the invite route is rate limited).
 */
export async function enqueueInvitationEmail(
  db: Db | Trx,
  invitation: { documentId: string; email: string; invitedBy: string },
  now = Date.now(),
): Promise<void> {
  const payload: InvitationPayload = { kind: 'invitation', ...invitation }
  await enqueueOutbox(
    db,
    [{ channel: 'email', idempotencyKey: `invitation:${invitation.documentId}:${invitation.email}:${now}`, payload }],
    now,
  )
}

/** The email, or nothing when the invitation was revoked or accepted (an account took it) meanwhile. */
export async function composeInvitation(db: Db, payload: InvitationPayload, publicUrl: string): Promise<EmailMessage | undefined> {
  const row = await db
    .selectFrom('document_invitations')
    .innerJoin('documents', 'documents.id', 'document_invitations.document_id')
    .leftJoin('users', 'users.id', 'document_invitations.invited_by')
    .select(['documents.title', 'document_invitations.role', 'users.name as inviterName'])
    .where('document_invitations.document_id', '=', payload.documentId)
    .where('document_invitations.email', '=', payload.email)
    .executeTakeFirst()
  if (!row) return undefined
  return invitationEmail(
    {
      email: payload.email,
      documentId: payload.documentId,
      documentTitle: row.title,
      inviterName: row.inviterName ?? 'Someone',
      role: row.role,
    },
    publicUrl,
  )
}
