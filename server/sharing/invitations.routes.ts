import type {} from '@fastify/rate-limit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { DocumentParams } from '../../shared/api/documents.ts'
import { InvitationParams, InvitationResultDto, InviteBody } from '../../shared/api/sharing.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { authorId } from '../auth/caller.ts'
import { findUserByEmail, normaliseEmail } from '../auth/users.queries.ts'
import type { Db } from '../db/schema.ts'
import { AppError, notFound } from '../http/errors.ts'
import { rateLimitKey } from '../http/rate-limit.plugin.ts'
import type { Notifier } from '../notifications/notifier.ts'
import { requireDocumentRole } from './access.ts'
import { deleteInvitation, upsertInvitation } from './invitations.queries.ts'
import { upsertMember } from './sharing.queries.ts'

export interface InvitationsRoutesOptions {
  db: Db
  /** Applies an access change to the document's live connections. */
  applyLive: (documentId: string) => Promise<void>
  /** Invitations one caller may send per hour, across documents. */
  invitationsPerHour: number
  /** Emails an invitation to someone without an account (queued in the invite's transaction). */
  emailInvitation?: (db: Db, invitation: { documentId: string; email: string; invitedBy: string }) => Promise<void>
  /** Tells an invited account holder in their inbox. */
  notifier?: Notifier
}

const security = [{ bearerAuth: [] }]
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

/** Inviting by email (`POST /documents/:id/collaborators`) and revoking pending invitations. */
export const invitationsRoutes: FastifyPluginAsyncTypebox<InvitationsRoutesOptions> = async (
  app,
  { db, applyLive, invitationsPerHour, emailInvitation, notifier },
) => {
  app.post(
    '/documents/:id/collaborators',
    {
      // Per inviter (else per link or address), replacing the API-wide budget on this route.
      config: { rateLimit: { max: invitationsPerHour, timeWindow: '1 hour', keyGenerator: rateLimitKey } },
      schema: {
        tags: ['sharing'],
        summary: 'Invite someone by email (owner)',
        description:
          'Someone with an account on that email becomes a collaborator at once; for anyone else a ' +
          'pending invitation is kept until they sign up with it. Both answer 202 with the same body, ' +
          'so the answer never tells whether an account exists. Inviting again changes the role.',
        security,
        params: DocumentParams,
        body: InviteBody,
        response: { 202: InvitationResultDto, ...errors, 409: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const { caller, document } = await requireDocumentRole(db, request, request.params.id, 'owner')
      const email = normaliseEmail(request.body.email)
      const { role } = request.body
      const user = await findUserByEmail(db, email)
      if (user) {
        if (document.owner_id === user.id) throw new AppError(409, ErrorCodes.Conflict, 'The owner already has every right')
        await upsertMember(db, document.id, user.id, role)
        await applyLive(document.id)
        await notifier?.shared({ documentId: document.id, userId: user.id, actorId: authorId(caller) })
      } else {
        const invitedBy = caller.kind === 'user' ? caller.user.id : caller.link.id
        const invitation = { documentId: document.id, email, role, invitedBy }
        await db.transaction().execute(async (trx) => {
          await upsertInvitation(trx, invitation)
          await emailInvitation?.(trx, invitation)
        })
      }
      return reply.code(202).send({ email, role, status: 'invited' as const })
    },
  )

  app.delete(
    '/documents/:id/invitations/:invitationId',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Revoke a pending invitation (owner)',
        security,
        params: InvitationParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { id, invitationId } = request.params
      await requireDocumentRole(db, request, id, 'owner')
      if (!(await deleteInvitation(db, id, invitationId))) throw notFound('Invitation')
      return reply.code(204).send(null)
    },
  )
}
