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
 * With a relay (the control channel), every instance hears of it: `ended` hands the event to the
 * relay, which calls `deliver` here and on the other instances.
 */
export class SessionEvents {
  readonly #listeners = new Set<(event: SessionEnded) => void>()
  readonly #log: FastifyBaseLogger | undefined
  #relay: ((event: SessionEnded) => unknown) | undefined

  constructor(log?: FastifyBaseLogger) {
    this.#log = log
  }

  onEnded(listener: (event: SessionEnded) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Sends `ended` through `relay`, which must call `deliver` on every instance, this one included. */
  relayThrough(relay: (event: SessionEnded) => unknown): void {
    this.#relay = relay
  }

  ended(event: SessionEnded): void {
    if (this.#relay) void this.#relay(event)
    else this.deliver(event)
  }

  /** Runs this instance's listeners. */
  deliver(event: SessionEnded): void {
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
