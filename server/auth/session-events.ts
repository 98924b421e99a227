import type { FastifyBaseLogger } from 'fastify'

/** Why a sign-in ended before its tokens expired. */
export type SessionEndReason = 'signed-out' | 'refresh-token-reused'

export interface SessionEnded {
  /** The sign-in: built-in provider's refresh-token family. */
  sessionId: string
  userId: string
  reason: SessionEndReason
}

/**
 * Tells the rest of the server that a sign-in ended (a sign-out, or a refresh token presented twice),
 * so live sockets opened with that sign-in's access tokens close at once rather than at expiry.
 * In-process today; multi-instance mode carries the same events over Redis.
 */
export class SessionEvents {
  readonly #listeners = new Set<(event: SessionEnded) => void>()
  readonly #log: FastifyBaseLogger | undefined

  constructor(log?: FastifyBaseLogger) {
    this.#log = log
  }

  onEnded(listener: (event: SessionEnded) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  ended(event: SessionEnded): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (error) {
        // A listener's failure must not undo a sign-out that is already committed.
        this.#log?.error({ err: error, userId: event.userId }, 'session-ended listener failed')
      }
    }
  }
}
