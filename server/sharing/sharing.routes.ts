import { randomBytes } from 'node:crypto'
import type {} from '@fastify/rate-limit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { DocumentParams } from '../../shared/api/documents.ts'
import {
  CollaboratorDto,
  CollaboratorList,
  CollaboratorParams,
  CreateShareLinkBody,
  type InvitationDto,
  SetRoleBody,
  ShareLinkDto,
  ShareLinkList,
  ShareLinkParams,
} from '../../shared/api/sharing.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { authorId } from '../auth/caller.ts'
import { findUserById } from '../auth/users.queries.ts'
import type { Config } from '../config/config.ts'
import type { Db, DocumentRow, InvitationRow, MemberRole, ShareLinkRow } from '../db/schema.ts'
import { AppError, notFound } from '../http/errors.ts'
import { spendRateLimit } from '../http/rate-limit.plugin.ts'
import type { Notifier } from '../notifications/notifier.ts'
import type { ControlChannel } from '../redis/control-channel.ts'
import { requireDocumentRole } from './access.ts'
import { listInvitations } from './invitations.queries.ts'
import { invitationsRoutes, type InvitationsRoutesOptions } from './invitations.routes.ts'
import { hashToken, newShareLinkToken } from './share-link-tokens.ts'
import { insertShareLink, listShareLinks, revokeShareLink } from './share-links.queries.ts'
import { findMember, listMembers, type MemberRow, removeMember, upsertMember } from './sharing.queries.ts'

export interface SharingRoutesOptions {
  db: Db
  config: Pick<Config, 'shareLinksPerDocumentPerHour' | 'invitationsPerHour'>
  /** Emails invitations to people without an account (see invitations.routes.ts). */
  emailInvitation?: InvitationsRoutesOptions['emailInvitation']
  /** Tells people in their inbox that they were added, changed or removed. */
  notifier?: Notifier
  /** Tells every instance of an access change, so each re-checks its own connections. */
  control: ControlChannel
}

const security = [{ bearerAuth: [] }]
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }
const iso = (ms: number | string) => new Date(Number(ms)).toISOString()

