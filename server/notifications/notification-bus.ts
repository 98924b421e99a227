/** A stream event was written to `notification_events` for `userId`, up to `eventId`. */
export interface NotificationSignal {
  userId: string
  eventId: number
}

/**
 * Tells live notification streams that a user has new events to read from `notification_events`.
 * Only a nudge: the table is the truth (streams read from it, and replay it after a reconnect), so
 * a lost signal delays an event, never loses it. With a relay (the control channel), signals reach
 * the streams of every instance: `publish` hands them to the relay, which calls `deliver` here and
 * on the other instances.
 */
export class NotificationBus {
  readonly #listeners = new Map<string, Set<(signal: NotificationSignal) => void>>()
  #relay: ((signal: NotificationSignal) => unknown) | undefined

  /** Sends `publish` through `relay`, which must call `deliver` on every instance, this one included. */
  relayThrough(relay: (signal: NotificationSignal) => unknown): void {
    this.#relay = relay
  }

  /** Users with a live stream on this instance. */
  listeningUsers(): string[] {
    return [...this.#listeners.keys()]
  }

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
    if (this.#relay) void this.#relay(signal)
    else this.deliver(signal)
  }

  /** Nudges this instance's streams of `signal.userId`. */
  deliver(signal: NotificationSignal): void {
    for (const listener of this.#listeners.get(signal.userId) ?? []) {
      try {
        listener(signal)
      } catch {
        // A broken stream must not stop the others; it cleans itself up on close.
      }
    }
  }
}
