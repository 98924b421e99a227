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
import { serializeRequest } from './http/log-redaction.ts'
import { Metrics } from './http/metrics.ts'
import { metricsRoutes } from './http/metrics.routes.ts'
import { openApiPlugin } from './http/openapi.plugin.ts'
import { rateLimitPlugin } from './http/rate-limit.plugin.ts'
import { registerRequestIds, requestIdFor, requestIdMixin, requestLogger } from './http/request-id.ts'
import { securityPlugin } from './http/security.plugin.ts'
import { registerJsonParser, registerValidation } from './http/validation.ts'
import { Delivery, type DeliveryTiming } from './notifications/delivery.ts'
import { NotificationBus } from './notifications/notification-bus.ts'
import { notificationSettingsRoutes } from './notifications/notification-settings.routes.ts'
import { notificationsRoutes } from './notifications/notifications.routes.ts'
import { Notifier } from './notifications/notifier.ts'
import { NotificationStreams, type NotificationStreamsOptions } from './notifications/stream.ts'
import { streamRoutes } from './notifications/stream.routes.ts'
import { subscriptionsRoutes } from './notifications/subscriptions.routes.ts'
import { createRedis } from './redis/connection.ts'
import { ControlChannel } from './redis/control-channel.ts'
import { handleControlMessages } from './redis/control-handlers.ts'
import { redisReadiness } from './redis/readiness.ts'
import { sharingRoutes } from './sharing/sharing.routes.ts'
import { diffRoutes } from './versions/diff.routes.ts'
import { restoreRoutes } from './versions/restore.routes.ts'
import { versionsRoutes } from './versions/versions.routes.ts'
import { webRoutes } from './web/web.routes.ts'

export interface App {
  http: FastifyInstance
  /** Every route the app serves, as registered (the permission-matrix test checks each has a row). */
  routes: readonly { method: string; url: string }[]
  collab: Collab
  websockets: WebSocketGateway
  /** Nudges live notification streams after stream events are committed. */
  notificationBus: NotificationBus
  /** The open notification streams (SSE); closed on shutdown. */
  notificationStreams: NotificationStreams
  /** Webhooks and email through the outbox: started and stopped by server.ts. */
  delivery: Delivery
  /** Writes inbox items for stored edits and access changes; drained by server.ts on shutdown. */
  notifier: Notifier
  /** Prometheus metrics (`GET /metrics`); multi-instance mode wires `metrics.setRedisProbe`. */
  metrics: Metrics
  /** Control messages to every instance (in-process without Redis); stopped by server.ts. */
  control: ControlChannel
  log: FastifyBaseLogger
}

