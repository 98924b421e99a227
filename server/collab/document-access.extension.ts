import type { Connection, Extension, onAuthenticatePayload, onTokenSyncPayload } from '@hocuspocus/server'
import { CloseEvents } from '../../shared/close-codes.ts'
import { isValidDocumentId } from '../../shared/documents.ts'
import type { Authenticator } from '../auth/authenticator.ts'
import { AuthError, authorId } from '../auth/caller.ts'
import type { FastifyBaseLogger } from 'fastify'
import type { CollabContext } from './context.ts'
import type { LiveAccess } from './live-access.ts'
import type { SocketSessions } from './socket-sessions.ts'

/**
 * Decides who may open a document, on both socket paths: a missing or bad token is refused as
 * unauthorized, an unknown document and one the caller may not see alike as not-found, and viewers
 * get a read-only connection: Hocuspocus refuses their document updates, and the transports count
 * each refusal (`CollabMetrics.droppedReadOnlyUpdates`).
 */
export class DocumentAccessExtension implements Extension<CollabContext> {
  extensionName = 'document-access'
  // Runs before the other extensions: nothing is loaded for a caller who may not see the document.
  priority = 200
  readonly #authenticator: Authenticator
  readonly #liveAccess: LiveAccess
  readonly #sessions: SocketSessions
  readonly #log: FastifyBaseLogger

  constructor(deps: {
    authenticator: Authenticator
    liveAccess: LiveAccess
    sessions: SocketSessions
    log: FastifyBaseLogger
  }) {
    this.#authenticator = deps.authenticator
    this.#liveAccess = deps.liveAccess
    this.#sessions = deps.sessions
    this.#log = deps.log
  }

  async onAuthenticate(payload: onAuthenticatePayload<CollabContext>): Promise<Partial<CollabContext>> {
    try {
      return await this.#authenticate(payload)
    } catch (error) {
      const reason = (error as { reason?: unknown } | null)?.reason
      // Refusals are expected; only their reason and the socket are worth a line.
      this.#log.debug({ socketId: payload.socketId, documentName: payload.documentName, reason }, 'connection refused')
      throw error
    }
  }

  /** A fresh token on an open connection (HocuspocusProvider `sendToken()`, or our request before expiry). */
  async onTokenSync({ token, connection }: onTokenSyncPayload<CollabContext>): Promise<void> {
    await this.#sessions.renew(connection as Connection<CollabContext>, token)
  }

  async #authenticate({ token, documentName, connectionConfig }: onAuthenticatePayload<CollabContext>) {
    if (!isValidDocumentId(documentName)) throw { ...CloseEvents.NotFound }
    let caller: CollabContext['caller']
    try {
      caller = await this.#authenticator.fromToken(token)
    } catch (error) {
      if (error instanceof AuthError) throw { ...CloseEvents.Unauthorized, reason: `unauthorized:${error.reason}` }
      throw error
    }
    if (!caller) throw { ...CloseEvents.Unauthorized }
    const role = await this.#liveAccess.roleOnConnect(caller, documentName)
    if (!role) throw { ...CloseEvents.NotFound }
    connectionConfig.readOnly = role === 'viewer'
    if (caller.kind === 'link') this.#liveAccess.watchLinkExpiry(caller.link.id, documentName)
    return { user: { id: authorId(caller) }, caller, role, tokenReceivedAt: Date.now() } satisfies Partial<CollabContext>
  }

}
