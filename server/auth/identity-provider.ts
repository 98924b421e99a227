import type { FastifyInstance, FastifyRequest } from 'fastify'

/**
 * Clock skew tolerated on token expiry, by REST and sockets alike. Instances behind one load
 * balancer drift a little, and Clerk's `verifyToken` allows the same 5 s by default.
 */
export const CLOCK_TOLERANCE_SECONDS = 5

/** What a provider vouches for after verifying a user's access token. */
export interface VerifiedIdentity {
  userId: string
  email?: string | null
  name?: string | null
  /** The sign-in the token belongs to (built-in: its refresh-token family; Clerk: `sid`). */
  sessionId?: string
  /** When the token stops being valid (ms since epoch); sockets opened with it close then. */
  expiresAt?: number
}

/**
 * An identity provider: Clerk, or the built-in email/password one. The rest of the server only
 * sees this interface.
 */
export interface IdentityProvider {
  readonly kind: 'clerk' | 'local'
  /**
   * Verifies a user access token (a socket's token, or a REST Bearer token) and returns who it
   * names. Throws `AuthError` when the token is bad, expired or not meant for us.
   */
  verifyAccessToken(token: string): Promise<VerifiedIdentity>
  /**
   * REST only: who the request is from, when the provider reads requests its own way (Clerk's
   * `getAuth`). Undefined result = no credentials; throw `AuthError` for bad ones. When absent, the
   * Bearer token goes through `verifyAccessToken`.
   */
  identifyRequest?(request: FastifyRequest): Promise<VerifiedIdentity | undefined>
  /**
   * Looks up what a token didn't say about a user (Clerk: the Backend API). Called in the
   * background, at most once per user and process, for users mirrored without an email; never
   * on a request's path.
   */
  fetchProfile?(userId: string): Promise<{ email?: string | null; name?: string | null } | undefined>
  /** Registers the provider's plugins and routes (`/api/v1/auth/*` for the built-in one). */
  register(app: FastifyInstance): Promise<void>
}
