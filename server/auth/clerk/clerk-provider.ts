import { createPublicKey } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { ClerkFastifyOptions } from '@clerk/fastify'
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import { type AuthConfig, ConfigError } from '../../config/config.ts'
import type { Db } from '../../db/schema.ts'
import { bearerToken } from '../authenticator.ts'
import { AuthError } from '../caller.ts'
import type { IdentityProvider, VerifiedIdentity } from '../identity-provider.ts'

export type ClerkAuthConfig = Extract<AuthConfig, { provider: 'clerk' }>

/*
 * Clerk session tokens carry only `sub`, `sid`, `azp` and timing claims. A user's email and name
 * reach us only when the Clerk instance adds them as custom claims (Dashboard → Sessions →
 * Customize session token), e.g. `{ "email": "{{user.primary_email_address}}", "name":
 * "{{user.full_name}}" }`. These spellings are read, first match wins:
 *   email: `email`, `primary_email`, `primaryEmail`, `email_address`, `emailAddress`
 *   name:  `name`, `full_name`, `fullName`, else `first_name` + `last_name`,
 *          `firstName` + `lastName` or `given_name` + `family_name` (either part may be missing)
 * Without them the user is mirrored with no email and their Clerk id as the name.
 */
const EMAIL_CLAIMS = ['email', 'primary_email', 'primaryEmail', 'email_address', 'emailAddress'] as const
const NAME_CLAIMS = ['name', 'full_name', 'fullName'] as const
const NAME_PART_CLAIMS = [
  ['first_name', 'last_name'],
  ['firstName', 'lastName'],
  ['given_name', 'family_name'],
] as const

// The users table's column sizes: longer claim values are ignored rather than failing the insert.
const MAX_USER_ID = 128
const MAX_EMAIL = 320
const MAX_NAME = 255

/**
 * Clerk as the identity provider. Sockets verify the session token with `verifyToken`; REST goes
 * through `@clerk/fastify`'s `clerkPlugin` and `getAuth`. Both verify with `CLERK_JWT_KEY` when it
 * is set, so no request reaches Clerk's servers.
 */
