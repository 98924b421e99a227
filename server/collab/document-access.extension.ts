import type { beforeSyncPayload, Extension, onAuthenticatePayload } from '@hocuspocus/server'
import * as Y from 'yjs'
import { CloseEvents } from '../../shared/close-codes.ts'
import { isValidDocumentId } from '../../shared/documents.ts'
import type { Authenticator } from '../auth/authenticator.ts'
import { AuthError, authorId } from '../auth/caller.ts'
import type { Db } from '../db/schema.ts'
import { findDocument } from '../documents/documents.queries.ts'
import { resolveRole } from '../sharing/access.ts'
import type { CollabMetrics } from './collab-metrics.ts'
import type { CollabContext } from './context.ts'
import type { LiveAccess } from './live-access.ts'

const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2

/**
 * Decides who may open a document, on both socket paths: a missing or bad token is refused as
 * unauthorized, an unknown document and one the caller may not see alike as not-found, and viewers
 * get a read-only connection whose document updates are dropped (and counted).
 */
export class DocumentAccessExtension implements Extension<CollabContext> {
  extensionName = 'document-access'
  // Runs before the other extensions: nothing is loaded for a caller who may not see the document.
  priority = 200
  readonly #db: Db
  readonly #authenticator: Authenticator
  readonly #metrics: CollabMetrics
  readonly #liveAccess: LiveAccess

  constructor(deps: { db: Db; authenticator: Authenticator; metrics: CollabMetrics; liveAccess: LiveAccess }) {
    this.#db = deps.db
    this.#authenticator = deps.authenticator
    this.#metrics = deps.metrics
    this.#liveAccess = deps.liveAccess
  }

  async onAuthenticate({
    token,
    documentName,
    connectionConfig,
  }: onAuthenticatePayload<CollabContext>): Promise<Partial<CollabContext>> {
    if (!isValidDocumentId(documentName)) throw { ...CloseEvents.NotFound }
    let caller: CollabContext['caller']
    try {
      caller = await this.#authenticator.fromToken(token)
    } catch (error) {
      if (error instanceof AuthError) throw { ...CloseEvents.Unauthorized, reason: `unauthorized:${error.reason}` }
      throw error
    }
    if (!caller) throw { ...CloseEvents.Unauthorized }
    const document = await findDocument(this.#db, documentName)
    const role = document && (await resolveRole(this.#db, caller, document))
    if (!role) throw { ...CloseEvents.NotFound }
    connectionConfig.readOnly = role === 'viewer'
    if (caller.kind === 'link') this.#liveAccess.watchLinkExpiry(caller.link.id, documentName)
    return { user: { id: authorId(caller) }, caller, role }
  }

  // Hocuspocus refuses these already; counting them tells operators a client UI lets viewers type.
  async beforeSync({ connection, type, payload, document }: beforeSyncPayload<CollabContext>): Promise<void> {
    if (!connection.readOnly) return
    const changes =
      type === SYNC_UPDATE ||
      (type === SYNC_STEP_2 && !Y.snapshotContainsUpdate(Y.snapshot(document), payload))
    if (changes) this.#metrics.droppedReadOnlyUpdates += 1
  }
}
