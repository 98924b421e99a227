import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ErrorCodes } from '../../shared/errors.ts'
import type { Config } from '../config/config.ts'
import type { RedisConnection } from '../redis/connection.ts'
import { AppError } from './errors.ts'
import { sharedRateLimitStore } from './rate-limit-store.ts'

/** Probes, metrics scrapes and the API docs: never limited, so monitoring can't lock itself out. */
const UNLIMITED_PATHS = new Set(['/health', '/ready', '/metrics', '/openapi.json', '/docs'])

export function isUnlimitedPath(path: string): boolean {
  return UNLIMITED_PATHS.has(path) || path.startsWith('/docs/')
}

/** The budget a request spends: its user, its share link, or else its IP address. */
export function rateLimitKey(request: FastifyRequest): string {
  const caller = request.caller
  if (caller?.kind === 'user') return `user:${caller.user.id}`
  if (caller?.kind === 'link') return `link:${caller.link.id}`
  return clientAddressKey(request)
}

/**
 * The client's address, whatever token it sends. The auth routes count by this alone: keyed by
 * caller, every access token or share link (each one request away) would buy a fresh budget of
 * password guesses.
 */
export function clientAddressKey(request: FastifyRequest): string {
  // Same normalisation as the plugin's default: one IPv6 /64 is one client, not 2^64 of them.
  return `ip:${normalizeIP(request.ip)}`
}

/**
 * The 429 of a limit checked outside the plugin's own hook, shaped like the plugin's: the same
 * error body, with Retry-After on the reply.
 */
export function rateLimited(
  reply: FastifyReply,
  retryAfterSeconds: number,
  message = `Rate limit exceeded, retry in ${retryAfterSeconds} seconds`,
): AppError {
  reply.header('retry-after', retryAfterSeconds)
  return new AppError(429, ErrorCodes.RateLimited, message)
}

export type RateLimiter = ReturnType<FastifyInstance['createRateLimit']>

/**
 * Spends one request of `limiter` (made with `app.createRateLimit`) and throws a 429 once it is used
 * up. For budgets only an authorised request may spend, so a handler calls it after its checks;
 * the route keeps the global per-caller limit as well.
 */
export async function spendRateLimit(limiter: RateLimiter, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const result = await limiter(request)
  if (!result.isAllowed && result.isExceeded) throw rateLimited(reply, result.ttlInSeconds)
}

/**
 * Limits every route to `config.rateLimitPerMinute` requests per minute per key (see
 * `rateLimitKey`). A route may set `config: { rateLimit: { max, timeWindow } }` for its own,
 * separate budget (the auth routes are stricter, and counted by `clientAddressKey`), or
 * `rateLimit: false`.
 *
 * Register it before any route: @fastify/rate-limit attaches its hook to each route as the route is
 * added (onRoute), so a route registered earlier is never limited, its own `rateLimit` included.
 *
 * With `redis` (multi-instance mode) every budget, the routes' own and `app.createRateLimit`'s
 * included, is counted in Redis, so a client spends one budget whichever instance it reaches. If
 * Redis fails to answer, the request passes uncounted (`skipOnError`, with a warning in the log):
 * an outage must not take the API down with it.
 */
export const rateLimitPlugin = fp<{ config: Config; redis?: RedisConnection }>(
  async (app: FastifyInstance, { config, redis }) => {
    await app.register(rateLimit, {
      ...(redis && { store: sharedRateLimitStore(redis, app.log.child({ module: 'rate-limit' })), skipOnError: true }),
      global: true,
      max: config.rateLimitPerMinute,
      timeWindow: '1 minute',
      // Runs after the auth plugin's onRequest hook has set `request.caller`, whatever the
      // registration order, and before the body is parsed and validated: requests that end in a
      // 400 or 413 still spend budget, and a limited client's body is never parsed.
      hook: 'preParsing',
      keyGenerator: rateLimitKey,
      // The matched route's pattern rather than the raw URL, so a query string or an unmatched
      // path can never pass for an exempt one.
      allowList: (request) => isUnlimitedPath(request.routeOptions.url ?? ''),
      // Thrown by the plugin and rendered by the app's error handler as `{ statusCode, code, … }`;
      // the plugin has already set Retry-After and the X-RateLimit-* headers.
      errorResponseBuilder: (_request, context) =>
        new AppError(429, ErrorCodes.RateLimited, `Rate limit exceeded, retry in ${context.after}`),
    })
  },
  { name: 'rate-limit', fastify: '5.x' },
)
