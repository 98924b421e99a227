import { type Connection, OutgoingMessage } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import { CloseEvents, closeEventForReason } from '../../shared/close-codes.ts'
import type { CollabContext } from './context.ts'

/**
 * Ends a live document connection the way a refused authentication would: permission-denied with
 * the reason first, then the document's close. HocuspocusProvider reports only the former to the app
 * (`onAuthenticationFailed`); a bare close reaches it as code 1000 and the app can't tell why. The
 * y-websocket bridge turns the permission-denied into its close code (4401, 4404).
 */
export function denyConnection(
  connection: Connection<CollabContext>,
  reason: string,
  log?: FastifyBaseLogger,
  details: Record<string, unknown> = {},
): void {
  log?.debug(
    { socketId: connection.socketId, documentName: connection.document.name, reason, ...details },
    'live connection closed',
  )
  connection.send(new OutgoingMessage(connection.messageAddress).writePermissionDenied(reason).toUint8Array())
  connection.close(closeEventForReason(reason, CloseEvents.Forbidden))
}

/** Every live connection (sockets of both protocols) to every loaded document. */
export function* liveConnections(documents: Map<string, { getConnections(): Connection[] }>) {
  for (const document of documents.values()) {
    yield* document.getConnections() as Connection<CollabContext>[]
  }
}
