import type { Hocuspocus } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisConnection } from '../redis/connection.ts'
import type { UpdateLogExtension } from '../versions/update-log.extension.ts'
import type { AwarenessRelay } from './awareness-relay.ts'
import type { CollabContext } from './context.ts'

/** Time for a peer that is only cut off (not dead) to store what it holds, beyond its debounce. */
const MARGIN_MS = 2_000
/** How long one instance holds the right to recover a document after a given peer's death. */
const CLAIM_MS = 60_000

/**
 * Which peers relayed something about which loaded document: the documents whose live copy here
 * may hold a peer's edits that only the peer was to store.
 */
export class RelayedDocuments {
  readonly #peers = new Map<string, Set<string>>()

  /** A message from `peer` about `documentName` arrived (on the relayed-message path: no allocation once known). */
  record(peer: string, documentName: string): void {
    const peers = this.#peers.get(documentName)
    if (!peers) this.#peers.set(documentName, new Set([peer]))
    else if (!peers.has(peer)) peers.add(peer)
  }

  /** The document was unloaded here: whatever it held is gone or stored. */
  forget(documentName: string): void {
    this.#peers.delete(documentName)
  }

  /** Whether any of `peers` relayed something about the document; forgets them for it. */
  takeFrom(documentName: string, peers: readonly string[]): boolean {
    const relayed = this.#peers.get(documentName)
    if (!relayed) return false
    let any = false
    for (const peer of peers) any = relayed.delete(peer) || any
    if (relayed.size === 0) this.#peers.delete(documentName)
    return any
  }
}

/**
 * Each instance stores only the edits its own clients made; edits relayed from another instance
 * live here in memory only. If that instance dies before storing them, and their author never
 * reconnects (or reconnects here, where the document already has them, so its sync sends nothing),
 * nobody would store them. So when a peer goes silent, every loaded document it relayed something
 * about is compared with the log once the peer's store debounce has surely passed, and what the
 * log lacks is appended. Documents no silent peer spoke about hold nothing of theirs: skipped.
 *
 * Several survivors may hold the same document: a claim in Redis (`SET NX`, per document and dead
 * peer) lets one of them do it. Without Redis (the peer "went silent" because we lost Redis) every
 * instance compares anyway: the peers are alive and store their own edits meanwhile, so the log
 * normally lacks nothing by then, and a rare double append is the same update twice, which Yjs
 * applies once.
 */
export function recoverAfterPeerCrash(options: {
  hocuspocus: Hocuspocus<CollabContext>
  updateLog: UpdateLogExtension
  connection: RedisConnection
  awareness: AwarenessRelay
  relayed: RelayedDocuments
  storeMaxDebounceMs: number
  log: FastifyBaseLogger
}): void {
  const { hocuspocus, updateLog, connection, awareness, relayed, log } = options
  const claim = async (documentName: string, peer: string): Promise<boolean> => {
    if (!connection.isUp()) return true
    try {
      const key = connection.name('!', `recover:${peer}:${documentName}`)
      return (await connection.client.set(key, connection.instanceId, 'PX', CLAIM_MS, 'NX')) === 'OK'
    } catch {
      return true
    }
  }
  const run = async (peers: string[]) => {
    let compared = 0
    let stored = 0
    for (const [documentName, document] of hocuspocus.documents) {
      if (!relayed.takeFrom(documentName, peers)) continue
      try {
        let claimed = false
        for (const peer of peers) claimed = (await claim(documentName, peer)) || claimed
        if (!claimed) continue
        compared++
        if (await updateLog.reconcile(documentName, document)) stored++
      } catch (error) {
        log.error({ err: error, documentName }, 'crash recovery: could not compare a document with its log')
      }
    }
    log.info({ peers, compared, stored }, 'crash recovery: loaded documents compared with the log')
  }
  let timer: NodeJS.Timeout | undefined
  let silent: string[] = []
  awareness.onPeerExpired((instance) => {
    log.info({ instance }, 'crash recovery: a peer went silent; checking loaded documents against the log soon')
    silent.push(instance)
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      const peers = silent
      silent = []
      void run(peers)
    }, options.storeMaxDebounceMs + MARGIN_MS)
    timer.unref()
  })
}
