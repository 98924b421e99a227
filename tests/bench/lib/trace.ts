import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import type * as Y from 'yjs'

export const TRACE_FILE = '/work/shared/data/automerge-paper.json.gz'

export type Patch = [pos: number, deleted: number, inserted: string]

export interface Trace {
  patches: Patch[]
  /** The text after all `patches` (the trace's `endContent`, or computed for a prefix). */
  endContent: string
}

/** The automerge-paper editing trace (see /work/shared/data/README.md); `limit` takes a prefix. */
export function loadTrace(limit?: number): Trace {
  const raw = JSON.parse(gunzipSync(readFileSync(TRACE_FILE)).toString('utf8')) as {
    startContent: string
    endContent: string
    txns: { patches: Patch[] }[]
  }
  const patches = raw.txns.flatMap((txn) => txn.patches)
  if (limit === undefined || limit >= patches.length) return { patches, endContent: raw.endContent }
  const prefix = patches.slice(0, limit)
  let text = raw.startContent
  for (const [pos, deleted, inserted] of prefix)
    text = text.slice(0, pos) + inserted + text.slice(pos + deleted)
  return { patches: prefix, endContent: text }
}

/** One patch as its own transaction, as an editor would send it. */
export function applyPatch(doc: Y.Doc, text: Y.Text, [pos, deleted, inserted]: Patch): void {
  doc.transact(() => {
    if (deleted > 0) text.delete(pos, deleted)
    if (inserted.length > 0) text.insert(pos, inserted)
  })
}
