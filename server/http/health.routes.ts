import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import Type from 'typebox'
import type { Db } from '../db/schema.ts'

export interface HealthRoutesOptions {
  db: Db
  /** True once migrations have run. */
  isMigrated: () => boolean
}

const Status = Type.Object({
  status: Type.String(),
  checks: Type.Optional(Type.Record(Type.String(), Type.String())),
})

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (
  app,
  { db, isMigrated },
) => {
  app.get(
    '/health',
    { schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  )

  app.get(
    '/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: database reachable and migrated',
        response: { 200: Status, 503: Status },
      },
    },
    async (request, reply) => {
      const checks: Record<string, string> = { migrations: isMigrated() ? 'ok' : 'pending' }
      try {
        await sql`select 1`.execute(db)
        checks.database = 'ok'
      } catch (error) {
        // Probes are anonymous: the driver's message (host names, users) goes to the log only.
        request.log.warn({ err: error }, 'readiness: the database is unreachable')
        checks.database = 'unreachable'
      }
      const ready = Object.values(checks).every((v) => v === 'ok')
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks })
    },
  )
}