export async function createClerkProvider(
  auth: ClerkAuthConfig,
  deps: { db: Db; log: FastifyBaseLogger },
): Promise<IdentityProvider> {
  const log = deps.log.child({ module: 'clerk' })
  if (auth.jwtKey) assertUsableJwtKey(auth.jwtKey)
  else log.warn('CLERK_JWT_KEY is not set: session tokens are verified with keys fetched from Clerk')
  if (auth.authorizedParties.length === 0) {
    log.warn('CLERK_AUTHORIZED_PARTIES is not set: session tokens minted for any origin are accepted')
  }

  // With a development key the SDK prints a telemetry notice and may report usage; a server needs neither.
  process.env.CLERK_TELEMETRY_DISABLED ??= '1'
  // Imported here, not at the top: `@clerk/fastify` copies CLERK_* from the environment into module
  // constants when first imported, and built-in auth should not load Clerk at all. Every option is
  // passed explicitly below, so the validated config is the only source.
  const [{ clerkPlugin, getAuth }, { verifyToken, createClerkClient }, { isMachineToken }] = await Promise.all([
    import('@clerk/fastify'),
    import('@clerk/backend'),
    import('@clerk/backend/internal'),
  ])

  const authorizedParties = auth.authorizedParties.length > 0 ? [...auth.authorizedParties] : undefined
  const verifyOptions = {
    jwtKey: auth.jwtKey,
    secretKey: auth.secretKey,
    ...(authorizedParties && { authorizedParties }),
  }

  async function verifyAccessToken(token: string): Promise<VerifiedIdentity> {
    // API keys, M2M and OAuth tokens name no user session; `getAuth` treats them as signed out too.
    if (isMachineToken(token)) throw new AuthError('token-type-mismatch')
    let claims: Record<string, unknown>
    try {
      claims = (await verifyToken(token, verifyOptions)) as Record<string, unknown>
    } catch (error) {
      const reason = (error as { reason?: unknown } | null)?.reason
      if (typeof reason === 'string' && reason !== '') throw new AuthError(reason)
      log.debug({ err: error }, 'session token verification failed unexpectedly')
      throw new AuthError('token-invalid')
    }
    return identityFromClaims(claims)
  }

  async function identifyRequest(request: FastifyRequest): Promise<VerifiedIdentity | undefined> {
    const token = bearerToken(request.headers.authorization)
    // A Bearer-token API: without one the request is anonymous, whatever cookies it carries.
    if (!token) return undefined
    const clerkAuth = getAuth(request)
    if (clerkAuth.userId && clerkAuth.sessionClaims) {
      return identityFromClaims(clerkAuth.sessionClaims as Record<string, unknown>)
    }
    // Clerk refused the token. Its reasons are worded for its browser handshake
    // (`session-token-expired-refresh-non-eligible-no-refresh-cookie`); verifying again names the
    // reason exactly as a socket would hear it. Only the refusal path pays for this.
    await verifyAccessToken(token)
    // Refused by the plugin but not by `verifyToken` (e.g. a JWT of a non-session category).
    const debug = (clerkAuth as { debug?: () => { reason?: unknown } }).debug?.()
    throw new AuthError(typeof debug?.reason === 'string' && debug.reason ? debug.reason : 'token-invalid')
  }

  async function register(app: FastifyInstance): Promise<void> {
    // `clerkPlugin` authenticates from the request's headers. For the length of its hook it sees an
    // API-shaped copy of them (see `clerkView`); the real ones are back before anything else runs.
    const realHeaders = new WeakMap<FastifyRequest, IncomingHttpHeaders>()
    app.addHook('onRequest', async (request) => {
      realHeaders.set(request, request.raw.headers)
      request.raw.headers = clerkView(request.raw.headers, isMachineToken)
    })
    await app.register(clerkPlugin, {
      publishableKey: auth.publishableKey,
      secretKey: auth.secretKey,
      jwtKey: auth.jwtKey,
      // Honoured at runtime (passed on to `authenticateRequest`) but missing from the options type.
      ...(authorizedParties && { authorizedParties }),
      // onRequest, not the default preHandler: the auth plugin resolves the caller in onRequest.
      hookName: 'onRequest',
    } as ClerkFastifyOptions)
    app.addHook('onRequest', async (request) => {
      const headers = realHeaders.get(request)
      if (headers) request.raw.headers = headers
      realHeaders.delete(request)
    })
    // No `/api/v1/auth/*` routes: Clerk's own frontend handles sign-in, sign-up and sessions.
  }

  const backend = auth.fetchProfiles ? createClerkClient({ secretKey: auth.secretKey, apiUrl: auth.apiUrl }) : undefined

  /** Email and name from Clerk's Backend API, for users whose token carries neither. */
  async function fetchProfile(userId: string) {
    if (!backend) return undefined
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Clerk Backend API timed out')), PROFILE_TIMEOUT_MS)
    })
    try {
      const user = await Promise.race([backend.users.getUser(userId), timeout])
      const email = user.primaryEmailAddress?.emailAddress ?? user.emailAddresses[0]?.emailAddress
      const name = user.fullName ?? user.username ?? undefined
      return {
        email: email && email.length <= MAX_EMAIL ? email : undefined,
        name: name && name.length <= MAX_NAME ? name : undefined,
      }
    } finally {
      clearTimeout(timer)
    }
  }

  return { kind: 'clerk', verifyAccessToken, identifyRequest, register, fetchProfile }
}

const PROFILE_TIMEOUT_MS = 5_000

