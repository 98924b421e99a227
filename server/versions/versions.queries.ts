import type { Db } from '../db/schema.ts'
import { foldSessions, type VersionRow, type VersionSession } from './sessions.ts'

const ROW_COLUMNS = ['seq', 'created_at', 'authors', 'bytes', 'label', 'kind'] as const

/** Rows of the history list, newest first: seq below `below` (all when undefined), labelled ones only if asked. */
export async function listVersionRows(
  db: Db,
  documentId: string,
  options: { below?: number; limit: number; labelledOnly?: boolean },
): Promise<VersionRow[]> {
  let query = db.selectFrom('document_updates').select(ROW_COLUMNS).where('document_id', '=', documentId)
  if (options.below !== undefined) query = query.where('seq', '<', options.below)
  if (options.labelledOnly) query = query.where('label', 'is not', null)
  const rows = await query.orderBy('seq', 'desc').limit(options.limit).execute()
  return rows.map(toVersionRow)
}

export async function findVersionRow(db: Db, documentId: string, seq: number): Promise<VersionRow | undefined> {
  const row = await db
    .selectFrom('document_updates')
    .select(ROW_COLUMNS)
    .where('document_id', '=', documentId)
    .where('seq', '=', seq)
    .executeTakeFirst()
  return row && toVersionRow(row)
}

/** Names (or clears, with null) a version; the row's existence is checked by reading it back. */
export async function setVersionLabel(db: Db, documentId: string, seq: number, label: string | null): Promise<VersionRow | undefined> {
  await db
    .updateTable('document_updates')
    .set({ label })
    .where('document_id', '=', documentId)
    .where('seq', '=', seq)
    .execute()
  return findVersionRow(db, documentId, seq)
}

/** Rows read per round trip while folding sessions: metadata only, so a round trip stays small. */
const SESSION_CHUNK_ROWS = 500

/**
 * One page of editing sessions below seq `below`, newest first. Rows are read in chunks, newest
 * first, until the page is full and its last session is known to be complete (a row of an older
 * session was seen) or the history ends; the whole history is never loaded for one page.
 * `more` says whether sessions (matching `labelledOnly`) may remain below the page.
 */
export async function listVersionSessions(
  db: Db,
  documentId: string,
  options: { below?: number; limit: number; gapMs: number; labelledOnly?: boolean },
): Promise<{ sessions: VersionSession[]; more: boolean }> {
  const found: VersionSession[] = []
  // Rows of the oldest session seen so far, which older rows may still extend.
  let open: VersionRow[] = []
  let below = options.below
  for (;;) {
    const chunk = await listVersionRows(db, documentId, { below, limit: SESSION_CHUNK_ROWS })
    const exhausted = chunk.length < SESSION_CHUNK_ROWS
    const rows = [...open, ...chunk]
    const sessions = foldSessions(rows, options.gapMs)
    const oldest = exhausted ? undefined : sessions.pop()
    open = oldest ? rows.filter((row) => row.seq <= oldest.seq) : []
    found.push(...(options.labelledOnly ? sessions.filter((s) => s.label !== null) : sessions))
    if (found.length > options.limit || exhausted) {
      return { sessions: found.slice(0, options.limit), more: found.length > options.limit }
    }
    below = chunk.at(-1)!.seq
  }
}

/** Current names of the given users, one query however many; deleted users are simply absent. */
export async function findUserNames(db: Db, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map()
  const rows = await db.selectFrom('users').select(['id', 'name']).where('id', 'in', [...new Set(ids)]).execute()
  return new Map(rows.map((r) => [r.id, r.name]))
}

function toVersionRow(row: {
  seq: number
  created_at: number
  authors: string
  bytes: number
  label: string | null
  kind: VersionRow['kind']
}): VersionRow {
  return {
    seq: Number(row.seq),
    createdAt: Number(row.created_at),
    authors: parseAuthors(row.authors),
    bytes: Number(row.bytes),
    label: row.label,
    kind: row.kind,
  }
}

function parseAuthors(json: string): string[] {
  try {
    const authors = JSON.parse(json) as unknown
    return Array.isArray(authors) ? authors.filter((a): a is string => typeof a === 'string') : []
  } catch {
    return []
  }
}
