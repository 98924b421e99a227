import type {
  afterUnloadDocumentPayload,
  beforeUnloadDocumentPayload,
  Extension,
  onChangePayload,
  onLoadDocumentPayload,
  onStoreDocumentPayload,
} from '@hocuspocus/server'
import { isTransactionOrigin, shouldSkipStoreHooks } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import * as Y from 'yjs'
import { ANONYMOUS, type CollabContext } from '../collab/context.ts'
import type { Db } from '../db/schema.ts'
import { Checkpoints, type LogStats } from './checkpoints.ts'
import { type PendingEntry, toLogRows } from './log-rows.ts'
import { applyStoredLog } from './replay.ts'
import { StoreRetries } from './store-retries.ts'
import { type ServerEditRecord, type StoredRows, type UpdateLogOptions, type UpdateLogTotals, updateLogDefaults } from './update-log.options.ts'
import { appendUpdates, DocumentGoneError, type NewLogEntry, readLog } from './update-log.queries.ts'

/**
 * Persists each document as an append-only log of Yjs updates. `onChange` collects the
 * per-transaction updates; the debounced `onStoreDocument` appends them as one merged row (a
 * version-history entry), so a row grows with the edit, not with the document. Loading replays the
 * newest checkpoint plus the rows after it; checkpoints are written off the hot path.
 *
 * Nothing is dropped: a failed append keeps its updates, is retried with backoff, and the document
 * stays in memory until the log holds everything.
 */
export class UpdateLogExtension implements Extension<CollabContext> {
  extensionName = 'update-log'
  readonly #db: Db
  readonly #log: FastifyBaseLogger
  readonly #options: typeof updateLogDefaults
  readonly #pending = new Map<string, PendingEntry[]>()
  readonly #stats = new Map<string, LogStats>()
  readonly #checkpoints: Checkpoints
  /** Per-document promise chain: appends for one document never overlap (hooks, retries, shutdown). */
  readonly #queues = new Map<string, Promise<void>>()
  readonly #retries: StoreRetries
  readonly #storedListeners = new Set<(stored: StoredRows) => void>()
  /** Plain numbers, so the hot path never allocates for metrics. */
  readonly totals: UpdateLogTotals = { rowsAppended: 0, bytesAppended: 0, storeFailures: 0 }
  /** Told each append's duration in seconds (the metrics histogram); a no-op until wired. */
  #timeStore: (seconds: number) => void = () => undefined

