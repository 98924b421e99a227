import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import { ContentQuery, CreateDocumentBody, DocumentDto, DocumentParams } from '../../shared/api/documents.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import type { Collab } from '../collab/hocuspocus.ts'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import { AppError, notFound } from '../http/errors.ts'
import { replayDocument } from '../versions/replay.ts'
import { docToJson, docToText, docToYjs } from './content.ts'
import { toDocumentDto } from './document-dto.ts'
import { findDocument, insertDocument } from './documents.queries.ts'

export interface DocumentsRoutesOptions {
  db: Db
  collab: Collab
  config: Config
}

const errors = { 400: ErrorBody, 404: ErrorBody }

export const documentsRoutes: FastifyPluginAsyncTypebox<DocumentsRoutesOptions> = async (
  app,
  { db, collab, config },
) => {
  app.post(
    '/documents',
    {
      schema: {
        tags: ['documents'],
        summary: 'Create a document',
        body: CreateDocumentBody,
        response: { 201: DocumentDto, 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const id = request.body.id ?? randomUUID()
      if (!(await insertDocument(db, id, request.body.title))) {
        throw new AppError(409, ErrorCodes.Conflict, `A document with id "${id}" already exists`)
      }
      const row = await findDocument(db, id)
      if (!row) throw notFound()
      return reply.code(201).send(toDocumentDto(row))
    },
  )

  app.get(
    '/documents/:id',
    {
      schema: {
        tags: ['documents'],
        summary: 'Document metadata',
        params: DocumentParams,
        response: { 200: DocumentDto, ...errors },
      },
    },
    async (request) => {
      const row = await findDocument(db, request.params.id)
      if (!row) throw notFound()
      return toDocumentDto(row)
    },
  )

  app.get(
    '/documents/:id/content',
    {
      schema: {
        tags: ['documents'],
        summary: 'Current content as JSON, plain text, or a binary Yjs update',
        params: DocumentParams,
        querystring: ContentQuery,
        response: { 200: Type.Unknown(), ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      if (!(await findDocument(db, id))) throw notFound()
      // The live document includes edits still inside the store debounce window.
      const live = collab.hocuspocus.documents.get(id)
      const doc = live ?? (await replayDocument(db, id))
      try {
        const format = request.query.format ?? 'json'
        if (format === 'yjs') return reply.type('application/octet-stream').send(Buffer.from(docToYjs(doc)))
        if (format === 'text') {
          return reply
            .type('text/plain; charset=utf-8')
            .send(docToText(doc, request.query.root ?? config.contentTextRoot))
        }
        return reply.type('application/json; charset=utf-8').send(JSON.stringify(docToJson(doc)))
      } finally {
        if (!live) doc.destroy()
      }
    },
  )
}
