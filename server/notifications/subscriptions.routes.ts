import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { DocumentParams } from '../../shared/api/documents.ts'
import { SubscriptionDto } from '../../shared/api/notifications.ts'
import type { Db } from '../db/schema.ts'
import { requireHistoryRole } from '../versions/history-access.ts'
import { setMuted } from './preferences.queries.ts'
import { isMuted } from './recipients.ts'

export interface SubscriptionsRoutesOptions {
  db: Db
}

const security = [{ bearerAuth: [] }]
const tags = ['notifications']
const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }

/**
 * Per-document mute, for anyone on the document. Share links get the stranger's 404: they are not
 * accounts and have no inbox (the same rule as history, which names people).
 */
export const subscriptionsRoutes: FastifyPluginAsyncTypebox<SubscriptionsRoutesOptions> = async (app, { db }) => {
  app.get(
    '/documents/:id/subscription',
    {
      schema: {
        tags,
        summary: 'Whether I muted this document',
        security,
        params: DocumentParams,
        response: { 200: SubscriptionDto, ...errors },
      },
    },
    async (request) => {
      const { caller, document } = await requireHistoryRole(db, request, request.params.id, 'viewer')
      return { muted: await isMuted(db, caller.user.id, document.id) }
    },
  )

  app.put(
    '/documents/:id/subscription',
    {
      schema: {
        tags,
        summary: 'Mute or unmute this document: muted = no inbox items, emails or stream events about it',
        security,
        params: DocumentParams,
        body: SubscriptionDto,
        response: { 200: SubscriptionDto, ...errors },
      },
    },
    async (request) => {
      const { caller, document } = await requireHistoryRole(db, request, request.params.id, 'viewer')
      await setMuted(db, caller.user.id, document.id, request.body.muted)
      return { muted: request.body.muted }
    },
  )
}
