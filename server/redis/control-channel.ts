import type { FastifyBaseLogger } from 'fastify'
import type { SessionEndReason } from '../auth/session-events.ts'
import type { RedisConnection } from './connection.ts'

/**
 * What one instance tells the others (and itself). Ids and roles only: never a token, a password
 * or a share link's secret, since every instance and anyone who can read Redis sees these.
 */
export type ControlMessage =
  /** A role changed, a collaborator was removed or a share link revoked: re-check live connections. */
  | { type: 'access-changed'; documentId: string }
  /** The document was renamed: tell its live connections the title (read from the database). */
  | { type: 'document-renamed'; documentId: string }
  /** The document is gone: close its connections and forget its unstored updates. */
  | { type: 'document-deleted'; documentId: string }
  /** A sign-in ended (sign-out, refresh token reused): close the sockets and streams opened with it. */
  | { type: 'session-ended'; sessionId: string; userId: string; reason: SessionEndReason }
  /** A user's stream events were written up to `eventId`: nudge their live notification streams. */
  | { type: 'notification'; userId: string; eventId: number }

export type ControlType = ControlMessage['type']
export type ControlHandler<T extends ControlType> = (message: Extract<ControlMessage, { type: T }>) => unknown

/**
 * The wire format's version, bumped whenever a field changes meaning. A message of another version
 * (an instance of another release, mid-deploy) is logged and ignored, never guessed at.
 */
export const CONTROL_VERSION = 1

const SUBSCRIBE_RETRY_MS = 1_000

/** What every message carries besides its own fields. */
interface Envelope {
  v: typeof CONTROL_VERSION
  /** The sending instance: it has acted on the message already and skips its own copy. */
  origin: string
}

export interface ControlChannelOptions {
  log: FastifyBaseLogger
  /** Multi-instance mode; absent, messages are dispatched in this process only. */
  redis?: RedisConnection
}

/**
 * Control messages: access changes, deletions, sign-outs and notification nudges that every
 * instance must act on for its own sockets and streams. One Redis pub/sub channel
 * (`<prefix>!control`) of versioned JSON in multi-instance mode; in one process, a plain
 * in-process dispatch, so callers never branch on the mode. `!`, not `:`: document sync uses
 * `<prefix>:<document id>`, and `control` is a valid document id, while `!` is in none.
 *
 * The sender acts at once, in process (its caller can await that), and publishes for the others;
 * it ignores its own copy coming back, so nothing is done twice. Pub/sub delivers at most once: a
 * message sent while an instance is cut off from Redis never reaches it, so each time Redis is
 * back the `reconnected` listeners re-check what may have been missed (see app wiring).
 */
export class ControlChannel {
  readonly #handlers = new Map<ControlType, Set<(message: ControlMessage) => unknown>>()
  readonly #reconnected = new Set<() => unknown>()
  readonly #log: FastifyBaseLogger
  readonly #redis: RedisConnection | undefined
  readonly #channel: string | undefined
  readonly #unsubscribe: (() => void)[] = []
  #subscribed = false
  /** Redis was away since the last subscription: messages may have been missed. */
  #interrupted = false
  #publishFailureLogged = false
  #stopped = false
  #retry: NodeJS.Timeout | undefined

  constructor(options: ControlChannelOptions) {
    this.#log = options.log
    this.#redis = options.redis
    this.#channel = options.redis?.name('!', 'control')
  }

  /** True in single-process mode; in multi-instance mode, whether messages from others arrive now. */
  get subscribed(): boolean {
    return !this.#redis || (this.#subscribed && this.#redis.isUp())
  }

  on<T extends ControlType>(type: T, handler: ControlHandler<T>): () => void {
    let set = this.#handlers.get(type)
    if (!set) {
      set = new Set()
      this.#handlers.set(type, set)
    }
    const entry = handler as (message: ControlMessage) => unknown
    set.add(entry)
    return () => set.delete(entry)
  }

  /** Called each time the subscription is back after an interruption (messages may have been lost). */
  onReconnected(listener: () => unknown): () => void {
    this.#reconnected.add(listener)
    return () => this.#reconnected.delete(listener)
  }

