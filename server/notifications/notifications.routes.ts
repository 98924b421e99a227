import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { ListNotificationsQuery, NotificationDto, NotificationList, NotificationParams, UnreadCount } from '../../shared/api/notifications.ts'
import { requireUser } from '../auth/auth.plugin.ts'
import type { Db, Trx } from '../db/schema.ts'
import { notFound } from '../http/errors.ts'
import { decodeCursor, encodeCursor } from '../http/pagination.ts'
import { publishSignals } from './inbox-events.ts'
import { InboxWrite } from './inbox-write.ts'
import type { NotificationBus } from './notification-bus.ts'
import { toNotificationDto } from './notification-dto.ts'
import {
  countUnread,
  deleteNotification,
  findNotification,
  listNotifications,
  markAllRead,
  markRead,
} from './notifications.queries.ts'

export interface NotificationsRoutesOptions {
  db: Db
  bus: NotificationBus
}

const security = [{ bearerAuth: [] }]
const tags = ['notifications']
const errors = { 400: ErrorBody, 401: ErrorBody }

/** The signed-in user's inbox. Share links are not accounts: 401. */
export const notificationsRoutes: FastifyPluginAsyncTypebox<NotificationsRoutesOptions> = async (app, { db, bus }) => {
  /** Runs an inbox change; when it changed something, live streams hear the new unread count. */
  const change = async (userId: string, apply: (trx: Trx) => Promise<boolean>): Promise<boolean> => {
    const { changed, signals } = await db.transaction().execute(async (trx) => {
      const write = new InboxWrite()
      if (!(await apply(trx))) return { changed: false, signals: new Map<string, number>() }
      write.touched(userId)
      return { changed: true, signals: await write.finish(trx, undefined) }
    })
    publishSignals(bus, signals)
    return changed
  }

  app.get(
    '/notifications',
    {
      schema: {
        tags,
        summary: 'My inbox, most recently updated first',
        security,
        querystring: ListNotificationsQuery,
        response: { 200: NotificationList, ...errors },
      },
    },
    async (request) => {
      const user = requireUser(request)
      const limit = request.query.limit ?? 20
      const after = request.query.cursor ? decodeCursor<[number, string]>(request.query.cursor, ['number', 'string']) : undefined
      // One extra row tells whether there is a next page.
      const rows = await listNotifications(db, user.id, { unread: request.query.unread ?? false, limit: limit + 1, after })
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return {
        items: page.map(toNotificationDto),
        nextCursor: rows.length > limit && last ? encodeCursor([Number(last.updated_at), last.id]) : null,
      }
    },
  )

  app.get(
    '/notifications/unread-count',
    { schema: { tags, summary: 'How many of my items are unread', security, response: { 200: UnreadCount, ...errors } } },
    async (request) => ({ count: await countUnread(db, requireUser(request).id) }),
  )

  app.post(
    '/notifications/:id/read',
    {
      schema: {
        tags,
        summary: 'Mark one of my items read (again: no change)',
        security,
        params: NotificationParams,
        response: { 200: NotificationDto, ...errors, 404: ErrorBody },
      },
    },
    async (request) => {
      const user = requireUser(request)
      const { id } = request.params
      await change(user.id, (trx) => markRead(trx, user.id, id))
      const row = await findNotification(db, user.id, id)
      if (!row) throw notFound('Notification')
      return toNotificationDto(row)
    },
  )

  app.post(
    '/notifications/read-all',
    {
      schema: { tags, summary: 'Mark all my items read', security, response: { 200: UnreadCount, ...errors } },
    },
    async (request) => {
      const user = requireUser(request)
      await change(user.id, async (trx) => (await markAllRead(trx, user.id)) > 0)
      return { count: await countUnread(db, user.id) }
    },
  )

  app.delete(
    '/notifications/:id',
    {
      schema: {
        tags,
        summary: 'Delete one of my items',
        security,
        params: NotificationParams,
        response: { 204: Type.Null(), ...errors, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const user = requireUser(request)
      if (!(await change(user.id, (trx) => deleteNotification(trx, user.id, request.params.id)))) throw notFound('Notification')
      return reply.code(204).send(null)
    },
  )
}
