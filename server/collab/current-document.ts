import type * as Y from 'yjs'
import type { Db } from '../db/schema.ts'
import { replayDocument } from '../versions/replay.ts'
import type { CollabContext } from './context.ts'
import type { Collab } from './hocuspocus.ts'

/** A document as current as this instance can see it, and how to let go of it. */
export interface CurrentDocument {
  doc: Y.Doc
  release(): Promise<void>
}

/**
 * The live document when it is loaded here (edits still inside the store debounce included).
 * In multi-instance mode, one loaded only on another instance is loaded here through Hocuspocus,
 * which syncs from that instance before it resolves (RedisSync, "sync on load"): a read on any
 * instance shows an edit made through another one a moment ago. Otherwise the database's copy.
 */
export async function currentDocument(collab: Collab, db: Db, documentId: string): Promise<CurrentDocument> {
  const live = collab.hocuspocus.documents.get(documentId)
  if (live) return { doc: live, release: async () => {} }
  if (collab.redis && (await collab.redis.sync.isOpenElsewhere(documentId))) {
    const connection = await collab.hocuspocus.openDirectConnection(documentId, {} satisfies CollabContext)
    // Kept warm for the store debounce rather than unloaded at once: reads come in bursts.
    return { doc: connection.document!, release: () => connection.disconnect({ unloadImmediately: false }) }
  }
  const doc = await replayDocument(db, documentId)
  return { doc, release: async () => doc.destroy() }
}
