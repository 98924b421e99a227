import type { FastifyBaseLogger } from 'fastify'
import type { KyselyPlugin } from 'kysely'
import type { Db, Trx } from '../db/schema.ts'
import type { StoredRows } from '../versions/update-log.options.ts'
import { recordDeleted, recordShared, recordUnshared } from './access-notices.ts'
import { recordStoredRows, type StoredRow } from './edit-notices.ts'
import { publishSignals } from './inbox-events.ts'
import { InboxWrite } from './inbox-write.ts'
import type { NotificationBus } from './notification-bus.ts'
import { type Audience, documentAudience } from './recipients.ts'
import type { WebhookEvents } from './webhook-events.ts'

export interface NotifierOptions {
  db: Db
  log: FastifyBaseLogger
  bus: NotificationBus
  /** Queues `notification.created` for each item created; none when absent. */
  webhooks?: WebhookEvents
  /**
   * Documents whose inbox writes may run at once (each holds a database connection). Default 1:
   * a pass takes a few milliseconds and shares the event loop with live sync. Passes at once (here,
   * or on other instances) are safe: each stores an unread count blind to the others' uncommitted
   * items, but a stream recounts the count it sends (stream.ts).
   */
  concurrency?: number
  /** Tries of a failed pass over a document's stored rows before they are given up (logged). */
  maxAttempts?: number
  retryDelayMs?: number
}

export const notifierDefaults = { concurrency: 1, maxAttempts: 5, retryDelayMs: 1_000 }

type Task = (trx: Trx, write: InboxWrite, now: number) => Promise<void>

/** One document's waiting work: stored rows (coalesced into one pass) and access changes, in order. */
interface Queue {
  rows: StoredRow[]
  tasks: { run: Task; done: () => void }[]
  attempts: number
}

/**
 * Turns stored edits and access changes into inbox items, with their stream events and webhooks
 * in the same transaction, then nudges live streams. Stored rows arrive on the update log's store
 * path, so they are only queued there: each document is worked on by one pass at a time, and rows
 * that pile up meanwhile become one pass (one inbox write per recipient). Access changes go
 * through the same per-document queue, so an edit pass and an unshare never interleave.
 */
export class Notifier {
  readonly #db: Db
  readonly #log: FastifyBaseLogger
  readonly #bus: NotificationBus
  readonly #webhooks: WebhookEvents | undefined
  readonly #settings: typeof notifierDefaults
  readonly #queues = new Map<string, Queue>()
  readonly #ready: string[] = []
  readonly #running = new Set<string>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #idle: (() => void)[] = []
  #detach: (() => void) | undefined
  #stopping = false

