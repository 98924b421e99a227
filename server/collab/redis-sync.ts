import type {
  afterLoadDocumentPayload,
  afterUnloadDocumentPayload,
  beforeBroadcastStatelessPayload,
  Document,
  onChangePayload,
} from '@hocuspocus/server'
import { isTransactionOrigin, OutgoingMessage } from '@hocuspocus/server'
import { Redis as RedisExtension } from '@hocuspocus/extension-redis'
import type { FastifyBaseLogger } from 'fastify'
import * as decoding from 'lib0/decoding'
import type { RedisConnection } from '../redis/connection.ts'
import { HocuspocusMessage } from './frames.ts'

export interface RedisSyncOptions {
  connection: RedisConnection
  log: FastifyBaseLogger
  /**
   * How long loading a document open on another instance waits for that instance's state (its
   * edits not yet stored). Stock default.
   */
  awaitInitialSyncTimeoutMs?: number
  /** Told which instance each relayed message came from (it is alive), and about which document. */
  onPeerMessage?: (instance: string, documentName: string) => void
  /** Told when a document is unloaded here. */
  onUnload?: (documentName: string) => void
}

/** Relayed between instances; awareness goes through the AwarenessRelay, nothing else is expected. */
const RELAYED = new Set<number>([HocuspocusMessage.Sync, HocuspocusMessage.SyncReply, HocuspocusMessage.BroadcastStateless])
const RESYNC_RETRY_MS = 1_000

/**
 * Document sync across instances: `@hocuspocus/extension-redis` (its load-time state exchange,
 * message handling and reply channels), changed where our server needs something else:
 *
 * - each local change is published as the update itself, one message, instead of a state vector
 *   that costs every peer a diff of the whole document and two more round trips;
 * - no store lock: each instance appends only the updates its own clients and REST calls made
 *   (relayed ones are `redis`-origin, which the update log skips), so no instance may skip its
 *   store because another one is storing — that would leave its edits unstored;
 * - no unload delay: nothing waits for a round trip once updates travel themselves;
 * - awareness is left to the AwarenessRelay (stock stops publishing when an instance has no
 *   local connection, and Hocuspocus's re-encoding drops removals);
 * - a Redis outage never fails a load, a change or a broadcast: the instance serves its own
 *   clients, and when Redis is back every loaded document is resubscribed and resynced.
 */
export class RedisSync extends RedisExtension {
  readonly #connection: RedisConnection
  readonly #log: FastifyBaseLogger
  readonly #onUnload: ((documentName: string) => void) | undefined
  #resyncTimer: NodeJS.Timeout | undefined

