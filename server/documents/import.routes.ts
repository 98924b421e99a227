import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { DocumentParams, ImportContentQuery, ImportJsonBody } from '../../shared/api/documents.ts'
import { StoredVersion } from '../../shared/api/versions.ts'
import type { ImportFormat } from '../../shared/documents.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { authorId } from '../auth/caller.ts'
import type { Collab } from '../collab/hocuspocus.ts'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import { AppError, notFound } from '../http/errors.ts'
import { requireDocumentRole } from '../sharing/access.ts'
import { applyServerEdit } from '../versions/server-edits.ts'
import { DocumentGoneError } from '../versions/update-log.queries.ts'
import { readImportContent, replaceRootUpdate } from './import.ts'

export interface ImportRoutesOptions {
  db: Db
  collab: Collab
  config: Config
}

const JSON_TYPE = 'application/json'
const TEXT_TYPES = ['text/plain', 'text/markdown']
const security = [{ bearerAuth: [] }]

/** Replacing a root's content from text, ProseMirror JSON or markdown: how a backend seeds or migrates documents. */
export const importRoutes: FastifyPluginAsyncTypebox<ImportRoutesOptions> = async (app, { db, collab, config }) => {
  // An import reaches every client as one frame, so it may be no larger than a socket accepts, nor
  // than the body cap. Text parsers live in this plugin only: elsewhere the API answers text with 415.
  const bodyLimit = Math.min(config.maxMessageBytes, config.bodyLimitBytes)
  app.addContentTypeParser(TEXT_TYPES, { parseAs: 'string', bodyLimit }, (_request, body, done) => done(null, body))

  app.put(
    '/documents/:id/content',
    {
      bodyLimit,
      schema: {
        tags: ['documents'],
        summary: "Replace a root's content (editor or owner): live on every client, stored as an import",
        description:
          'Plain text (`text/plain`) into a Y.Text root; JSON (`application/json`: a string for a Y.Text root, ' +
          'ProseMirror JSON `{type: "doc", content}` for a Y.XmlFragment root); markdown (`text/markdown`) ' +
          "into a Y.XmlFragment root in Tiptap StarterKit's node and mark names. An absent or empty root " +
          'takes the type of the import; a root of another type answers 409.',
        security,
        params: DocumentParams,
        querystring: ImportContentQuery,
        body: {
          content: {
            'text/plain': { schema: Type.String() },
            'text/markdown': { schema: Type.String() },
            [JSON_TYPE]: { schema: ImportJsonBody },
          },
        },
        response: {
          201: StoredVersion,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const { caller } = await requireDocumentRole(db, request, id, 'editor')
      const format = importFormat(request.query.format, request.headers['content-type'])
      const content = await readImportContent(format, request.body)
      const root = request.query.root ?? config.contentTextRoot
      try {
        const seq = await applyServerEdit(collab, id, { author: authorId(caller), kind: 'import' }, (live) =>
          replaceRootUpdate(live, root, content),
        )
        return reply.code(201).send({ seq })
      } catch (error) {
        if (error instanceof DocumentGoneError) throw notFound()
        throw error
      }
    },
  )
}

/** The format asked for, else the body's; JSON is read as JSON, the text formats need a text body. */
function importFormat(requested: ImportFormat | undefined, contentType: string | undefined): ImportFormat {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  const isJson = type === JSON_TYPE
  const format = requested ?? (isJson ? 'json' : type === 'text/markdown' ? 'markdown' : 'text')
  if ((format === 'json') === isJson) return format
  const needed = format === 'json' ? JSON_TYPE : TEXT_TYPES.join(' or ')
  throw new AppError(415, ErrorCodes.UnsupportedMediaType, `format=${format} needs a ${needed} body`)
}
