import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { NotificationStreamHeaders, NotificationStreamQuery } from '../../shared/api/notification-stream.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { requireUser } from '../auth/auth.plugin.ts'
import type { Authenticator } from '../auth/authenticator.ts'
import { AuthError } from '../auth/caller.ts'
import { AppError } from '../http/errors.ts'
import type { NotificationStreams } from './stream.ts'

export interface StreamRoutesOptions {
  streams: NotificationStreams
  authenticator: Authenticator
}

/**
 * `GET /notifications/stream`: the signed-in user's notifications as Server-Sent Events.
 *
 * Written on the raw response (`reply.hijack()`) rather than through @fastify/sse (0.x at the time
 * of writing): the framing is four lines, and the stream's life (replay from the table, closing at
 * token expiry or sign-out, dropping slow readers) is ours either way. The rate limiter sees the
 * stream once, as the request that opened it; events are not requests.
 */
export const streamRoutes: FastifyPluginAsyncTypebox<StreamRoutesOptions> = async (app, { streams, authenticator }) => {
  app.get(
    '/notifications/stream',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Live notifications (Server-Sent Events): `notification` and `unread-count` events with ids',
        description:
          'Bearer header, or `?token=` for `EventSource`. Each event has an `id`; reconnecting with ' +
          '`Last-Event-ID` (or `?lastEventId=`) replays what was missed, otherwise the stream starts with ' +
          'the current `unread-count`. A `: heartbeat` comment every 25 s. The stream ends when the token ' +
          'expires: reconnect with a fresh one.',
        security: [{ bearerAuth: [] }],
        querystring: NotificationStreamQuery,
        headers: NotificationStreamHeaders,
        response: {
          200: { description: 'An event stream', content: { 'text/event-stream': { schema: Type.String() } } },
          400: ErrorBody,
          401: ErrorBody,
          503: ErrorBody,
        },
      },
      // EventSource can't set headers, so the token may come in the query; it runs after the app's
      // own auth hook (which read the header) and before the 401 check and the rate limiter.
      onRequest: async (request) => {
        const token = (request.query as { token?: unknown }).token
        if (request.caller || request.authFailure || typeof token !== 'string' || token === '') return
        try {
          request.caller = (await authenticator.fromToken(token)) ?? null
        } catch (error) {
          if (!(error instanceof AuthError)) throw error
          request.authFailure = error.reason
        }
      },
    },
    async (request, reply) => {
      const user = requireUser(request)
      if (!streams.accepting) throw new AppError(503, ErrorCodes.NotReady, 'Shutting down; reconnect shortly')
      const lastId = request.headers['last-event-id'] ?? request.query.lastEventId
      const session = request.caller?.kind === 'user' ? request.caller.session : undefined
      reply.hijack()
      streams.open(
        { userId: user.id, sessionId: session?.id, expiresAt: session?.expiresAt },
        reply.raw,
        { after: lastId === undefined ? undefined : Number(lastId), headers: reply.getHeaders() },
      )
    },
  )
}
