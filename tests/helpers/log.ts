import type { Db } from '../../server/db/schema.ts'
import { docToJson } from '../../server/documents/content.ts'
import { replayDocument } from '../../server/versions/replay.ts'

/** The document as replayed from the database alone (checkpoint + rows), every root as JSON. */
export async function replayJson(
  db: Db,
  documentId: string,
  uptoSeq?: number,
): Promise<Record<string, unknown>> {
  const doc = await replayDocument(db, documentId, uptoSeq)
  try {
    return docToJson(doc)
  } finally {
    doc.destroy()
  }
}

export async function logRows(db: Db, documentId: string) {
  const rows = await db
    .selectFrom('document_updates')
    .select(['seq', 'bytes', 'kind', 'authors', 'created_at'])
    .where('document_id', '=', documentId)
    .orderBy('seq')
    .execute()
  return rows.map((r) => ({
    ...r,
    seq: Number(r.seq),
    bytes: Number(r.bytes),
    authors: JSON.parse(r.authors) as string[],
  }))
}

export async function checkpointRows(db: Db, documentId: string) {
  const rows = await db
    .selectFrom('document_checkpoints')
    .select(['seq', 'bytes'])
    .where('document_id', '=', documentId)
    .orderBy('seq')
    .execute()
  return rows.map((r) => ({ seq: Number(r.seq), bytes: Number(r.bytes) }))
}
