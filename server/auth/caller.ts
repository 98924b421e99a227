import type { GrantableRole } from '../../shared/roles.ts'

/** A signed-in person, as mirrored in the users table. */
export interface AuthUser {
  id: string
  email: string | null
  name: string
}

/** The sign-in behind a user's token, when the provider names one. */
export interface CallerSession {
  /** Built-in: the refresh-token family; Clerk: the session id. */
  id?: string
  /** When the token expires (ms since epoch). */
  expiresAt?: number
}

/** Who is calling: a user, or the holder of a share link (which only reaches its own document). */
export type Caller =
  | { kind: 'user'; user: AuthUser; session?: CallerSession }
  | { kind: 'link'; link: { id: string; documentId: string; role: GrantableRole } }

/** How the update log names the author of an edit. */
export function authorId(caller: Caller): string {
  return caller.kind === 'user' ? caller.user.id : `link:${caller.link.id}`
}

/**
 * A token that was presented but is not acceptable. `reason` travels to clients: as the
 * permission-denied reason on `/collab`, the 4401 close reason on `/yjs`, the message of a 401.
 */
export class AuthError extends Error {
  readonly reason: string
  constructor(reason: string, message = reason) {
    super(message)
    this.name = 'AuthError'
    this.reason = reason
  }
}
