import { DatabaseSync } from 'node:sqlite'
import type { StreamArrival } from './notifications-setup.ts'

/**
 * What the notifier wrote for one document's stored log rows, counted from target A's SQLite file
 * after the run, without triggers or server changes: every inbox write (an item created, or an
 * unread item coalesced) records exactly one `notification` stream event in the same transaction,
 * stamped with the pass's time, so the stream log tells the passes apart and who each one wrote for.
 */
/** One notifier pass over stored rows: what it wrote to the inbox. */
export interface PassCounts {
  /** The pass's time (its items' `updated_at`). */
  at: number
  /** `document.edited` items created (new rows). */
  inserted: number
  /** Unread items the edits were folded into (UPDATEs of existing rows). */
  updated: number
  /**
   * Recipients whose earlier item had been read (or who had none yet): who can only be told with
   * a new row. Goal: `inserted` ≤ this.
   */
  readBefore: number
  /** Most inbox writes one recipient got from this pass (goal: 1). */
  maxWritesPerRecipient: number
}

export interface WriteCounts {
  /** `document_updates` rows stored (each store of the update log appends one here). */
  storedRows: number
  /** Passes that wrote inbox items, oldest first (rows stored while a pass ran are taken by the next). */
  passes: PassCounts[]
  /** `document.edited` rows in the table at the end. */
  inboxRowsAtEnd: number
  /** `notification_events` rows the passes appended (the live streams' replay log). */
  streamEvents: number
  /** `outbox` rows created during the run, by event type (webhooks) or `email`. */
  outbox: Record<string, number>
  outboxRows: number
}

interface EventRow {
  user_id: string
  created_at: number
  data: string
}

export function countWrites(file: string, documentId: string, since: number): WriteCounts {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    const storedRows = Number(
      (db.prepare('SELECT COUNT(*) AS n FROM document_updates WHERE document_id = ? AND created_at >= ?').get(documentId, since) as { n: number }).n,
    )
    const items = db
      .prepare("SELECT user_id, created_at, read_at FROM notifications WHERE document_id = ? AND type = 'document.edited'")
      .all(documentId) as ItemRow[]
    const events = (
      db.prepare("SELECT user_id, created_at, data FROM notification_events WHERE event = 'notification' AND created_at >= ?").all(since) as unknown as EventRow[]
    ).filter((row) => {
      const item = JSON.parse(row.data) as { type: string; documentId: string | null }
      return item.type === 'document.edited' && item.documentId === documentId
    })
    // A pass stamps all its events (items and unread counts) with its time; inbox reads write events too.
    const passTimes = new Set(events.map((row) => Number(row.created_at)))
    const streamEvents = (db.prepare('SELECT created_at FROM notification_events WHERE created_at >= ?').all(since) as { created_at: number }[])
      .filter((row) => passTimes.has(Number(row.created_at))).length
    const outbox: Record<string, number> = {}
    const outboxRows = db.prepare('SELECT channel, payload FROM outbox WHERE created_at >= ?').all(since) as { channel: string; payload: string }[]
    for (const row of outboxRows) {
      const kind = row.channel === 'webhook' ? (JSON.parse(row.payload) as { body: { type: string } }).body.type : row.channel
      outbox[kind] = (outbox[kind] ?? 0) + 1
    }
    return { storedRows, passes: passCounts(items, events), inboxRowsAtEnd: items.length, streamEvents, outbox, outboxRows: outboxRows.length }
  } finally {
    db.close()
  }
}

/**
 * A pass takes its time before it waits for the database connection, so a read committed just
 * after that time may still come before the pass looks: such reads count as before the pass.
 */
const RACE_MS = 1_000

type ItemRow = { user_id: string; created_at: number; read_at: number | null }

