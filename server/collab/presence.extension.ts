import type {
  afterLoadDocumentPayload,
  beforeHandleAwarenessPayload,
  Connection,
  Document,
  Extension,
} from '@hocuspocus/server'
import { isTransactionOrigin } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import * as encoding from 'lib0/encoding'
import { applyAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import { CloseEvents } from '../../shared/close-codes.ts'
import type { Caller } from '../auth/caller.ts'
import { type AwarenessEntry, parseAwarenessState } from './awareness-frame.ts'
import { routeAwarenessFrames } from './awareness-routing.ts'
import type { CollabMetrics } from './collab-metrics.ts'
import type { CollabContext } from './context.ts'

export interface PresenceOptions {
  /** Awareness client ids one connection may announce; ids beyond the first N are refused. */
  maxClientIds: number
  /** Largest awareness state, in bytes of JSON after the identity is stamped in. */
  maxStateBytes: number
  metrics: CollabMetrics
  log: FastifyBaseLogger
}

/** The identity others see in `state.user`, whatever the client claimed. */
export interface PresenceUser {
  id: string
  name: string
}

export const GUEST_NAME = 'Guest'

const DropReason = {
  NotOwned: 'client id owned by another connection',
  TooManyIds: 'too many client ids on one connection',
  TooLarge: 'state too large',
  NotAnObject: 'state is not an object',
  NoIdentity: 'connection has no identity',
} as const
type DropReason = (typeof DropReason)[keyof typeof DropReason]

/**
 * Makes presence trustworthy. Stock Hocuspocus relays any awareness a client sends: a viewer or
 * link holder could rewrite another client's state (a fake "Ada (owner)"), announce hundreds of
 * fake users, or relay megabytes to everyone. Here, on both /collab and /yjs (one path serves both):
 *
 * - a connection sets and removes only the client ids it announced itself; an id another live
 *   connection announced (or any id whose state is already shown) can't be claimed;
 * - a connection announces at most `maxClientIds` ids (the first ones stay its own until it closes);
 * - a state over `maxStateBytes` is dropped;
 * - `state.user.id` / `state.user.name` are the authenticated caller's (a share link is "Guest"),
 *   replacing what the client wrote; other fields (colour, cursor) pass through.
 *
 * Refused entries are dropped silently (counted, logged at debug): throwing would close the
 * client's connection, and its other entries are still fine.
 */
export class PresenceExtension implements Extension<CollabContext> {
  extensionName = 'presence'
  readonly #options: PresenceOptions
  /** The ids each live connection announced, in order; kept until the connection closes. */
  readonly #owned = new WeakMap<Connection<CollabContext>, Set<number>>()

  constructor(options: PresenceOptions) {
    this.#options = options
  }

  /** Every connection of the document hands its awareness frames to `applyFrame`. */
  async afterLoadDocument({ document }: afterLoadDocumentPayload<CollabContext>): Promise<void> {
    routeAwarenessFrames(document, {
      apply: (connection, entries) => this.applyFrame(connection, entries),
      // As an undecodable update is (message-validation.extension.ts): the document's connection ends.
      refuse: (connection) => {
        this.#options.metrics.invalidMessages += 1
        this.#options.log.debug({ socketId: connection.socketId, documentName: connection.document.name }, 'presence: undecodable awareness frame')
        connection.close({ ...CloseEvents.InvalidMessage })
      },
    })
  }

  /**
   * Fail closed: client awareness reaching Hocuspocus' own path (only if the routing above stopped
   * working, e.g. after a Hocuspocus upgrade) would skip every rule here, so it is refused whole.
   * Awareness relayed by the server itself (another instance, a direct connection) is trusted.
   */
  async beforeHandleAwareness({ states, transactionOrigin, socketId, documentName }: beforeHandleAwarenessPayload<CollabContext>): Promise<void> {
    if (!isTransactionOrigin(transactionOrigin) || transactionOrigin.source !== 'connection') return
    states.clear()
    this.#options.log.warn({ socketId, documentName }, 'presence: awareness frame bypassed the presence rules; refused')
  }

  /**
   * Applies a client's awareness frame to its document, after the rules above. Hocuspocus' own
   * path decodes every awareness frame into a scratch Y.Doc and Awareness (the Y.Doc's random guid
   * alone is 31 WebCrypto calls): a fifth of the server's CPU per new connection in the capacity
   * benchmark. Here only the entries that pass are encoded and applied, with the connection as
   * origin, so Hocuspocus tracks the ids for its close cleanup and broadcasts them as usual.
   *
   * - a removal (`null` state, e.g. `awareness.setLocalState(null)`) applies to ids the connection
   *   owns, as y-protocols would apply it (a newer clock, or the same one while a state is shown);
   * - a state whose clock isn't newer than the shown one, for an id the connection doesn't own, is
   *   skipped without counting as a refusal: y-websocket clients echo every state they receive
   *   back to the server, and such an echo would change nothing.
   */
  applyFrame(connection: Connection<CollabContext>, entries: AwarenessEntry[]): void {
    const { document } = connection
    // A frame still queued when its connection closed would leave a state nobody removes.
    if (!document.hasConnection(connection)) return
    try {
      const user = presenceUser(connection.context?.caller)
      // Read per entry: an id claimed by an earlier entry of this frame is owned for the later ones.
      const owns = (clientId: number) => this.#owned.get(connection)?.has(clientId) ?? false
      const encoder = encoding.createEncoder()
      let applied = 0
      const write = (entry: AwarenessEntry, json: string) => {
        encoding.writeVarUint(encoder, entry.clientId)
        encoding.writeVarUint(encoder, entry.clock)
        encoding.writeVarString(encoder, json)
        applied += 1
      }
      for (const entry of entries) {
        if (entry.removed) {
          if (owns(entry.clientId) && isNewerRemoval(document, entry)) write(entry, 'null')
          continue
        }
        if (!owns(entry.clientId) && !isNewer(document, entry)) continue
        // Oversized is refused by its size alone, never parsed.
        const state = entry.stateBytes > this.#options.maxStateBytes ? undefined : parseAwarenessState(entry)
        const reason = user ? this.#refusal(document, connection, entry, state, user) : DropReason.NoIdentity
        if (reason) this.#dropped(connection.socketId, document.name, entry.clientId, reason)
        else write(entry, JSON.stringify(state))
      }
      if (applied === 0) return
      const update = encoding.createEncoder()
      encoding.writeVarUint(update, applied)
      encoding.writeUint8Array(update, encoding.toUint8Array(encoder))
      applyAwarenessUpdate(document.awareness, encoding.toUint8Array(update), { source: 'connection', connection })
    } catch (error) {
      // Never throw out of here: the frame is dropped, the connection stays.
      this.#options.log.warn(
        { err: error, socketId: connection.socketId, documentName: document.name },
        'presence: applying an awareness frame failed',
      )
    }
  }

  /** Why `state` may not be shown for `entry.clientId`; stamps and claims it when it may. */
  #refusal(
    document: Document,
    connection: Connection<CollabContext>,
    entry: AwarenessEntry,
    state: unknown,
    user: PresenceUser,
  ): DropReason | undefined {
    const owned = this.#ownedBy(connection)
    const isOwn = owned.has(entry.clientId)
    if (!isOwn && this.#isTaken(document, connection, entry.clientId)) return DropReason.NotOwned
    if (!isOwn && owned.size >= this.#options.maxClientIds) return DropReason.TooManyIds
    // Cheap check first: what arrived over the cap is refused before anything is serialised.
    if (entry.stateBytes > this.#options.maxStateBytes) return DropReason.TooLarge
    if (!isPlainObject(state)) return DropReason.NotAnObject
    state.user = { ...(isPlainObject(state.user) ? state.user : {}), id: user.id, name: user.name }
    if (Buffer.byteLength(JSON.stringify(state)) > this.#options.maxStateBytes) return DropReason.TooLarge
    owned.add(entry.clientId)
    return undefined
  }

  /** Shown already (another connection's, or another instance's), or announced by another connection. */
  #isTaken(document: Document, connection: Connection<CollabContext>, clientId: number): boolean {
    if (clientId === document.awareness.clientID || document.awareness.getStates().has(clientId)) return true
    for (const [other, { clients }] of document.connections) {
      if (other === connection) continue
      if (clients.has(clientId) || this.#owned.get(other as Connection<CollabContext>)?.has(clientId)) return true
    }
    return false
  }

  #ownedBy(connection: Connection<CollabContext>): Set<number> {
    let owned = this.#owned.get(connection)
    if (!owned) {
      const ids = new Set<number>()
      owned = ids
      this.#owned.set(connection, ids)
      // Hocuspocus removes, on close, the ids it saw *added* by this connection; an id removed and
      // then set again counts as "updated" there, so it would stay visible. Remove what's left.
      connection.onClose((document) => {
        try {
          const left = [...ids].filter((id) => document.awareness.getStates().has(id))
          if (left.length > 0) removeAwarenessStates(document.awareness, left, null)
        } catch (error) {
          this.#options.log.warn(
            { err: error, socketId: connection.socketId, documentName: document.name },
            'presence: cleanup on close failed',
          )
        }
      })
    }
    return owned
  }

  #dropped(socketId: string, documentName: string, clientId: number, reason: DropReason): void {
    this.#options.metrics.droppedAwarenessStates += 1
    // Ids and reasons only: a state may hold anything the client typed.
    this.#options.log.debug(
      { socketId, documentName, clientId, reason },
      'presence: awareness state dropped',
    )
  }
}

/** The identity stamped into presence: the user's id and name, or "Guest" for a share link. */
export function presenceUser(caller: Caller | undefined): PresenceUser | undefined {
  if (!caller) return undefined
  if (caller.kind === 'user') return { id: caller.user.id, name: caller.user.name }
  return { id: `link:${caller.link.id}`, name: GUEST_NAME }
}

/** As y-protocols decides: a state applies when its clock is newer than the one the server holds. */
function isNewer(document: Document, entry: AwarenessEntry): boolean {
  return (document.awareness.meta.get(entry.clientId)?.clock ?? 0) < entry.clock
}

/** As y-protocols decides: a removal applies when its clock is newer, or equal while a state is shown. */
function isNewerRemoval(document: Document, entry: AwarenessEntry): boolean {
  const current = document.awareness.meta.get(entry.clientId)?.clock ?? 0
  return current < entry.clock || (current === entry.clock && document.awareness.getStates().has(entry.clientId))
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
