import type { AuthSessionDto, UserDto } from '../../../shared/api/auth.ts'
import { ApiClient, type TokenSource } from '../api/client.ts'
import { ApiError } from '../api/errors.ts'

const STORAGE_KEY = 'collab.session'
/**
 * Refresh this long before the access token expires (90 s, or 40% of a shorter lifetime), so no
 * call, socket or stream carries a stale one. It must exceed the server's own lead (it asks open
 * sockets for a new token 60 s, or a quarter of the lifetime, before expiry) plus clock rounding,
 * or we would answer that request with the token that is about to expire.
 */
const REFRESH_MARGIN_MS = 90_000
const REFRESH_MARGIN_SHARE = 0.4

interface StoredSession {
  user: UserDto
  accessToken: string
  refreshToken: string
  /** Epoch ms when `accessToken` expires. */
  expiresAt: number
  /** How long access tokens live, in ms (the server's `expiresIn`). */
  lifetimeMs: number
}

/** True while the stored access token is fresh enough to send. */
function fresh(session: StoredSession): boolean {
  const margin = Math.min(REFRESH_MARGIN_MS, (session.lifetimeMs ?? Infinity) * REFRESH_MARGIN_SHARE)
  return session.expiresAt - Date.now() > margin
}

type Listener = (user: UserDto | null, reason?: string) => void

/**
 * The signed-in user's tokens (built-in provider), kept in localStorage so a reload stays signed
 * in. Refresh tokens are single use and a reused one revokes the whole sign-in, so tabs refresh
 * under one Web Lock and adopt a pair another tab already rotated instead of spending theirs again.
 */
export class Session implements TokenSource {
  #current: StoredSession | null = read()
  #endReason: string | undefined
  #listeners = new Set<Listener>()
  readonly #public = new ApiClient()

  constructor() {
    // Another tab signed in, refreshed or signed out.
    window.addEventListener('storage', (event) => {
      if (event.key !== STORAGE_KEY) return
      const before = this.#current?.user.id
      this.#current = read()
      if (this.#current?.user.id !== before) this.#emit()
    })
  }

  get user(): UserDto | null {
    return this.#current?.user ?? null
  }

  /** Why the last session ended, when it was not a sign-out: shown above the sign-in form. */
  get endReason(): string | undefined {
    return this.#endReason
  }

  /** Epoch ms when the current access token expires (0 when signed out). */
  get expiresAt(): number {
    return this.#current?.expiresAt ?? 0
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async signUp(name: string, email: string, password: string): Promise<void> {
    this.#store(await this.#public.post<AuthSessionDto>('/auth/register', { name, email, password }))
  }

  async signIn(email: string, password: string): Promise<void> {
    this.#store(await this.#public.post<AuthSessionDto>('/auth/login', { email, password }))
  }

  async signOut(): Promise<void> {
    const session = this.#current
    this.#clear()
    if (session) await this.#public.post('/auth/logout', { refreshToken: session.refreshToken }).catch(() => {})
  }

  /** A fresh access token, refreshed first when it is about to expire; undefined when signed out. */
  async token(): Promise<string | undefined> {
    const session = this.#current
    if (!session) return undefined
    if (fresh(session)) return session.accessToken
    return this.#refresh(session)
  }

  /** The server refused our access token: refresh once more, or end the session. */
  async unauthorized(): Promise<boolean> {
    const session = this.#current
    if (!session) return false
    return (await this.#refresh(session, true)) !== undefined
  }

  async #refresh(stale: StoredSession, force = false): Promise<string | undefined> {
    return navigator.locks.request(STORAGE_KEY, async () => {
      const latest = read()
      if (!latest) {
        this.#clear()
        return undefined
      }
      // Another tab rotated the pair while we waited for the lock: use theirs.
      if (latest.refreshToken !== stale.refreshToken && fresh(latest)) {
        this.#current = latest
        return latest.accessToken
      }
      if (!force && fresh(latest)) return latest.accessToken
      try {
        const fresh = await this.#public.post<AuthSessionDto>('/auth/refresh', { refreshToken: latest.refreshToken })
        this.#store(fresh, false)
        return fresh.accessToken
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          this.#clear('Your session has expired. Please sign in again.')
          return undefined
        }
        throw error
      }
    })
  }

  #store(dto: AuthSessionDto, announce = true): void {
    const before = this.#current?.user.id
    this.#current = {
      user: dto.user,
      accessToken: dto.accessToken,
      refreshToken: dto.refreshToken,
      expiresAt: Date.now() + dto.expiresIn * 1000,
      lifetimeMs: dto.expiresIn * 1000,
    }
    this.#endReason = undefined
    localStorage.setItem(STORAGE_KEY, JSON.stringify(this.#current))
    if (announce || before !== dto.user.id) this.#emit()
  }

  #clear(reason?: string): void {
    const had = this.#current !== null
    if (had) this.#endReason = reason
    this.#current = null
    localStorage.removeItem(STORAGE_KEY)
    if (had) this.#emit(reason)
  }

  #emit(reason?: string): void {
    for (const listener of this.#listeners) listener(this.user, reason)
  }
}

function read(): StoredSession | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    return raw ? (JSON.parse(raw) as StoredSession) : null
  } catch {
    return null
  }
}
