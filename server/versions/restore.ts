import * as Y from 'yjs'

// Marks the one transaction whose changes the UndoManager tracks: everything since the version.
const SINCE_VERSION = Symbol('since version')

/**
 * The forward update that brings `live` back to the content of a version (`version`: that version's
 * full state as a Yjs update), the "git revert" way (see ../shared/PEERS.md §d): history is never
 * rewritten, the revert is a new change on top, so edits made concurrently or offline merge as usual.
 *
 * A scratch document starts at the version; the difference up to `live` is applied as one tracked
 * transaction and undone. The UndoManager re-creates deleted content from the version's items, which
 * is why this works on a garbage-collected live document. Pure: `live` is only read.
 */
export function revertUpdate(live: Y.Doc, version: Uint8Array): Uint8Array {
  const scratch = new Y.Doc()
  // Doc scope (yjs ≥ 13.6.24): a document rebuilt from updates has untyped roots, and an UndoManager
  // scoped to those tracks nothing; Doc scope covers every root, whatever its type.
  const undo = new Y.UndoManager(scratch, { trackedOrigins: new Set([SINCE_VERSION]) })
  try {
    Y.applyUpdate(scratch, version)
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(live, Y.encodeStateVector(scratch)), SINCE_VERSION)
    const reverted = Y.encodeStateVector(scratch)
    undo.undo()
    return Y.encodeStateAsUpdate(scratch, reverted)
  } finally {
    undo.destroy()
    scratch.destroy()
  }
}
