import type { VersionAuthor, VersionDto } from '../../shared/api/versions.ts'
import { ANONYMOUS } from '../collab/context.ts'
import type { Db } from '../db/schema.ts'
import type { VersionRow, VersionSession } from './sessions.ts'
import { findUserNames } from './versions.queries.ts'

const LINK_AUTHOR_PREFIX = 'link:'

/** Maps rows or sessions to DTOs, naming every author with one query for the whole page. */
export async function toVersionDtos(db: Db, entries: readonly (VersionRow | VersionSession)[]): Promise<VersionDto[]> {
  const userIds = entries.flatMap((e) => e.authors).filter((id) => id !== ANONYMOUS && !id.startsWith(LINK_AUTHOR_PREFIX))
  const names = await findUserNames(db, userIds)
  return entries.map((entry) => toVersionDto(entry, names))
}

function toVersionDto(entry: VersionRow | VersionSession, names: ReadonlyMap<string, string>): VersionDto {
  const dto: VersionDto = {
    seq: entry.seq,
    createdAt: iso(entry.createdAt),
    authors: entry.authors.map((id) => ({ id, name: authorName(id, names) })),
    bytes: entry.bytes,
    label: entry.label,
    kind: entry.kind,
  }
  if ('fromSeq' in entry) Object.assign(dto, { fromSeq: entry.fromSeq, startedAt: iso(entry.startedAt) })
  return dto
}

function authorName(id: string, names: ReadonlyMap<string, string>): VersionAuthor['name'] {
  if (id === ANONYMOUS) return 'Anonymous'
  // Share-link holders have no account; the link's id says nothing about who they are.
  if (id.startsWith(LINK_AUTHOR_PREFIX)) return 'Guest'
  return names.get(id) ?? 'Deleted user'
}

const iso = (ms: number) => new Date(ms).toISOString()
