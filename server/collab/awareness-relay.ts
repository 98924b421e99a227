import type {
  afterLoadDocumentPayload,
  afterUnloadDocumentPayload,
  Document,
  Extension,
  onAwarenessUpdatePayload,
} from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness'
import type { RedisConnection } from '../redis/connection.ts'
import type { CollabContext } from './context.ts'

export interface AwarenessRelayOptions {
  connection: RedisConnection
  log: FastifyBaseLogger
  /** How often this instance says it is alive. */
  heartbeatMs?: number
  /** States of an instance silent for longer than this are removed everywhere else. */
  expireAfterMs?: number
}

const VERSION = 1
const Kind = { Update: 0, Query: 1 } as const

interface Relayed {
  document: Document
  /** Client ids shown here on behalf of another instance, and which one. */
  remote: Map<number, string>
  /** Remote ids this instance removed when their instance went silent (see `#apply`). */
  expired: Set<number>
  /** What is added to a remote id's clock here, once it came back after being expired (see `#apply`). */
  clockOffsets: Map<number, number>
}

/**
 * Presence across instances, over Redis pub/sub (`<prefix>!awareness:<document>`, binary:
 * version, instance id, kind, awareness update). Replaces extension-redis's awareness, which stops
 * publishing once an instance has no local connection (so the last client's removal never leaves
 * it) and goes through Hocuspocus's re-encoding, which drops removals.
 *
 * - Every change to a local client's state is published, removals included, whatever is left
 *   connected here. Remote states are applied straight to the document's awareness with an
 *   origin of our own: they are broadcast to local clients, never republished, and never pass
 *   the PresenceExtension's connection checks (they were checked where they came from). A remote
 *   id shows as taken there, so no local client can claim it.
 * - An instance that loads a document, or comes back after a Redis outage, asks the others for
 *   their states (and republishes its own).
 * - Every instance publishes a heartbeat on `<prefix>!instances`; states of an instance silent for
 *   `expireAfterMs` (killed, cut off) are removed here, and a clean shutdown says so at once.
 */
export class AwarenessRelay implements Extension<CollabContext> {
  extensionName = 'awareness-relay'
  readonly #connection: RedisConnection
  readonly #log: FastifyBaseLogger
  readonly #heartbeatMs: number
  readonly #expireAfterMs: number
  /** The origin of states applied from other instances; compared by identity. */
  readonly #origin = Object.freeze({ source: 'redis' as const, relay: 'awareness' })
  readonly #documents = new Map<string, Relayed>()
  /** When each other instance was last heard from. */
  readonly #lastSeen = new Map<string, number>()
  readonly #peerExpired = new Set<(instance: string) => void>()
  readonly #timers: NodeJS.Timeout[] = []

