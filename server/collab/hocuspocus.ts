import { Hocuspocus } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import { UpdateLogExtension } from '../versions/update-log.extension.ts'
import type { Authenticator } from '../auth/authenticator.ts'
import type { SessionEvents } from '../auth/session-events.ts'
import { CollabMetrics } from './collab-metrics.ts'
import type { CollabContext } from './context.ts'
import { LiveAccess } from './live-access.ts'
import { DocumentAccessExtension } from './document-access.extension.ts'
import { MessageValidationExtension } from './message-validation.extension.ts'
import { SocketSessions } from './socket-sessions.ts'
import { PresenceExtension } from './presence.extension.ts'
import type { RedisConnection } from '../redis/connection.ts'
import { AwarenessRelay } from './awareness-relay.ts'
import { RedisSync } from './redis-sync.ts'
import { recoverAfterPeerCrash, RelayedDocuments } from './crash-recovery.ts'

export interface Collab {
  hocuspocus: Hocuspocus<CollabContext>
  updateLog: UpdateLogExtension
  liveAccess: LiveAccess
  socketSessions: SocketSessions
  metrics: CollabMetrics
  presence: PresenceExtension
  /** Multi-instance mode (REDIS_URL): document sync and presence across instances. */
  redis?: { connection: RedisConnection; sync: RedisSync; awareness: AwarenessRelay; relayed: RelayedDocuments }
}

export function createCollab(
  config: Config,
  deps: {
    db: Db
    log: FastifyBaseLogger
    authenticator: Authenticator
    sessions: SessionEvents
    /** Set in multi-instance mode. */
    redis?: RedisConnection
  },
): Collab {
  const { db, log, authenticator } = deps
  const redis = deps.redis && multiInstance(deps.redis, log)
  const metrics = new CollabMetrics()
  const liveAccess = new LiveAccess(db, log.child({ module: 'live-access' }))
  const socketLog = log.child({ module: 'socket-access' })
  const socketSessions = new SocketSessions({
    db,
    log: socketLog,
    authenticator,
    sessions: deps.sessions,
    checkIntervalMs: config.sessionCheckIntervalSeconds * 1000,
  })
  const updateLog = new UpdateLogExtension({ db, log: log.child({ module: 'update-log' }) })
  const presence = new PresenceExtension({
    maxClientIds: config.presenceMaxClientIds,
    maxStateBytes: config.presenceMaxStateBytes,
    metrics,
    log: log.child({ module: 'presence' }),
  })
  const hocuspocus = new Hocuspocus<CollabContext>({
    quiet: true,
    debounce: config.storeDebounceMs,
    maxDebounce: config.storeMaxDebounceMs,
    // Stock Hocuspocus merges every update received in one event-loop turn into one broadcast, and
    // Y.mergeUpdates is roughly quadratic in their number: a burst of thousands of edits stalls the
    // server. A byte cap keeps each merge small (see README, "Benchmark").
    flushDelay: 0,
    flushMaxBytes: config.broadcastFlushMaxBytes,
    // Stock allows 5 MiB per socket before authentication; a client has nothing that large to say
    // before its token is checked (see SocketLimits for the per-address caps).
    maxUnauthenticatedQueueSize: config.maxUnauthenticatedQueueBytes,
    extensions: [
      new DocumentAccessExtension({ authenticator, liveAccess, sessions: socketSessions, log: socketLog }),
      new MessageValidationExtension(metrics, socketLog),
      presence,
      updateLog,
      ...(redis ? [redis.sync, redis.awareness] : []),
    ],
  })
  liveAccess.attach(hocuspocus)
  socketSessions.attach(hocuspocus)
  if (redis) {
    recoverAfterPeerCrash({
      hocuspocus,
      updateLog,
      connection: redis.connection,
      awareness: redis.awareness,
      relayed: redis.relayed,
      storeMaxDebounceMs: config.storeMaxDebounceMs,
      log: log.child({ module: 'crash-recovery' }),
    })
  }
  return { hocuspocus, updateLog, liveAccess, socketSessions, metrics, presence, redis }
}

function multiInstance(connection: RedisConnection, log: FastifyBaseLogger): NonNullable<Collab['redis']> {
  const awareness = new AwarenessRelay({ connection, log: log.child({ module: 'awareness-relay' }) })
  const relayed = new RelayedDocuments()
  // Priority 1000: its hooks run before every other extension's. A peer that relayed edits here is
  // one whose death matters (see crash-recovery.ts), even before its first heartbeat arrived.
  const sync = new RedisSync({
    connection,
    log: log.child({ module: 'redis-sync' }),
    onPeerMessage: (instance, documentName) => {
      awareness.markSeen(instance)
      relayed.record(instance, documentName)
    },
    onUnload: (documentName) => relayed.forget(documentName),
  })
  return { connection, sync, awareness, relayed }
}
