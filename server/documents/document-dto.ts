import type { DocumentDto } from '../../shared/api/documents.ts'
import type { Role } from '../../shared/roles.ts'
import type { DocumentRow } from '../db/schema.ts'

export function toDocumentDto(row: DocumentRow, role: Role): DocumentDto {
  return {
    id: row.id,
    title: row.title,
    ownerId: row.owner_id,
    role,
    lastSeq: Number(row.last_seq),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  }
}
