import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ErrorCodes } from '../../shared/errors.ts'
import type { Config } from '../config/config.ts'
import { AppError } from './errors.ts'

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
  // Same normalisation as the plugin's default: one IPv6 /64 is one client, not 2^64 of them.
  return `ip:${normalizeIP(request.ip)}`
}

/**
 * Limits every route to `config.rateLimitPerMinute` requests per minute per key (see
 * `rateLimitKey`). A route may set `config: { rateLimit: { max, timeWindow } }` for its own,
 * separate budget (the auth routes are stricter), or `rateLimit: false`.
 *
 * Register it before any route: @fastify/rate-limit attaches its hook to each route as the route is
 * added (onRoute), so a route registered earlier is never limited, its own `rateLimit` included.
 */
export const rateLimitPlugin = fp<{ config: Config }>(
  async (app: FastifyInstance, { config }) => {
    await app.register(rateLimit, {
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
