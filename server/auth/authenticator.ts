import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { Db } from '../db/schema.ts'
import { hashToken, isShareLinkToken } from '../sharing/share-link-tokens.ts'
import { findActiveShareLink } from '../sharing/share-links.queries.ts'
import { AuthError, type AuthUser, type Caller } from './caller.ts'
import type { IdentityProvider, VerifiedIdentity } from './identity-provider.ts'
import { mirrorUser } from './users.queries.ts'
import { VerifiedTokens } from './verified-tokens.ts'

export interface Authenticator {
  readonly provider: IdentityProvider
  /** A socket's token, or a REST Bearer token. Undefined for no token; throws `AuthError` for a bad one. */
  fromToken(token: string | undefined): Promise<Caller | undefined>
  /** The caller of a REST request. */
  fromRequest(request: FastifyRequest): Promise<Caller | undefined>
}

const RECENT_USER_MS = 5_000
const RECENT_USERS_MAX = 10_000

export function createAuthenticator(db: Db, provider: IdentityProvider, log?: FastifyBaseLogger): Authenticator {
  const profilesAsked = new Set<string>()
  const verifiedTokens = new VerifiedTokens((token) => provider.verifyAccessToken(token))
  const recentUsers = new Map<string, { user: AuthUser; until: number }>()
  const completeProfile = (userId: string) => {
    if (!provider.fetchProfile || profilesAsked.has(userId)) return
    profilesAsked.add(userId)
    provider
      .fetchProfile(userId)
      .then((profile) => profile && mirrorUser(db, { userId, ...profile }, { createIfMissing: false }))
      .then(() => recentUsers.delete(userId))
      .catch((error) => log?.debug({ err: error, userId }, 'could not fetch the user profile'))
  }
  // A user opens a socket per document and tab, each checked the same way: the user row is kept
  // for a few seconds. Nothing in the app changes or removes it meanwhile (only an operator
  // deleting the row, which the periodic session check catches on live sockets anyway), and a
  // provider naming a different email or name than the kept row goes to the database again.
  const recentUser = (identity: VerifiedIdentity): AuthUser | undefined => {
    const kept = recentUsers.get(identity.userId)
    if (!kept || kept.until < Date.now()) return undefined
    const { user } = kept
    if ((identity.email && identity.email !== user.email) || (identity.name && identity.name !== user.name)) return undefined
    return user
  }
  const toCaller = async (identity: VerifiedIdentity): Promise<Caller> => {
    let user = recentUser(identity)
    if (!user) {
      // Clerk users are mirrored on first sight; a built-in token naming a deleted account is refused.
      user = await mirrorUser(db, identity, { createIfMissing: provider.kind === 'clerk' })
      if (!user) throw new AuthError('unknown-user')
      if (recentUsers.size >= RECENT_USERS_MAX) recentUsers.delete(recentUsers.keys().next().value as string)
      recentUsers.set(user.id, { user, until: Date.now() + RECENT_USER_MS })
    }
    if (user.email === null) completeProfile(user.id)
    return { kind: 'user', user, session: { id: identity.sessionId, expiresAt: identity.expiresAt } }
  }
  const fromShareLink = async (token: string): Promise<Caller> => {
    const link = await findActiveShareLink(db, hashToken(token))
    if (!link) throw new AuthError('invalid-share-link')
    return { kind: 'link', link: { id: link.id, documentId: link.document_id, role: link.role } }
  }
  return {
    provider,
    async fromToken(token) {
      if (!token) return undefined
      if (isShareLinkToken(token)) return fromShareLink(token)
      return toCaller(await verifiedTokens.verify(token))
    },
    async fromRequest(request) {
      const token = bearerToken(request.headers.authorization)
      if (token && isShareLinkToken(token)) return fromShareLink(token)
      if (provider.identifyRequest) {
        const identity = await provider.identifyRequest(request)
        return identity && toCaller(identity)
      }
      return this.fromToken(token)
    },
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match?.[1]
}
