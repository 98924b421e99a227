import type { Connection, Hocuspocus } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import type { Authenticator } from '../auth/authenticator.ts'
import { AuthError, type Caller } from '../auth/caller.ts'
import { CLOCK_TOLERANCE_SECONDS } from '../auth/identity-provider.ts'
import type { SessionEvents } from '../auth/session-events.ts'
import { findExistingUserIds, findLiveSessions } from '../auth/sessions.queries.ts'
import type { Db } from '../db/schema.ts'
import type { CollabContext } from './context.ts'
import { denyConnection, liveConnections } from './deny.ts'

const SWEEP_INTERVAL_MS = 1_000
const TOLERANCE_MS = CLOCK_TOLERANCE_SECONDS * 1_000
/** Ask for a fresh token this long before expiry at most (a quarter of the token's life if shorter). */
const MAX_RENEW_LEAD_MS = 60_000

export interface SocketSessionsOptions {
  db: Db
  log: FastifyBaseLogger
  authenticator: Authenticator
  sessions: SessionEvents
  /** How often the database is asked whether connected users still exist and are still signed in. */
  checkIntervalMs: number
}

/**
 * Keeps every live connection tied to a valid token, as REST requests are: a connection whose
 * access token expires (after the same clock tolerance REST allows) is closed with
 * `unauthorized:token-expired`, unless the client presented a fresh token for the same user in
 * time. HocuspocusProvider clients are asked for one before expiry (its `token` option, when a
 * function, is called again); y-websocket clients cannot renew on an open socket and reconnect with
 * a new `?token=`. A sign-out closes that sign-in's sockets at once; a periodic check closes those
 * of deleted accounts and of sign-ins revoked elsewhere.
 */
export class SocketSessions {
  #hocuspocus: Hocuspocus<CollabContext> | undefined
  readonly #options: SocketSessionsOptions
  readonly #renewRequested = new WeakMap<Connection, number>()
  #sweepTimer: NodeJS.Timeout | undefined
  #checkTimer: NodeJS.Timeout | undefined
  #checking = false
  #unsubscribe: (() => void) | undefined

  constructor(options: SocketSessionsOptions) {
    this.#options = options
  }

  attach(hocuspocus: Hocuspocus<CollabContext>): void {
    this.#hocuspocus = hocuspocus
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS)
    this.#sweepTimer.unref()
    this.#checkTimer = setInterval(() => void this.check(), this.#options.checkIntervalMs)
    this.#checkTimer.unref()
    this.#unsubscribe = this.#options.sessions.onEnded(({ sessionId }) => this.#closeSession(sessionId))
  }

  stop(): void {
    clearInterval(this.#sweepTimer)
    clearInterval(this.#checkTimer)
    this.#unsubscribe?.()
  }

  /**
   * A token presented on an open connection (Hocuspocus' token sync). Never throws: a refusal ends
   * the connection with permission-denied, as a refused first authentication would.
   */
  async renew(connection: Connection<CollabContext>, token: string): Promise<void> {
    const current = connection.context.caller
    let next: Caller | undefined
    try {
      next = await this.#options.authenticator.fromToken(token)
    } catch (error) {
      if (!(error instanceof AuthError)) {
        this.#options.log.error({ err: error, socketId: connection.socketId }, 'token renewal failed')
        return
      }
      return denyConnection(connection, `unauthorized:${error.reason}`, this.#options.log)
    }
    // A connection keeps the identity it opened with: its role, its presence and its log rows
    // were decided for that caller.
    const same =
      next && current && next.kind === current.kind &&
      (next.kind === 'user' ? current.kind === 'user' && next.user.id === current.user.id : current.kind === 'link' && next.link.id === current.link.id)
    if (!same) return denyConnection(connection, 'unauthorized:token-mismatch', this.#options.log)
    // Hocuspocus merges a hook's return value into a copy of the context, not into the
    // connection's own object, so the connection's context is updated in place.
    connection.context.caller = next
    connection.context.tokenReceivedAt = Date.now()
  }

  /** Asks the database about every connected user and sign-in; closes those that are gone. */
  async check(): Promise<void> {
    if (!this.#hocuspocus || this.#checking) return
    this.#checking = true
    try {
      const connections = [...liveConnections(this.#hocuspocus.documents)].filter(
        (connection) => connection.context?.caller?.kind === 'user',
      )
      if (connections.length === 0) return
      const users = new Set<string>()
      const sessions = new Set<string>()
      for (const connection of connections) {
        const caller = connection.context.caller as Extract<Caller, { kind: 'user' }>
        users.add(caller.user.id)
        if (caller.session?.id) sessions.add(caller.session.id)
      }
      const { db } = this.#options
      const existing = await findExistingUserIds(db, [...users])
      // Only the built-in provider's sign-ins live in our database; Clerk's end with their tokens.
      const live =
        this.#options.authenticator.provider.kind === 'local' ? await findLiveSessions(db, [...sessions]) : undefined
      for (const connection of connections) {
        const caller = connection.context.caller as Extract<Caller, { kind: 'user' }>
        if (!existing.has(caller.user.id)) denyConnection(connection, 'unauthorized:unknown-user', this.#options.log)
        else if (live && caller.session?.id && !live.has(caller.session.id))
          denyConnection(connection, 'unauthorized:signed-out', this.#options.log)
      }
    } catch (error) {
      this.#options.log.error({ err: error }, 'socket session check failed')
    } finally {
      this.#checking = false
    }
  }

  #sweep(): void {
    if (!this.#hocuspocus) return
    const now = Date.now()
    for (const connection of liveConnections(this.#hocuspocus.documents)) {
      const caller = connection.context?.caller
      const expiresAt = caller?.kind === 'user' ? caller.session?.expiresAt : undefined
      if (expiresAt === undefined) continue
      if (now >= expiresAt + TOLERANCE_MS) {
        denyConnection(connection, 'unauthorized:token-expired', this.#options.log)
        continue
      }
      // Only HocuspocusProvider can answer a token request; the y-websocket bridge would repeat
      // the token from the URL.
      if (connection.context.via !== 'collab' || this.#renewRequested.get(connection) === expiresAt) continue
      const receivedAt = connection.context.tokenReceivedAt ?? now
      const lead = Math.min(MAX_RENEW_LEAD_MS, Math.max(0, expiresAt - receivedAt) / 4)
      if (now >= expiresAt - lead) {
        this.#renewRequested.set(connection, expiresAt)
        connection.requestToken()
      }
    }
  }

  #closeSession(sessionId: string): void {
    if (!this.#hocuspocus) return
    for (const connection of liveConnections(this.#hocuspocus.documents)) {
      const caller = connection.context?.caller
      if (caller?.kind === 'user' && caller.session?.id === sessionId)
        denyConnection(connection, 'unauthorized:signed-out', this.#options.log)
    }
  }
}
