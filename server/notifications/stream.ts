import type { OutgoingHttpHeader, ServerResponse } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import { CLOCK_TOLERANCE_SECONDS } from '../auth/identity-provider.ts'
import type { SessionEvents } from '../auth/session-events.ts'
import { findExistingUserIds, findLiveSessions } from '../auth/sessions.queries.ts'
import type { Db } from '../db/schema.ts'
import type { NotificationBus } from './notification-bus.ts'
import { latestStreamEventId, readStreamEvents, type StreamEvent } from './notification-events.queries.ts'
import { countUnread } from './notifications.queries.ts'
import { stillHasAccess } from './recipients.ts'

export const STREAM_DEFAULTS = {
  /** A comment this often keeps proxies from timing the connection out and tells clients it lives. */
  heartbeatMs: 25_000,
} as const

const TOLERANCE_MS = CLOCK_TOLERANCE_SECONDS * 1_000
const PAGE = 500
/**
 * On MySQL, auto-increment ids are handed out at insert time but become visible at commit, so a
 * transaction holding id 10 may commit after the one holding id 11 was read. A stream re-reads
 * the ids it has seen for this long before treating everything below them as final, so such a
 * straggler is still sent (its own signal wakes the stream). Longer than any inbox transaction.
 */
const SETTLE_MS = 30_000
/** Events written this long ago are final whenever they are first read (a replay's old events). */
const SETTLED_AGE_MS = 10 * 60_000
/** A client that lets this much pile up unread is dropped; it resumes from its last id when it reconnects. */
const MAX_BUFFERED_BYTES = 1 << 20
/** Item types that are about a document the user no longer sees, by design. */
const ABOUT_LOST_ACCESS = new Set(['document.unshared', 'document.deleted'])

/** Who a stream belongs to, from the token it was opened with. */
export interface StreamOwner {
  userId: string
  /** The sign-in the token belongs to: a sign-out closes its streams. */
  sessionId?: string
  /** When the token expires (ms since epoch): the stream closes then, after the clock tolerance. */
  expiresAt?: number
}

export type StreamCloseReason = 'client' | 'token-expired' | 'signed-out' | 'unknown-user' | 'slow-client' | 'shutdown' | 'error'

export interface NotificationStreamsOptions {
  db: Db
  bus: NotificationBus
  sessions: SessionEvents
  log: FastifyBaseLogger
  /** How often the database is asked whether stream owners still exist (and are still signed in). */
  checkIntervalMs: number
  /** Whether sign-ins live in our database (the built-in provider) and can be checked there. */
  checkSessions: boolean
  heartbeatMs?: number
}

/**
 * The live notification streams (Server-Sent Events) of this process. Events come from the
 * `notification_events` table, which is the truth: the bus only says when to read it, so a stream
 * that reconnects with its last id is sent exactly what it missed.
 */
export class NotificationStreams {
  readonly #options: NotificationStreamsOptions
  readonly #streams = new Set<NotificationStream>()
  readonly #checkTimer: NodeJS.Timeout
  readonly #unsubscribe: () => void
  #checking = false
  #stopped = false

