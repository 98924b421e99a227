import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql } from 'kysely'
import Type from 'typebox'
import type { Db } from '../db/schema.ts'

export interface HealthRoutesOptions {
  db: Db
  /** True once migrations have run. */
  isMigrated: () => boolean
  /**
   * Multi-instance mode: whether Redis answers and this instance hears the others. Must settle
   * quickly whatever Redis does (a short PING deadline), so the probe never hangs on it.
   */
  redis?: () => Promise<{ ok: boolean; detail?: Record<string, unknown> }>
}

const Status = Type.Object({
  status: Type.String(),
  checks: Type.Optional(Type.Record(Type.String(), Type.String())),
})

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (
  app,
  { db, isMigrated, redis },
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
        summary: 'Readiness: database reachable and migrated; in multi-instance mode, Redis reachable',
        response: { 200: Status, 503: Status },
      },
    },
    async (request, reply) => {
      const checks: Record<string, string> = { migrations: isMigrated() ? 'ok' : 'pending' }
      const redisCheck = redis?.()
      try {
        await sql`select 1`.execute(db)
        checks.database = 'ok'
      } catch (error) {
        // Probes are anonymous: the driver's message (host names, users) goes to the log only.
        request.log.warn({ err: error }, 'readiness: the database is unreachable')
        checks.database = 'unreachable'
      }
      if (redisCheck) {
        const { ok, detail } = await redisCheck
        // The probe hears a generic word; what failed goes to the log only.
        if (!ok) request.log.warn({ redis: detail }, 'readiness: Redis is unreachable')
        checks.redis = ok ? 'ok' : 'unreachable'
      }
      const ready = Object.values(checks).every((v) => v === 'ok')
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks })
    },
  )
}
