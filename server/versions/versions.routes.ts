import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import Type from 'typebox'
import type * as Y from 'yjs'
import { ErrorBody } from '../../shared/api/common.ts'
import { ContentQuery, DocumentParams } from '../../shared/api/documents.ts'
import {
  LabelVersionBody,
  ListVersionsQuery,
  VERSION_LABEL_MAX_LENGTH,
  VersionDto,
  VersionList,
  VersionParams,
} from '../../shared/api/versions.ts'
import type { ContentFormat } from '../../shared/documents.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import { docToJson, docToText, docToYjs } from '../documents/content.ts'
import { AppError, notFound } from '../http/errors.ts'
import { decodeCursor, encodeCursor } from '../http/pagination.ts'
import { requireHistoryRole } from './history-access.ts'
import { replayDocument } from './replay.ts'
import { toVersionDtos } from './version-dto.ts'
import { findVersionRow, listVersionRows, listVersionSessions, setVersionLabel } from './versions.queries.ts'

export interface VersionsRoutesOptions {
  db: Db
  config: Config
}

const security = [{ bearerAuth: [] }]
const readErrors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
const writeErrors = { ...readErrors, 403: ErrorBody }
const versionNotFound = () => notFound('Version')

/** Version history read from the update log: the list (raw, named, sessions), any version's content, names. */
export const versionsRoutes: FastifyPluginAsyncTypebox<VersionsRoutesOptions> = async (app, { db, config }) => {
  app.get(
    '/documents/:id/versions',
    {
      schema: {
        tags: ['versions'],
        summary: 'Version history, newest first: every stored version, named ones only, or editing sessions',
        security,
        params: DocumentParams,
        querystring: ListVersionsQuery,
        response: { 200: VersionList, ...readErrors },
      },
    },
    async (request) => {
      await requireHistoryRole(db, request, request.params.id, 'viewer')
      const { limit = 20, cursor, labelled: labelledOnly = false, group } = request.query
      // Every view continues below the seq its cursor names (for sessions: the last one's first row).
      const below = cursor === undefined ? undefined : decodeCursor<[number]>(cursor, ['number'])[0]
      if (group === 'session') {
        const gapMs = config.versionSessionGapSeconds * 1000
        const { sessions, more } = await listVersionSessions(db, request.params.id, { below, limit, gapMs, labelledOnly })
        const last = sessions.at(-1)
        return { items: await toVersionDtos(db, sessions), nextCursor: more && last ? encodeCursor([last.fromSeq]) : null }
      }
      // One extra row tells whether there is a next page.
      const rows = await listVersionRows(db, request.params.id, { below, limit: limit + 1, labelledOnly })
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return { items: await toVersionDtos(db, page), nextCursor: rows.length > limit && last ? encodeCursor([last.seq]) : null }
    },
  )

  app.get(
    '/documents/:id/versions/:seq',
    {
      schema: {
        tags: ['versions'],
        summary: 'The document exactly as it was after version `seq`, as JSON, plain text, markdown, or a binary Yjs update',
        security,
        params: VersionParams,
        querystring: ContentQuery,
        response: { 200: Type.Unknown(), ...readErrors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { id, seq } = request.params
      await requireHistoryRole(db, request, id, 'viewer')
      if (!(await findVersionRow(db, id, seq))) throw versionNotFound()
      // Newest checkpoint at or before seq, then the rows up to seq: never a row after it.
      const doc = await replayDocument(db, id, seq)
      try {
        return await sendContent(reply, doc, request.query.format ?? 'json', request.query.root ?? config.contentTextRoot)
      } finally {
        doc.destroy()
      }
    },
  )

  app.patch(
    '/documents/:id/versions/:seq',
    {
      schema: {
        tags: ['versions'],
        summary: 'Name a version (editor or owner); `null` clears the name',
        security,
        params: VersionParams,
        body: LabelVersionBody,
        response: { 200: VersionDto, ...writeErrors },
      },
    },
    async (request) => {
      const { id, seq } = request.params
      await requireHistoryRole(db, request, id, 'editor')
      const label = validLabel(request.body.label)
      const row = await setVersionLabel(db, id, seq, label)
      if (!row) throw versionNotFound()
      const [dto] = await toVersionDtos(db, [row])
      return dto!
    },
  )
}

/** Renders a document in one of the content formats; each format is one case. */
async function sendContent(reply: FastifyReply, doc: Y.Doc, format: ContentFormat, root: string): Promise<FastifyReply> {
  switch (format) {
    case 'json':
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(docToJson(doc)))
    case 'text':
      return reply.type('text/plain; charset=utf-8').send(docToText(doc, root))
    case 'markdown': {
      const { docToMarkdown } = await import('../documents/markdown.ts')
      return reply.type('text/markdown; charset=utf-8').send(docToMarkdown(doc, root))
    }
    case 'yjs':
      return reply.type('application/octet-stream').send(Buffer.from(docToYjs(doc)))
  }
}

/** Trimmed; 1–200 characters (code points, as the database counts them) or null. */
function validLabel(label: string | null): string | null {
  if (label === null) return null
  const trimmed = label.trim()
  const length = [...trimmed].length
  if (length >= 1 && length <= VERSION_LABEL_MAX_LENGTH) return trimmed
  throw new AppError(400, ErrorCodes.InvalidInput, 'Invalid input', [
    { path: 'body/label', message: `must be 1 to ${VERSION_LABEL_MAX_LENGTH} characters after trimming, or null` },
  ])
}
