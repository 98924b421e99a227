import Type, { type Static } from 'typebox'
import { Timestamp } from './common.ts'

/** What an inbox item is about. `document.edited` items coalesce while unread. */
export const NOTIFICATION_TYPES = [
  'document.edited',
  'document.shared',
  'document.unshared',
  'document.restored',
  'document.deleted',
] as const
export type NotificationType = (typeof NOTIFICATION_TYPES)[number]

/** Email delivery choices: `digest` sends unread items every `digestMinutes` at most. */
export const EMAIL_MODES = ['off', 'digest'] as const
export type EmailMode = (typeof EMAIL_MODES)[number]

/** Digest interval bounds and default, in minutes. */
export const DIGEST_MINUTES = { min: 1, max: 1440, default: 30 } as const

export const NotificationId = Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength: 64 })

export const NotificationParams = Type.Object({ id: NotificationId }, { additionalProperties: false })
export type NotificationParams = Static<typeof NotificationParams>

export const NotificationActor = Type.Object(
  {
    /** A user id, `link:<id>` for a share-link holder, or `anonymous`. */
    id: Type.String(),
    /** The user's name when the item was written; "Guest" for a share link. */
    name: Type.String(),
  },
  { additionalProperties: false },
)
export type NotificationActor = Static<typeof NotificationActor>

export const NotificationDto = Type.Object(
  {
    id: Type.String(),
    type: Type.Enum(NOTIFICATION_TYPES),
    /** Null only for items written before a document id was known. */
    documentId: Type.Union([Type.String(), Type.Null()]),
    documentTitle: Type.String(),
    /** Who did it, most recent first (never the recipient). */
    actors: Type.Array(NotificationActor),
    /** How many stored changes the item stands for (edits coalesced while unread). */
    count: Type.Integer({ minimum: 1 }),
    createdAt: Timestamp,
    /** Last time the item changed; the inbox is ordered by it, newest first. */
    updatedAt: Timestamp,
    readAt: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'Notification', additionalProperties: false },
)
export type NotificationDto = Static<typeof NotificationDto>

export const ListNotificationsQuery = Type.Object(
  {
    /** Only unread items. */
    unread: Type.Optional(Type.Boolean({ default: false })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    /** `nextCursor` of the previous page. */
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
)
export type ListNotificationsQuery = Static<typeof ListNotificationsQuery>

export const NotificationList = Type.Object(
  { items: Type.Array(NotificationDto), nextCursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
)
export type NotificationList = Static<typeof NotificationList>

export const UnreadCount = Type.Object({ count: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })
export type UnreadCount = Static<typeof UnreadCount>

/** Per-document mute: a muted document makes no inbox items, emails or stream events. */
export const SubscriptionDto = Type.Object({ muted: Type.Boolean() }, { additionalProperties: false })
export type SubscriptionDto = Static<typeof SubscriptionDto>

export const NotificationSettingsDto = Type.Object(
  {
    /** Default `digest` when the account has an email address, else `off`. */
    email: Type.Enum(EMAIL_MODES),
    /** At most one digest per this many minutes; a digest waits this long after the first new unread item. */
    digestMinutes: Type.Integer({ minimum: DIGEST_MINUTES.min, maximum: DIGEST_MINUTES.max }),
  },
  { $id: 'NotificationSettings', additionalProperties: false },
)
export type NotificationSettingsDto = Static<typeof NotificationSettingsDto>

/** Either field may be left out to keep its current value. */
export const UpdateNotificationSettingsBody = Type.Object(
  {
    email: Type.Optional(Type.Enum(EMAIL_MODES)),
    digestMinutes: Type.Optional(Type.Integer({ minimum: DIGEST_MINUTES.min, maximum: DIGEST_MINUTES.max })),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateNotificationSettingsBody = Static<typeof UpdateNotificationSettingsBody>
