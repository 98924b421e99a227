import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { VersionDiff, VersionDiffQuery, VersionParams } from '../../shared/api/versions.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import { docToText } from '../documents/content.ts'
import { AppError, notFound } from '../http/errors.ts'
import { diffText, elideUnchanged } from './diff.ts'
import { findAuthorsBetween, findPreviousSeq } from './diff.queries.ts'
import { requireHistoryRole } from './history-access.ts'
import { replayDocument } from './replay.ts'
import { findVersionRow } from './versions.queries.ts'

export interface DiffRoutesOptions {
  db: Db
  config: Config
}

const security = [{ bearerAuth: [] }]

/** What changed between two versions: a word diff of one root's text, and who wrote it. */
export const diffRoutes: FastifyPluginAsyncTypebox<DiffRoutesOptions> = async (app, { db, config }) => {
  app.get(
    '/documents/:id/versions/:seq/diff',
    {
      schema: {
        tags: ['versions'],
        summary: 'Word diff of the text rendering of a root between version `from` and version `seq`, with their authors',
        security,
        params: VersionParams,
        querystring: VersionDiffQuery,
        response: { 200: VersionDiff, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { id, seq: to } = request.params
      await requireHistoryRole(db, request, id, 'viewer')
      const { from = await findPreviousSeq(db, id, to), root = config.contentTextRoot } = request.query
      if (from > to) throw new AppError(400, ErrorCodes.InvalidInput, `from (${from}) must not be after the version (${to})`)
      for (const seq of from === 0 ? [to] : [from, to]) {
        if (!(await findVersionRow(db, id, seq))) throw notFound(`Version ${seq}`)
      }
      const [before, after] = await Promise.all([textAt(db, id, from, root), textAt(db, id, to, root)])
      const authors = await findAuthorsBetween(db, id, from, to)
      return { from, to, authors, changes: elideUnchanged(diffText(before, after)) }
    },
  )
}

/** A root's text as of version `seq`, built from the log up to it only; version 0 is the empty document. */
async function textAt(db: Db, documentId: string, seq: number, root: string): Promise<string> {
  if (seq === 0) return ''
  const doc = await replayDocument(db, documentId, seq)
  try {
    return docToText(doc, root)
  } finally {
    doc.destroy()
  }
}
