import type { beforeSyncPayload, Extension } from '@hocuspocus/server'
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

  constructor(metrics: CollabMetrics) {
    this.#metrics = metrics
  }

  async beforeSync({ type, payload }: beforeSyncPayload<CollabContext>): Promise<void> {
    if (type !== SYNC_STEP_2 && type !== SYNC_UPDATE) return
    try {
      Y.decodeUpdate(payload)
    } catch {
      this.#metrics.invalidMessages += 1
      throw { ...CloseEvents.InvalidMessage }
    }
  }
}
