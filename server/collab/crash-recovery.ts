import type { Hocuspocus } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import type { UpdateLogExtension } from '../versions/update-log.extension.ts'
import type { AwarenessRelay } from './awareness-relay.ts'
import type { CollabContext } from './context.ts'

/** Time for a peer that is only cut off (not dead) to store what it holds, beyond its debounce. */
const MARGIN_MS = 2_000

/**
 * Each instance stores only the edits its own clients made; edits relayed from another instance
 * live here in memory only. If that instance dies before storing them, and their author never
 * reconnects (or reconnects here, where the document already has them, so its sync sends nothing),
 * nobody would store them. So when a peer goes silent, every loaded document is compared with the
 * log once the peer's store debounce has surely passed, and what the log lacks is appended.
 */
export function recoverAfterPeerCrash(options: {
  hocuspocus: Hocuspocus<CollabContext>
  updateLog: UpdateLogExtension
  awareness: AwarenessRelay
  storeMaxDebounceMs: number
  log: FastifyBaseLogger
}): void {
  const { hocuspocus, updateLog, awareness, log } = options
  let timer: NodeJS.Timeout | undefined
  const run = async () => {
    timer = undefined
    for (const [documentName, document] of hocuspocus.documents) {
      try {
        await updateLog.reconcile(documentName, document)
      } catch (error) {
        log.error({ err: error, documentName }, 'crash recovery: could not compare a document with its log')
      }
    }
  }
  awareness.onPeerExpired((instance) => {
    log.info({ instance }, 'crash recovery: a peer went silent; checking loaded documents against the log soon')
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => void run(), options.storeMaxDebounceMs + MARGIN_MS)
    timer.unref()
  })
}
