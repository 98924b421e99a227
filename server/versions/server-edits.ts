import * as Y from 'yjs'
import type { Collab } from '../collab/hocuspocus.ts'
import type { CollabContext } from '../collab/context.ts'
import type { UpdateKind } from '../db/schema.ts'

/** What the log records for a server-side edit. */
export interface ServerEdit {
  /** Author id (a user id) the row is attributed to. */
  author: string
  kind: UpdateKind
  label?: string | null
}

// An update that changes nothing: a restore to the current content still leaves its named row.
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc())

/**
 * Applies an edit made by the server (a restore, an import, an update posted over REST) to the live
 * document through Hocuspocus, so every connected client on both protocols receives it at once,
 * and stores it as a log row of its own. `build` runs inside the edit's transaction on the live
 * document (edits still in the store debounce window included) and returns the Yjs update to apply,
 * or null for none. Resolves with the new row's seq once it is stored.
 */
export async function applyServerEdit(
  collab: Collab,
  documentId: string,
  edit: ServerEdit,
  build: (document: Y.Doc) => Uint8Array | null,
): Promise<number> {
  const context: CollabContext = { user: { id: edit.author }, logKind: edit.kind, serverEdit: true }
  const connection = await collab.hocuspocus.openDirectConnection(documentId, context)
  try {
    const document = connection.document!
    let built: Uint8Array | null = null
    let captured: Uint8Array | undefined
    const capture = (update: Uint8Array, origin: unknown) => {
      if ((origin as { context?: unknown } | null)?.context === connection.context) captured = update
    }
    document.on('update', capture)
    try {
      await connection.transact((doc) => {
        built = build(doc)
        if (built) Y.applyUpdate(doc, built)
      })
    } finally {
      document.off('update', capture)
    }
    return await collab.updateLog.recordServerEdit(documentId, rowData(document, built, captured), edit)
  } finally {
    await connection.disconnect()
  }
}

/**
 * What the row stores: what the edit changed. Yjs keeps the parts of an update whose dependencies
 * it hasn't seen yet (an update posted before the one it builds on) aside, out of the emitted
 * update; those must reach the log too, or a restart would lose them, so the row then holds the
 * given update merged with what was applied (Yjs applies the overlap once).
 */
function rowData(document: Y.Doc, built: Uint8Array | null, captured: Uint8Array | undefined): Uint8Array {
  const pending = document.store.pendingStructs !== null || document.store.pendingDs !== null
  if (built && pending) return Y.mergeUpdates(captured ? [captured, built] : [built])
  return captured ?? EMPTY_UPDATE
}
