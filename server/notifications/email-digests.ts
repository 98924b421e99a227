import type { FastifyBaseLogger } from 'fastify'
import { DIGEST_MINUTES } from '../../shared/api/notifications.ts'
import type { Db, NotificationRow, Trx } from '../db/schema.ts'
import { parseActors } from './notification-dto.ts'
import { digestEmail, type EmailMessage } from './email-templates.ts'
import { enqueueOutbox } from './outbox.queries.ts'
import { isMuted, stillHasAccess } from './recipients.ts'

/** An email outbox row holding a user's digest: the items it lists, composed when sent. */
export interface DigestPayload {
  kind: 'digest'
  userId: string
  itemIds: string[]
}

export interface DigestSchedulerOptions {
  db: Db
  log: FastifyBaseLogger
  /** Between passes. */
  intervalMs?: number
  /** How long a "minute" of `digestMinutes` lasts: tests shorten it, nothing else should. */
  minuteMs?: number
  /** Users digested per pass, oldest waiting first. */
  batchSize?: number
  /** Called after a pass queued digests (the outbox worker sends them without waiting for its next poll). */
  onQueued?: () => void
}

export const digestSchedulerDefaults = {
  intervalMs: 30_000,
  minuteMs: 60_000,
  batchSize: 500,
}

interface Candidate {
  userId: string
  firstAt: number
  digestMinutes: number
  lastDigestAt: number | null
}

/** Another instance digested (or the user read) some of the items between the read and the write. */
class DigestRaced extends Error {}

/**
 * Email digests. A user with email on (`digest`, the default when they have an address) gets one
 * `digestMinutes` after the first unread item no digest has included yet, listing the items still
 * unread and undigested then, never two within `digestMinutes`. Each digest is written in one
 * transaction: the email's outbox row, the items marked digested, the user's `last_digest_at`.
 */
export class DigestScheduler {
  readonly #options: Required<Omit<DigestSchedulerOptions, 'onQueued'>> & Pick<DigestSchedulerOptions, 'onQueued'>
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = false

  constructor(options: DigestSchedulerOptions) {
    this.#options = {
      ...options,
      intervalMs: options.intervalMs ?? digestSchedulerDefaults.intervalMs,
      minuteMs: options.minuteMs ?? digestSchedulerDefaults.minuteMs,
      batchSize: options.batchSize ?? digestSchedulerDefaults.batchSize,
    }
  }

  start(): void {
    if (this.#stopped || this.#timer) return
    this.#schedule()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running
  }

  /**
   * One pass; resolves with how many digests it queued. Who is due is judged as of `asOf` (tests
   * look ahead instead of waiting); what it writes carries the real time.
   */
  async runOnce(asOf = Date.now()): Promise<number> {
    const { db, log, minuteMs } = this.#options
    let queued = 0
    for (const candidate of await this.#candidates()) {
      const periodMs = candidate.digestMinutes * minuteMs
      const dueAt = Math.max(candidate.firstAt, candidate.lastDigestAt ?? 0) + periodMs
      if (dueAt > asOf) continue
      try {
        if (await queueDigest(db, candidate.userId, periodMs, Date.now())) queued++
      } catch (error) {
        if (!(error instanceof DigestRaced)) log.error({ err: error, userId: candidate.userId }, 'digest: could not queue')
      }
    }
    if (queued > 0) this.#options.onQueued?.()
    return queued
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce()
        .then(
          () => undefined,
          (error: unknown) => this.#options.log.error({ err: error }, 'digest: pass failed'),
        )
        .finally(() => {
          this.#running = undefined
          this.#schedule()
        })
    }, this.#options.intervalMs)
  }

  /** Users with unread items no digest has included yet, whose email is on and who have an address. */
  async #candidates(): Promise<Candidate[]> {
    const rows = await this.#options.db
      .selectFrom('notifications as n')
      .innerJoin('users as u', 'u.id', 'n.user_id')
      .leftJoin('notification_settings as s', 's.user_id', 'n.user_id')
      .select((eb) => ['n.user_id', eb.fn.min('n.created_at').as('firstAt'), 's.digest_minutes', 's.last_digest_at'])
      .where('n.read_at', 'is', null)
      .where('n.digested_at', 'is', null)
      .where('u.email', 'is not', null)
      .where((eb) => eb.or([eb('s.email', 'is', null), eb('s.email', '=', 'digest')]))
      .groupBy(['n.user_id', 's.digest_minutes', 's.last_digest_at'])
      .orderBy('firstAt', 'asc')
      .limit(this.#options.batchSize)
      .execute()
    return rows.map((row) => ({
      userId: row.user_id,
      firstAt: Number(row.firstAt),
      digestMinutes: Number(row.digest_minutes ?? DIGEST_MINUTES.default),
      lastDigestAt: row.last_digest_at === null ? null : Number(row.last_digest_at),
    }))
  }
}

