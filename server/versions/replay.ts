import * as Y from 'yjs'
import type { Db } from '../db/schema.ts'
import { readLog, type StoredLog } from './update-log.queries.ts'

/** Applies a stored log (checkpoint, then rows in order) to `doc` in one transaction. */
export function applyStoredLog(doc: Y.Doc, log: StoredLog): void {
  doc.transact(() => {
    if (log.checkpoint) Y.applyUpdate(doc, log.checkpoint.data)
    for (const row of log.updates) Y.applyUpdate(doc, row.data)
  })
}

/** The document as the database holds it, optionally as of version `uptoSeq`. The caller destroys it. */
export async function replayDocument(db: Db, documentId: string, uptoSeq?: number): Promise<Y.Doc> {
  const doc = new Y.Doc()
  applyStoredLog(doc, await readLog(db, documentId, uptoSeq))
  return doc
}
