import Type, { type Static } from 'typebox'
import { GRANTABLE_ROLES, ROLES } from '../roles.ts'
import { Timestamp } from './common.ts'
import { DocumentId } from './documents.ts'

export const UserId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:|-]+$' })
export const GrantableRole = Type.Enum(GRANTABLE_ROLES)

export const CollaboratorParams = Type.Object({ id: DocumentId, userId: UserId }, { additionalProperties: false })
export const ShareLinkParams = Type.Object(
  { id: DocumentId, linkId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
)
export const InvitationParams = Type.Object(
  { id: DocumentId, invitationId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
)

export const SetRoleBody = Type.Object({ role: GrantableRole }, { additionalProperties: false })
export const InviteBody = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 320 }), role: GrantableRole },
  { additionalProperties: false },
)

export const CollaboratorDto = Type.Object(
  {
    userId: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    name: Type.String(),
    role: Type.Enum(ROLES),
    /** When they were added (for the owner: when the document was created). */
    addedAt: Timestamp,
  },
  { $id: 'Collaborator', additionalProperties: false },
)
export type CollaboratorDto = Static<typeof CollaboratorDto>

/**
 * What inviting by email answers, the same whether or not the email has an account: someone who
 * has one becomes a collaborator at once, anyone else when they sign up with that email.
 */
export const InvitationResultDto = Type.Object(
  {
    /** Normalised: trimmed and lower-cased. */
    email: Type.String(),
    role: GrantableRole,
    status: Type.Literal('invited'),
  },
  { $id: 'InvitationResult', additionalProperties: false },
)
export type InvitationResultDto = Static<typeof InvitationResultDto>

/** An invitation waiting for its email to sign up. */
export const InvitationDto = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    role: GrantableRole,
    /** When it was sent, or last re-sent. */
    invitedAt: Timestamp,
  },
  { $id: 'Invitation', additionalProperties: false },
)
export type InvitationDto = Static<typeof InvitationDto>

export const CollaboratorList = Type.Object(
  {
    items: Type.Array(CollaboratorDto),
    /** Pending invitations, oldest first; for the owner only. */
    invitations: Type.Optional(Type.Array(InvitationDto)),
  },
  { additionalProperties: false },
)

export const CreateShareLinkBody = Type.Object(
  {
    role: GrantableRole,
    /** ISO 8601; must be in the future. Omit for a link that lasts until revoked. */
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
)

export const ShareLinkDto = Type.Object(
  {
    id: Type.String(),
    role: GrantableRole,
    expiresAt: Type.Union([Timestamp, Type.Null()]),
    createdAt: Timestamp,
    /** Only in the creation response: the server keeps a hash and can't show it again. */
    token: Type.Optional(Type.String()),
  },
  { $id: 'ShareLink', additionalProperties: false },
)
export type ShareLinkDto = Static<typeof ShareLinkDto>
export const ShareLinkList = Type.Object({ items: Type.Array(ShareLinkDto) }, { additionalProperties: false })
