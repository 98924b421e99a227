/** A stream event was written to `notification_events` for `userId`, up to `eventId`. */
export interface NotificationSignal {
  userId: string
  eventId: number
}

/**
 * Tells live notification streams that a user has new events to read from `notification_events`.
 * Only a nudge: the table is the truth (streams read from it, and replay it after a reconnect), so
 * a lost signal delays an event, never loses it. In-process today; multi-instance mode publishes
 * the same signals over Redis.
 */
export class NotificationBus {
  readonly #listeners = new Map<string, Set<(signal: NotificationSignal) => void>>()

  subscribe(userId: string, listener: (signal: NotificationSignal) => void): () => void {
    let set = this.#listeners.get(userId)
    if (!set) {
      set = new Set()
      this.#listeners.set(userId, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.#listeners.delete(userId)
    }
  }

  publish(signal: NotificationSignal): void {
    for (const listener of this.#listeners.get(signal.userId) ?? []) {
      try {
        listener(signal)
      } catch {
        // A broken stream must not stop the others; it cleans itself up on close.
      }
    }
  }
}
