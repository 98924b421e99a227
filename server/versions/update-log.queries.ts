import type { Db, UpdateKind } from '../db/schema.ts'

/** The document was deleted; its pending updates have nowhere to go. */
export class DocumentGoneError extends Error {
  constructor(documentId: string) {
    super(`Document ${documentId} does not exist`)
    this.name = 'DocumentGoneError'
  }
}

export interface NewLogEntry {
  data: Uint8Array
  kind: UpdateKind
  authors: readonly string[]
  /** A version name (restores are named "Restored from version N"). */
  label?: string | null
}

/**
 * Appends entries to a document's log in one transaction and returns their seqs. The `last_seq` bump
 * comes first: the UPDATE takes the row lock on both dialects, so concurrent appenders (several
 * instances) queue up and seqs stay gap-free.
 */
export async function appendUpdates(
  db: Db,
  documentId: string,
  entries: readonly NewLogEntry[],
  now = Date.now(),
): Promise<number[]> {
  if (entries.length === 0) return []
  return db.transaction().execute(async (trx) => {
    const bumped = await trx
      .updateTable('documents')
      .set((eb) => ({ last_seq: eb('last_seq', '+', entries.length), updated_at: now }))
      .where('id', '=', documentId)
      .executeTakeFirst()
    if (Number(bumped.numUpdatedRows) !== 1) throw new DocumentGoneError(documentId)
    const { last_seq: lastSeq } = await trx
      .selectFrom('documents')
      .select('last_seq')
      .where('id', '=', documentId)
      .executeTakeFirstOrThrow()
    const first = Number(lastSeq) - entries.length + 1
    await trx
      .insertInto('document_updates')
      .values(
        entries.map((entry, i) => ({
          document_id: documentId,
          seq: first + i,
          data: entry.data,
          bytes: entry.data.byteLength,
          kind: entry.kind,
          authors: JSON.stringify(entry.authors),
          label: entry.label ?? null,
          created_at: now,
        })),
      )
      .execute()
    return entries.map((_, i) => first + i)
  })
}

export interface StoredLog {
  checkpoint: { seq: number; data: Uint8Array } | undefined
  /** Rows after the checkpoint, oldest first. */
  updates: { seq: number; data: Uint8Array }[]
}

/** What loading needs: the newest checkpoint at or below `uptoSeq`, then every row after it up to `uptoSeq`. */
export async function readLog(db: Db, documentId: string, uptoSeq?: number): Promise<StoredLog> {
  let checkpointQuery = db
    .selectFrom('document_checkpoints')
    .select(['seq', 'data'])
    .where('document_id', '=', documentId)
  if (uptoSeq !== undefined) checkpointQuery = checkpointQuery.where('seq', '<=', uptoSeq)
  const checkpoint = await checkpointQuery.orderBy('seq', 'desc').limit(1).executeTakeFirst()
  let updatesQuery = db
    .selectFrom('document_updates')
    .select(['seq', 'data'])
    .where('document_id', '=', documentId)
    .where('seq', '>', checkpoint ? checkpoint.seq : 0)
  if (uptoSeq !== undefined) updatesQuery = updatesQuery.where('seq', '<=', uptoSeq)
  const updates = await updatesQuery.orderBy('seq', 'asc').execute()
  return {
    checkpoint: checkpoint && { seq: Number(checkpoint.seq), data: asBytes(checkpoint.data) },
    updates: updates.map((u) => ({ seq: Number(u.seq), data: asBytes(u.data) })),
  }
}

/** Writes a checkpoint; a duplicate (another instance got there first) is not an error. */
export async function insertCheckpoint(
  db: Db,
  documentId: string,
  seq: number,
  data: Uint8Array,
  now = Date.now(),
): Promise<void> {
  await db
    .insertInto('document_checkpoints')
    .ignore()
    .values({ document_id: documentId, seq, data, bytes: data.byteLength, created_at: now })
    .execute()
}

/** mysql2 returns Buffer, node:sqlite Uint8Array; callers see plain Uint8Array views either way. */
export function asBytes(value: Uint8Array): Uint8Array {
  return value.constructor === Uint8Array
    ? value
    : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
}
