/**
 * WebSocket close events the server sends, named once. On `/collab` (Hocuspocus protocol) a refusal
 * for one document arrives as permission-denied with the `reason`; on `/yjs/:id` (one document per
 * socket) the socket itself closes with the `code`.
 */
export const CloseEvents = {
  /** Frame larger than MAX_MESSAGE_BYTES. */
  MessageTooBig: { code: 1009, reason: 'message-too-big' },
  /** Bytes that don't decode as the protocol or as a Yjs update. The document is left untouched. */
  InvalidMessage: { code: 4400, reason: 'invalid-message' },
  /** Missing, bad or expired token. */
  Unauthorized: { code: 4401, reason: 'unauthorized' },
  /** Known to the caller but not allowed. */
  Forbidden: { code: 4403, reason: 'forbidden' },
  /** Unknown document, or one the caller may not see: deliberately indistinguishable. */
  NotFound: { code: 4404, reason: 'not-found' },
  /** The socket authenticated no document within SOCKET_AUTH_TIMEOUT_MS of connecting. */
  AuthenticationTimeout: { code: 4408, reason: 'authentication-timeout' },
  /** Hocuspocus asks the client to reconnect and resync (also used on server-side errors). */
  ResetConnection: { code: 4205, reason: 'Reset Connection' },
  /** The server is shutting down; reconnect (to another instance). */
  GoingAway: { code: 1001, reason: 'server-shutting-down' },
} as const

export type CloseEventName = keyof typeof CloseEvents

export interface CloseEvent {
  code: number
  reason: string
}

const byReason = new Map<string, CloseEvent>(Object.values(CloseEvents).map((e) => [e.reason, e]))

/**
 * The close event a refusal reason stands for; unknown reasons map to `fallback`. A reason may carry
 * a detail after a colon (`unauthorized:token-expired`); the part before it decides the code.
 */
export function closeEventForReason(reason: string, fallback: CloseEvent = CloseEvents.Forbidden): CloseEvent {
  if (byReason.has(reason)) return byReason.get(reason)!
  const known = byReason.get(reason.split(':')[0]!)
  return known ? { code: known.code, reason } : fallback
}
