import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { DatabaseTarget } from '../config/config.ts'
import type { Db, OutboxChannel, OutboxRow } from '../db/schema.ts'
import { claimDueRows, markDelivered, markFailed, releaseClaims } from './outbox-claims.queries.ts'

/** One try of one outbox row, as a channel sees it. */
export interface OutboxDelivery {
  id: string
  /** The same on every try: receivers drop a second copy by it (webhook-id, email Message-ID). */
  idempotencyKey: string
  payload: unknown
  /** Tries before this one. */
  attempts: number
  /** Aborted when shutdown cuts the try short (the row is then released, not counted as failed). */
  signal: AbortSignal
}

/** Sends one delivery; resolving means delivered, throwing means retry later. */
export type ChannelSender = (delivery: OutboxDelivery) => Promise<void>

export interface OutboxWorkerOptions {
  db: Db
  dialect: DatabaseTarget['kind']
  log: FastifyBaseLogger
  /** A channel without a sender is left alone (its rows wait, e.g. email while SMTP is off). */
  senders: Partial<Record<OutboxChannel, ChannelSender>>
  /** Tries before a row is dead-lettered (`OUTBOX_MAX_ATTEMPTS`). */
  maxAttempts: number
  /** Between polls when there was nothing (or little) to do. */
  pollIntervalMs?: number
  /** Rows claimed per poll. */
  batchSize?: number
  /** Sends in flight at once, each started in a turn of the event loop of its own. */
  concurrency?: number
  /** How long a claim holds: well above the slowest send (webhooks time out after 10 s). */
  leaseMs?: number
  /** First retry delay; each further one doubles, up to `retryMaxMs`, with ±20 % jitter. */
  retryBaseMs?: number
  retryMaxMs?: number
  /** How long `stop()` lets sends in flight finish before aborting them. */
  stopGraceMs?: number
}

export const outboxWorkerDefaults = {
  pollIntervalMs: 2_000,
  batchSize: 20,
  concurrency: 4,
  leaseMs: 60_000,
  retryBaseMs: 5_000,
  retryMaxMs: 3_600_000,
  stopGraceMs: 5_000,
}

/**
 * Delay before try `attempt + 1` after `attempt` failed tries: `base·2^(attempt-1)`, capped, with
 * jitter so rows that failed together (a receiver's outage) don't all come back at once.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(Math.min(maxMs, exponential * (0.8 + 0.4 * random())))
}

/**
 * Delivers the outbox: polls for due rows, claims them (several instances never take the same
 * row), sends each through its channel, and records the result: delivered, retried later with
 * backoff, or dead-lettered after `maxAttempts`. A claim held by a process that died runs out after
 * `leaseMs` and the row is claimed again, so nothing is lost across crashes; a receiver may then see
 * a try twice, which the idempotency key lets it drop.
 *
 * Claiming and sending are a pipeline: `concurrency` lanes take claimed rows one after another,
 * and polls top the claimed-but-unsent rows up to `batchSize` whenever there is room. A receiver
 * that hangs holds one lane until its send times out (10 s for webhooks), never the rows behind it:
 * they go out through the other lanes, and so do rows queued meanwhile. (At most `batchSize` rows
 * wait per worker, so even with every lane stuck on 10 s timeouts the last one is sent within
 * batchSize / concurrency × 10 s = 50 s, inside its 60 s lease.)
 */
export class OutboxWorker {
  /** Written to `claimed_by`. */
  readonly workerId = randomUUID()
  readonly #options: OutboxWorkerOptions & typeof outboxWorkerDefaults
  readonly #channels: OutboxChannel[]
  readonly #abort = new AbortController()
  /** Claimed, not yet taken by a lane. */
  readonly #claimed: OutboxRow[] = []
  readonly #lanes = new Set<Promise<void>>()
  #sending = 0
  #timer: NodeJS.Timeout | undefined
  #polling: Promise<void> | undefined
  /** The last poll filled all the room it had: more rows may be due. */
  #more = false
  #stopped = false

  constructor(options: OutboxWorkerOptions) {
    this.#options = { ...outboxWorkerDefaults, ...withoutUndefined(options) }
    this.#channels = (Object.keys(options.senders) as OutboxChannel[]).filter((c) => options.senders[c])
  }