/**
 * What `clerkPlugin` sees of a request. This API takes Bearer tokens only (DESIGN: REST), so:
 * - no cookies: cookie sessions would need CSRF defences, and on Clerk's cookie path an expired
 *   token with a refresh cookie is refreshed by calling Clerk's Backend API;
 * - no machine tokens (`mt_…`, `ak_…`, `oat_…`, machine JWTs): Clerk verifies those by calling its
 *   Backend API, which anyone could trigger with a made-up token, before any rate limit;
 * - `sec-fetch-dest: empty`, as `fetch()` sends: on a development instance Clerk answers a browser
 *   navigation (`sec-fetch-dest: document`, or `accept: text/html`) that has no token, or an
 *   expired one, with a 307 to its handshake endpoint, the token in the URL. An API never redirects.
 */
export function clerkView(
  headers: IncomingHttpHeaders,
  isMachineToken: (token: string) => boolean,
): IncomingHttpHeaders {
  const { authorization: _authorization, cookie: _cookie, ...view } = headers
  const token = bearerToken(headers.authorization)
  if (token && !isMachineToken(token)) view.authorization = `Bearer ${token}`
  view['sec-fetch-dest'] = 'empty'
  return view
}

/** The identity a verified session token names; throws `AuthError` for one we can't use. */
export function identityFromClaims(claims: Record<string, unknown>): VerifiedIdentity {
  const userId = claims.sub
  if (typeof userId !== 'string' || userId === '' || userId.length > MAX_USER_ID) {
    throw new AuthError('token-invalid', 'The session token names no usable user id')
  }
  // A pending session (e.g. one that must still choose an organisation) is not signed in yet;
  // `getAuth` reports it signed out, and sockets must agree.
  if (claims.sts === 'pending') throw new AuthError('session-pending')
  const sessionId = typeof claims.sid === 'string' && claims.sid !== '' ? claims.sid : undefined
  const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined
  return { userId, email: emailFromClaims(claims), name: nameFromClaims(claims), sessionId, expiresAt }
}

function emailFromClaims(claims: Record<string, unknown>): string | undefined {
  for (const key of EMAIL_CLAIMS) {
    const value = stringClaim(claims, key)
    if (value && value.length <= MAX_EMAIL && /^[^\s@]+@[^\s@]+$/.test(value)) return value
  }
  return undefined
}

function nameFromClaims(claims: Record<string, unknown>): string | undefined {
  const candidates = [
    ...NAME_CLAIMS.map((key) => stringClaim(claims, key)),
    ...NAME_PART_CLAIMS.map((keys) =>
      keys
        .map((key) => stringClaim(claims, key))
        .filter(Boolean)
        .join(' '),
    ),
  ]
  return candidates.find((name) => name && name.length <= MAX_NAME) || undefined
}

function stringClaim(claims: Record<string, unknown>, key: string): string | undefined {
  const value = claims[key]
  return typeof value === 'string' ? value.trim() : undefined
}

/**
 * `@clerk/backend` reads CLERK_JWT_KEY by string surgery: it strips the PEM armour and a fixed
 * RSA-2048 SPKI prefix and suffix and takes the rest as the modulus. Any other key (RSA-4096, a
 * PKCS#1 "RSA PUBLIC KEY", an EC key) is accepted silently and then fails every token as
 * `token-invalid-signature`. Refuse it at startup instead.
 */
function assertUsableJwtKey(pem: string): void {
  const body = pem
    .replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '')
    .replace(/\s+/g, '')
  let details: { type?: string; modulusLength?: number; publicExponent?: bigint } = {}
  try {
    if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new Error('not an SPKI PEM')
    const key = createPublicKey({ key: Buffer.from(body, 'base64'), format: 'der', type: 'spki' })
    details = { type: key.asymmetricKeyType, ...key.asymmetricKeyDetails }
  } catch {
    // Reported below.
  }
  if (details.type !== 'rsa' || details.modulusLength !== 2048 || details.publicExponent !== 65537n) {
    throw new ConfigError([
      'CLERK_JWT_KEY: must be the instance\'s PEM public key ("-----BEGIN PUBLIC KEY-----…", RSA-2048), ' +
        'as shown under Dashboard → API keys → JWT public key',
    ])
  }
}
