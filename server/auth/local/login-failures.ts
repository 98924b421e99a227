import { normaliseEmail } from '../users.queries.ts'

/** The attempts counted for one key in one fixed window. */
export interface AttemptWindow {
  count: number
  /** Milliseconds since the epoch when the window closes and the count starts again from zero. */
  resetAt: number
}

/**
 * Where attempt counts live. Each call must be atomic for its key; a shared store (Redis: INCR plus
 * PEXPIRE on a new key) can then replace the in-memory one and every instance sees one count.
 */
export interface AttemptCounterStore {
  /** Counts one attempt for `key`, opening a window of `windowMs` when none is open. */
  increment(key: string, windowMs: number, now: number): Promise<AttemptWindow>
  /** Takes one attempt back, if the window that resets at `resetAt` is still the open one. */
  decrement(key: string, resetAt: number, now: number): Promise<void>
}

/**
 * One process's counts. Bounded: closed windows are swept on every increment, and past `maxKeys`
 * open windows the oldest is forgotten (filling it needs that many failed sign-ins within one
 * window, which the per-address limit on the auth routes makes expensive).
 */
export class MemoryAttemptCounterStore implements AttemptCounterStore {
  readonly #windows = new Map<string, AttemptWindow>()
  readonly #maxKeys: number

  constructor(maxKeys = 100_000) {
    this.#maxKeys = maxKeys
  }

  /** Open windows held. */
  get size(): number {
    return this.#windows.size
  }

  async increment(key: string, windowMs: number, now: number): Promise<AttemptWindow> {
    this.#sweep(now)
    let window = this.#windows.get(key)
    if (!window) {
      window = { count: 0, resetAt: now + windowMs }
      this.#windows.set(key, window)
      if (this.#windows.size > this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!)
    }
    window.count += 1
    return { ...window }
  }

  async decrement(key: string, resetAt: number, now: number): Promise<void> {
    const window = this.#windows.get(key)
    if (window && window.resetAt === resetAt && resetAt > now && window.count > 0) window.count -= 1
  }

  #sweep(now: number): void {
    // Windows are inserted as they open and callers use one length per store, so insertion order
    // is closing order: the sweep stops at the first window still open.
    for (const [key, window] of this.#windows) {
      if (window.resetAt > now) return
      this.#windows.delete(key)
    }
  }
}

export type LoginAttempt =
  | { readonly limited: true; readonly retryAfterSeconds: number }
  | {
      readonly limited: false
      /** The password matched: this attempt is not a failure. */
      succeeded(): Promise<void>
    }

export interface LoginFailureLimiter {
  /**
   * Counts a sign-in attempt for `email` before its password is checked, and says whether the
   * email is over its limit. Counting first means a burst of parallel guesses can't all pass the
   * check while the first ones are still hashing.
   */
  begin(email: string): Promise<LoginAttempt>
}

export interface LoginFailureOptions {
  maxFailures: number
  windowSeconds: number
  store?: AttemptCounterStore
  now?: () => number
}

/**
 * Failed sign-ins per email, in fixed windows. A success takes back only its own attempt; the
 * failures before it stay counted. Resetting on success would hand a guesser a fresh budget each
 * time the account's owner signs in, and the owner, who knows the password, gains little from it.
 */
export function createLoginFailureLimiter(options: LoginFailureOptions): LoginFailureLimiter {
  const store = options.store ?? new MemoryAttemptCounterStore()
  const now = options.now ?? Date.now
  const windowMs = options.windowSeconds * 1000
  return {
    async begin(email) {
      // Unknown emails are counted too, so a 429 tells nothing about which accounts exist.
      const key = `login:${normaliseEmail(email)}`
      const started = now()
      const window = await store.increment(key, windowMs, started)
      if (window.count > options.maxFailures) {
        return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil((window.resetAt - started) / 1000)) }
      }
      return { limited: false, succeeded: () => store.decrement(key, window.resetAt, now()) }
    },
  }
}
