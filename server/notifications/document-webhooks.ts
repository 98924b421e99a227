import type { FastifyBaseLogger } from 'fastify'
import type { Db, Trx } from '../db/schema.ts'
import type { StoredRows } from '../versions/update-log.options.ts'
import { type WebhookEvents, WebhookEventTypes } from './webhook-events.ts'

export const documentWebhooksDefaults = {
  /** `document.updated` waits for this much quiet after a document's last stored row… */
  quietMs: 2_000,
  /** …but a busy document sends one at least this often. */
  maxWaitMs: 10_000,
}

/** The `document.updated` event a document's stored rows are gathered into, queued already. */
interface PendingUpdate {
  messageId: string
  timestamp: string
  seqs: number[]
  firstAt: number
}

/**
 * The document events webhooks receive. `document.updated` is debounced per document from the
 * update log's stored rows, carrying the seqs stored since the last event; the others are queued
 * by the routes that cause them, in their transaction where they have one.
 *
 * The debounce is durable: the first stored rows queue the event at once, due after `quietMs`;
 * later rows rewrite it (their seqs added, due `quietMs` later, never past `maxWaitMs` after the
 * first) as long as no worker has taken it, else they start the next event. A crash therefore loses
 * no event: whichever instance runs next sends it when it is due. The writes happen after the
 * rows' transaction committed, off the store path, one at a time per document.
 */
export class DocumentWebhooks {
  readonly #db: Db
  readonly #events: WebhookEvents
  readonly #log: FastifyBaseLogger
  readonly #settings: typeof documentWebhooksDefaults
  readonly #pending = new Map<string, PendingUpdate>()
  /** Per document, the write in progress: the next one waits for it. */
  readonly #writes = new Map<string, Promise<void>>()
  #stopping = false

  constructor(options: { db: Db; events: WebhookEvents; log: FastifyBaseLogger } & Partial<typeof documentWebhooksDefaults>) {
    this.#db = options.db
    this.#events = options.events
    this.#log = options.log
    this.#settings = {
      quietMs: options.quietMs ?? documentWebhooksDefaults.quietMs,
      maxWaitMs: options.maxWaitMs ?? documentWebhooksDefaults.maxWaitMs,
    }
  }

  /** Listens to stored rows; returns the unsubscribe function. */
  attach(updateLog: { onStored(listener: (stored: StoredRows) => void): () => void }): () => void {
    return updateLog.onStored((stored) => this.#stored(stored))
  }

  async documentCreated(db: Db | Trx, document: { id: string; title: string; ownerId: string }): Promise<void> {
    await this.#events.enqueue(db, WebhookEventTypes.DocumentCreated, {
      documentId: document.id,
      title: document.title,
      ownerId: document.ownerId,
    })
  }

  async documentDeleted(db: Db | Trx, document: { id: string; title: string }): Promise<void> {
    // Seqs of a deleted document can no longer be read; `document.deleted` says all there is (and
    // a waiting `document.updated` would otherwise arrive after it).
    const pending = this.#pending.get(document.id)
    this.#pending.delete(document.id)
    if (pending) await this.#events.cancel(db, pending.messageId)
    await this.#events.enqueue(db, WebhookEventTypes.DocumentDeleted, { documentId: document.id, title: document.title })
  }

  async versionRestored(db: Db | Trx, restore: { documentId: string; seq: number; restoredFrom: number }): Promise<void> {
    await this.#events.enqueue(db, WebhookEventTypes.VersionRestored, { ...restore })
  }

  /**
   * At shutdown, after the update log's last flush: editing here is over, so the waiting events are
   * made due now (a crash instead leaves them due when they were, and they are sent then).
   */
  async stop(): Promise<void> {
    this.#stopping = true
    await Promise.allSettled([...this.#writes.values()])
    const now = Date.now()
    for (const [documentId, pending] of this.#pending) {
      const body = { type: WebhookEventTypes.DocumentUpdated, timestamp: pending.timestamp, data: { documentId, seqs: pending.seqs } }
      await this.#events
        .reschedule(this.#db, pending.messageId, body, now)
        .catch((error: unknown) => this.#log.warn({ err: error, documentId }, 'webhooks: a waiting document.updated stays due when it was'))
    }
    this.#pending.clear()
  }

  #stored({ documentName, rows }: { documentName: string; rows: readonly { seq: number }[] }): void {
    if (!this.#events.enabled || rows.length === 0) return
    const seqs = rows.map((row) => row.seq)
    const previous = this.#writes.get(documentName) ?? Promise.resolve()
    const write: Promise<void> = previous
      .then(() => this.#gather(documentName, seqs))
      .catch((error: unknown) => {
        this.#log.error({ err: error, documentId: documentName, seqs }, 'webhooks: could not queue document.updated; will retry')
        // Tried again after a quiet period (or sooner, with the document's next rows' turn).
        if (!this.#stopping) setTimeout(() => this.#stored({ documentName, rows }), this.#settings.quietMs).unref()
      })
      .finally(() => {
        if (this.#writes.get(documentName) === write) this.#writes.delete(documentName)
      })
    this.#writes.set(documentName, write)
  }

  /** Adds `seqs` to the document's queued event while it is still waiting, else queues the next one. */
  async #gather(documentId: string, seqs: number[]): Promise<void> {
    const now = Date.now()
    const pending = this.#pending.get(documentId)
    if (pending && now < pending.firstAt + this.#settings.maxWaitMs) {
      const merged = [...pending.seqs, ...seqs].sort((a, b) => a - b)
      const dueAt = Math.min(now + this.#settings.quietMs, pending.firstAt + this.#settings.maxWaitMs)
      const body = { type: WebhookEventTypes.DocumentUpdated, timestamp: pending.timestamp, data: { documentId, seqs: merged } }
      if (await this.#events.reschedule(this.#db, pending.messageId, body, dueAt)) {
        pending.seqs = merged
        return
      }
    }
    const timestamp = new Date(now).toISOString()
    const body = { type: WebhookEventTypes.DocumentUpdated, timestamp, data: { documentId, seqs: [...seqs].sort((a, b) => a - b) } }
    const dueAt = now + Math.min(this.#settings.quietMs, this.#settings.maxWaitMs)
    const messageId = await this.#events.enqueueAt(this.#db, body, dueAt)
    this.#pending.set(documentId, { messageId, timestamp, seqs: body.data.seqs, firstAt: now })
    // Past its longest wait it is due, and the next rows start another: nothing to keep.
    setTimeout(() => {
      if (this.#pending.get(documentId)?.messageId === messageId) this.#pending.delete(documentId)
    }, this.#settings.maxWaitMs).unref()
  }
}