  /**
   * Tells every instance. Resolves once this instance's own handlers have run; the others hear of
   * it through Redis. A failed publish is logged, never thrown: the change that caused it is
   * committed, this instance has acted on it, and the others catch up when Redis is back.
   */
  async publish(message: ControlMessage): Promise<void> {
    if (this.#redis && this.#channel && !this.#stopped) {
      const envelope: Envelope & ControlMessage = { v: CONTROL_VERSION, origin: this.#redis.instanceId, ...message }
      this.#redis.client.publish(this.#channel, JSON.stringify(envelope)).catch((error: Error) => {
        // Once per outage: every nudge fails the same way until Redis is back.
        if (this.#publishFailureLogged) return
        this.#publishFailureLogged = true
        this.#log.warn(
          { err: { message: error.message }, type: message.type },
          'control channel: publish failed (Redis unreachable); other instances re-check when it is back',
        )
      })
    }
    await this.#dispatch(message)
  }

  /** Listens on the channel (multi-instance mode) now and after every outage. */
  start(): void {
    const redis = this.#redis
    const channel = this.#channel
    if (!redis || !channel) return
    this.#unsubscribe.push(
      redis.route(channel, (from, payload) => {
        if (from === channel) this.#receive(payload.toString())
      }),
      // At start and after every outage: Redis may have come back empty, without our subscription.
      redis.onUp(() => this.#subscribe(redis, channel)),
      redis.onDown(() => {
        if (this.#subscribed) this.#interrupted = true
        this.#subscribed = false
      }),
    )
    if (redis.isUp()) void this.#subscribe(redis, channel)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#subscribed = false
    clearTimeout(this.#retry)
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
    if (this.#redis && this.#channel) await this.#redis.subscriber.unsubscribe(this.#channel).catch(() => undefined)
  }

  async #subscribe(redis: RedisConnection, channel: string): Promise<void> {
    try {
      await redis.subscriber.subscribe(channel)
    } catch (error) {
      this.#log.warn({ err: { message: (error as Error).message } }, 'control channel: subscribe failed')
      // Gone again: the next time Redis is up tries again. Still up (a timeout): try again soon,
      // or this instance would stay deaf (and not ready) for as long as Redis stays up.
      if (redis.isUp() && !this.#stopped) {
        clearTimeout(this.#retry)
        this.#retry = setTimeout(() => void this.#subscribe(redis, channel), SUBSCRIBE_RETRY_MS)
        this.#retry.unref()
      }
      return
    }
    if (this.#stopped) return
    this.#subscribed = true
    this.#publishFailureLogged = false
    if (!this.#interrupted) return
    this.#interrupted = false
    this.#log.info('control channel: subscribed again after an interruption; re-checking live access')
    for (const listener of this.#reconnected) {
      try {
        await listener()
      } catch (error) {
        this.#log.error({ err: error }, 'control channel: catch-up after reconnect failed')
      }
    }
  }

  #receive(payload: string): void {
    const message = parseControlMessage(payload)
    if (!message) {
      this.#log.warn({ bytes: payload.length }, 'control channel: ignored a message it cannot read (another version?)')
      return
    }
    if (message.origin === this.#redis?.instanceId) return
    void this.#dispatch(message.body)
  }

  async #dispatch(message: ControlMessage): Promise<void> {
    const handlers = [...(this.#handlers.get(message.type) ?? [])]
    // Each handler starts synchronously, as a plain event emitter would call it.
    const results = await Promise.allSettled(handlers.map(async (handler) => handler(message)))
    for (const result of results) {
      if (result.status === 'rejected') {
        this.#log.error({ err: result.reason, type: message.type }, 'control channel: handler failed')
      }
    }
  }
}

const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 1024

/** Reads one message off the wire: undefined for anything malformed or of another version. */
export function parseControlMessage(payload: string): { origin: string; body: ControlMessage } | undefined {
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof raw !== 'object' || raw === null || raw.v !== CONTROL_VERSION || !isId(raw.origin)) return undefined
  const origin = raw.origin
  switch (raw.type) {
    case 'access-changed':
    case 'document-renamed':
    case 'document-deleted':
      return isId(raw.documentId) ? { origin, body: { type: raw.type, documentId: raw.documentId } } : undefined
    case 'session-ended':
      if (!isId(raw.sessionId) || !isId(raw.userId)) return undefined
      if (raw.reason !== 'signed-out' && raw.reason !== 'refresh-token-reused') return undefined
      return { origin, body: { type: raw.type, sessionId: raw.sessionId, userId: raw.userId, reason: raw.reason } }
    case 'notification':
      if (!isId(raw.userId) || !Number.isSafeInteger(raw.eventId)) return undefined
      return { origin, body: { type: raw.type, userId: raw.userId, eventId: raw.eventId as number } }
    default:
      return undefined
  }
}
