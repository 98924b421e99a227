import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../db/schema.ts'
import { acquireJobLock, releaseJobLock } from '../versions/retention.queries.ts'

/** The `job_locks` row: one instance at a time cleans up. */
export const CLEANUP_LOCK = 'notification-cleanup'

const DAY_MS = 86_400_000

export interface CleanupOptions {
  db: Db
  log: FastifyBaseLogger
  /** Read inbox items not updated for this many days are deleted (NOTIFICATION_RETENTION_DAYS). */
  retentionDays: number
  intervalMs?: number
  startDelayMs?: number
}

export const cleanupDefaults = {
  intervalMs: 3_600_000,
  startDelayMs: 60_000,
  /** Delivered outbox rows are kept this long (to answer "was it sent?"), then deleted. */
  deliveredOutboxDays: 7,
  /** Live streams replay at most this far back after a reconnect. */
  streamEventDays: 7,
  leaseMs: 600_000,
  /** Rows per delete statement: no long lock on a busy table. */
  chunkRows: 1_000,
}

export interface CleanupResult {
  status: 'done' | 'locked'
  notifications: number
  outbox: number
  streamEvents: number
}

/** One cleanup pass under the `job_locks` lease. */
export async function runCleanup(options: CleanupOptions, now = Date.now()): Promise<CleanupResult> {
  const { db } = options
  const holder = randomUUID()
  if (!(await acquireJobLock(db, CLEANUP_LOCK, holder, cleanupDefaults.leaseMs, now))) {
    return { status: 'locked', notifications: 0, outbox: 0, streamEvents: 0 }
  }
  try {
    const notifications = await deleteInChunks(() =>
      db
        .selectFrom('notifications')
        .select('id')
        .where('read_at', 'is not', null)
        .where('updated_at', '<', now - options.retentionDays * DAY_MS)
        .limit(cleanupDefaults.chunkRows)
        .execute()
        .then((rows) => rows.map((row) => row.id)),
    (ids) => db.deleteFrom('notifications').where('id', 'in', ids).execute(),
    )
    const outbox = await deleteInChunks(() =>
      db
        .selectFrom('outbox')
        .select('id')
        .where('status', '=', 'delivered')
        .where('delivered_at', '<', now - cleanupDefaults.deliveredOutboxDays * DAY_MS)
        .limit(cleanupDefaults.chunkRows)
        .execute()
        .then((rows) => rows.map((row) => row.id)),
    (ids) => db.deleteFrom('outbox').where('id', 'in', ids).execute(),
    )
    const streamEvents = await deleteInChunks(() =>
      db
        .selectFrom('notification_events')
        .select('id')
        .where('created_at', '<', now - cleanupDefaults.streamEventDays * DAY_MS)
        .limit(cleanupDefaults.chunkRows)
        .execute()
        .then((rows) => rows.map((row) => Number(row.id))),
    (ids) => db.deleteFrom('notification_events').where('id', 'in', ids).execute(),
    )
    return { status: 'done', notifications, outbox, streamEvents }
  } finally {
    await releaseJobLock(db, CLEANUP_LOCK, holder)
  }
}

async function deleteInChunks<Id>(next: () => Promise<Id[]>, remove: (ids: Id[]) => Promise<unknown>): Promise<number> {
  let total = 0
  for (let ids = await next(); ids.length > 0; ids = await next()) {
    await remove(ids)
    total += ids.length
    if (ids.length < cleanupDefaults.chunkRows) break
  }
  return total
}

/** Runs `runCleanup` every `intervalMs` (hourly) until stopped. */
export class CleanupJob {
  readonly #options: CleanupOptions
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> | undefined
  #stopped = false

  constructor(options: CleanupOptions) {
    this.#options = options
  }

  start(): void {
    this.#schedule(this.#options.startDelayMs ?? cleanupDefaults.startDelayMs)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = runCleanup(this.#options)
        .then((result) => this.#options.log.debug(result, 'notification cleanup: pass done'))
        .catch((error: unknown) => this.#options.log.error({ err: error }, 'notification cleanup: pass failed'))
        .finally(() => {
          this.#running = undefined
          this.#schedule(this.#options.intervalMs ?? cleanupDefaults.intervalMs)
        })
    }, delayMs)
    // Never the reason the process stays up.
    this.#timer.unref()
  }
}