function passCounts(items: readonly ItemRow[], events: readonly EventRow[]): PassCounts[] {
  const byPass = new Map<number, EventRow[]>()
  for (const event of events) byPass.set(Number(event.created_at), [...(byPass.get(Number(event.created_at)) ?? []), event])
  const itemsOf = new Map<string, ItemRow[]>()
  for (const item of items) itemsOf.set(item.user_id, [...(itemsOf.get(item.user_id) ?? []), item])
  const hadUnread = (userId: string, at: number) =>
    (itemsOf.get(userId) ?? []).some(
      (item) => Number(item.created_at) < at && (item.read_at === null || Number(item.read_at) > at + RACE_MS),
    )
  return [...byPass]
    .sort(([a], [b]) => a - b)
    .map(([at, passEvents]) => {
      const perUser = new Map<string, number>()
      for (const event of passEvents) perUser.set(event.user_id, (perUser.get(event.user_id) ?? 0) + 1)
      // A new item has the pass's time as its `created_at`; a coalesced one keeps its older one.
      const inserted = items.filter((item) => Number(item.created_at) === at).length
      return {
        at,
        inserted,
        updated: passEvents.length - inserted,
        readBefore: [...perUser.keys()].filter((userId) => !hadUnread(userId, at)).length,
        maxWritesPerRecipient: Math.max(...perUser.values()),
      }
    })
}

/** When each of the document's log rows was stored (ms), oldest first. */
export function storeTimes(file: string, documentId: string): number[] {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    return (
      db.prepare('SELECT created_at FROM document_updates WHERE document_id = ? ORDER BY created_at').all(documentId) as { created_at: number }[]
    ).map((row) => Number(row.created_at))
  } finally {
    db.close()
  }
}

/**
 * Per `document.edited` stream event received: ms from the store of the newest log row the pass
 * had (its `created_at` at or before the pass's time) to the event's arrival at a live stream.
 */
export function storeToStream(stored: readonly number[], arrivals: readonly StreamArrival[]): number[] {
  return arrivals
    .filter((arrival) => arrival.type === 'document.edited')
    .map((arrival) => {
      const storedAt = stored.findLast((at) => at <= arrival.updatedAt)
      return storedAt === undefined ? Number.NaN : arrival.arrivedAt - storedAt
    })
    .filter((ms) => !Number.isNaN(ms))
}

/** Slow pairs typed within this long after a store count as coming with it (pass, streams, outbox poll). */
export const AFTER_STORE_MS = 2_500

/** How many slow pairs were typed within `AFTER_STORE_MS` after a store, and the slowest pair's distance from the store before it. */
export function slowNearStores(slow: readonly { at: number; ms: number }[], stored: readonly number[]) {
  const after = (at: number) => {
    const storedAt = stored.findLast((s) => s <= at + 100)
    return storedAt === undefined ? Number.POSITIVE_INFINITY : at - storedAt
  }
  const worst = slow.reduce<{ at: number; ms: number } | undefined>((max, pair) => (!max || pair.ms > max.ms ? pair : max), undefined)
  return {
    count: slow.length,
    afterStore: slow.filter((pair) => after(pair.at) <= AFTER_STORE_MS).length,
    worst: worst && { ms: worst.ms, afterStoreMs: after(worst.at) },
  }
}

/** Waits until the notifier and the outbox stop writing (passes run after the last store). */
export async function untilQuiet(file: string, quietMs = 2_000, timeoutMs = 60_000): Promise<void> {
  const snapshot = () => {
    const db = new DatabaseSync(file, { readOnly: true })
    try {
      return JSON.stringify([
        db.prepare('SELECT MAX(id) AS id FROM notification_events').get(),
        db.prepare('SELECT COUNT(*) AS n FROM outbox').get(),
        db.prepare('SELECT MAX(updated_at) AS at FROM notifications').get(),
      ])
    } finally {
      db.close()
    }
  }
  const deadline = performance.now() + timeoutMs
  let last = snapshot()
  let since = performance.now()
  while (performance.now() - since < quietMs && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    const now = snapshot()
    if (now !== last) {
      last = now
      since = performance.now()
    }
  }
}

/** Waits (bounded) until the outbox worker has sent every row; returns how many are still pending. */
export async function untilDelivered(file: string, timeoutMs = 60_000): Promise<number> {
  const pending = () => {
    const db = new DatabaseSync(file, { readOnly: true })
    try {
      return Number((db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'").get() as { n: number }).n)
    } finally {
      db.close()
    }
  }
  const deadline = performance.now() + timeoutMs
  let left = pending()
  while (left > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    left = pending()
  }
  return left
}
