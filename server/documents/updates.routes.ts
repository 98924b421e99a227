import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { DocumentParams } from '../../shared/api/documents.ts'
import { StoredVersion } from '../../shared/api/versions.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { authorId } from '../auth/caller.ts'
import type { Collab } from '../collab/hocuspocus.ts'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import { AppError, notFound } from '../http/errors.ts'
import { requireDocumentRole } from '../sharing/access.ts'
import { applyServerEdit } from '../versions/server-edits.ts'
import { DocumentGoneError } from '../versions/update-log.queries.ts'
import { isYjsUpdate } from './update-bytes.ts'

export interface UpdatesRoutesOptions {
  db: Db
  collab: Collab
  config: Config
}

const BINARY = 'application/octet-stream'
const security = [{ bearerAuth: [] }]

export const updatesRoutes: FastifyPluginAsyncTypebox<UpdatesRoutesOptions> = async (app, { db, collab, config }) => {
  // Only this plugin's routes take binary bodies. A posted update reaches every client as one frame,
  // so it may be no larger than a socket accepts, nor than the binary body cap.
  app.addContentTypeParser(
    BINARY,
    { parseAs: 'buffer', bodyLimit: Math.min(config.maxMessageBytes, config.bodyLimitBytes) },
    (_request, body, done) => done(null, body),
  )

  app.post(
    '/documents/:id/updates',
    {
      schema: {
        tags: ['documents'],
        summary: 'Apply a binary Yjs update (editor or owner): live on every client, stored as a version',
        description: `Body: one Yjs update (v1 encoding), \`${BINARY}\`.`,
        security,
        params: DocumentParams,
        response: {
          201: StoredVersion,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const { caller } = await requireDocumentRole(db, request, id, 'editor')
      if (!(request.body instanceof Uint8Array)) {
        throw new AppError(415, ErrorCodes.UnsupportedMediaType, `The body must be a Yjs update sent as ${BINARY}`)
      }
      const update = request.body
      if (!isYjsUpdate(update)) throw new AppError(400, ErrorCodes.InvalidInput, 'The body is not a Yjs update (v1 encoding)')
      try {
        const seq = await applyServerEdit(collab, id, { author: authorId(caller), kind: 'update' }, () => update)
        return reply.code(201).send({ seq })
      } catch (error) {
        if (error instanceof DocumentGoneError) throw notFound()
        throw error
      }
    },
  )
}
