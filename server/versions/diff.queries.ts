import type { VersionAuthor } from '../../shared/api/versions.ts'
import type { Db } from '../db/schema.ts'
import { toVersionDtos } from './version-dto.ts'
import { listVersionRows } from './versions.queries.ts'

/** The newest version before `seq` (retention may have merged some away), or 0 when there is none. */
export async function findPreviousSeq(db: Db, documentId: string, seq: number): Promise<number> {
  const row = await db
    .selectFrom('document_updates')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('document_id', '=', documentId)
    .where('seq', '<', seq)
    .executeTakeFirst()
  return Number(row?.seq ?? 0)
}

/**
 * Who wrote the versions in (from, to], in order of first appearance, named as the version list names
 * them. Reads row metadata only, never the updates.
 */
export async function findAuthorsBetween(db: Db, documentId: string, from: number, to: number): Promise<VersionAuthor[]> {
  if (to <= from) return []
  // At most to - from rows have a seq in (from, to]: that many rows below to + 1 include them all.
  const rows = await listVersionRows(db, documentId, { below: to + 1, limit: to - from })
  const versions = await toVersionDtos(db, rows.filter((row) => row.seq > from).reverse())
  const authors = new Map<string, VersionAuthor>()
  for (const author of versions.flatMap((version) => version.authors)) if (!authors.has(author.id)) authors.set(author.id, author)
  return [...authors.values()]
}
