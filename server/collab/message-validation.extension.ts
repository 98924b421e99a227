import type { beforeSyncPayload, Extension } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import * as Y from 'yjs'
import { CloseEvents } from '../../shared/close-codes.ts'
import type { CollabMetrics } from './collab-metrics.ts'
import type { CollabContext } from './context.ts'

const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2

/**
 * Decodes every incoming Yjs update in full before Hocuspocus applies it. Yjs applies an update's
 * delete set while still reading it, so a truncated or corrupted update could change the document
 * half-way before failing; decoding first means a bad frame closes the connection and changes nothing.
 */
export class MessageValidationExtension implements Extension<CollabContext> {
  extensionName = 'message-validation'
  readonly #metrics: CollabMetrics
  readonly #log: FastifyBaseLogger | undefined

  constructor(metrics: CollabMetrics, log?: FastifyBaseLogger) {
    this.#metrics = metrics
    this.#log = log
  }

  async beforeSync({ type, payload, connection, documentName }: beforeSyncPayload<CollabContext>): Promise<void> {
    if (type !== SYNC_STEP_2 && type !== SYNC_UPDATE) return
    // Hocuspocus drops it (and the transports count it); a line says which connection tried.
    if (type === SYNC_UPDATE && connection.readOnly) {
      this.#log?.debug({ socketId: connection.socketId, documentName, bytes: payload.byteLength }, 'update from a read-only connection dropped')
    }
    try {
      Y.decodeUpdate(payload)
    } catch {
      this.#metrics.invalidMessages += 1
      throw { ...CloseEvents.InvalidMessage }
    }
  }
}
