import { useEffect, useRef, useState } from 'preact/hooks'
import type { DocumentDto, DocumentList as DocumentPage } from '../../../shared/api/documents.ts'
import type { ApiClient } from '../api/client.ts'
import { ConfirmDialog } from '../components/dialog.tsx'
import { reportError } from '../components/notices.tsx'
import { RenameDialog } from '../components/rename-dialog.tsx'
import { documentHref, navigate } from '../router.ts'
import { formatTime } from '../format.ts'

const PAGE_SIZE = 20
const SEARCH_DELAY_MS = 250

/** My documents and those shared with me, newest activity first, loaded page by page as you scroll. */
export function DocumentList({ api }: { api: ApiClient }) {
  const [query, setQuery] = useState('')
  const [items, setItems] = useState<DocumentDto[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [loading, setLoading] = useState(true)
  const [renaming, setRenaming] = useState<DocumentDto>()
  const [deleting, setDeleting] = useState<DocumentDto>()
  const generation = useRef(0)
  const sentinel = useRef<HTMLDivElement>(null)

  async function load(search: string, after: string | null) {
    const mine = ++generation.current
    setLoading(true)
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) })
    if (search) params.set('q', search)
    if (after) params.set('cursor', after)
    try {
      const page = await api.get<DocumentPage>(`/documents?${params}`)
      if (mine !== generation.current) return
      setItems((current) => (after ? [...current, ...page.items] : page.items))
      setCursor(page.nextCursor)
    } catch (error) {
      if (mine === generation.current) reportError(error)
    } finally {
      if (mine === generation.current) setLoading(false)
    }
  }

  useEffect(() => {
    const timer = setTimeout(() => void load(query.trim(), null), query ? SEARCH_DELAY_MS : 0)
    return () => clearTimeout(timer)
  }, [query])

  // Infinite scroll: the next page loads when the end of the list comes into view.
  useEffect(() => {
    const target = sentinel.current
    if (!target || !cursor || loading) return
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) void load(query.trim(), cursor)
    })
    observer.observe(target)
    return () => observer.disconnect()
  }, [cursor, loading])

  async function create() {
    try {
      const created = await api.post<DocumentDto>('/documents', { title: 'Untitled document' })
      navigate(documentHref(created.id))
    } catch (error) {
      reportError(error)
    }
  }

  async function rename(document: DocumentDto, title: string) {
    const updated = await api.patch<DocumentDto>(`/documents/${encodeURIComponent(document.id)}`, { title })
    setItems((current) => [updated, ...current.filter((item) => item.id !== updated.id)])
    setRenaming(undefined)
  }

  async function remove(document: DocumentDto) {
    try {
      await api.delete(`/documents/${encodeURIComponent(document.id)}`)
      setItems((current) => current.filter((item) => item.id !== document.id))
    } catch (error) {
      reportError(error)
    }
    setDeleting(undefined)
  }

  return (
    <main class="documents">
      <div class="toolbar">
        <h1>Documents</h1>
        <button type="button" class="primary" onClick={() => void create()}>
          New document
        </button>
      </div>
      <label class="search">
        Search documents
        <input type="search" value={query} onInput={(event) => setQuery(event.currentTarget.value)} />
      </label>
      <ul class="document-list" aria-label="Documents" aria-busy={loading}>
        {items.map((document) => (
          <li key={document.id} class="document-row">
            <a href={documentHref(document.id)} class="document-row__title">
              {document.title}
            </a>
            <span class="document-row__meta">
              {document.role === 'owner' ? 'Owner' : `Shared with you · ${document.role}`} · edited{' '}
              {formatTime(document.updatedAt)}
            </span>
            <span class="document-row__actions">
              {document.role !== 'viewer' && (
                <button type="button" aria-label={`Rename ${document.title}`} onClick={() => setRenaming(document)}>
                  Rename
                </button>
              )}
              {document.role === 'owner' && (
                <button
                  type="button"
                  class="danger"
                  aria-label={`Delete ${document.title}`}
                  onClick={() => setDeleting(document)}
                >
                  Delete
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
      {!loading && items.length === 0 && (
        <p class="empty">{query ? 'No documents match your search.' : 'No documents yet. Create one to start.'}</p>
      )}
      {loading && <p class="muted">Loading…</p>}
      {cursor && !loading && (
        <div ref={sentinel}>
          <button type="button" onClick={() => void load(query.trim(), cursor)}>
            Load more
          </button>
        </div>
      )}
      {renaming && (
        <RenameDialog
          title={renaming.title}
          onRename={(title) => rename(renaming, title)}
          onClose={() => setRenaming(undefined)}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete document?"
          message={`“${deleting.title}” and its whole history will be deleted for everyone. This cannot be undone.`}
          confirmLabel="Delete"
          onConfirm={() => remove(deleting)}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </main>
  )
}
