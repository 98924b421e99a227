import type { SessionEvents } from '../auth/session-events.ts'
import type { Collab } from '../collab/hocuspocus.ts'
import type { NotificationBus } from '../notifications/notification-bus.ts'
import type { ControlChannel } from './control-channel.ts'

/** An event id past any real one: a nudge that makes a stream read whatever it has not sent yet. */
const ANY_NEW_EVENT = Number.MAX_SAFE_INTEGER

/**
 * What each instance does with a control message, for its own sockets and streams, and which
 * in-process events travel as control messages (sign-outs, notification nudges).
 */
export function handleControlMessages(
  control: ControlChannel,
  { collab, sessions, notificationBus }: { collab: Collab; sessions: SessionEvents; notificationBus: NotificationBus },
): void {
  control.on('access-changed', ({ documentId }) => collab.liveAccess.refresh(documentId))
  // Roles remembered on connect stand only while changes made elsewhere are heard of.
  collab.liveAccess.trustCachedRolesWhile(() => control.subscribed)
  control.on('document-renamed', ({ documentId }) => collab.liveAccess.renamed(documentId))
  control.on('document-deleted', ({ documentId }) => {
    collab.liveAccess.closeAll(documentId)
    // Updates this instance received but has not stored have no document to go to.
    collab.updateLog.discard(documentId)
  })

  sessions.relayThrough(({ sessionId, userId, reason }) => control.publish({ type: 'session-ended', sessionId, userId, reason }))
  control.on('session-ended', ({ sessionId, userId, reason }) => sessions.deliver({ sessionId, userId, reason }))

  notificationBus.relayThrough(({ userId, eventId }) => control.publish({ type: 'notification', userId, eventId }))
  control.on('notification', ({ userId, eventId }) => notificationBus.deliver({ userId, eventId }))

  // Messages sent while this instance was cut off from Redis are lost (pub/sub keeps nothing), so
  // what they would have done is redone from the database, which has every change.
  control.onReconnected(async () => {
    await collab.liveAccess.refreshAll()
    await collab.socketSessions.check()
    for (const userId of notificationBus.listeningUsers()) notificationBus.deliver({ userId, eventId: ANY_NEW_EVENT })
  })
}
