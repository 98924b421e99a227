import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { UserDto } from '../../shared/api/auth.ts'
import { ErrorBody } from '../../shared/api/common.ts'
import { requireUser } from './auth.plugin.ts'

export const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user (both providers)',
        security: [{ bearerAuth: [] }],
        response: { 200: UserDto, 401: ErrorBody },
      },
    },
    async (request) => requireUser(request),
  )
}
