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
import type { CollabNotice } from '../../shared/collab-notices.ts'

/** A cached role is read again after this long even without an access change heard of. */
const ROLE_CACHE_MS = 30_000
const ROLE_CACHE_MAX_DOCUMENTS = 10_000

/**
 * Applies access changes to live connections: after a role change, a removal, a revoked or expired
 * link, or a deleted document, every connection to the document is re-checked at once and ended
 * (permission-denied `not-found`, then closed) or switched to read-only / read-write, and told its
 * new role (a `CollabNotice`, as are renames) so an editor can follow without reconnecting.
 *
 * It also answers "which role does this caller get on connecting?", cached per (caller, document):
 * a user opens one socket per document and tab, and reconnects after every network blip, each a
 * document and a membership query otherwise. The same access changes that re-check live
 * connections forget the document's cached roles first; while the control channel is cut off
 * (a Redis outage) the cache is not used at all.
 */
export class LiveAccess {
  #hocuspocus: Hocuspocus<CollabContext> | undefined
  readonly #db: Db
  readonly #log: FastifyBaseLogger
  readonly #expiryTimers = new Map<string, NodeJS.Timeout>()
  /** documentId → caller (authorId) → role and when it was read. */
  readonly #roles = new Map<string, Map<string, { role: Role; readAt: number }>>()
  /** documentId → access changes heard of; a read that raced one is not cached. */
  readonly #changes = new Map<string, number>()
  /** Times every document was re-checked at once (after a control-channel outage). */
  #epoch = 0
  /** Whether access changes made elsewhere reach this instance now (see `trustCachedRolesWhile`). */
  #cacheTrusted: () => boolean = () => true

  constructor(db: Db, log: FastifyBaseLogger) {
    this.#db = db
    this.#log = log
  }

  attach(hocuspocus: Hocuspocus<CollabContext>): void {
    this.#hocuspocus = hocuspocus
  }

  /**
   * Cached roles are used only while `heard()` says access changes made on other instances reach
   * this one (the control channel is subscribed); while they may be missed, every connect reads the
   * database, and the re-check after the outage forgets what was cached before it.
   */
  trustCachedRolesWhile(heard: () => boolean): void {
    this.#cacheTrusted = heard
  }

  /** The role `caller` gets on connecting to the document, or undefined (unknown or not theirs). */
  async roleOnConnect(caller: Caller, documentId: string): Promise<Role | undefined> {
    const key = authorId(caller)
    const trusted = this.#cacheTrusted()
    const cached = trusted ? this.#roles.get(documentId)?.get(key) : undefined
    if (cached && Date.now() - cached.readAt < ROLE_CACHE_MS) return cached.role
    const changesBefore = this.#changes.get(documentId) ?? 0
    const epochBefore = this.#epoch
    const readAt = Date.now()
    const document = await findDocument(this.#db, documentId)
    const role = document && (await resolveRole(this.#db, caller, document))
    // Only grants are remembered: a refusal is rare, and a share made a moment later must work.
    const raced = (this.#changes.get(documentId) ?? 0) !== changesBefore || this.#epoch !== epochBefore
    if (!role || !trusted || raced) return role
    let roles = this.#roles.get(documentId)
    if (!roles) {
      if (this.#roles.size >= ROLE_CACHE_MAX_DOCUMENTS) this.#roles.delete(this.#roles.keys().next().value as string)
      roles = new Map()
      this.#roles.set(documentId, roles)
    }
    roles.set(key, { role, readAt })
    return role
  }

  /** Cached roles on the document are stale: an access change was made or heard of. */
  #forget(documentId: string): void {
    this.#roles.delete(documentId)
    this.#changes.set(documentId, (this.#changes.get(documentId) ?? 0) + 1)
    // The counter only has to outlive reads in flight; an unbounded map of them would not do.
    if (this.#changes.size > ROLE_CACHE_MAX_DOCUMENTS) this.#changes.delete(this.#changes.keys().next().value as string)
  }

  /** Re-checks every live connection to the document against the database. */
  async refresh(documentId: string): Promise<void> {
    this.#forget(documentId)
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
        connection.sendStateless(noticePayload({ type: 'access', role }))
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

  /** Tells every live connection to the document its title, read now (the last rename wins). */
  async renamed(documentId: string): Promise<void> {
    const live = this.#hocuspocus?.documents.get(documentId)
    if (!live) return
    const document = await findDocument(this.#db, documentId)
    if (!document) return
    const notice = noticePayload({ type: 'document', title: document.title })
    for (const connection of live.getConnections()) connection.sendStateless(notice)
  }

  /**
   * Re-checks every loaded document: after an interruption of the control channel, access changes
   * made on other instances meanwhile may never have been heard of here.
   */
  async refreshAll(): Promise<void> {
    this.#roles.clear()
    this.#epoch++
    for (const documentId of [...(this.#hocuspocus?.documents.keys() ?? [])]) {
      await this.refresh(documentId).catch((error) => this.#log.error({ err: error, documentId }, 'live access: refresh failed'))
    }
  }

  /** Closes every live connection to a document (it is being deleted). */
  closeAll(documentId: string): void {
    this.#forget(documentId)
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

/** A stateless message's payload: the client's provider hands it to its `stateless` listeners. */
function noticePayload(notice: CollabNotice): string {
  return JSON.stringify(notice)
}
