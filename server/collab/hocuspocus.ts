import { Hocuspocus } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import { UpdateLogExtension } from '../versions/update-log.extension.ts'
import type { CollabContext } from './context.ts'
import { DocumentAccessExtension } from './document-access.extension.ts'
import { MessageValidationExtension } from './message-validation.extension.ts'

export interface Collab {
  hocuspocus: Hocuspocus<CollabContext>
  updateLog: UpdateLogExtension
}

export function createCollab(config: Config, deps: { db: Db; log: FastifyBaseLogger }): Collab {
  const updateLog = new UpdateLogExtension({ db: deps.db, log: deps.log.child({ module: 'update-log' }) })
  const hocuspocus = new Hocuspocus<CollabContext>({
    quiet: true,
    debounce: config.storeDebounceMs,
    maxDebounce: config.storeMaxDebounceMs,
    // Stock Hocuspocus merges every update received in one event-loop turn into one broadcast, and
    // Y.mergeUpdates is roughly quadratic in their number: a burst of thousands of edits stalls the
    // server. A byte cap keeps each merge small (see README, "Benchmark").
    flushDelay: 0,
    flushMaxBytes: config.broadcastFlushMaxBytes,
    extensions: [new DocumentAccessExtension(), new MessageValidationExtension(), updateLog],
  })
  return { hocuspocus, updateLog }
}
