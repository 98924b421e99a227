import { randomUUID } from 'node:crypto'
import { errors, jwtVerify, SignJWT } from 'jose'
import { AuthError } from '../caller.ts'
import { CLOCK_TOLERANCE_SECONDS } from '../identity-provider.ts'

/** Claims every access token carries and every verification checks. */
export const ACCESS_TOKEN_ISSUER = 'yjs-collab-server'
export const ACCESS_TOKEN_AUDIENCE = 'yjs-collab-server'
/** RFC 9068's type for access tokens, so no other JWT signed with the same secret passes for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt'


export interface AccessTokens {
  readonly ttlSeconds: number
  /** A token for `userId`, tied to the sign-in (refresh-token family) `sessionId` as its `sid` claim. */
  sign(userId: string, sessionId: string): Promise<string>
  /**
   * Who a valid token names, its sign-in and when it expires (ms); throws
   * `AuthError('token-expired' | 'token-invalid')`. Tokens minted before `sid` existed have none.
   */
  verify(token: string): Promise<{ userId: string; sessionId?: string; expiresAt: number }>
}

export function createAccessTokens(secret: Uint8Array, ttlSeconds: number): AccessTokens {
  return {
    ttlSeconds,
    sign: (userId, sessionId) =>
      // `sid` lets a sign-out find the sockets opened with this sign-in's tokens.
      new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE })
        .setSubject(userId)
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .setJti(randomUUID())
        .sign(secret),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, secret, {
          // Only what we sign: `alg: none`, RS256-with-our-secret-as-a-public-key and friends are refused.
          algorithms: ['HS256'],
          issuer: ACCESS_TOKEN_ISSUER,
          audience: ACCESS_TOKEN_AUDIENCE,
          typ: ACCESS_TOKEN_TYPE,
          requiredClaims: ['sub', 'exp', 'iat', 'jti'],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        })
        if (!payload.sub || typeof payload.exp !== 'number') throw new AuthError('token-invalid')
        const sessionId = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined
        return { userId: payload.sub, sessionId, expiresAt: payload.exp * 1000 }
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw new AuthError('token-expired')
        if (error instanceof errors.JOSEError) throw new AuthError('token-invalid')
        throw error
      }
    },
  }
}
