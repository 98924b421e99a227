import { useEffect, useState } from 'preact/hooks'
import type { NotificationDto, NotificationList } from '../../../shared/api/notifications.ts'
import type { ApiClient } from '../api/client.ts'
import { messageOf } from '../api/errors.ts'
import type { Session } from '../auth/session.ts'
import { Dialog } from '../components/dialog.tsx'
import { formatDate, formatTime } from '../format.ts'
import { documentHref } from '../router.ts'
import { InboxStream } from './inbox-stream.ts'

/** The header's bell: the unread count, live over the notification stream, and the inbox behind it. */
export function InboxButton({ api, session }: { api: ApiClient; session: Session }) {
  const [count, setCount] = useState(0)
  const [open, setOpen] = useState(false)
  const [latest, setLatest] = useState<NotificationDto>()
  useEffect(() => {
    const stream = new InboxStream(session, { onCount: setCount, onNotification: setLatest })
    return () => stream.stop()
  }, [])
  const name = count === 0 ? 'Notifications, no unread' : `Notifications, ${count} unread`
  return (
    <>
      <button type="button" class="bell" aria-label={name} title={name} onClick={() => setOpen(true)}>
        <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2">
          <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
          <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
        </svg>
        {count > 0 && (
          <span class="badge" aria-hidden="true">
            {count}
          </span>
        )}
      </button>
      {open && <Inbox api={api} latest={latest} onClose={() => setOpen(false)} />}
    </>
  )
}

function Inbox({ api, latest, onClose }: { api: ApiClient; latest: NotificationDto | undefined; onClose: () => void }) {
  const [items, setItems] = useState<NotificationDto[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [error, setError] = useState<string>()
  const [loaded, setLoaded] = useState(false)

  async function load(after: string | null = null) {
    try {
      const page = await api.get<NotificationList>(`/notifications?limit=20${after ? `&cursor=${encodeURIComponent(after)}` : ''}`)
      setItems((current) => (after ? [...current, ...page.items] : page.items))
      setCursor(page.nextCursor)
    } catch (failure) {
      setError(messageOf(failure))
    }
    setLoaded(true)
  }
  useEffect(() => void load(), [])
  // Items created or grown while the inbox is open.
  useEffect(() => {
    if (latest) setItems((current) => [latest, ...current.filter((item) => item.id !== latest.id)])
  }, [latest])

  async function markRead(item: NotificationDto) {
    try {
      const updated = await api.post<NotificationDto>(`/notifications/${encodeURIComponent(item.id)}/read`)
      setItems((current) => current.map((existing) => (existing.id === updated.id ? updated : existing)))
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  async function markAllRead() {
    try {
      await api.post('/notifications/read-all')
      await load()
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  return (
    <Dialog title="Notifications" onClose={onClose}>
      <div class="stack">
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={() => void markAllRead()} disabled={!items.some((item) => !item.readAt)}>
            Mark all read
          </button>
        </div>
        {loaded && items.length === 0 && <p class="muted">Nothing yet.</p>}
        <ul class="panel-list" aria-label="Inbox">
          {items.map((item) => {
            const text = describe(item)
            const reachable = item.documentId && item.type !== 'document.unshared' && item.type !== 'document.deleted'
            return (
              <li key={item.id} class={item.readAt ? 'panel-item' : 'panel-item unread'} aria-label={text}>
                <div class="row">
                  <span class="grow">
                    {!item.readAt && <span class="visually-hidden">Unread: </span>}
                    {text}
                    <br />
                    <time class="muted" dateTime={item.updatedAt} title={formatDate(item.updatedAt)}>
                      {formatTime(item.updatedAt)}
                    </time>
                  </span>
                  {reachable && item.documentId && (
                    <a
                      href={documentHref(item.documentId)}
                      onClick={() => {
                        if (!item.readAt) void markRead(item)
                        onClose()
                      }}
                    >
                      Open {item.documentTitle}
                    </a>
                  )}
                  {!item.readAt && (
                    <button type="button" aria-label={`Mark read: ${text}`} onClick={() => void markRead(item)}>
                      Mark read
                    </button>
                  )}
                </div>
              </li>
            )
          })}
        </ul>
        {cursor && (
          <button type="button" onClick={() => void load(cursor)}>
            Older notifications
          </button>
        )}
      </div>
    </Dialog>
  )
}

function describe(item: NotificationDto): string {
  const who = item.actors.map((actor) => actor.name).join(', ') || 'Someone'
  const title = `“${item.documentTitle}”`
  switch (item.type) {
    case 'document.edited':
      return `${who} edited ${title}${item.count > 1 ? ` (${item.count} changes)` : ''}`
    case 'document.shared':
      return `${who} shared ${title} with you`
    case 'document.unshared':
      return `${who} removed you from ${title}`
    case 'document.restored':
      return `${who} restored a version of ${title}`
    case 'document.deleted':
      return `${who} deleted ${title}`
    default:
      return `${who} changed ${title}`
  }
}
