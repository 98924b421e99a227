import type { onStoreDocumentPayload } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import type { CollabContext } from '../collab/context.ts'

/**
 * Retries a document's failed store with exponential backoff, through Hocuspocus (so the retry
 * holds the document's save mutex and unloads it on success), one retry pending per document.
 */
export class StoreRetries {
  readonly #log: FastifyBaseLogger
  readonly #options: { retryBaseMs: number; retryMaxMs: number }
  readonly #retries = new Map<string, { timer?: NodeJS.Timeout; attempt: number }>()
  #stopped = false

  constructor(log: FastifyBaseLogger, options: { retryBaseMs: number; retryMaxMs: number }) {
    this.#log = log
    this.#options = options
  }

  /** The store of `payload` failed: tries again after the next backoff delay. */
  schedule(payload: onStoreDocumentPayload<CollabContext>): void {
    const { documentName, document, instance } = payload
    const previous = this.#retries.get(documentName)
    if (this.#stopped || previous?.timer) return
    const attempt = (previous?.attempt ?? 0) + 1
    const delayMs = Math.min(this.#options.retryBaseMs * 2 ** (attempt - 1), this.#options.retryMaxMs)
    this.#log.warn({ documentName, attempt, delayMs }, 'update log: store failed, will retry')
    const timer = setTimeout(() => {
      this.#retries.set(documentName, { attempt })
      Promise.resolve(instance.storeDocumentHooks(document, payload, true)).catch(() => undefined)
    }, delayMs)
    this.#retries.set(documentName, { timer, attempt })
  }

  /** The document's log holds everything (or the document is gone): no retry, backoff reset. */
  clear(documentName: string): void {
    const retry = this.#retries.get(documentName)
    if (retry?.timer) clearTimeout(retry.timer)
    this.#retries.delete(documentName)
  }

  stop(): void {
    this.#stopped = true
    for (const { timer } of this.#retries.values()) if (timer) clearTimeout(timer)
    this.#retries.clear()
  }
}
