import type { FastifyRequest } from 'fastify'
import type { Role } from '../../shared/roles.ts'
import { requireCaller } from '../auth/auth.plugin.ts'
import type { Caller } from '../auth/caller.ts'
import type { Db, DocumentRow } from '../db/schema.ts'
import { notFound } from '../http/errors.ts'
import { requireDocumentRole } from '../sharing/access.ts'

/**
 * `requireDocumentRole` for version-history routes. History names the people who wrote each version,
 * so share-link holders (who may not know who else has access) get the same 404 as strangers, before
 * any role check could tell them with a 403 that the document exists.
 */
export async function requireHistoryRole(
  db: Db,
  request: FastifyRequest,
  documentId: string,
  minimum: Role,
): Promise<{ caller: Extract<Caller, { kind: 'user' }>; document: DocumentRow; role: Role }> {
  const caller = requireCaller(request)
  if (caller.kind === 'link') throw notFound()
  const access = await requireDocumentRole(db, request, documentId, minimum)
  return { ...access, caller }
}
