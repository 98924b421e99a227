import { type Connection, type Hocuspocus, OutgoingMessage } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import { CloseEvents } from '../../shared/close-codes.ts'
import type { Role } from '../../shared/roles.ts'
import { authorId, type Caller } from '../auth/caller.ts'
import type { Db } from '../db/schema.ts'
import { findDocument } from '../documents/documents.queries.ts'
import { resolveRole } from '../sharing/access.ts'
import { findShareLinkById } from '../sharing/share-links.queries.ts'
import type { CollabContext } from './context.ts'
import { denyConnection } from './deny.ts'

/**
 * Applies access changes to live connections: after a role change, a removal, a revoked or expired
 * link, or a deleted document, every connection to the document is re-checked at once and ended
 * (permission-denied `not-found`, then closed) or switched to read-only / read-write.
 */
export class LiveAccess {
  #hocuspocus: Hocuspocus<CollabContext> | undefined
  readonly #db: Db
  readonly #log: FastifyBaseLogger
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>()

  constructor(db: Db, log: FastifyBaseLogger) {
    this.#db = db
    this.#log = log
  }

  attach(hocuspocus: Hocuspocus<CollabContext>): void {
    this.#hocuspocus = hocuspocus
  }

  /** Re-checks every live connection to the document against the database. */
  async refresh(documentId: string): Promise<void> {
    const live = this.#hocuspocus?.documents.get(documentId)
    if (!live) return
    const document = await findDocument(this.#db, documentId)
    // One lookup per caller, not per connection: a user often has several tabs open.
    const roles = new Map<string, Promise<Role | undefined>>()
    for (const connection of live.getConnections() as Connection<CollabContext>[]) {
      const caller = connection.context?.caller
      let role: Role | undefined
      if (document && caller) {
        const key = authorId(caller)
        if (!roles.has(key)) roles.set(key, this.#currentRole(caller, document))
        role = await roles.get(key)
      }
      if (!role) {
        denyConnection(connection, CloseEvents.NotFound.reason, this.#log, { revoked: true })
        continue
      }
      if (connection.context.role !== role) {
        this.#log.debug({ socketId: connection.socketId, documentId, from: connection.context.role, to: role }, 'live connection role changed')
      }
      connection.context.role = role
      const wasReadOnly = connection.readOnly
      connection.readOnly = role === 'viewer'
      // Edits typed while read-only were dropped, and every later update from that client depends
      // on them, so Yjs would park those as pending. Asking the client to sync (step 1) makes it
      // send everything the server lacks, its read-only edits included.
      if (wasReadOnly && !connection.readOnly) {
        connection.send(new OutgoingMessage(connection.messageAddress).createSyncMessage().writeFirstSyncStepFor(live).toUint8Array())
      }
    }
  }

  /**
   * Re-checks every loaded document: after an interruption of the control channel, access changes
   * made on other instances meanwhile may never have been heard of here.
   */
  async refreshAll(): Promise<void> {
    for (const documentId of [...(this.#hocuspocus?.documents.keys() ?? [])]) {
      await this.refresh(documentId).catch((error) => this.#log.error({ err: error, documentId }, 'live access: refresh failed'))
    }
  }

  /** Closes every live connection to a document (it is being deleted). */
  closeAll(documentId: string): void {
    const live = this.#hocuspocus?.documents.get(documentId)
    for (const connection of live?.getConnections() ?? []) {
      denyConnection(connection as Connection<CollabContext>, CloseEvents.NotFound.reason, this.#log, { deleted: true })
    }
  }

  /** Makes sure connections through a link with an expiry are closed when it passes. */
  watchLinkExpiry(linkId: string, documentId: string): void {
    if (this.#expiryTimers.has(linkId)) return
    void findShareLinkById(this.#db, linkId)
      .then((link) => {
        if (!link?.expires_at || this.#expiryTimers.has(linkId)) return
        // setTimeout holds 32-bit delays; a far expiry is re-armed on the next connection instead.
        const delay = Math.min(Math.max(0, Number(link.expires_at) - Date.now()) + 50, 2 ** 31 - 1)
        const timer = setTimeout(() => {
          this.#expiryTimers.delete(linkId)
          this.refresh(documentId).catch((error) => this.#log.error({ err: error, documentId }, 'live access: refresh failed'))
        }, delay)
        timer.unref()
        this.#expiryTimers.set(linkId, timer)
      })
      .catch((error) => this.#log.error({ err: error, linkId }, 'live access: could not watch link expiry'))
  }

  stop(): void {
    for (const timer of this.#expiryTimers.values()) clearTimeout(timer)
    this.#expiryTimers.clear()
  }

  async #currentRole(caller: Caller, document: Parameters<typeof resolveRole>[2]) {
    if (caller.kind === 'link') {
      // The link in the context is a snapshot from connect time: re-read it.
      const link = await findShareLinkById(this.#db, caller.link.id)
      const active = link && link.revoked_at === null && (link.expires_at === null || Number(link.expires_at) > Date.now())
      return active && link.document_id === document.id ? link.role : undefined
    }
    return resolveRole(this.#db, caller, document)
  }
}
