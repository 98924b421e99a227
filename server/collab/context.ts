import type { UpdateKind } from '../db/schema.ts'

/** What Hocuspocus hooks know about a connection (or a server-side edit). */
export interface CollabContext {
  /** The caller; undefined until auth lands, which the log records as "anonymous". */
  user?: { id: string }
  /** Which wire protocol the socket speaks. */
  via?: 'collab' | 'y-websocket'
  /** For server-side edits: the log kind to record (a restore, an import). */
  logKind?: UpdateKind
}

export const ANONYMOUS = 'anonymous'