  constructor(options: RedisSyncOptions) {
    const { connection } = options
    const clients = [connection.client, connection.subscriber]
    super({
      // The shared pair: publishing on the first, subscribing on the second.
      createClient: () => clients.shift()!,
      identifier: connection.instanceId,
      prefix: connection.keyPrefix,
      awaitInitialSyncTimeout: options.awaitInitialSyncTimeoutMs ?? 1_000,
      disconnectDelay: 0,
    })
    this.#connection = connection
    this.#log = options.log
    this.#onUnload = options.onUnload
    // The extension publishes without awaiting in places (its answers to peers' sync requests):
    // a publish failing there would be an unhandled rejection, which ends the process. Every
    // publish of the extension goes through here instead; a lost one is made up by a resync.
    const publish = (channel: string, message: Buffer | string) =>
      connection.client.publish(channel, message).catch(() => {
        this.#scheduleResync()
        return 0
      })
    this.pub = new Proxy(connection.client, {
      get: (target, property) => {
        if (property === 'publish') return publish
        const value: unknown = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    // Messages reach the extension through the connection's router, filtered, and never as an
    // unhandled rejection (that would end the process).
    const stock = this['handleIncomingMessage']
    this.sub.off('messageBuffer', stock)
    const receive = (channel: string, message: Buffer) => {
      const documentName = relayedDocument(message)
      if (documentName === undefined) return
      options.onPeerMessage?.(message.subarray(1, 1 + message[0]!).toString(), documentName)
      return stock(Buffer.from(channel), message)
    }
    connection.route(`${connection.keyPrefix}:`, receive)
    connection.route(`${connection.keyPrefix}#reply:`, receive)
    connection.onUp(() => this.#resync())
  }

  /** Subscribes and syncs with the peers; while Redis is away the document loads from storage alone. */
  override async afterLoadDocument(payload: afterLoadDocumentPayload): Promise<void> {
    const { documentName, document } = payload
    if (!this.#connection.isUp()) {
      this.#track(documentName, document)
      return
    }
    const sync = super.afterLoadDocument(payload).catch((error) => {
      this.#track(documentName, document)
      this.#log.warn({ err: error, documentName }, 'redis sync: syncing a loaded document failed; will resync')
      this.#scheduleResync()
    })
    // A frozen Redis must not hold the load for a command timeout per step.
    const cap = this.configuration.awaitInitialSyncTimeout + 500
    let timer: NodeJS.Timeout | undefined
    await Promise.race([sync, new Promise((resolve) => (timer = setTimeout(resolve, cap)))])
    clearTimeout(timer)
  }

  override async afterUnloadDocument({ documentName, instance }: afterUnloadDocumentPayload): Promise<void> {
    if (instance.documents.has(documentName)) return // loaded again meanwhile
    this.#onUnload?.(documentName)
    this['resolveInitialSync'](documentName)
    this['documents'].delete(documentName)
    if (this.#connection.isUp()) this.sub.unsubscribe(this.#channel(documentName)).catch(() => undefined)
  }

  /** Publishes the update itself (see the class comment); Hocuspocus does not await this hook. */
  override async onChange({ documentName, update, transactionOrigin }: onChangePayload): Promise<void> {
    if (isTransactionOrigin(transactionOrigin) && transactionOrigin.source === 'redis') return
    if (!this.#connection.isUp()) return // carried by the resync once Redis is back
    // Should Redis go away mid-publish, the resync after it returns carries this update.
    const message = new OutgoingMessage(documentName).createSyncMessage().writeUpdate(update).toUint8Array()
    await this.pub.publish(this.#channel(documentName), Buffer.concat([this.messagePrefix, message]))
  }

  /**
   * Whether another instance has the document loaded, so its live copy may hold edits not stored
   * yet. False while Redis is away (then the database is all there is to read).
   */
  async isOpenElsewhere(documentName: string): Promise<boolean> {
    if (!this.#connection.isUp()) return false
    try {
      const [, count] = (await this.pub.pubsub('NUMSUB', this.#channel(documentName))) as [string, number | string]
      return Number(count) > (this['documents'].has(documentName) ? 1 : 0)
    } catch {
      return false
    }
  }

  // Each instance stores its own clients' updates: no lock, no skipping (see the class comment).
  override async onStoreDocument(): Promise<void> {}
  override async afterStoreDocument(): Promise<void> {}
  override async beforeUnloadDocument(): Promise<void> {}
  // The AwarenessRelay carries presence.
  override async onAwarenessUpdate(): Promise<void> {}
  // The connections are shared and closed by the server at shutdown.
  override async onDestroy(): Promise<void> {}

  /** Resolves with the number of instances reached (0 while Redis is away). */
  override async beforeBroadcastStateless(data: beforeBroadcastStatelessPayload): Promise<number> {
    if (!this.#connection.isUp()) return 0
    // Hocuspocus does not await this hook: a rejection here would end the process.
    return super.beforeBroadcastStateless(data).catch((error) => {
      this.#log.warn({ err: error, documentName: data.documentName }, 'redis sync: stateless broadcast not relayed')
      return 0
    })
  }

  /**
   * After (re)connecting: Redis may have restarted empty, and messages published while this
   * instance was away are lost. Resubscribe every loaded document and publish its state vector:
   * each peer answers with what we lack and asks for what it lacks, so edits made on either side
   * during the outage converge.
   */
  async #resync(): Promise<void> {
    clearTimeout(this.#resyncTimer)
    this.#resyncTimer = undefined
    const documents = this.#loadedDocuments()
    try {
      const reply = this.#connection.subscriber.subscribe(this.#replyChannel()).then(() => undefined)
      this['replySubscription'] = reply
      await reply
      if (documents.size > 0) await this.sub.subscribe(...[...documents.keys()].map((name) => this.#channel(name)))
      await Promise.all([...documents].map(([name, document]) => this['publishFirstSyncStep'](name, document)))
      if (documents.size > 0) this.#log.info({ documents: documents.size }, 'redis sync: resynced loaded documents')
    } catch (error) {
      this.#log.warn({ err: error }, 'redis sync: resync failed; will retry')
      this.#scheduleResync()
    }
  }

  #scheduleResync(): void {
    if (this.#resyncTimer) return
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined
      if (this.#connection.isUp()) void this.#resync()
    }, RESYNC_RETRY_MS)
    this.#resyncTimer.unref()
  }

  /** Keeps a document reachable for incoming messages although its subscription is pending. */
  #track(documentName: string, document: Document): void {
    this['documents'].set(documentName, document)
  }

  #loadedDocuments(): Map<string, Document> {
    const documents = new Map<string, Document>(this['documents'])
    for (const [name, document] of this.instance?.documents ?? []) documents.set(name, document)
    return documents
  }

  #channel(documentName: string): string {
    return `${this.configuration.prefix}:${documentName}`
  }

  #replyChannel(): string {
    return `${this.configuration.prefix}#reply:${this.configuration.identifier}`
  }
}

/** `[identifier length][identifier][varString document][varUint type]…`: the document, if the type is one we relay. */
function relayedDocument(message: Buffer): string | undefined {
  try {
    const decoder = decoding.createDecoder(message)
    decoder.pos = 1 + message[0]!
    const documentName = decoding.readVarString(decoder)
    return RELAYED.has(decoding.readVarUint(decoder)) ? documentName : undefined
  } catch {
    return undefined
  }
}
