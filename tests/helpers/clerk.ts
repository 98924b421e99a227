import { randomBytes } from 'node:crypto'
import { exportSPKI, generateKeyPair, SignJWT } from 'jose'

/** The frontend origin tokens are minted for (`azp`), and the one the server authorises. */
export const CLERK_FRONTEND_ORIGIN = 'http://localhost:5173'
const FRONTEND_API = 'something.clerk.accounts.dev'
export const CLERK_ISSUER = `https://${FRONTEND_API}`
// A development instance's key: `pk_test_` + base64 of its Frontend API host and a `$`.
export const CLERK_PUBLISHABLE_KEY = `pk_test_${Buffer.from(`${FRONTEND_API}$`).toString('base64')}`

export interface MintOptions {
  /** The user id; default `user_test`. */
  sub?: string
  sid?: string
  azp?: string
  iss?: string
  kid?: string
  /** Seconds from now; negative for an expired token. Default 60. */
  expiresIn?: number
  /** Seconds from now the token becomes valid; default -10. */
  notBefore?: number
  /** Seconds from now it was issued; default -10. */
  issuedAt?: number
  /** Custom session claims (email, name, …), as a Clerk session token template adds them. */
  claims?: Record<string, unknown>
}

export interface ClerkTestIssuer {
  /** SPKI PEM of the signing key, as the Clerk dashboard shows it (real newlines). */
  publicKeyPem: string
  /** `startTestServer` overrides that put the server in Clerk mode, trusting this issuer. */
  env: Record<string, string>
  /** A Clerk-shaped session token (RS256), signed by this issuer. */
  mint(options?: MintOptions): Promise<string>
}

/**
 * Stands in for a Clerk instance, offline: an RSA key pair and tokens shaped like Clerk's session
 * tokens. RSA-2048 because `@clerk/backend` can only read a 2048-bit `CLERK_JWT_KEY`.
 */
export async function createClerkTestIssuer(): Promise<ClerkTestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 })
  const publicKeyPem = await exportSPKI(publicKey)
  return {
    publicKeyPem,
    env: {
      CLERK_PUBLISHABLE_KEY,
      // Required by `@clerk/fastify` even though a JWT key means it is never used.
      CLERK_SECRET_KEY: `sk_test_${randomBytes(16).toString('hex')}`,
      CLERK_JWT_KEY: publicKeyPem,
      CLERK_AUTHORIZED_PARTIES: CLERK_FRONTEND_ORIGIN,
      // Offline: no Backend API lookups unless a test points CLERK_API_URL at its own stand-in.
      CLERK_FETCH_PROFILES: 'false',
    },
    mint(options = {}) {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({
        ...options.claims,
        sid: options.sid ?? `sess_${randomBytes(8).toString('hex')}`,
        azp: options.azp ?? CLERK_FRONTEND_ORIGIN,
        v: 2,
      })
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'ins_test', typ: 'JWT' })
        .setSubject(options.sub ?? 'user_test')
        .setIssuer(options.iss ?? CLERK_ISSUER)
        .setIssuedAt(now + (options.issuedAt ?? -10))
        .setNotBefore(now + (options.notBefore ?? -10))
        .setExpirationTime(now + (options.expiresIn ?? 60))
        .sign(privateKey)
    },
  }
}

/** The token with its payload changed and the original signature kept: a forgery. */
export function tamperPayload(token: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>
  const forged = Buffer.from(JSON.stringify({ ...claims, ...changes })).toString('base64url')
  return `${header}.${forged}.${signature}`
}
