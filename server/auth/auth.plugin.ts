import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ErrorCodes } from '../../shared/errors.ts'
import { AppError } from '../http/errors.ts'
import type { Authenticator } from './authenticator.ts'
import { AuthError, type AuthUser, type Caller } from './caller.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; null without credentials. Set before rate limiting and every handler. */
    caller: Caller | null
    /** Why the presented credentials were refused, if they were. */
    authFailure: string | null
  }
}

/** Resolves `request.caller` on every request; routes decide whether they need one. */
export const authPlugin = fp<{ authenticator: Authenticator }>(
  async (app: FastifyInstance, { authenticator }) => {
    app.decorateRequest('caller', null)
    app.decorateRequest('authFailure', null)
    // 401 before 400: a protected route refuses a caller without credentials before its body is
    // read, parsed or validated (a megabyte of nested arrays costs real CPU). Added per route at
    // preParsing, after the rate limiter's own preParsing hook (registered earlier), so anonymous
    // floods still spend their address's budget.
    app.addHook('onRoute', (route) => {
      if (!isProtectedRoute(route.url ?? route.path)) return
      const existing = route.preParsing === undefined ? [] : [route.preParsing].flat()
      route.preParsing = [...existing, requireCallerBeforeBody]
    })
    app.addHook('onRequest', async (request) => {
      try {
        request.caller = (await authenticator.fromRequest(request)) ?? null
      } catch (error) {
        if (!(error instanceof AuthError)) throw error
        request.authFailure = error.reason
      }
    })
  },
  { name: 'auth' },
)

/** Sign-up, sign-in and token refresh are how a caller gets credentials; health and docs are open. */
const PUBLIC_API_PREFIX = '/api/v1/auth/'

function isProtectedRoute(url: string): boolean {
  return url.startsWith('/api/') && !url.startsWith(PUBLIC_API_PREFIX)
}

async function requireCallerBeforeBody(request: FastifyRequest): Promise<void> {
  requireCaller(request)
}

/** The caller, or a 401 (with the reason a presented token was refused). */
export function requireCaller(request: FastifyRequest): Caller {
  if (request.caller) return request.caller
  throw new AppError(
    401,
    ErrorCodes.Unauthorized,
    request.authFailure ? `Invalid credentials: ${request.authFailure}` : 'Authentication required',
  )
}

/** A signed-in user; share links are not accounts, so they get a 401 here. */
export function requireUser(request: FastifyRequest): AuthUser {
  const caller = requireCaller(request)
  if (caller.kind === 'user') return caller.user
  throw new AppError(401, ErrorCodes.Unauthorized, 'This needs a user account, not a share link')
}