  start(): void {
    if (this.#channels.length === 0 || this.#stopped || this.#timer || this.#polling) return
    this.#schedule(0)
  }

  /** Polls now rather than at the next interval (after something was queued). */
  nudge(): void {
    if (this.#stopped || this.#polling || !this.#timer) return
    clearTimeout(this.#timer)
    this.#schedule(0)
  }

  /**
   * Stops polling and lets the sends in flight finish for up to `stopGraceMs`; the rest are aborted
   * and their rows (and the claimed ones not sent yet) released for another instance (or the next
   * start) to send.
   */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#polling
    // Rows not taken by a lane yet are left for the release below.
    this.#claimed.length = 0
    if (this.#lanes.size > 0) {
      const lanes = Promise.all(this.#lanes)
      let grace: NodeJS.Timeout | undefined
      const timedOut = new Promise<void>((resolve) => {
        grace = setTimeout(resolve, this.#options.stopGraceMs)
      })
      await Promise.race([lanes, timedOut])
      clearTimeout(grace)
      this.#abort.abort()
      await lanes
    }
    await releaseClaims(this.#options.db, this.workerId).catch((error: unknown) => {
      this.#options.log.warn({ err: error }, 'outbox: could not release claims at stop; they run out on their own')
    })
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#polling = this.#poll().finally(() => {
        this.#polling = undefined
        this.#next()
      })
    }, delayMs)
  }

  /** Claims due rows, as many as there is room for, and hands them to lanes. */
  async #poll(): Promise<void> {
    const { db, dialect, leaseMs } = this.#options
    const room = this.#room()
    if (room <= 0) {
      this.#more = true
      return
    }
    try {
      const rows = await claimDueRows(db, dialect, { workerId: this.workerId, channels: this.#channels, limit: room, leaseMs })
      this.#more = rows.length >= room
      if (this.#stopped) return // released by stop()
      this.#claimed.push(...rows)
      this.#fillLanes()
    } catch (error) {
      this.#more = false
      this.#options.log.error({ err: error }, 'outbox: poll failed')
    }
  }

  /** The next poll: at once while rows may be waiting and there is room, else after the interval. */
  #next(): void {
    if (this.#stopped || this.#timer || this.#polling) return
    if (!this.#more) this.#schedule(this.#options.pollIntervalMs)
    else if (this.#room() > 0) this.#schedule(0)
    // else: a lane finishing a row makes room and calls this again.
  }

  /**
   * Sends run on the event loop that also serves the sockets: starting a whole batch at once
   * (signing, `fetch` setup, then an UPDATE per row, SQLite's synchronously) held it for
   * 20–130 ms after a store with 20 webhooks, which typing clients felt as fan-out stalls. A few
   * sends at a time, each started after the loop had a turn, keep every block short; the network
   * waits still overlap.
   */
  #fillLanes(): void {
    while (this.#lanes.size < this.#options.concurrency && this.#claimed.length > 0) {
      const lane: Promise<void> = this.#lane().finally(() => {
        this.#lanes.delete(lane)
        this.#next()
      })
      this.#lanes.add(lane)
    }
  }

  async #lane(): Promise<void> {
    for (let row = this.#claimed.shift(); row; row = this.#claimed.shift()) {
      this.#sending++
      try {
        await new Promise((resolve) => setImmediate(resolve))
        await this.#deliver(row)
      } finally {
        this.#sending--
      }
      // Room was made: rows that may be waiting are claimed now, not after the whole batch.
      this.#next()
    }
  }

  /** Rows claimed and not yet sent or being sent: the poll tops them up to `batchSize`. */
  #room(): number {
    return this.#options.batchSize - this.#claimed.length - this.#sending
  }

  async #deliver(row: OutboxRow): Promise<void> {
    const { db, log, maxAttempts, retryBaseMs, retryMaxMs } = this.#options
    const sender = this.#options.senders[row.channel]!
    const context = { outboxId: row.id, channel: row.channel, idempotencyKey: row.idempotency_key }
    try {
      await sender({
        id: row.id,
        idempotencyKey: row.idempotency_key,
        payload: JSON.parse(row.payload),
        attempts: Number(row.attempts),
        signal: this.#abort.signal,
      })
    } catch (error) {
      if (this.#abort.signal.aborted) {
        await releaseClaims(db, this.workerId, [row.id]).catch(() => undefined)
        return
      }
      const attempts = Number(row.attempts) + 1
      const dead = attempts >= maxAttempts
      const message = error instanceof Error ? error.message : String(error)
      const nextAttemptAt = Date.now() + (dead ? 0 : backoffMs(attempts, retryBaseMs, retryMaxMs))
      try {
        await markFailed(db, row.id, this.workerId, { attempts, nextAttemptAt, error: message, dead })
      } catch (dbError) {
        log.error({ ...context, err: dbError }, 'outbox: could not record a failed try; retried when the claim runs out')
        return
      }
      if (dead) log.error({ ...context, attempts, error: message }, `outbox: ${row.channel} delivery dead-lettered after ${attempts} tries`)
      else log.warn({ ...context, attempts, error: message, retryAt: new Date(nextAttemptAt).toISOString() }, 'outbox: delivery failed; will retry')
      return
    }
    try {
      if (!(await markDelivered(db, row.id, this.workerId))) {
        log.warn(context, 'outbox: delivered after the claim ran out (another worker may send it again)')
      }
    } catch (error) {
      log.error({ ...context, err: error }, 'outbox: delivered but not recorded; it may be sent again')
    }
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
