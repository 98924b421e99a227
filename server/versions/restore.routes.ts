import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import * as Y from 'yjs'
import { ErrorBody } from '../../shared/api/common.ts'
import { RestoreVersionParams, StoredVersion } from '../../shared/api/versions.ts'
import type { Collab } from '../collab/hocuspocus.ts'
import type { Db } from '../db/schema.ts'
import { notFound } from '../http/errors.ts'
import type { DocumentWebhooks } from '../notifications/document-webhooks.ts'
import { requireHistoryRole } from './history-access.ts'
import { replayDocument } from './replay.ts'
import { revertUpdate } from './restore.ts'
import { applyServerEdit } from './server-edits.ts'
import { DocumentGoneError } from './update-log.queries.ts'
import { findVersionRow } from './versions.queries.ts'

export interface RestoreRoutesOptions {
  db: Db
  collab: Collab
  /** `version.restored` webhook events. */
  webhooks?: DocumentWebhooks
}

const security = [{ bearerAuth: [] }]

export const restoreRoutes: FastifyPluginAsyncTypebox<RestoreRoutesOptions> = async (app, { db, collab, webhooks }) => {
  app.post(
    '/documents/:id/versions/:seq/restore',
    {
      schema: {
        tags: ['versions'],
        summary: 'Restore a version (editor or owner): applied live as a new version of kind "restore"; seq 0 = the empty document',
        security,
        params: RestoreVersionParams,
        response: { 201: StoredVersion, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const { id, seq } = request.params
      const { caller } = await requireHistoryRole(db, request, id, 'editor')
      if (seq > 0 && !(await findVersionRow(db, id, seq))) throw notFound('Version')
      const version = await versionState(db, id, seq)
      const edit = { author: caller.user.id, kind: 'restore' as const, label: `Restored from version ${seq}` }
      try {
        // The revert is computed inside the edit's transaction, against the live document: edits
        // still in the store debounce window are reverted too, and none can slip in between.
        const stored = await applyServerEdit(collab, id, edit, (live) => revertUpdate(live, version))
        // After the row is stored (its own transaction, inside the update log).
        await webhooks?.versionRestored(db, { documentId: id, seq: stored, restoredFrom: seq })
        return reply.code(201).send({ seq: stored })
      } catch (error) {
        if (error instanceof DocumentGoneError) throw notFound()
        throw error
      }
    },
  )
}

/** The full state at version `seq` as one update; version 0 is the empty document. */
async function versionState(db: Db, documentId: string, seq: number): Promise<Uint8Array> {
  const doc = seq === 0 ? new Y.Doc() : await replayDocument(db, documentId, seq)
  try {
    return Y.encodeStateAsUpdate(doc)
  } finally {
    doc.destroy()
  }
}
