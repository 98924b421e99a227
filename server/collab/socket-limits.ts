export interface SocketLimitsOptions {
  /** Open sockets per client address, authenticated or not (an office behind one NAT shares one). */
  maxPerAddress: number
  /** Sockets per client address that have not authenticated any document yet. */
  maxUnauthenticatedPerAddress: number
}

/** One admitted socket: tell it when it authenticates, and release it when it closes. */
export interface SocketAdmission {
  readonly isAuthenticated: boolean
  authenticated(): void
  release(): void
}

export type Refusal = 'too-many-sockets' | 'too-many-unauthenticated-sockets'

/**
 * Counts WebSocket connections per client address, so one client cannot hold an unbounded number
 * of sockets, and above all of sockets that never authenticate: each of those costs memory (its
 * pre-authentication queue) and a timer until its deadline. Checked at upgrade, before any frame is
 * read.
 */
export class SocketLimits {
  readonly #options: SocketLimitsOptions
  readonly #counts = new Map<string, { total: number; unauthenticated: number }>()

  constructor(options: SocketLimitsOptions) {
    this.#options = options
  }

  /** Admits a new (unauthenticated) socket from `address`, or says why not. */
  admit(address: string): SocketAdmission | Refusal {
    const counts = this.#counts.get(address) ?? { total: 0, unauthenticated: 0 }
    if (counts.total >= this.#options.maxPerAddress) return 'too-many-sockets'
    if (counts.unauthenticated >= this.#options.maxUnauthenticatedPerAddress) return 'too-many-unauthenticated-sockets'
    counts.total += 1
    counts.unauthenticated += 1
    this.#counts.set(address, counts)
    let authenticated = false
    let released = false
    return {
      get isAuthenticated() {
        return authenticated
      },
      authenticated: () => {
        if (authenticated || released) return
        authenticated = true
        counts.unauthenticated -= 1
      },
      release: () => {
        if (released) return
        released = true
        counts.total -= 1
        if (!authenticated) counts.unauthenticated -= 1
        if (counts.total === 0) this.#counts.delete(address)
      },
    }
  }

  /** Sockets currently counted for `address` (for tests and metrics). */
  count(address: string): { total: number; unauthenticated: number } {
    return { ...(this.#counts.get(address) ?? { total: 0, unauthenticated: 0 }) }
  }
}
