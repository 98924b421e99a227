import { type Role, ROLES } from './roles.ts'

/**
 * What the server tells a `/collab` client about its document while it is open, as a Hocuspocus
 * stateless message (HocuspocusProvider's `stateless` event; the payload is this, as JSON).
 * Plain y-websocket has no such message: its clients learn on reconnect.
 *
 * - `access`: this connection's role changed (an owner changed it, or the share link's); a
 *   `viewer` connection's edits are dropped from now on, an `editor` one's are accepted again;
 * - `document`: the document was renamed.
 */
export type CollabNotice = { type: 'access'; role: Role } | { type: 'document'; title: string }

/** The notice in a stateless payload, or undefined for anything else (other stateless messages). */
export function parseCollabNotice(payload: string): CollabNotice | undefined {
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const notice = value as Record<string, unknown>
  if (notice.type === 'access' && ROLES.includes(notice.role as Role)) return { type: 'access', role: notice.role as Role }
  if (notice.type === 'document' && typeof notice.title === 'string') return { type: 'document', title: notice.title }
  return undefined
}