  constructor(options: NotificationStreamsOptions) {
    this.#options = options
    this.#unsubscribe = options.sessions.onEnded(({ sessionId }) => {
      for (const stream of this.#streams) if (stream.owner.sessionId === sessionId) stream.close('signed-out')
    })
    this.#checkTimer = setInterval(() => void this.check(), options.checkIntervalMs)
    this.#checkTimer.unref()
  }

  /** False once shutdown began: no new streams. */
  get accepting(): boolean {
    return !this.#stopped
  }

  get size(): number {
    return this.#streams.size
  }

  /**
   * Starts a stream on a response Fastify no longer manages (hijacked). `after`: the last event id
   * the client saw (replay what follows); without it the stream starts now, with the unread count.
   * `headers`: headers already set on the reply (CORS, security), sent along.
   */
  open(
    owner: StreamOwner,
    response: ServerResponse,
    options: { after?: number; headers?: Record<string, OutgoingHttpHeader | number | undefined> } = {},
  ): void {
    const stream = new NotificationStream(this.#options, owner, response, () => this.#streams.delete(stream))
    this.#streams.add(stream)
    if (this.#stopped) return stream.close('shutdown')
    stream.start(options.after, options.headers)
  }

  /** Closes every stream; clients reconnect (elsewhere, or here after a restart) and resume. */
  stop(): void {
    this.#stopped = true
    clearInterval(this.#checkTimer)
    this.#unsubscribe()
    for (const stream of this.#streams) stream.close('shutdown')
  }

  /** Closes the streams of deleted accounts and of sign-ins revoked elsewhere. */
  async check(): Promise<void> {
    if (this.#checking || this.#streams.size === 0) return
    this.#checking = true
    try {
      const streams = [...this.#streams]
      const { db } = this.#options
      const existing = await findExistingUserIds(db, [...new Set(streams.map((s) => s.owner.userId))])
      const sessionIds = streams.flatMap((s) => (s.owner.sessionId ? [s.owner.sessionId] : []))
      const live = this.#options.checkSessions ? await findLiveSessions(db, [...new Set(sessionIds)]) : undefined
      for (const stream of streams) {
        if (!existing.has(stream.owner.userId)) stream.close('unknown-user')
        else if (live && stream.owner.sessionId && !live.has(stream.owner.sessionId)) stream.close('signed-out')
      }
    } catch (error) {
      this.#options.log.error({ err: error }, 'notification stream check failed')
    } finally {
      this.#checking = false
    }
  }
}

/** One client's stream: replays from the table, then follows the bus. */
class NotificationStream {
  readonly owner: StreamOwner
  readonly #options: NotificationStreamsOptions
  readonly #response: ServerResponse
  readonly #onClosed: () => void
  readonly #timers: NodeJS.Timeout[] = []
  #unsubscribe: (() => void) | undefined
  /** Every event at or below this id has been sent (or filtered out) and nothing more can appear there. */
  #floor = 0
  /** Ids above the floor already handled, with when they were read (see SETTLE_MS). */
  readonly #seen = new Map<number, number>()
  #pumping = false
  #again = false
  #closed = false

  constructor(options: NotificationStreamsOptions, owner: StreamOwner, response: ServerResponse, onClosed: () => void) {
    this.#options = options
    this.owner = owner
    this.#response = response
    this.#onClosed = onClosed
    response.on('close', () => this.close('client'))
    // A write to a socket that just died; 'close' follows and cleans up.
    response.on('error', () => {})
  }

  start(after: number | undefined, headers: Record<string, OutgoingHttpHeader | number | undefined> = {}): void {
    const inherited = Object.entries(headers).filter((entry): entry is [string, OutgoingHttpHeader | number] => entry[1] !== undefined)
    this.#response.writeHead(200, {
      ...Object.fromEntries(inherited),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx buffers proxied responses unless told not to; events would arrive in bursts.
      'x-accel-buffering': 'no',
    })
    this.#response.flushHeaders()
    // Subscribe before reading where to start, so no event can fall between the two.
    this.#unsubscribe = this.#options.bus.subscribe(this.owner.userId, ({ eventId }) => {
      if (eventId > this.#floor && !this.#seen.has(eventId)) void this.#pump()
    })
    const heartbeatMs = this.#options.heartbeatMs ?? STREAM_DEFAULTS.heartbeatMs
    this.#timers.push(setInterval(() => this.#write(': heartbeat\n\n'), heartbeatMs))
    if (this.owner.expiresAt !== undefined) {
      // The same tolerance REST and sockets allow; the client reconnects with a fresh token.
      const ms = Math.min(2 ** 31 - 1, Math.max(0, this.owner.expiresAt + TOLERANCE_MS - Date.now()))
      this.#timers.push(setTimeout(() => this.close('token-expired'), ms))
    }
    for (const timer of this.#timers) timer.unref()
    void this.#begin(after)
  }

  close(reason: StreamCloseReason): void {
    if (this.#closed) return
    this.#closed = true
    for (const timer of this.#timers) clearTimeout(timer)
    this.#unsubscribe?.()
    if (!this.#response.writableEnded) this.#response.end()
    this.#onClosed()
    this.#options.log.debug({ userId: this.owner.userId, reason }, 'notification stream closed')
  }

  async #begin(after: number | undefined): Promise<void> {
    const { db } = this.#options
    try {
      const latest = await latestStreamEventId(db, this.owner.userId)
      // An id from the future (another database, a hand-made header) can't be resumed from.
      if (after !== undefined && after <= latest) {
        this.#floor = after
      } else {
        // Counted after reading the latest id, so the count is at least as new as the id it is sent with.
        const count = await countUnread(db, this.owner.userId)
        this.#floor = latest
        this.#send({ id: latest, event: 'unread-count', data: JSON.stringify({ count }) })
      }
    } catch (error) {
      return this.#fail(error)
    }
    await this.#pump()
  }

  /** Sends what the table holds past the floor; one pass at a time, another if nudged meanwhile. */
  async #pump(): Promise<void> {
    if (this.#closed) return
    if (this.#pumping) {
      this.#again = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#again = false
        this.#settle()
        let from = this.#floor
        for (;;) {
          const events = await readStreamEvents(this.#options.db, this.owner.userId, from, PAGE)
          const lastCount = events.findLast((event) => event.event === 'unread-count' && !this.#seen.has(event.id))
          for (const event of events) {
            from = event.id
            if (this.#closed) return
            if (this.#seen.has(event.id)) continue
            this.#seen.set(event.id, event.createdAt <= Date.now() - SETTLED_AGE_MS ? 0 : Date.now())
            if (event === lastCount) this.#send(await this.#recounted(event))
            else if (await this.#visible(event)) this.#send(event)
          }
          if (events.length < PAGE) break
        }
      } while (this.#again && !this.#closed)
    } catch (error) {
      this.#fail(error)
    } finally {
      this.#pumping = false
    }
  }

  /** Raises the floor past ids seen long enough ago that nothing below them can still commit. */
  #settle(): void {
    const settledBefore = Date.now() - SETTLE_MS
    for (const [id, seenAt] of this.#seen) {
      if (seenAt > settledBefore) continue
      this.#floor = Math.max(this.#floor, id)
      this.#seen.delete(id)
    }
    for (const id of this.#seen.keys()) if (id <= this.#floor) this.#seen.delete(id)
  }

  /**
   * The newest unread count a read brought, counted again as it is sent. A stored count was taken
   * inside the inbox write's transaction, blind to another write committing alongside it (on
   * another instance, or for another document): two such writes each store a count one short, and
   * a stream that sent the stored one would show it until the next change. Counted after the
   * read, this one includes every item whose events the stream has sent.
   */
  async #recounted(event: StreamEvent): Promise<StreamEvent> {
    const count = await countUnread(this.#options.db, this.owner.userId)
    return { ...event, data: JSON.stringify({ count }) }
  }

  /** Access is checked again at delivery: nothing more about a document the user lost. */
  async #visible(event: StreamEvent): Promise<boolean> {
    if (event.event !== 'notification') return true
    const item = JSON.parse(event.data) as { type?: string; documentId?: string | null }
    if (!item.documentId || ABOUT_LOST_ACCESS.has(item.type ?? '')) return true
    return stillHasAccess(this.#options.db, this.owner.userId, item.documentId)
  }

  #send(event: Pick<StreamEvent, 'id' | 'event' | 'data'>): void {
    // JSON has no raw line breaks, but the SSE framing must hold whatever the column holds.
    const data = event.data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('')
    this.#write(`id: ${event.id}\nevent: ${event.event}\n${data}\n`)
  }

  #write(chunk: string): void {
    if (this.#closed) return
    this.#response.write(chunk)
    if (this.#response.writableLength > MAX_BUFFERED_BYTES) this.close('slow-client')
  }

  #fail(error: unknown): void {
    if (this.#closed) return
    this.#options.log.error({ err: error, userId: this.owner.userId }, 'notification stream failed')
    this.close('error')
  }
}
