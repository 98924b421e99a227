import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { type Collab, createCollab } from './collab/hocuspocus.ts'
import { attachWebSockets, type WebSocketGateway } from './collab/websocket.ts'
import type { Config } from './config/config.ts'
import type { DatabaseHandle } from './db/connect.ts'
import { documentsRoutes } from './documents/documents.routes.ts'
import { registerErrorHandlers } from './http/errors.ts'
import { healthRoutes } from './http/health.routes.ts'
import { registerValidation } from './http/validation.ts'

export interface App {
  http: FastifyInstance
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
    logger: deps.logger ?? { level: config.logLevel },
    forceCloseConnections: true,
  }).withTypeProvider<TypeBoxTypeProvider>()
  registerErrorHandlers(http)
  registerValidation(http)

  const { db } = deps.database
  const collab = createCollab(config, { db, log: http.log })
  const websockets = attachWebSockets(http.server, collab.hocuspocus, {
    maxMessageBytes: config.maxMessageBytes,
    log: http.log.child({ module: 'websocket' }),
  })

  await http.register(healthRoutes, { db, isMigrated: deps.isMigrated })
  await http.register(documentsRoutes, { prefix: '/api/v1', db, collab, config })
  return { http, collab, websockets, log: http.log }
}