export const sharingRoutes: FastifyPluginAsyncTypebox<SharingRoutesOptions> = async (app, { db, config, emailInvitation, notifier, control }) => {
  // Access changes reach live sockets at once, on every instance: closed, or switched to
  // read-only / read-write. Resolves once this instance's sockets are done (never rejects).
  const applyLive = (documentId: string) => control.publish({ type: 'access-changed', documentId })

  // Spent in the handler once the caller is known to own the document: keyed by the document
  // alone in a route hook, anyone could use up an owner's budget, and each made-up id would open a
  // fresh one in place of the API-wide per-caller limit, which this route keeps.
  const shareLinkLimit = app.createRateLimit({
    max: config.shareLinksPerDocumentPerHour,
    timeWindow: '1 hour',
    keyGenerator: (request) => `share-links:${(request.params as { id: string }).id}`,
  })

  await app.register(invitationsRoutes, { db, applyLive, invitationsPerHour: config.invitationsPerHour, emailInvitation, notifier })

  /** Adds a collaborator or changes their role, and applies it to their live connections. */
  const grant = async (document: DocumentRow, userId: string, role: MemberRole, actorId: string) => {
    if (document.owner_id === userId) throw new AppError(409, ErrorCodes.Conflict, 'The owner already has every right')
    const outcome = await upsertMember(db, document.id, userId, role)
    await applyLive(document.id)
    await notifier?.shared({ documentId: document.id, userId, actorId })
    return { status: outcome === 'created' ? 201 : 200, collaborator: await memberDto(db, document.id, userId) }
  }

  app.get(
    '/documents/:id/collaborators',
    {
      schema: {
        tags: ['sharing'],
        summary: 'The owner and every collaborator with their role; for the owner, pending invitations too',
        security,
        params: DocumentParams,
        response: { 200: CollaboratorList, ...errors },
      },
    },
    async (request) => {
      const { caller, document, role } = await requireDocumentRole(db, request, request.params.id, 'viewer')
      // People's names and emails are for people on the document, not for whoever holds a link.
      if (caller.kind === 'link') throw new AppError(403, ErrorCodes.Forbidden, 'Share links cannot list collaborators')
      const items = [await ownerEntry(db, document), ...(await listMembers(db, document.id)).map(toCollaboratorDto)]
      // Members see who has joined; whom the owner has asked is the owner's to manage (and those
      // people have not agreed to be on the document yet).
      if (role !== 'owner') return { items }
      return { items, invitations: (await listInvitations(db, document.id)).map(toInvitationDto) }
    },
  )

  app.put(
    '/documents/:id/collaborators/:userId',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Add a collaborator by user id, or change their role (owner)',
        security,
        params: CollaboratorParams,
        body: SetRoleBody,
        response: { 200: CollaboratorDto, 201: CollaboratorDto, ...errors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { caller, document } = await requireDocumentRole(db, request, request.params.id, 'owner')
      const user = await findUserById(db, request.params.userId)
      if (!user) throw notFound('User')
      const { status, collaborator } = await grant(document, user.id, request.body.role, authorId(caller))
      return reply.code(status).send(collaborator)
    },
  )

  app.delete(
    '/documents/:id/collaborators/:userId',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Remove a collaborator (owner), or leave a document (the member themself)',
        security,
        params: CollaboratorParams,
        response: { 204: Type.Null(), ...errors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { id, userId } = request.params
      const { caller, document, role } = await requireDocumentRole(db, request, id, 'viewer')
      const leaving = caller.kind === 'user' && caller.user.id === userId
      if (role !== 'owner' && !leaving) throw new AppError(403, ErrorCodes.Forbidden, 'Only the owner can remove others')
      if (document.owner_id === userId) throw new AppError(409, ErrorCodes.Conflict, 'The owner cannot be removed')
      if (!(await removeMember(db, id, userId))) throw notFound('Collaborator')
      await applyLive(id)
      await notifier?.unshared({ documentId: id, title: document.title, userId, actorId: authorId(caller) })
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/documents/:id/share-links',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Live share links (owner); tokens are never shown again',
        security,
        params: DocumentParams,
        response: { 200: ShareLinkList, ...errors },
      },
    },
    async (request) => {
      await requireDocumentRole(db, request, request.params.id, 'owner')
      return { items: (await listShareLinks(db, request.params.id)).map((link) => toShareLinkDto(link)) }
    },
  )

  app.post(
    '/documents/:id/share-links',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Create a share link (owner); the token is in this response only',
        description: 'At most SHARE_LINKS_PER_DOCUMENT_PER_HOUR per document (429 beyond).',
        security,
        params: DocumentParams,
        body: CreateShareLinkBody,
        response: { 201: ShareLinkDto, ...errors, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const { caller, document } = await requireDocumentRole(db, request, request.params.id, 'owner')
      const expiresAt = request.body.expiresAt === undefined ? null : Date.parse(request.body.expiresAt)
      if (expiresAt !== null && !(expiresAt > Date.now())) {
        throw new AppError(400, ErrorCodes.InvalidInput, 'Invalid input', [
          { path: 'body/expiresAt', message: 'must be in the future' },
        ])
      }
      await spendRateLimit(shareLinkLimit, request, reply)
      const token = newShareLinkToken()
      const id = `lnk_${randomBytes(12).toString('base64url')}`
      const createdBy = caller.kind === 'user' ? caller.user.id : caller.link.id
      const now = Date.now()
      await insertShareLink(db, { id, documentId: document.id, tokenHash: hashToken(token), role: request.body.role, expiresAt, createdBy }, now)
      return reply.code(201).send({ id, role: request.body.role, expiresAt: expiresAt === null ? null : iso(expiresAt), createdAt: iso(now), token })
    },
  )

  app.delete(
    '/documents/:id/share-links/:linkId',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Revoke a share link (owner); its live connections are closed',
        security,
        params: ShareLinkParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { id, linkId } = request.params
      await requireDocumentRole(db, request, id, 'owner')
      if (!(await revokeShareLink(db, id, linkId))) throw notFound('Share link')
      await applyLive(id)
      return reply.code(204).send(null)
    },
  )
}

async function ownerEntry(db: Db, document: DocumentRow): Promise<CollaboratorDto> {
  const owner = document.owner_id ? await findUserById(db, document.owner_id) : undefined
  return {
    userId: document.owner_id ?? '',
    email: owner?.email ?? null,
    name: owner?.name ?? '',
    role: 'owner',
    addedAt: iso(document.created_at),
  }
}

async function memberDto(db: Db, documentId: string, userId: string): Promise<CollaboratorDto> {
  const member = await findMember(db, documentId, userId)
  if (!member) throw notFound('Collaborator')
  return toCollaboratorDto(member)
}

function toCollaboratorDto(member: MemberRow): CollaboratorDto {
  return { userId: member.userId, email: member.email, name: member.name, role: member.role, addedAt: iso(member.createdAt) }
}

function toInvitationDto(invitation: InvitationRow): InvitationDto {
  return { id: invitation.id, email: invitation.email, role: invitation.role, invitedAt: iso(invitation.updated_at) }
}

function toShareLinkDto(link: ShareLinkRow): ShareLinkDto {
  return {
    id: link.id,
    role: link.role,
    expiresAt: link.expires_at === null ? null : iso(link.expires_at),
    createdAt: iso(link.created_at),
  }
}