/**
 * Queues one user's digest, all in one transaction. Items that can't be listed (muted since, access
 * lost) are marked digested too, so they don't bring the user back every pass; when none is left
 * nothing is sent and `last_digest_at` stays.
 */
async function queueDigest(db: Db, userId: string, periodMs: number, now: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const items = await trx
      .selectFrom('notifications')
      .selectAll()
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .where('digested_at', 'is', null)
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .execute()
    const first = items[0]
    if (!first) return false
    const ids = items.map((item) => item.id)
    // Conditional, so two instances (or a read in between) can't both digest the same items.
    const marked = await trx
      .updateTable('notifications')
      .set({ digested_at: now })
      .where('id', 'in', ids)
      .where('digested_at', 'is', null)
      .where('read_at', 'is', null)
      .executeTakeFirst()
    if (Number(marked.numUpdatedRows) !== ids.length) throw new DigestRaced()
    const listed = await listable(trx, userId, items)
    if (listed.length === 0) return false
    const payload: DigestPayload = { kind: 'digest', userId, itemIds: listed.map((item) => item.id) }
    await enqueueOutbox(
      trx,
      [{ channel: 'email', idempotencyKey: `digest:${userId}:${first.id}:${Math.floor(now / periodMs)}`, payload }],
      now,
    )
    await trx
      .insertInto('notification_settings')
      .ignore()
      .values({ user_id: userId, email: 'digest', digest_minutes: DIGEST_MINUTES.default, last_digest_at: null, updated_at: now })
      .execute()
    await trx.updateTable('notification_settings').set({ last_digest_at: now }).where('user_id', '=', userId).execute()
    return true
  })
}

/** The digest, composed when it is sent: only items still unread, not muted, about documents the user can still open. */
export async function composeDigest(db: Db, payload: DigestPayload, publicUrl: string): Promise<EmailMessage | undefined> {
  const user = await db
    .selectFrom('users')
    .leftJoin('notification_settings as s', 's.user_id', 'users.id')
    .select(['users.email', 'users.name', 's.email as mode'])
    .where('users.id', '=', payload.userId)
    .executeTakeFirst()
  if (!user?.email || user.mode === 'off' || payload.itemIds.length === 0) return undefined
  const items = await db
    .selectFrom('notifications')
    .selectAll()
    .where('user_id', '=', payload.userId)
    .where('id', 'in', payload.itemIds)
    .where('read_at', 'is', null)
    .orderBy('updated_at', 'desc')
    .execute()
  const lines = await listable(db, payload.userId, items)
  if (lines.length === 0) return undefined
  return digestEmail(
    { email: user.email, name: user.name },
    lines.map((item) => ({
      type: item.type,
      documentId: item.document_id,
      documentTitle: item.document_title,
      actors: parseActors(item.actors),
      count: Number(item.count),
    })),
    publicUrl,
  )
}

/**
 * Items the user may still be told about. Items saying the document is gone (deleted, unshared)
 * are about a document they can no longer open, by design, and stay.
 */
async function listable(db: Db | Trx, userId: string, items: readonly NotificationRow[]): Promise<NotificationRow[]> {
  const kept: NotificationRow[] = []
  for (const item of items) {
    if (item.type === 'document.deleted' || item.type === 'document.unshared' || item.document_id === null) {
      kept.push(item)
      continue
    }
    if ((await stillHasAccess(db, userId, item.document_id)) && !(await isMuted(db, userId, item.document_id))) kept.push(item)
  }
  return kept
}
