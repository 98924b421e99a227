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
