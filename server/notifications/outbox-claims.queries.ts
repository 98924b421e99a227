import type { DatabaseTarget } from '../config/config.ts'
import type { Db, OutboxChannel, OutboxRow, Trx } from '../db/schema.ts'

export interface ClaimRequest {
  /** The claiming worker: written to `claimed_by`, and required by every later write to the row. */
  workerId: string
  channels: readonly OutboxChannel[]
  limit: number
  /** How long the claim holds; a worker that dies mid-send loses its rows when it runs out. */
  leaseMs: number
  now?: number
}

/**
 * Claims up to `limit` due rows for one worker and returns them; several instances never claim the
 * same row. MySQL/MariaDB: the candidates are read with `FOR UPDATE SKIP LOCKED` in a transaction,
 * so concurrent claimers each take different rows without waiting on one another. SQLite has one
 * writer at a time: a single conditional UPDATE claims atomically, with no transaction held open
 * across awaits (another connection in the same process would block the event loop waiting for it).
 */
export async function claimDueRows(db: Db, dialect: DatabaseTarget['kind'], request: ClaimRequest): Promise<OutboxRow[]> {
  const { workerId, channels, limit, leaseMs, now = Date.now() } = request
  if (channels.length === 0) return []
  const until = now + leaseMs
  const claimed = (db: Db | Trx) =>
    db
      .selectFrom('outbox')
      .selectAll()
      .where('claimed_by', '=', workerId)
      .where('claimed_until', '=', until)
      .where('status', '=', 'pending')
      .orderBy('next_attempt_at', 'asc')
      .execute()
  if (dialect === 'sqlite') {
    await db
      .updateTable('outbox')
      .set({ claimed_by: workerId, claimed_until: until })
      .where('id', 'in', due(db, channels, now).select('id').limit(limit))
      .execute()
    return claimed(db)
  }
  return db.transaction().execute(async (trx) => {
    const rows = await due(trx, channels, now).select('id').limit(limit).forUpdate().skipLocked().execute()
    if (rows.length === 0) return []
    await trx
      .updateTable('outbox')
      .set({ claimed_by: workerId, claimed_until: until })
      .where(
        'id',
        'in',
        rows.map((row) => row.id),
      )
      .execute()
    return claimed(trx)
  })
}

/** Rows whose next try is due and that no live claim holds, oldest due first. */
function due(db: Db | Trx, channels: readonly OutboxChannel[], now: number) {
  return db
    .selectFrom('outbox')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
    .where('channel', 'in', channels)
    .orderBy('next_attempt_at', 'asc')
}

/** Success: the row is done. False when the claim was lost meanwhile (it ran out and was taken). */
export async function markDelivered(db: Db, id: string, workerId: string, now = Date.now()): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({ status: 'delivered', delivered_at: now, claimed_by: null, claimed_until: null, last_error: null })
    .where('id', '=', id)
    .where('claimed_by', '=', workerId)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** A failed try: counted, and retried at `nextAttemptAt` or, when `dead`, never again. */
export async function markFailed(
  db: Db,
  id: string,
  workerId: string,
  failure: { attempts: number; nextAttemptAt: number; error: string; dead: boolean },
): Promise<boolean> {
  const result = await db
    .updateTable('outbox')
    .set({
      status: failure.dead ? 'dead' : 'pending',
      attempts: failure.attempts,
      next_attempt_at: failure.nextAttemptAt,
      last_error: failure.error.slice(0, 1000),
      claimed_by: null,
      claimed_until: null,
    })
    .where('id', '=', id)
    .where('claimed_by', '=', workerId)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Gives rows back untried (shutdown): due again at once for any worker, no attempt counted. */
export async function releaseClaims(db: Db, workerId: string, ids?: readonly string[]): Promise<void> {
  if (ids?.length === 0) return
  let query = db
    .updateTable('outbox')
    .set({ claimed_by: null, claimed_until: null })
    .where('claimed_by', '=', workerId)
    .where('status', '=', 'pending')
  if (ids) query = query.where('id', 'in', ids)
  await query.execute()
}
