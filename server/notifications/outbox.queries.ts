import { randomUUID } from 'node:crypto'
import type { Db, OutboxChannel, Trx } from '../db/schema.ts'

export interface NewOutboxEntry {
  channel: OutboxChannel
  /** The same for every try of one delivery; a second entry with the same key is ignored. */
  idempotencyKey: string
  payload: unknown
  /** When the first try is due (default: now). */
  dueAt?: number
}

/**
 * Queues deliveries. Call it inside the transaction that writes what caused them, so a delivery
 * exists exactly when its cause does: nothing is sent for a rolled-back change, and nothing is lost
 * between the change and the send.
 */
export async function enqueueOutbox(db: Db | Trx, entries: readonly NewOutboxEntry[], now = Date.now()): Promise<void> {
  if (entries.length === 0) return
  await db
    .insertInto('outbox')
    .ignore()
    .values(
      entries.map((entry) => ({
        id: randomUUID(),
        channel: entry.channel,
        idempotency_key: entry.idempotencyKey,
        payload: JSON.stringify(entry.payload),
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: entry.dueAt ?? now,
        claimed_by: null,
        claimed_until: null,
        last_error: null,
        created_at: now,
        delivered_at: null,
      })),
    )
    .execute()
}

/**
 * Replaces the payload and due time of queued deliveries, all of them or none: only while every
 * one is still pending, unclaimed and untried (a worker may be about to send them otherwise).
 * Returns whether it did.
 */
export async function rescheduleOutbox(db: Db, entries: readonly Required<Pick<NewOutboxEntry, 'idempotencyKey' | 'payload' | 'dueAt'>>[]): Promise<boolean> {
  const untouched = new Error('an entry was claimed or tried meanwhile')
  try {
    await db.transaction().execute(async (trx) => {
      for (const entry of entries) {
        const result = await trx
          .updateTable('outbox')
          .set({ payload: JSON.stringify(entry.payload), next_attempt_at: entry.dueAt })
          .where('idempotency_key', '=', entry.idempotencyKey)
          .where('status', '=', 'pending')
          .where('claimed_by', 'is', null)
          .where('attempts', '=', 0)
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) !== 1) throw untouched
      }
    })
    return true
  } catch (error) {
    if (error === untouched) return false
    throw error
  }
}

/** Removes queued deliveries no worker has taken yet (any already taken go ahead). */
export async function cancelOutbox(db: Db | Trx, idempotencyKeys: readonly string[]): Promise<void> {
  if (idempotencyKeys.length === 0) return
  await db
    .deleteFrom('outbox')
    .where('idempotency_key', 'in', idempotencyKeys)
    .where('status', '=', 'pending')
    .where('claimed_by', 'is', null)
    .where('attempts', '=', 0)
    .execute()
}
