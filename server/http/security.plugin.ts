import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config/config.ts'

/** Methods a cross-origin browser client may use; the REST API needs all of them. */
const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

/** Response headers a cross-origin client may read: how long to back off after a 429. */
const CORS_EXPOSED_HEADERS = ['Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']

/**
 * Security headers (helmet) and CORS for every route registered after this plugin.
 *
 * The API only answers JSON and binary, so its Content-Security-Policy allows nothing: a response
 * opened as a page can load no script and cannot be framed. The Swagger UI at `/docs` sets its own
 * policy (see openapi.plugin.ts), which replaces this one on its pages only.
 */
export const securityPlugin = fp<{ config: Config }>(
  async (app: FastifyInstance, { config }) => {
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'none'"],
          frameAncestors: ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
    })

    // No origins configured = no CORS headers at all: browsers then allow same-origin calls only.
    if (config.corsOrigins.length === 0) return
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
      methods: CORS_METHODS,
      // Last-Event-ID: an EventSource resuming the notification stream sends it.
      allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'X-Request-Id'],
      exposedHeaders: CORS_EXPOSED_HEADERS,
      // Bearer tokens travel in a header, never in cookies, so browsers need not send credentials
      // (and `*` would be refused with them).
      credentials: false,
      maxAge: 600,
      // An OPTIONS request without Origin is not a preflight; don't answer it with a plain-text 400.
      strictPreflight: false,
    })
  },
  { name: 'security', fastify: '5.x' },
)