  constructor(options: UpdateLogOptions) {
    this.#db = options.db
    this.#log = options.log
    this.#options = {
      maxRowBytes: options.maxRowBytes ?? updateLogDefaults.maxRowBytes,
      checkpointMinBytes: options.checkpointMinBytes ?? updateLogDefaults.checkpointMinBytes,
      checkpointMaxRows: options.checkpointMaxRows ?? updateLogDefaults.checkpointMaxRows,
      retryBaseMs: options.retryBaseMs ?? updateLogDefaults.retryBaseMs,
      retryMaxMs: options.retryMaxMs ?? updateLogDefaults.retryMaxMs,
    }
    this.#checkpoints = new Checkpoints(this.#db, this.#log, this.#options)
    this.#retries = new StoreRetries(this.#log, this.#options)
  }

  async onLoadDocument({ documentName, document }: onLoadDocumentPayload<CollabContext>): Promise<void> {
    const log = await readLog(this.#db, documentName)
    applyStoredLog(document, log)
    const { checkpoint, updates } = log
    this.#stats.set(documentName, {
      checkpointBytes: checkpoint?.data.byteLength ?? 0,
      bytesSinceCheckpoint: updates.reduce((sum, row) => sum + row.data.byteLength, 0),
      rowsSinceCheckpoint: updates.length,
      checkpointing: false,
    })
  }

  // Hocuspocus does not await onChange: a throw here would be an unhandled rejection.
  async onChange({ documentName, update, transactionOrigin, context }: onChangePayload<CollabContext>) {
    try {
      // Updates relayed from another instance are stored by the instance that received them.
      if (shouldSkipStoreHooks(transactionOrigin)) return
      const local = isTransactionOrigin(transactionOrigin) && transactionOrigin.source === 'local'
      // Recorded by `recordServerEdit`, with its own row and seq.
      if (local && context?.serverEdit) return
      const entry: PendingEntry = {
        update,
        author: context?.user?.id ?? ANONYMOUS,
        kind: (local && context?.logKind) || 'update',
      }
      const pending = this.#pending.get(documentName)
      if (pending) pending.push(entry)
      else this.#pending.set(documentName, [entry])
    } catch (error) {
      this.#log.error({ err: error, documentName }, 'update log: could not buffer an update')
    }
  }

  async onStoreDocument(payload: onStoreDocumentPayload<CollabContext>): Promise<void> {
    const { documentName } = payload
    try {
      await this.flush(documentName)
    } catch (error) {
      this.#retries.schedule(payload)
      throw error
    }
  }

  // Refusing here keeps a document with unstored updates in memory until a retry stores them.
  async beforeUnloadDocument({ documentName }: beforeUnloadDocumentPayload): Promise<void> {
    if (this.pendingCount(documentName) > 0) {
      throw new Error(`update log: ${documentName} still has unstored updates`)
    }
  }

  async afterUnloadDocument({ documentName }: afterUnloadDocumentPayload): Promise<void> {
    if (this.pendingCount(documentName) === 0) this.#stats.delete(documentName)
  }

  /**
   * Stores a server-side edit (already applied to the live document) as a row of its own, right
   * away, and resolves with its seq. The caller's transaction must carry `context.serverEdit` so
   * `onChange` doesn't buffer the same update a second time.
   */
  recordServerEdit(documentName: string, update: Uint8Array, record: ServerEditRecord): Promise<number> {
    const stored = new Promise<number>((resolve, reject) => {
      const entry: PendingEntry = {
        update,
        author: record.author,
        kind: record.kind,
        own: { label: record.label ?? null, stored: resolve, failed: reject },
      }
      const pending = this.#pending.get(documentName)
      if (pending) pending.push(entry)
      else this.#pending.set(documentName, [entry])
    })
    // A failed append keeps the entry and is retried like any other; the caller hears of the first failure.
    this.flush(documentName).catch(() => undefined)
    return stored
  }

  /**
   * Calls `listener` after each append commits (notifications, webhooks). It runs on the store
   * path, so it must only queue its work; a throw is logged and ignored.
   */
  onStored(listener: (stored: StoredRows) => void): () => void {
    this.#storedListeners.add(listener)
    return () => this.#storedListeners.delete(listener)
  }

  /**
   * Stores whatever the live document holds that neither the log nor this instance's unstored
   * updates have: updates relayed from another instance that died before storing them (each
   * instance stores only its own clients' edits, so nobody else would). Authors are unknown here;
   * the row is attributed to "anonymous". Resolves true when a row was appended.
   */
  reconcile(documentName: string, live: Y.Doc): Promise<boolean> {
    let appended = false
    return this.#serialize(documentName, async () => {
      const known = new Y.Doc()
      try {
        applyStoredLog(known, await readLog(this.#db, documentName))
        for (const entry of this.#pending.get(documentName) ?? []) Y.applyUpdate(known, entry.update)
        // Yjs emits exactly what changed, whatever the state-vector diff carries besides.
        let missing: Uint8Array | undefined
        known.on('update', (update: Uint8Array) => {
          missing = missing ? Y.mergeUpdates([missing, update]) : update
        })
        Y.applyUpdate(known, Y.encodeStateAsUpdate(live, Y.encodeStateVector(known)))
        if (!missing) return
        const entry: PendingEntry = { update: missing, author: ANONYMOUS, kind: 'update' }
        const pending = this.#pending.get(documentName)
        if (pending) pending.push(entry)
        else this.#pending.set(documentName, [entry])
        await this.#append(documentName)
        appended = true
        this.#log.warn({ documentName, bytes: missing.byteLength }, 'update log: stored edits another instance relayed but never stored')
      } finally {
        known.destroy()
      }
    }).then(() => appended)
  }

  /** Forgets a deleted document's unstored updates (they have no document to belong to). */
  discard(documentName: string): void {
    for (const entry of this.#pending.get(documentName) ?? []) entry.own?.failed(new DocumentGoneError(documentName))
    this.#pending.delete(documentName)
    this.#retries.clear(documentName)
    this.#stats.delete(documentName)
  }

  /** Updates received but not yet in the log. */
  pendingCount(documentName: string): number {
    return this.#pending.get(documentName)?.length ?? 0
  }

  /** Updates received but not yet in the log, over every document (read at scrape time). */
  pendingTotal(): number {
    let total = 0
    for (const entries of this.#pending.values()) total += entries.length
    return total
  }

  /** Reports each append's duration, in seconds, to `observe`. */
  timeStores(observe: (seconds: number) => void): void {
    this.#timeStore = observe
  }

  /** Appends everything buffered for the document as one row (more only for huge backlogs). */
  flush(documentName: string): Promise<void> {
    return this.#serialize(documentName, () =>
      this.#append(documentName).catch((error) => {
        // A deleted document's last edits have nowhere to go; retrying would never end.
        if (!(error instanceof DocumentGoneError)) throw error
        this.discard(documentName)
      }),
    )
  }

  /** Flushes every document; used at shutdown. Resolves when all are stored or have failed. */
  async flushAll(): Promise<{ failed: string[] }> {
    const names = [...this.#pending.keys()]
    const results = await Promise.allSettled(names.map((name) => this.flush(name)))
    const failed = names.filter((_, i) => results[i]?.status === 'rejected')
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') {
        this.#log.error({ err: result.reason, documentName: names[i] }, 'update log: flush failed')
      }
    }
    return { failed }
  }

  /** Stops retries and waits for background work (checkpoints) so the database can close. */
  async stop(): Promise<void> {
    this.#retries.stop()
    await Promise.allSettled([this.#checkpoints.stop(), ...this.#queues.values()])
  }

  async #append(documentName: string): Promise<void> {
    const pending = this.#pending.get(documentName)
    if (!pending || pending.length === 0) return
    // Entries that arrive while the write is in flight stay queued for the next append.
    const taken = pending.length
    const batch = pending.slice(0, taken)
    const { entries, owners } = toLogRows(batch, this.#options.maxRowBytes)
    let seqs: number[]
    const started = performance.now()
    try {
      seqs = await appendUpdates(this.#db, documentName, entries)
    } catch (error) {
      this.#timeStore((performance.now() - started) / 1000)
      this.totals.storeFailures += 1
      for (const entry of batch) entry.own?.failed(error)
      throw error
    }
    this.#timeStore((performance.now() - started) / 1000)
    this.totals.rowsAppended += entries.length
    pending.splice(0, taken)
    for (const [row, entry] of owners) entry.own?.stored(seqs[row]!)
    this.#announce(documentName, entries, seqs)
    if (pending.length === 0) this.#pending.delete(documentName)
    this.#retries.clear(documentName)
    const bytes = entries.reduce((sum, e) => sum + e.data.byteLength, 0)
    this.totals.bytesAppended += bytes
    const stats = this.#stats.get(documentName)
    if (stats) {
      stats.bytesSinceCheckpoint += bytes
      stats.rowsSinceCheckpoint += entries.length
      this.#checkpoints.maybeWrite(documentName, stats)
    }
  }

  #announce(documentName: string, entries: readonly NewLogEntry[], seqs: readonly number[]): void {
    if (this.#storedListeners.size === 0) return
    const createdAt = Date.now()
    const stored: StoredRows = {
      documentName,
      rows: entries.map((entry, i) => ({
        seq: seqs[i]!,
        authors: entry.authors,
        kind: entry.kind,
        label: entry.label ?? null,
        createdAt,
      })),
    }
    for (const listener of this.#storedListeners) {
      try {
        listener(stored)
      } catch (error) {
        this.#log.error({ err: error, documentName }, 'update log: a stored-rows listener failed')
      }
    }
  }

  #serialize(documentName: string, task: () => Promise<void>): Promise<void> {
    const previous = this.#queues.get(documentName) ?? Promise.resolve()
    const next = previous.catch(() => undefined).then(task)
    const settled = next.catch(() => undefined)
    this.#queues.set(documentName, settled)
    void settled.then(() => {
      if (this.#queues.get(documentName) === settled) this.#queues.delete(documentName)
    })
    return next
  }
}