/** Composes the capabilities into one Fastify app; owns no logic of its own. */
export async function buildApp(
  config: Config,
  deps: {
    database: DatabaseHandle
    isMigrated: () => boolean
    logger?: boolean | object
    /** Stream timing (tests shorten the heartbeat); not configuration. */
    notificationStream?: Pick<NotificationStreamsOptions, 'heartbeatMs'>
    /** Outbox, digest and webhook debounce timing (tests shorten it); not configuration. */
    delivery?: DeliveryTiming
  },
): Promise<App> {
  const http = Fastify({
    // Tokens never reach a log line: not the Authorization header, nor `?token=` in a URL.
    logger: deps.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization'],
      serializers: { req: serializeRequest },
      // The request id on every line written while a request runs, whichever module writes it.
      mixin: requestIdMixin,
    },
    // X-Request-Id when sent and well-formed, else a UUID; echoed in the response (request-id.ts).
    genReqId: requestIdFor,
    childLoggerFactory: requestLogger,
    // JSON bodies are small; routes that take a binary body (a Yjs update, an import) raise it.
    bodyLimit: config.jsonBodyLimitBytes,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // Long ids get the schema's 400 with details rather than a bare 414.
    routerOptions: { maxParamLength: 1024 },
    forceCloseConnections: true,
  }).withTypeProvider<TypeBoxTypeProvider>()
  registerRequestIds(http)
  registerErrorHandlers(http)
  registerValidation(http)
  registerJsonParser(http)
  const routes: { method: string; url: string }[] = []
  http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })

  const { db } = deps.database
  const sessions = new SessionEvents(http.log)
  // Multi-instance mode: one connection pair for the process (collab.redis.connection; server.ts closes it).
  const redis = config.redis && createRedis(config.redis, http.log.child({ module: 'redis' }))
  const provider = await createIdentityProvider(config, { db, log: http.log, sessions, redis })
  const authenticator = createAuthenticator(db, provider, http.log.child({ module: 'auth' }))
  const collab = createCollab(config, { db, log: http.log, authenticator, sessions, redis })
  const delivery = new Delivery(
    config,
    { database: deps.database, log: http.log.child({ module: 'delivery' }), updateLog: collab.updateLog },
    deps.delivery,
  )
  const notificationBus = new NotificationBus()
  const notifier = new Notifier({
    db,
    log: http.log.child({ module: 'notifier' }),
    bus: notificationBus,
    webhooks: delivery.webhookEvents,
  })
  notifier.attach(collab.updateLog)
  // Access changes, deletions, sign-outs and notification nudges reach every instance (Redis
  // pub/sub); in one process they are dispatched in place.
  const control = new ControlChannel({ log: http.log.child({ module: 'control' }), redis })
  handleControlMessages(control, { collab, sessions, notificationBus })
  control.start()
  const notificationStreams = new NotificationStreams({
    db,
    bus: notificationBus,
    sessions,
    log: http.log.child({ module: 'notification-stream' }),
    checkIntervalMs: config.sessionCheckIntervalSeconds * 1000,
    checkSessions: provider.kind === 'local',
    ...deps.notificationStream,
  })
  const metrics = new Metrics({
    collab: collab.metrics,
    documents: collab.hocuspocus,
    updateLog: collab.updateLog,
    db,
    log: http.log.child({ module: 'metrics' }),
  })
  metrics.observeRequests(http)
  if (redis) metrics.setRedisProbe(() => redis.isUp())
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
  await http.register(rateLimitPlugin, { config, redis })
  await provider.register(http)
  await http.register(authPlugin, { authenticator })
  await http.register(healthRoutes, { db, isMigrated: deps.isMigrated, redis: redis && redisReadiness(redis, control) })
  await http.register(metricsRoutes, { metrics, token: config.metricsToken })
  await http.register(meRoutes, { prefix: '/api/v1' })
  await http.register(documentsRoutes, { prefix: '/api/v1', db, collab, config, webhooks: delivery.documentWebhooks, notifier, control })
  await http.register(sharingRoutes, {
    prefix: '/api/v1',
    db,
    control,
    config,
    emailInvitation: (trx, invitation) => delivery.emailInvitation(trx, invitation),
    notifier,
  })
  await http.register(importRoutes, { prefix: '/api/v1', db, collab, config })
  await http.register(updatesRoutes, { prefix: '/api/v1', db, collab, config })
  await http.register(restoreRoutes, { prefix: '/api/v1', db, collab, webhooks: delivery.documentWebhooks })
  await http.register(versionsRoutes, { prefix: '/api/v1', db, config })
  await http.register(diffRoutes, { prefix: '/api/v1', db, config })
  await http.register(streamRoutes, { prefix: '/api/v1', streams: notificationStreams, authenticator })
  await http.register(notificationsRoutes, { prefix: '/api/v1', db, bus: notificationBus })
  await http.register(subscriptionsRoutes, { prefix: '/api/v1', db })
  await http.register(notificationSettingsRoutes, { prefix: '/api/v1', db })
  await http.register(webRoutes, { config })
  return {
    http,
    routes,
    collab,
    websockets,
    notificationBus,
    notificationStreams,
    delivery,
    notifier,
    metrics,
    control,
    log: http.log,
  }
}
