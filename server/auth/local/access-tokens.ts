import { randomUUID } from 'node:crypto'
import { errors, jwtVerify, SignJWT } from 'jose'
import { AuthError } from '../caller.ts'

/** Claims every access token carries and every verification checks. */
export const ACCESS_TOKEN_ISSUER = 'yjs-collab-server'
export const ACCESS_TOKEN_AUDIENCE = 'yjs-collab-server'
/** RFC 9068's type for access tokens, so no other JWT signed with the same secret passes for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt'

// Clocks of instances behind one load balancer drift a little; a few seconds is not a security gap.
const CLOCK_TOLERANCE_SECONDS = 5

export interface AccessTokens {
  readonly ttlSeconds: number
  sign(userId: string): Promise<string>
  /** The user id (`sub`) of a valid token; throws `AuthError('token-expired' | 'token-invalid')`. */
  verify(token: string): Promise<{ userId: string }>
}

export function createAccessTokens(secret: Uint8Array, ttlSeconds: number): AccessTokens {
  return {
    ttlSeconds,
    sign: (userId) =>
      new SignJWT()
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
        if (!payload.sub) throw new AuthError('token-invalid')
        return { userId: payload.sub }
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw new AuthError('token-expired')
        if (error instanceof errors.JOSEError) throw new AuthError('token-invalid')
        throw error
      }
    },
  }
}
