import type { FastifyRequest } from 'fastify'
import { ErrorCodes } from '../../shared/errors.ts'
import { hasRole, type Role } from '../../shared/roles.ts'
import { requireCaller } from '../auth/auth.plugin.ts'
import type { Caller } from '../auth/caller.ts'
import type { Db, DocumentRow } from '../db/schema.ts'
import { findDocument } from '../documents/documents.queries.ts'
import { AppError, notFound } from '../http/errors.ts'
import { findMemberRole } from './sharing.queries.ts'

/** The caller's role on a document, or undefined when they may not see it (or it doesn't exist). */
export async function resolveRole(db: Db, caller: Caller, document: Pick<DocumentRow, 'id' | 'owner_id'>): Promise<Role | undefined> {
  if (caller.kind === 'link') return caller.link.documentId === document.id ? caller.link.role : undefined
  if (document.owner_id === caller.user.id) return 'owner'
  return findMemberRole(db, document.id, caller.user.id)
}

/**
 * Loads the document and checks the caller's role: 401 without credentials, 404 when the document
 * is unknown or not visible to them (the same answer, so existence never leaks), 403 when they can
 * see it but their role is too low.
 */
export async function requireDocumentRole(
  db: Db,
  request: FastifyRequest,
  documentId: string,
  minimum: Role,
): Promise<{ caller: Caller; document: DocumentRow; role: Role }> {
  const caller = requireCaller(request)
  const document = await findDocument(db, documentId)
  const role = document && (await resolveRole(db, caller, document))
  if (!document || !role) throw notFound()
  if (!hasRole(role, minimum)) {
    throw new AppError(403, ErrorCodes.Forbidden, `This needs the ${minimum} role; you are ${role}`)
  }
  return { caller, document, role }
}
