import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBody } from '../../shared/api/common.ts'
import {
  ContentQuery,
  CreateDocumentBody,
  DocumentDto,
  DocumentList,
  DocumentParams,
  ListDocumentsQuery,
  RenameDocumentBody,
} from '../../shared/api/documents.ts'
import { ErrorCodes } from '../../shared/errors.ts'
import { requireUser } from '../auth/auth.plugin.ts'
import { authorId } from '../auth/caller.ts'
import { currentDocument } from '../collab/current-document.ts'
import type { Collab } from '../collab/hocuspocus.ts'
import type { Config } from '../config/config.ts'
import type { Db } from '../db/schema.ts'
import { AppError, notFound } from '../http/errors.ts'
import { decodeCursor, encodeCursor } from '../http/pagination.ts'
import type { DocumentWebhooks } from '../notifications/document-webhooks.ts'
import type { Notifier } from '../notifications/notifier.ts'
import type { ControlChannel } from '../redis/control-channel.ts'
import { requireDocumentRole } from '../sharing/access.ts'
import { docToJson, docToText, docToYjs } from './content.ts'
import { toDocumentDto } from './document-dto.ts'
import {
  deleteDocument,
  findDocument,
  insertDocument,
  listVisibleDocuments,
  renameDocument,
} from './documents.queries.ts'

export interface DocumentsRoutesOptions {
  db: Db
  collab: Collab
  config: Config
  /** `document.created` / `document.deleted` webhook events. */
  webhooks?: DocumentWebhooks
  /** Tells everyone who could see a deleted document in their inbox. */
  notifier?: Notifier
  /** Tells every instance of a deletion, so each closes its own connections to the document. */
  control: ControlChannel
}

const security = [{ bearerAuth: [] }]
const readErrors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
const writeErrors = { ...readErrors, 403: ErrorBody }

export const documentsRoutes: FastifyPluginAsyncTypebox<DocumentsRoutesOptions> = async (app, { db, collab, config, webhooks, notifier, control }) => {
  app.post(
    '/documents',
    {
      schema: {
        tags: ['documents'],
        summary: 'Create a document; the caller becomes its owner',
        security,
        body: CreateDocumentBody,
        response: { 201: DocumentDto, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const user = requireUser(request)
      const id = request.body.id ?? randomUUID()
      // A just-deleted document may still be closing in memory; reusing its id must not revive it.
      const document = { id, title: request.body.title, ownerId: user.id }
      const taken =
        collab.hocuspocus.documents.has(id) ||
        !(await db.transaction().execute(async (trx) => {
          if (!(await insertDocument(trx, document))) return false
          await webhooks?.documentCreated(trx, document)
          return true
        }))
      if (taken) throw new AppError(409, ErrorCodes.Conflict, `A document with id "${id}" already exists`)
      const row = await findDocument(db, id)
      if (!row) throw notFound()
      return reply.code(201).send(toDocumentDto(row, 'owner'))
    },
  )

  app.get(
    '/documents',
    {
      schema: {
        tags: ['documents'],
        summary: 'Documents I own or that are shared with me, newest activity first',
        security,
        querystring: ListDocumentsQuery,
        response: { 200: DocumentList, 400: ErrorBody, 401: ErrorBody },
      },
    },
    async (request) => {
      const user = requireUser(request)
      const limit = request.query.limit ?? 20
      const after = request.query.cursor ? decodeCursor<[number, string]>(request.query.cursor, ['number', 'string']) : undefined
      // One extra row tells whether there is a next page.
      const rows = await listVisibleDocuments(db, user.id, { q: request.query.q, limit: limit + 1, after })
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return {
        items: page.map((row) => toDocumentDto(row, row.owner_id === user.id ? 'owner' : (row.member_role ?? 'viewer'))),
        nextCursor: rows.length > limit && last ? encodeCursor([Number(last.updated_at), last.id]) : null,
      }
    },
  )

  app.get(
    '/documents/:id',
    {
      schema: {
        tags: ['documents'],
        summary: 'Document metadata and my role',
        security,
        params: DocumentParams,
        response: { 200: DocumentDto, ...readErrors },
      },
    },
    async (request) => {
      const { document, role } = await requireDocumentRole(db, request, request.params.id, 'viewer')
      return toDocumentDto(document, role)
    },
  )

  app.patch(
    '/documents/:id',
    {
      schema: {
        tags: ['documents'],
        summary: 'Rename (editor or owner)',
        security,
        params: DocumentParams,
        body: RenameDocumentBody,
        response: { 200: DocumentDto, ...writeErrors },
      },
    },
    async (request) => {
      const { role } = await requireDocumentRole(db, request, request.params.id, 'editor')
      await renameDocument(db, request.params.id, request.body.title)
      await control.publish({ type: 'document-renamed', documentId: request.params.id })
      const row = await findDocument(db, request.params.id)
      if (!row) throw notFound()
      return toDocumentDto(row, role)
    },
  )

  app.delete(
    '/documents/:id',
    {
      schema: {
        tags: ['documents'],
        summary: 'Delete (owner); live connections are closed',
        security,
        params: DocumentParams,
        response: { 204: Type.Null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const { caller, document } = await requireDocumentRole(db, request, id, 'owner')
      // Memberships and mutes go with the document: who to tell is read first.
      const audience = await notifier?.audience(id)
      await db.transaction().execute(async (trx) => {
        await deleteDocument(trx, id)
        await webhooks?.documentDeleted(trx, document)
      })
      // Closes the document's connections and drops its unstored updates, on every instance.
      await control.publish({ type: 'document-deleted', documentId: id })
      if (audience) await notifier?.deleted(audience, authorId(caller))
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/documents/:id/content',
    {
      schema: {
        tags: ['documents'],
        summary: 'Current content as JSON, plain text, markdown, or a binary Yjs update',
        security,
        params: DocumentParams,
        querystring: ContentQuery,
        response: { 200: Type.Unknown(), ...readErrors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      await requireDocumentRole(db, request, id, 'viewer')
      // The live document, edits still inside the store debounce window (here or on another instance) included.
      const { doc, release } = await currentDocument(collab, db, id)
      try {
        const format = request.query.format ?? 'json'
        if (format === 'yjs') return reply.type('application/octet-stream').send(Buffer.from(docToYjs(doc)))
        if (format === 'text') {
          return reply.type('text/plain; charset=utf-8').send(docToText(doc, request.query.root ?? config.contentTextRoot))
        }
        if (format === 'markdown') {
          // Loaded on first use: the markdown stack is a few MB no other route needs.
          const { docToMarkdown } = await import('./markdown.ts')
          return reply.type('text/markdown; charset=utf-8').send(docToMarkdown(doc, request.query.root ?? config.contentTextRoot))
        }
        return reply.type('application/json; charset=utf-8').send(JSON.stringify(docToJson(doc)))
      } finally {
        await release()
      }
    },
  )
}
