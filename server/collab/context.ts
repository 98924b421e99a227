import type { Role } from '../../shared/roles.ts'
import type { Caller } from '../auth/caller.ts'
import type { UpdateKind } from '../db/schema.ts'

/** What Hocuspocus hooks know about a connection (or a server-side edit). */
export interface CollabContext {
  /** The author recorded in the update log: a user id, or `link:<id>` for a share link. */
  user?: { id: string }
  /** Who authenticated the connection, and the role they hold now (kept current by LiveAccess). */
  caller?: Caller
  role?: Role
  /** When the connection's current token was presented (ms); paces the request for a fresh one. */
  tokenReceivedAt?: number
  /** Which wire protocol the socket speaks. */
  via?: 'collab' | 'y-websocket'
  /** For server-side edits: the log kind to record (a restore, an import). */
  logKind?: UpdateKind
  /** A server-side edit recorded through `UpdateLogExtension.recordServerEdit` (see versions/server-edits.ts). */
  serverEdit?: boolean
}

export const ANONYMOUS = 'anonymous'
