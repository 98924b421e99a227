import Type, { type Static } from 'typebox'

/** SSE event names of `GET /api/v1/notifications/stream`. */
export const StreamEvents = {
  /** data: an inbox item's JSON, as the inbox lists it (created or updated). */
  Notification: 'notification',
  /** data: `{ count }`, the user's unread items. */
  UnreadCount: 'unread-count',
} as const
export type StreamEventName = (typeof StreamEvents)[keyof typeof StreamEvents]

/** A stream event id: ids only grow, and order one user's events across connections. */
const EventId = Type.String({ pattern: '^[0-9]{1,15}$' })

export const NotificationStreamQuery = Type.Object(
  {
    /**
     * The access token, for clients that can't set headers (browser `EventSource`). Never logged.
     * A Bearer header wins when both are present.
     */
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
    /** Resume after this event id, for clients that can't set `Last-Event-ID` (a new `EventSource`). */
    lastEventId: Type.Optional(EventId),
  },
  { additionalProperties: false },
)
export type NotificationStreamQuery = Static<typeof NotificationStreamQuery>

export const NotificationStreamHeaders = Type.Object({
  /** Sent by `EventSource` when it reconnects: the id of the last event it received. */
  'last-event-id': Type.Optional(EventId),
})
export type NotificationStreamHeaders = Static<typeof NotificationStreamHeaders>

export const UnreadCountEvent = Type.Object({ count: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })
export type UnreadCountEvent = Static<typeof UnreadCountEvent>
