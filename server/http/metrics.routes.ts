import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { bearerToken } from '../auth/authenticator.ts'
import { AppError } from './errors.ts'
import type { Metrics } from './metrics.ts'

export interface MetricsRoutesOptions {
  metrics: Metrics
  /** `METRICS_TOKEN`: when set, scrapes must send it as a Bearer token; unset, /metrics is open. */
  token: string | undefined
}

/** `GET /metrics`: Prometheus text format. Exempt from rate limits (see rate-limit.plugin.ts). */
export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (app, { metrics, token }) => {
  const expected = token === undefined ? undefined : digest(token)
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format)',
        description: 'Open unless `METRICS_TOKEN` is set; then send it as `Authorization: Bearer <METRICS_TOKEN>`.',
        ...(expected ? { security: [{ bearerAuth: [] }] } : {}),
        response: {
          200: { description: 'Metrics', content: { 'text/plain': { schema: Type.String() } } },
          401: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      if (expected && !matches(bearerToken(request.headers.authorization), expected)) {
        throw new AppError(401, ErrorCodes.Unauthorized, 'Metrics need the METRICS_TOKEN bearer token')
      }
      const body = await metrics.render()
      return reply.type(metrics.contentType).send(body)
    },
  )
}

/** SHA-256 first: timingSafeEqual needs equal lengths, and the digest leaks nothing about the length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

function matches(presented: string | undefined, expected: Buffer): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), expected)
}