  constructor(options: AwarenessRelayOptions) {
    this.#connection = options.connection
    this.#log = options.log
    this.#heartbeatMs = options.heartbeatMs ?? 1_000
    this.#expireAfterMs = options.expireAfterMs ?? 3_000
    const { connection } = options
    connection.route(connection.name('!', 'awareness:'), (channel, message) => this.#receive(channel, message))
    connection.route(this.#instancesChannel(), (_, message) => this.#receiveHeartbeat(message))
    connection.onUp(() => this.#resync())
    this.#timers.push(
      setInterval(() => this.#heartbeat('alive'), this.#heartbeatMs).unref(),
      setInterval(() => this.#expireSilent(), Math.max(50, Math.floor(this.#heartbeatMs / 4))).unref(),
    )
  }

  async afterLoadDocument({ documentName, document }: afterLoadDocumentPayload<CollabContext>): Promise<void> {
    this.#documents.set(documentName, { document, remote: new Map(), expired: new Set(), clockOffsets: new Map() })
    if (!this.#connection.isUp()) return // asked for after Redis returns
    try {
      await this.#connection.subscriber.subscribe(this.#channel(documentName))
      await this.#publish(documentName, Kind.Query)
    } catch (error) {
      this.#log.debug({ err: error, documentName }, 'awareness relay: could not ask for states; will on reconnect')
    }
  }

  async afterUnloadDocument({ documentName, instance }: afterUnloadDocumentPayload): Promise<void> {
    if (instance.documents.has(documentName)) return
    this.#documents.delete(documentName)
    if (this.#connection.isUp()) this.#connection.subscriber.unsubscribe(this.#channel(documentName)).catch(() => undefined)
  }

  /** Publishes local clients' changes. Hocuspocus does not await this hook: it never throws. */
  async onAwarenessUpdate(payload: onAwarenessUpdatePayload<CollabContext>): Promise<void> {
    const { documentName, document, added, updated, removed, transactionOrigin } = payload
    if (transactionOrigin === this.#origin) return
    const relayed = this.#documents.get(documentName)
    if (!relayed || relayed.document !== document) return
    const ids: number[] = []
    for (const id of [...added, ...updated, ...removed] as number[]) {
      if (id === document.awareness.clientID) continue
      // A remote state gone here (the awareness' own timeout) is not a local change.
      if (relayed.remote.has(id)) {
        if (!document.awareness.getStates().has(id)) relayed.remote.delete(id)
        continue
      }
      ids.push(id)
    }
    if (ids.length === 0 || !this.#connection.isUp()) return
    try {
      await this.#publish(documentName, Kind.Update, encodeAwarenessUpdate(document.awareness, ids))
    } catch (error) {
      this.#log.debug({ err: error, documentName }, 'awareness relay: publish failed; republished on reconnect')
    }
  }

  /** Says goodbye (the others drop this instance's states at once) and stops the timers. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer)
    await this.#heartbeat('gone')
  }

  #receive(channel: string, message: Buffer): void {
    const documentName = channel.slice(this.#channel('').length)
    const relayed = this.#documents.get(documentName)
    const decoder = decoding.createDecoder(message)
    if (decoding.readVarUint(decoder) !== VERSION) return
    const instance = decoding.readVarString(decoder)
    if (instance === this.#connection.instanceId) return
    this.markSeen(instance)
    if (!relayed) return
    const kind = decoding.readVarUint(decoder)
    if (kind === Kind.Query) this.#publishLocal(documentName, relayed)
    else if (kind === Kind.Update) this.#apply(relayed, instance, decoding.readVarUint8Array(decoder))
  }

  /** Applies another instance's states, except for ids a local connection holds. */
  #apply(relayed: Relayed, instance: string, update: Uint8Array): void {
    const { awareness } = relayed.document
    const states = awareness.getStates()
    const decoder = decoding.createDecoder(update)
    const kept = encoding.createEncoder()
    const ids: number[] = []
    const count = decoding.readVarUint(decoder)
    const entries: { id: number; clock: number; state: string }[] = []
    for (let i = 0; i < count; i++) {
      const id = decoding.readVarUint(decoder)
      let clock = decoding.readVarUint(decoder) + (relayed.clockOffsets.get(id) ?? 0)
      const state = decoding.readVarString(decoder)
      const owner = relayed.remote.get(id)
      const local = owner === undefined && states.has(id) && !relayed.expired.has(id)
      if (local || id === awareness.clientID) continue
      // Only the instance showing a state may remove it (a client that moved is shown by its new one).
      if (state === 'null' && owner !== undefined && owner !== instance) continue
      // Removing it when its instance went silent advanced its clock here and on local clients,
      // past the state its instance still has: from now on its clocks count from further on.
      if (relayed.expired.delete(id)) {
        const current = awareness.meta.get(id)?.clock ?? 0
        if (clock <= current) {
          relayed.clockOffsets.set(id, (relayed.clockOffsets.get(id) ?? 0) + current + 1 - clock)
          clock = current + 1
        }
      }
      entries.push({ id, clock, state })
      ids.push(id)
    }
    if (entries.length === 0) return
    encoding.writeVarUint(kept, entries.length)
    for (const { id, clock, state } of entries) {
      encoding.writeVarUint(kept, id)
      encoding.writeVarUint(kept, clock)
      encoding.writeVarString(kept, state)
    }
    applyAwarenessUpdate(awareness, encoding.toUint8Array(kept), this.#origin)
    for (const id of ids) {
      if (states.has(id)) relayed.remote.set(id, instance)
      else relayed.remote.delete(id)
    }
  }

  #publishLocal(documentName: string, relayed: Relayed): void {
    const { awareness } = relayed.document
    const ids = [...awareness.getStates().keys()].filter((id) => id !== awareness.clientID && !relayed.remote.has(id))
    if (ids.length === 0) return
    this.#publish(documentName, Kind.Update, encodeAwarenessUpdate(awareness, ids)).catch((error) =>
      this.#log.debug({ err: error, documentName }, 'awareness relay: answering a query failed'),
    )
  }

  #receiveHeartbeat(message: Buffer): void {
    let parsed: { v?: unknown; type?: unknown; instance?: unknown }
    try {
      parsed = JSON.parse(message.toString()) as typeof parsed
    } catch {
      return
    }
    if (parsed.v !== VERSION || typeof parsed.instance !== 'string' || parsed.instance === this.#connection.instanceId) return
    if (parsed.type === 'alive') this.markSeen(parsed.instance)
    else if (parsed.type === 'gone') this.#expire(parsed.instance)
  }

  /**
   * Another instance is alive (a heartbeat, or any message from it). One never heard from before
   * is answered with a heartbeat at once: a newcomer learns of every peer within a round trip,
   * not a heartbeat interval later, so a peer that dies right after it started is still noticed.
   */
  markSeen(instance: string): void {
    if (instance === this.#connection.instanceId) return
    const known = this.#lastSeen.has(instance)
    this.#lastSeen.set(instance, Date.now())
    if (!known) void this.#heartbeat('alive')
  }

  #expireSilent(): void {
    const cutoff = Date.now() - this.#expireAfterMs
    for (const [instance, seen] of this.#lastSeen) if (seen < cutoff) this.#expire(instance)
  }

  /** Called with an instance that stopped saying it is alive (it died, or Redis cut us off). */
  onPeerExpired(listener: (instance: string) => void): void {
    this.#peerExpired.add(listener)
  }

  /** Removes every state shown on behalf of `instance` (it died, or Redis is cut off from us). */
  #expire(instance: string): void {
    this.#lastSeen.delete(instance)
    for (const listener of this.#peerExpired) {
      try {
        listener(instance)
      } catch (error) {
        this.#log.error({ err: error, instance }, 'awareness relay: a peer-expired listener failed')
      }
    }
    for (const [documentName, relayed] of this.#documents) {
      const ids = [...relayed.remote].filter(([, owner]) => owner === instance).map(([id]) => id)
      if (ids.length === 0) continue
      for (const id of ids) {
        relayed.remote.delete(id)
        relayed.expired.add(id)
      }
      try {
        removeAwarenessStates(relayed.document.awareness, ids, this.#origin)
      } catch (error) {
        this.#log.warn({ err: error, documentName }, 'awareness relay: removing a silent instance’s states failed')
      }
    }
  }

  async #heartbeat(type: 'alive' | 'gone'): Promise<void> {
    if (!this.#connection.isUp()) return
    const message = JSON.stringify({ v: VERSION, type, instance: this.#connection.instanceId })
    await this.#connection.client.publish(this.#instancesChannel(), message).catch(() => undefined)
  }

  /** After (re)connecting: subscribe again, republish local states, ask for everyone else's. */
  async #resync(): Promise<void> {
    try {
      const channels = [this.#instancesChannel(), ...[...this.#documents.keys()].map((name) => this.#channel(name))]
      await this.#connection.subscriber.subscribe(...channels)
      await this.#heartbeat('alive')
      for (const [documentName, relayed] of this.#documents) {
        this.#publishLocal(documentName, relayed)
        await this.#publish(documentName, Kind.Query)
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'awareness relay: resync after reconnecting failed')
    }
  }

  #publish(documentName: string, kind: number, update?: Uint8Array): Promise<number> {
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, VERSION)
    encoding.writeVarString(encoder, this.#connection.instanceId)
    encoding.writeVarUint(encoder, kind)
    if (update) encoding.writeVarUint8Array(encoder, update)
    return this.#connection.client.publish(this.#channel(documentName), Buffer.from(encoding.toUint8Array(encoder)))
  }

  #channel(documentName: string): string {
    return this.#connection.name('!', `awareness:${documentName}`)
  }

  #instancesChannel(): string {
    return this.#connection.name('!', 'instances')
  }
}