  constructor(options: NotifierOptions) {
    this.#db = options.db
    this.#log = options.log
    this.#bus = options.bus
    this.#webhooks = options.webhooks
    this.#settings = {
      concurrency: options.concurrency ?? notifierDefaults.concurrency,
      maxAttempts: options.maxAttempts ?? notifierDefaults.maxAttempts,
      retryDelayMs: options.retryDelayMs ?? notifierDefaults.retryDelayMs,
    }
  }

  /** Listens to the update log: every stored row becomes inbox items (queued, never awaited there). */
  attach(updateLog: { onStored(listener: (stored: StoredRows) => void): () => void }): void {
    this.#detach = updateLog.onStored(({ documentName, rows }) => {
      this.#queue(documentName).rows.push(...rows)
      // Not even the start of a pass runs on the store path.
      setImmediate(() => this.#wake(documentName))
    })
  }

  /** `userId` was added to the document or their role changed (call after it committed). */
  shared(change: { documentId: string; userId: string; actorId: string }): Promise<void> {
    return this.#enqueue(change.documentId, (trx, write, now) => recordShared(trx, write, change, now))
  }

  /** `userId` lost access (removed by `actorId`, or left when it is themselves). */
  unshared(change: { documentId: string; title: string; userId: string; actorId: string }): Promise<void> {
    return this.#enqueue(change.documentId, (trx, write, now) => recordUnshared(trx, write, change, now))
  }

  /** Who can see the document now: capture it before deleting it, for `deleted`. */
  audience(documentId: string): Promise<Audience | undefined> {
    return documentAudience(this.#db, documentId)
  }

  /** The document was deleted by `actorId`; `audience` is who could see it before. */
  deleted(audience: Audience, actorId: string): Promise<void> {
    return this.#enqueue(audience.documentId, (trx, write, now) => recordDeleted(trx, write, audience, actorId, now))
  }

  /** Resolves once nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#queues.size === 0 && this.#running.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /** Stops listening, then finishes what is queued (no more retries). */
  async stop(): Promise<void> {
    this.#detach?.()
    this.#stopping = true
    for (const timer of this.#timers) {
      clearTimeout(timer)
      this.#timers.delete(timer)
    }
    for (const documentId of this.#queues.keys()) this.#wake(documentId)
    await this.idle()
  }

  #enqueue(documentId: string, run: Task): Promise<void> {
    return new Promise((done) => {
      this.#queue(documentId).tasks.push({ run, done })
      this.#wake(documentId)
    })
  }

  #queue(documentId: string): Queue {
    let queue = this.#queues.get(documentId)
    if (!queue) {
      queue = { rows: [], tasks: [], attempts: 0 }
      this.#queues.set(documentId, queue)
    }
    return queue
  }

  #wake(documentId: string): void {
    if (!this.#running.has(documentId) && !this.#ready.includes(documentId)) this.#ready.push(documentId)
    this.#schedule()
  }

  #schedule(): void {
    while (this.#running.size < this.#settings.concurrency && this.#ready.length > 0) {
      const documentId = this.#ready.shift()!
      this.#running.add(documentId)
      void this.#pass(documentId).finally(() => {
        this.#running.delete(documentId)
        const queue = this.#queues.get(documentId)
        if (queue && (queue.rows.length > 0 || queue.tasks.length > 0) && !this.#retrying(documentId)) this.#wake(documentId)
        else if (queue && queue.rows.length === 0 && queue.tasks.length === 0) this.#queues.delete(documentId)
        this.#schedule()
        if (this.#queues.size === 0 && this.#running.size === 0) for (const resolve of this.#idle.splice(0)) resolve()
      })
    }
  }

  async #pass(documentId: string): Promise<void> {
    const queue = this.#queues.get(documentId)
    // A late wake-up for work an earlier pass already did.
    if (!queue) return
    const rows = queue.rows.splice(0)
    if (rows.length > 0) {
      try {
        await this.#transaction((trx, write, now) => recordStoredRows(trx, write, documentId, rows, now))
        queue.attempts = 0
      } catch (error) {
        // Retried later against the audience of that time; access changes need not wait for it.
        this.#failed(documentId, queue, rows, error)
      }
    }
    for (const task of queue.tasks.splice(0)) {
      try {
        await this.#transaction(task.run)
      } catch (error) {
        // The access change itself is committed; only its notice is lost.
        this.#log.error({ err: error, documentId }, 'notifications: an access notice could not be written')
      } finally {
        task.done()
      }
    }
  }

  #failed(documentId: string, queue: Queue, rows: StoredRow[], error: unknown): void {
    queue.attempts++
    if (this.#stopping || queue.attempts >= this.#settings.maxAttempts) {
      this.#log.error({ err: error, documentId, seqs: rows.map((r) => r.seq) }, 'notifications: gave up on stored rows')
      queue.attempts = 0
      return
    }
    this.#log.warn({ err: error, documentId, attempt: queue.attempts }, 'notifications: inbox write failed; retrying')
    queue.rows.unshift(...rows)
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#wake(documentId)
    }, this.#settings.retryDelayMs * 2 ** (queue.attempts - 1))
    this.#timers.add(timer)
  }

  #retrying(documentId: string): boolean {
    return (this.#queues.get(documentId)?.attempts ?? 0) > 0
  }

  async #transaction(task: Task): Promise<void> {
    const now = Date.now()
    const signals = await this.#db.transaction().execute(async (outer) => {
      const trx = outer.withPlugin(yieldAfterEachStatement)
      const write = new InboxWrite()
      await task(trx, write, now)
      return write.finish(trx, this.#webhooks, now)
    })
    publishSignals(this.#bus, signals)
  }
}

/**
 * node:sqlite answers synchronously, so without this a whole pass (a few dozen statements for a
 * document shared with hundreds of people) runs in one event-loop turn and every sync message that
 * arrives meanwhile waits for it: with 200 recipients that blocked the loop 7–50 ms per store,
 * against 2–5 ms (the largest statement) when yielding after each statement. MySQL's driver
 * yields anyway; one more turn per statement costs it nothing that matters.
 */
const yieldAfterEachStatement: KyselyPlugin = {
  transformQuery: ({ node }) => node,
  transformResult: async ({ result }) => {
    await new Promise((resolve) => setImmediate(resolve))
    return result
  },
}
