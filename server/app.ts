import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { authPlugin } from './auth/auth.plugin.ts'
import { createAuthenticator } from './auth/authenticator.ts'
import { meRoutes } from './auth/me.routes.ts'
import { createIdentityProvider } from './auth/providers.ts'
import { SessionEvents } from './auth/session-events.ts'
import { type Collab, createCollab } from './collab/hocuspocus.ts'
import { SocketLimits } from './collab/socket-limits.ts'
import { attachWebSockets, type WebSocketGateway } from './collab/websocket.ts'
import type { Config } from './config/config.ts'
import type { DatabaseHandle } from './db/connect.ts'
import { documentsRoutes } from './documents/documents.routes.ts'
import { importRoutes } from './documents/import.routes.ts'
import { updatesRoutes } from './documents/updates.routes.ts'
import { clientAddressResolver, fastifyTrustProxy } from './http/client-address.ts'
import { registerErrorHandlers } from './http/errors.ts'
import { healthRoutes } from './http/health.routes.ts'
import { openApiPlugin } from './http/openapi.plugin.ts'
import { rateLimitPlugin } from './http/rate-limit.plugin.ts'
import { securityPlugin } from './http/security.plugin.ts'
import { registerJsonParser, registerValidation } from './http/validation.ts'
import { sharingRoutes } from './sharing/sharing.routes.ts'
import { diffRoutes } from './versions/diff.routes.ts'
import { restoreRoutes } from './versions/restore.routes.ts'
import { versionsRoutes } from './versions/versions.routes.ts'

export interface App {
  http: FastifyInstance
  /** Every route the app serves, as registered (the permission-matrix test checks each has a row). */
  routes: readonly { method: string; url: string }[]
  collab: Collab
  websockets: WebSocketGateway
  log: FastifyBaseLogger
}

/** Composes the capabilities into one Fastify app; owns no logic of its own. */
export async function buildApp(
  config: Config,
  deps: { database: DatabaseHandle; isMigrated: () => boolean; logger?: boolean | object },
): Promise<App> {
  const http = Fastify({
    logger: deps.logger ?? { level: config.logLevel, redact: ['req.headers.authorization'] },
    // JSON bodies are small; routes that take a binary body (a Yjs update, an import) raise it.
    bodyLimit: config.jsonBodyLimitBytes,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // Long ids get the schema's 400 with details rather than a bare 414.
    routerOptions: { maxParamLength: 1024 },
    forceCloseConnections: true,
  }).withTypeProvider<TypeBoxTypeProvider>()
  registerErrorHandlers(http)
  registerValidation(http)
  registerJsonParser(http)
  const routes: { method: string; url: string }[] = []
  http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })

  const { db } = deps.database
  const sessions = new SessionEvents(http.log)
  const provider = await createIdentityProvider(config, { db, log: http.log, sessions })
  const authenticator = createAuthenticator(db, provider, http.log.child({ module: 'auth' }))
  const collab = createCollab(config, { db, log: http.log, authenticator, sessions })
  const websockets = attachWebSockets(http.server, collab.hocuspocus, {
    maxMessageBytes: config.maxMessageBytes,
    log: http.log.child({ module: 'websocket' }),
    metrics: collab.metrics,
    limits: new SocketLimits({
      maxPerAddress: config.maxSocketsPerAddress,
      maxUnauthenticatedPerAddress: config.maxUnauthenticatedSocketsPerAddress,
    }),
    clientAddress: clientAddressResolver(config.trustProxy),
    authTimeoutMs: config.socketAuthTimeoutMs,
  })

  // OpenAPI first: it collects every route registered after it.
  await http.register(openApiPlugin)
  await http.register(securityPlugin, { config })
  // Before any route: @fastify/rate-limit hooks routes as they are added. Its check runs at
  // preParsing, after the auth plugin's onRequest hook, so limits are per user where there is one.
  await http.register(rateLimitPlugin, { config })
  await provider.register(http)
  await http.register(authPlugin, { authenticator })
  await http.register(healthRoutes, { db, isMigrated: deps.isMigrated })
  await http.register(meRoutes, { prefix: '/api/v1' })
  await http.register(documentsRoutes, { prefix: '/api/v1', db, collab, config })
  await http.register(sharingRoutes, { prefix: '/api/v1', db, collab, config })
  await http.register(importRoutes, { prefix: '/api/v1', db, collab, config })
  await http.register(updatesRoutes, { prefix: '/api/v1', db, collab, config })
  await http.register(restoreRoutes, { prefix: '/api/v1', db, collab })
  await http.register(versionsRoutes, { prefix: '/api/v1', db, config })
  await http.register(diffRoutes, { prefix: '/api/v1', db, config })
  return { http, routes, collab, websockets, log: http.log }
}
