import type {
  afterHandleMessagePayload,
  beforeHandleAwarenessPayload,
  beforeHandleMessagePayload,
  Connection,
  Document,
  Extension,
} from '@hocuspocus/server'
import { isTransactionOrigin } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import { removeAwarenessStates } from 'y-protocols/awareness'
import type { Caller } from '../auth/caller.ts'
import { type AwarenessEntry, readAwarenessFrame } from './awareness-frame.ts'
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
 * fake users, or relay megabytes to everyone. Here, on both /collab and /yjs (one hook serves both):
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
  /**
   * The entries of the awareness frame a connection is handling. A connection handles one frame at
   * a time (beforeHandleMessage → apply → afterHandleMessage), so one slot per connection is enough.
   */
  readonly #inFlight = new WeakMap<Connection<CollabContext>, Map<number, AwarenessEntry>>()

  constructor(options: PresenceOptions) {
    this.#options = options
  }

  async beforeHandleMessage({ connection, update }: beforeHandleMessagePayload<CollabContext>): Promise<void> {
    try {
      const entries = readAwarenessFrame(update)
      if (entries) this.#inFlight.set(connection, new Map(entries.map((e) => [e.clientId, e])))
      else this.#inFlight.delete(connection)
    } catch (error) {
      this.#options.log.warn({ err: error, socketId: connection.socketId }, 'presence: reading an awareness frame failed')
    }
  }

  async beforeHandleAwareness(payload: beforeHandleAwarenessPayload<CollabContext>): Promise<void> {
    const { states, transactionOrigin } = payload
    // Awareness relayed by the server itself (another instance, a direct connection) is trusted.
    if (!isTransactionOrigin(transactionOrigin) || transactionOrigin.source !== 'connection') return
    try {
      this.#filter(payload, transactionOrigin.connection as Connection<CollabContext>)
    } catch (error) {
      // Never throw out of here (that closes the connection); refuse the whole frame instead.
      states.clear()
      this.#options.log.warn(
        { err: error, socketId: payload.socketId, documentName: payload.documentName },
        'presence: filtering failed',
      )
    }
  }

  /**
   * Hocuspocus re-encodes only the states left in the hook's map, so a client's removal (a `null`
   * state, e.g. `awareness.setLocalState(null)`) never reaches anyone and the cursor lingers until
   * the socket closes. Apply removals here, for ids the connection owns.
   */
  async afterHandleMessage({ connection, document }: afterHandleMessagePayload<CollabContext>): Promise<void> {
    const entries = this.#inFlight.get(connection)
    this.#inFlight.delete(connection)
    if (!entries) return
    try {
      const owned = this.#owned.get(connection)
      const removed = [...entries.values()]
        .filter((e) => e.removed && owned?.has(e.clientId) && isNewerRemoval(document, e))
        .map((e) => e.clientId)
      if (removed.length > 0 && document.hasConnection(connection)) {
        removeAwarenessStates(document.awareness, removed, { source: 'connection', connection })
      }
    } catch (error) {
      this.#options.log.warn(
        { err: error, socketId: connection.socketId, documentName: document.name },
        'presence: applying a removal failed',
      )
    }
  }

  #filter(payload: beforeHandleAwarenessPayload<CollabContext>, connection: Connection<CollabContext>): void {
    const { states, document, context } = payload
    const entries = this.#inFlight.get(connection)
    // A frame still queued when its connection closed would leave a state nobody removes.
    if (!entries || !document.hasConnection(connection)) {
      states.clear()
      return
    }
    const user = presenceUser(context?.caller)
    for (const [clientId, state] of states) {
      // Hocuspocus decodes into a scratch Awareness whose own placeholder id shows up in the map.
      const entry = entries.get(clientId)
      if (!entry) {
        states.delete(clientId)
        continue
      }
      // y-websocket clients echo every state they receive back to the server. Such an echo changes
      // nothing (its clock isn't newer), so it goes without being counted as a refusal.
      if (!this.#owned.get(connection)?.has(clientId) && !isNewer(document, entry)) {
        states.delete(clientId)
        continue
      }
      const reason = user
        ? this.#refusal(document, connection, entry, state, user)
        : DropReason.NoIdentity
      if (reason) {
        states.delete(clientId)
        this.#dropped(payload, clientId, reason)
      }
    }
  }

  /** Why `state` may not be shown for `entry.clientId`; stamps and claims it when it may. */
  #refusal(
    document: Document,
    connection: Connection<CollabContext>,
    entry: AwarenessEntry,
    state: Record<string, unknown>,
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

  #dropped(payload: beforeHandleAwarenessPayload<CollabContext>, clientId: number, reason: DropReason): void {
    this.#options.metrics.droppedAwarenessStates += 1
    // Ids and reasons only: a state may hold anything the client typed.
    this.#options.log.debug(
      { socketId: payload.socketId, documentName: payload.documentName, clientId, reason },
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
