import { randomBytes } from 'node:crypto'
import type {} from '@fastify/rate-limit'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { AuthSessionDto, LoginBody, RefreshTokenBody, RegisterBody } from '../../../shared/api/auth.ts'
import { ErrorBody } from '../../../shared/api/common.ts'
import { ErrorCodes } from '../../../shared/errors.ts'
import type { Db } from '../../db/schema.ts'
import { AppError } from '../../http/errors.ts'
import { clientAddressKey, rateLimited } from '../../http/rate-limit.plugin.ts'
import { acceptInvitations } from '../../sharing/invitations.queries.ts'
import { AuthError, type AuthUser } from '../caller.ts'
import { findUserByEmail, findUserById, insertUser, normaliseEmail, toAuthUser } from '../users.queries.ts'
import type { AccessTokens } from './access-tokens.ts'
import type { LoginFailureLimiter } from './login-failures.ts'
import { hashPassword, verifyPassword } from './passwords.ts'
import type { IssuedRefreshToken, RefreshTokens } from './refresh-tokens.ts'

export interface LocalAuthRoutesOptions {
  db: Db
  accessTokens: AccessTokens
  refreshTokens: RefreshTokens
  /** Per client address, per route; stricter than the API default because each attempt costs an scrypt run. */
  rateLimitPerMinute: number
  /** Failed sign-ins per email: guesses spread over many addresses still hit a limit. */
  loginFailures: LoginFailureLimiter
}

/** Built-in accounts: `/auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout` (mount under `/api/v1`). */
export const localAuthRoutes: FastifyPluginAsyncTypebox<LocalAuthRoutesOptions> = async (
  app,
  { db, accessTokens, refreshTokens, rateLimitPerMinute, loginFailures },
) => {
  // By address alone: a token sent along (one request buys an access token or a share link) must
  // not open a fresh budget of guesses.
  const config = { rateLimit: { max: rateLimitPerMinute, timeWindow: '1 minute', keyGenerator: clientAddressKey } }
  const errors = { 400: ErrorBody, 429: ErrorBody }

  // Before validation, so " Alice@Example.COM " passes `format: 'email'` and a blank name fails minLength.
  app.addHook('preValidation', async (request) => {
    const body = request.body as Record<string, unknown> | null
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return
    if (typeof body.email === 'string') body.email = normaliseEmail(body.email)
    if (typeof body.name === 'string') body.name = body.name.trim()
  })

  const session = async (user: AuthUser, refresh: IssuedRefreshToken) => ({
    user,
    accessToken: await accessTokens.sign(user.id, refresh.familyId),
    refreshToken: refresh.token,
    expiresIn: accessTokens.ttlSeconds,
  })

  app.post(
    '/auth/register',
    {
      config,
      schema: {
        tags: ['auth'],
        summary: 'Create an account (built-in provider) and sign in',
        description: 'Pending invitations for this email become memberships of their documents.',
        body: RegisterBody,
        response: { 201: AuthSessionDto, ...errors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { email, password, name } = request.body
      // Checked first only to skip the scrypt run; the unique index decides races.
      if (await findUserByEmail(db, email)) throw emailTaken()
      const id = `usr_${randomBytes(16).toString('base64url')}`
      const passwordHash = await hashPassword(password)
      const created = await db.transaction().execute(async (trx) => {
        if (!(await insertUser(trx, { id, email, name, passwordHash }))) return false
        await acceptInvitations(trx, { id, email })
        return true
      })
      if (!created) throw emailTaken()
      const user: AuthUser = { id, email, name }
      return reply.code(201).send(await session(user, await refreshTokens.issue(id)))
    },
  )

  app.post(
    '/auth/login',
    {
      config,
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        description:
          'After LOGIN_FAILURES_PER_EMAIL failed attempts for one email within LOGIN_FAILURE_WINDOW_SECONDS, ' +
          'answers 429 for that email (with Retry-After) without checking the password.',
        body: LoginBody,
        response: { 200: AuthSessionDto, ...errors, 401: ErrorBody },
      },
    },
    async (request, reply) => {
      const attempt = await loginFailures.begin(request.body.email)
      if (attempt.limited) {
        throw rateLimited(reply, attempt.retryAfterSeconds, `Too many failed sign-ins for this email, retry in ${attempt.retryAfterSeconds} seconds`)
      }
      const row = await findUserByEmail(db, request.body.email)
      // Runs scrypt even for an unknown email, so neither the answer nor its timing tells them apart.
      const matches = await verifyPassword(request.body.password, row?.password_hash)
      if (!row || !matches) throw new AppError(401, ErrorCodes.Unauthorized, 'Invalid email or password')
      await attempt.succeeded()
      return session(toAuthUser(row), await refreshTokens.issue(row.id))
    },
  )

  app.post(
    '/auth/refresh',
    {
      config,
      schema: {
        tags: ['auth'],
        summary: 'Trade a refresh token for a new access token and refresh token',
        description:
          'The presented refresh token is retired. Presenting a retired token again revokes every token ' +
          'descended from the same sign-in.',
        body: RefreshTokenBody,
        response: { 200: AuthSessionDto, ...errors, 401: ErrorBody },
      },
    },
    async (request) => {
      let rotated: Awaited<ReturnType<RefreshTokens['rotate']>>
      try {
        rotated = await refreshTokens.rotate(request.body.refreshToken)
      } catch (error) {
        if (error instanceof AuthError) {
          throw new AppError(401, ErrorCodes.Unauthorized, `Refresh token refused: ${error.reason}`)
        }
        throw error
      }
      const row = await findUserById(db, rotated.userId)
      if (!row) throw new AppError(401, ErrorCodes.Unauthorized, 'Refresh token refused: unknown-user')
      return session(toAuthUser(row), rotated)
    },
  )

  app.post(
    '/auth/logout',
    {
      config,
      schema: {
        tags: ['auth'],
        summary: 'Sign out: revoke the refresh token and every token of its sign-in',
        description:
          'Always 204, also for unknown or already revoked tokens. Sockets opened with access tokens of ' +
          'this sign-in are closed (unauthorized:signed-out); on REST those tokens stay valid until they expire.',
        body: RefreshTokenBody,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await refreshTokens.revoke(request.body.refreshToken)
      return reply.code(204).send(null)
    },
  )
}

const emailTaken = () => new AppError(409, ErrorCodes.Conflict, 'An account with this email already exists')
