import type { FastifyBaseLogger } from 'fastify'
import type { Db, Trx } from '../db/schema.ts'
import type { StoredRows } from '../versions/update-log.extension.ts'
import { type WebhookEvents, WebhookEventTypes } from './webhook-events.ts'

export const documentWebhooksDefaults = {
  /** `document.updated` waits for this much quiet after a document's last stored row… */
  quietMs: 2_000,
  /** …but a busy document sends one at least this often. */
  maxWaitMs: 10_000,
}

interface PendingUpdate {
  seqs: number[]
  firstAt: number
  timer: NodeJS.Timeout | undefined
}

/**
 * The document events webhooks receive. `document.updated` is debounced per document from the
 * update log's stored rows (after their transaction commits; the store path only records seqs
 * here, the outbox write happens on the timer), carrying the seqs stored since the last event; the
 * others are queued by the routes that cause them, in their transaction where they have one.
 */
export class DocumentWebhooks {
  readonly #db: Db
  readonly #events: WebhookEvents
  readonly #log: FastifyBaseLogger
  readonly #settings: typeof documentWebhooksDefaults
  readonly #pending = new Map<string, PendingUpdate>()
  readonly #writes = new Set<Promise<void>>()
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
    // Seqs of a deleted document can no longer be read; `document.deleted` says all there is.
    this.#drop(document.id)
    await this.#events.enqueue(db, WebhookEventTypes.DocumentDeleted, { documentId: document.id, title: document.title })
  }

  async versionRestored(db: Db | Trx, restore: { documentId: string; seq: number; restoredFrom: number }): Promise<void> {
    await this.#events.enqueue(db, WebhookEventTypes.VersionRestored, { ...restore })
  }

  /** Queues every pending `document.updated` now, and no retries after: at shutdown, after the update log's last flush. */
  async stop(): Promise<void> {
    this.#stopping = true
    for (const documentId of [...this.#pending.keys()]) this.#send(documentId)
    await Promise.allSettled([...this.#writes])
  }

  #stored({ documentName, rows }: { documentName: string; rows: readonly { seq: number }[] }): void {
    if (!this.#events.enabled || rows.length === 0) return
    const now = Date.now()
    let pending = this.#pending.get(documentName)
    if (!pending) {
      pending = { seqs: [], firstAt: now, timer: undefined }
      this.#pending.set(documentName, pending)
    }
    pending.seqs.push(...rows.map((row) => row.seq))
    clearTimeout(pending.timer)
    const delay = Math.max(0, Math.min(this.#settings.quietMs, pending.firstAt + this.#settings.maxWaitMs - now))
    pending.timer = setTimeout(() => this.#send(documentName), delay)
  }

  #send(documentId: string): void {
    const pending = this.#pending.get(documentId)
    if (!pending) return
    clearTimeout(pending.timer)
    this.#pending.delete(documentId)
    const seqs = pending.seqs.sort((a, b) => a - b)
    const write = this.#events
      .enqueue(this.#db, WebhookEventTypes.DocumentUpdated, { documentId, seqs })
      .catch((error: unknown) => {
        this.#log.error({ err: error, documentId, seqs }, 'webhooks: could not queue document.updated')
        // Tried again with the next rows, or on its own after a quiet period.
        if (!this.#stopping) this.#stored({ documentName: documentId, rows: seqs.map((seq) => ({ seq })) })
      })
      .finally(() => this.#writes.delete(write))
    this.#writes.add(write)
  }

  #drop(documentId: string): void {
    clearTimeout(this.#pending.get(documentId)?.timer)
    this.#pending.delete(documentId)
  }
}
