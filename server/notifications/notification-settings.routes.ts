import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { NotificationSettingsDto, UpdateNotificationSettingsBody } from '../../shared/api/notifications.ts'
import { requireUser } from '../auth/auth.plugin.ts'
import type { Db } from '../db/schema.ts'
import { AppError } from '../http/errors.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { findSettings, saveSettings } from './preferences.queries.ts'

export interface NotificationSettingsRoutesOptions {
  db: Db
}

const security = [{ bearerAuth: [] }]
const tags = ['notifications']
const errors = { 400: ErrorBody, 401: ErrorBody }

/** The signed-in user's email digest settings. */
export const notificationSettingsRoutes: FastifyPluginAsyncTypebox<NotificationSettingsRoutesOptions> = async (app, { db }) => {
  const current = async (userId: string) => {
    const settings = await findSettings(db, userId)
    // The caller was just authenticated; only a concurrent account deletion gets here.
    if (!settings) throw new AppError(401, ErrorCodes.Unauthorized, 'The account no longer exists')
    return settings
  }

  app.get(
    '/me/notification-settings',
    {
      schema: {
        tags,
        summary: 'My email settings (default: a digest every 30 minutes when I have an email address)',
        security,
        response: { 200: NotificationSettingsDto, ...errors },
      },
    },
    async (request) => current(requireUser(request).id),
  )

  app.put(
    '/me/notification-settings',
    {
      schema: {
        tags,
        summary: 'Change my email settings; a field left out keeps its value',
        security,
        body: UpdateNotificationSettingsBody,
        response: { 200: NotificationSettingsDto, ...errors },
      },
    },
    async (request) => {
      const user = requireUser(request)
      const settings = { ...(await current(user.id)), ...request.body }
      await saveSettings(db, user.id, settings)
      return settings
    },
  )
}
