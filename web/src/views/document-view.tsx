import { useEffect, useMemo, useState } from 'preact/hooks'
import type { DocumentDto } from '../../../shared/api/documents.ts'
import { ApiClient } from '../api/client.ts'
import { messageOf } from '../api/errors.ts'
import type { Session } from '../auth/session.ts'
import { reportError } from '../components/notices.tsx'
import { CollabEditor } from '../editor/collab-editor.tsx'
import { colorFor, DocumentConnection, type Peer, type SyncStatus } from '../editor/connection.ts'
import { HistoryPanel } from './history-panel.tsx'
import { MuteButton } from './mute-button.tsx'
import { ShareDialog } from './share-dialog.tsx'

interface Props {
  id: string
  session: Session
  /** Set when the document was opened through a share link: its token replaces the user's. */
  linkToken?: string
}

const STATUS_TEXT: Record<SyncStatus, string> = {
  connecting: 'Connecting…',
  saved: 'Saved',
  unsynced: 'Unsynced changes',
  offline: 'Offline: your edits are kept and sync when you reconnect',
  closed: 'Closed',
}

/** Why the server refused the socket, in words. */
function deniedMessage(reason: string, viaLink: boolean): string {
  if (viaLink) return 'This share link no longer works: it was revoked or has expired.'
  if (reason.startsWith('unauthorized')) return 'Your session has expired. Please sign in again.'
  return 'This document is no longer available to you: it was deleted or is no longer shared with you.'
}

/** One document: title, presence, status and the live editor. */
export function DocumentView({ id, session, linkToken }: Props) {
  const api = useMemo(
    () => (linkToken ? new ApiClient({ token: async () => linkToken }) : new ApiClient(session)),
    [linkToken],
  )
  const [document, setDocument] = useState<DocumentDto>()
  const [error, setError] = useState<string>()
  const [connection, setConnection] = useState<DocumentConnection>()
  const [, redraw] = useState(0)
  const [panel, setPanel] = useState<'share' | 'history'>()

  useEffect(() => {
    api.get<DocumentDto>(`/documents/${encodeURIComponent(id)}`).then(setDocument, (failure) =>
      setError(linkToken ? deniedMessage('', true) : messageOf(failure)),
    )
  }, [id])

  useEffect(() => {
    if (!document) return
    const opened = new DocumentConnection({
      documentId: document.id,
      token: async () => (linkToken ?? (await session.token()) ?? ''),
      onDenied: (reason) => {
        setError(deniedMessage(reason, Boolean(linkToken)))
        // Our sign-in was refused: a refresh tells whether it still lives (if not, we sign out).
        if (!linkToken && reason.startsWith('unauthorized')) void session.unauthorized().catch(() => {})
      },
      // A role changed or a rename, by someone else: shown at once, no reload.
      onNotice: (notice) =>
        setDocument((current) =>
          current && (notice.type === 'access' ? { ...current, role: notice.role } : { ...current, title: notice.title }),
        ),
    })
    const unsubscribe = opened.subscribe(() => redraw((n) => n + 1))
    setConnection(opened)
    return () => {
      unsubscribe()
      opened.close()
    }
  }, [document?.id])

  if (error) {
    return (
      <main class="document">
        <p class="error" role="alert">
          {error}
        </p>
        {!linkToken && <a href="#/">Back to documents</a>}
      </main>
    )
  }
  if (!document || !connection) return <main class="document muted">Loading…</main>

  const canEdit = document.role !== 'viewer' && !connection.readOnly
  const user = session.user
  const me = { name: linkToken ? 'Guest' : (user?.name ?? 'Guest'), color: colorFor(linkToken ? undefined : user?.id) }

  async function rename(title: string) {
    if (!document || !title.trim() || title === document.title) return
    try {
      setDocument(await api.patch<DocumentDto>(`/documents/${encodeURIComponent(document.id)}`, { title: title.trim() }))
    } catch (failure) {
      reportError(failure)
    }
  }

  return (
    <main class="document">
      <div class="document-header">
        {!linkToken && (
          <a href="#/" aria-label="Back to documents">
            ←
          </a>
        )}
        {canEdit && !linkToken ? (
          <input
            class="document-header__title"
            aria-label="Title"
            value={document.title}
            maxLength={255}
            onChange={(event) => void rename(event.currentTarget.value)}
            onKeyDown={(event) => event.key === 'Enter' && event.currentTarget.blur()}
          />
        ) : (
          <h1 class="document-header__title">{document.title}</h1>
        )}
        <Avatars peers={connection.peers} />
        <span role="status" class={`status status--${connection.status}`}>
          {STATUS_TEXT[connection.status]}
        </span>
        {!canEdit && <span class="muted">View only</span>}
        {!linkToken && (
          <span class="header-actions">
            <MuteButton api={api} documentId={document.id} />
            <button type="button" onClick={() => setPanel('history')}>
              History
            </button>
            {document.role === 'owner' && (
              <button type="button" onClick={() => setPanel('share')}>
                Share
              </button>
            )}
          </span>
        )}
      </div>
      <CollabEditor connection={connection} editable={canEdit} label={`${document.title} content`} user={me} />
      {panel === 'history' && (
        <HistoryPanel
          api={api}
          documentId={document.id}
          canEdit={document.role !== 'viewer'}
          onClose={() => setPanel(undefined)}
        />
      )}
      {panel === 'share' && <ShareDialog api={api} documentId={document.id} onClose={() => setPanel(undefined)} />}
    </main>
  )
}

function Avatars({ peers }: { peers: readonly Peer[] }) {
  return (
    <ul class="avatars" aria-label="People here">
      {peers.map((peer) => (
        <li
          key={peer.id}
          class="avatar"
          aria-label={peer.self ? `${peer.name} (you)` : peer.name}
          title={peer.name}
          style={{ backgroundColor: peer.color }}
        >
          {initials(peer.name)}
        </li>
      ))}
    </ul>
  )
}

function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((part) => part[0]?.toUpperCase())
      .join('') || '?'
  )
}
