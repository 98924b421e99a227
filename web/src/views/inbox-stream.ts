import type { NotificationDto } from '../../../shared/api/notifications.ts'
import type { Session } from '../auth/session.ts'

/** Reopen at this share of the token's remaining life: the server ends a stream whose token expired. */
const RENEW_AT_SHARE = 0.6
const RETRY_MS = 3_000

interface Handlers {
  onCount: (count: number) => void
  onNotification: (item: NotificationDto) => void
}

/**
 * The signed-in user's notification stream (SSE). An EventSource cannot send headers, so the token
 * rides in `?token=`; before it expires we open a new stream with a fresh one and the last event id
 * we saw, so nothing is missed and the browser never retries with a stale token (a 401 and a
 * console error).
 */
export class InboxStream {
  readonly #session: Session
  readonly #handlers: Handlers
  #source: EventSource | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #lastEventId: string | undefined
  #stopped = false

  constructor(session: Session, handlers: Handlers) {
    this.#session = session
    this.#handlers = handlers
    void this.#open()
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#source?.close()
  }

  async #open(): Promise<void> {
    clearTimeout(this.#timer)
    this.#source?.close()
    let token: string | undefined
    try {
      token = await this.#session.token()
    } catch {
      token = undefined // offline: try again shortly
    }
    if (this.#stopped) return
    if (!token) {
      this.#schedule(RETRY_MS)
      return
    }
    const url = new URL('/api/v1/notifications/stream', location.origin)
    url.searchParams.set('token', token)
    if (this.#lastEventId) url.searchParams.set('lastEventId', this.#lastEventId)
    const source = new EventSource(url)
    this.#source = source
    source.addEventListener('unread-count', (event) => {
      this.#lastEventId = event.lastEventId || this.#lastEventId
      this.#handlers.onCount((JSON.parse(event.data) as { count: number }).count)
    })
    source.addEventListener('notification', (event) => {
      this.#lastEventId = event.lastEventId || this.#lastEventId
      this.#handlers.onNotification(JSON.parse(event.data) as NotificationDto)
    })
    // The stream ended (a restart, a network drop, this sign-in ended elsewhere): check the session
    // with a refresh (a dead one signs out, which stops this stream), then reopen with a fresh token.
    source.onerror = () => {
      source.close()
      if (this.#stopped || this.#source !== source) return
      this.#session.unauthorized().then(
        () => this.#schedule(RETRY_MS),
        () => this.#schedule(RETRY_MS),
      )
    }
    this.#schedule(Math.max(RETRY_MS, (this.#session.expiresAt - Date.now()) * RENEW_AT_SHARE))
  }

  #schedule(delay: number): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#open(), delay)
  }
}
