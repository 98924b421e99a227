import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema } from 'fastify'
import fp from 'fastify-plugin'
import pkg from '../../package.json' with { type: 'json' }

/** Routes under this prefix need a Bearer token unless they declare their own `security`. */
const API_PREFIX = '/api/v1/'
/** …except these, which hand tokens out. */
const PUBLIC_API_PREFIX = '/api/v1/auth/'

const BEARER = [{ bearerAuth: [] }]

/**
 * The OpenAPI document, served at `GET /openapi.json`, and Swagger UI at `/docs`.
 *
 * Register it before any route: @fastify/swagger collects routes as they are added (onRoute).
 * Routes describe themselves through their `schema` (tags, summary, params, body, responses);
 * TypeBox schemas with an `$id` are inlined where they are used.
 */
export const openApiPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: pkg.name,
          version: pkg.version,
          description:
            `${pkg.description}\n\nLive editing happens over WebSockets, which OpenAPI cannot ` +
            'describe: `/collab` speaks the Hocuspocus protocol (document name = document id, ' +
            'provider `token`), `/yjs/{documentId}?token=` the y-websocket protocol.',
        },
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              description: 'A user access token (built-in login or Clerk session JWT) or a share-link token',
            },
          },
        },
        tags: [
          { name: 'documents', description: 'Documents, their metadata and content' },
          { name: 'sharing', description: 'Collaborators, roles and share links' },
          { name: 'versions', description: 'Version history: list, read, compare, name and restore versions' },
          { name: 'notifications', description: 'Inbox, live stream, per-document mute and notification settings' },
          { name: 'auth', description: 'Sign-up, sign-in and tokens (built-in provider), the current user' },
          { name: 'health', description: 'Liveness and readiness probes' },
        ],
      },
      transform: ({ schema, url }) => ({ schema: withDefaultSecurity(schema, url), url }),
    })

    await app.register(swaggerUi, {
      routePrefix: '/docs',
      // The API's own policy (security.plugin.ts) allows no scripts at all; these pages get the
      // policy Swagger UI needs instead, minus `upgrade-insecure-requests`, which would make browsers
      // fetch the UI's assets over HTTPS from a server reached over plain HTTP (a LAN, localhost).
      staticCSP: true,
      transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
    })

    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  },
  { name: 'openapi', fastify: '5.x' },
)

function withDefaultSecurity(schema: FastifySchema | undefined, url: string): FastifySchema {
  const current = (schema ?? {}) as FastifySchema & { security?: unknown }
  if (current.security !== undefined) return current
  if (!url.startsWith(API_PREFIX) || url.startsWith(PUBLIC_API_PREFIX)) return current
  return { ...current, security: BEARER } as FastifySchema
}
