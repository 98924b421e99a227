import type { JSONContent } from '@tiptap/core'
import { useEffect, useState } from 'preact/hooks'
import type { VersionDiff, VersionDto, VersionList } from '../../../shared/api/versions.ts'
import type { ApiClient } from '../api/client.ts'
import { messageOf } from '../api/errors.ts'
import { Dialog } from '../components/dialog.tsx'
import { VersionPreview } from '../editor/version-preview.tsx'
import { formatDate, formatTime } from '../format.ts'

interface Props {
  api: ApiClient
  documentId: string
  canEdit: boolean
  onClose: () => void
}

/** Editing sessions, newest first; pick one to preview it, compare it with now, name it or restore it. */
export function HistoryPanel({ api, documentId, canEdit, onClose }: Props) {
  const base = `/documents/${encodeURIComponent(documentId)}/versions`
  const [sessions, setSessions] = useState<VersionDto[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [selected, setSelected] = useState<VersionDto>()
  const [error, setError] = useState<string>()
  const [message, setMessage] = useState<string>()

  async function load(after: string | null = null) {
    try {
      const params = new URLSearchParams({ group: 'session', limit: '20' })
      if (after) params.set('cursor', after)
      const page = await api.get<VersionList>(`${base}?${params}`)
      setSessions((current) => (after ? [...current, ...page.items] : page.items))
      setCursor(page.nextCursor)
    } catch (failure) {
      setError(messageOf(failure))
    }
  }
  useEffect(() => void load(), [])

  const newest = sessions[0]

  async function restore(version: VersionDto) {
    setError(undefined)
    try {
      const { seq } = await api.post<{ seq: number }>(`${base}/${version.seq}/restore`)
      setMessage(`Restored version ${version.seq} as version ${seq}. Everyone’s editor now shows it.`)
      setSelected(undefined)
      await load()
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  async function name(version: VersionDto, label: string) {
    setError(undefined)
    try {
      const updated = await api.patch<VersionDto>(`${base}/${version.seq}`, { label: label.trim() || null })
      setMessage(updated.label ? `Named version ${version.seq} “${updated.label}”.` : `Cleared the name of version ${version.seq}.`)
      await load()
      setSelected((current) => (current ? { ...current, label: updated.label } : current))
    } catch (failure) {
      setError(messageOf(failure))
    }
  }

  return (
    <Dialog title="History" onClose={onClose} wide>
      <div class="history">
        <div class="history__list">
          {sessions.length === 0 && !error && <p class="muted">No saved versions yet.</p>}
          <ul class="panel-list" aria-label="Versions">
            {sessions.map((session) => (
              <li key={session.seq}>
                <button
                  type="button"
                  class="version-button"
                  aria-pressed={selected?.seq === session.seq}
                  onClick={() => {
                    setMessage(undefined)
                    setSelected(session)
                  }}
                >
                  <strong>{session.label ?? describeKind(session)}</strong>
                  <span class="muted">
                    {session.authors.map((author) => author.name).join(', ') || 'Unknown'} ·{' '}
                    <time dateTime={session.createdAt} title={formatDate(session.createdAt)}>
                      {formatTime(session.createdAt)}
                    </time>
                  </span>
                </button>
              </li>
            ))}
          </ul>
          {cursor && (
            <button type="button" onClick={() => void load(cursor)}>
              Older versions
            </button>
          )}
        </div>
        <div class="history__detail">
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          {message && (
            <p class="info" role="status">
              {message}
            </p>
          )}
          {selected && newest ? (
            <VersionDetail
              key={selected.seq}
              api={api}
              base={base}
              version={selected}
              newest={newest}
              canEdit={canEdit}
              onRestore={() => void restore(selected)}
              onName={(label) => void name(selected, label)}
            />
          ) : (
            <p class="muted">Choose a version to preview it and compare it with the current document.</p>
          )}
        </div>
      </div>
    </Dialog>
  )
}

function describeKind(version: VersionDto): string {
  const range = version.fromSeq !== undefined && version.fromSeq !== version.seq ? `${version.fromSeq}–${version.seq}` : `${version.seq}`
  if (version.kind === 'restore') return `Restore (version ${version.seq})`
  if (version.kind === 'import') return `Import (version ${version.seq})`
  return `Edits (versions ${range})`
}

interface DetailProps {
  api: ApiClient
  base: string
  version: VersionDto
  newest: VersionDto
  canEdit: boolean
  onRestore: () => void
  onName: (label: string) => void
}

function VersionDetail({ api, base, version, newest, canEdit, onRestore, onName }: DetailProps) {
  const [content, setContent] = useState<JSONContent>()
  const [diff, setDiff] = useState<VersionDiff>()
  const [error, setError] = useState<string>()
  const [label, setLabel] = useState(version.label ?? '')
  const isNewest = version.seq === newest.seq
  // The newest session shows what it changed; an older one what changed since it.
  const diffPath = isNewest
    ? `${base}/${version.seq}/diff?from=${Math.max(0, (version.fromSeq ?? version.seq) - 1)}`
    : `${base}/${newest.seq}/diff?from=${version.seq}`

  useEffect(() => {
    Promise.all([
      api.get<{ default?: JSONContent }>(`${base}/${version.seq}?format=json`),
      api.get<VersionDiff>(diffPath),
    ]).then(
      ([json, changes]) => {
        setContent(json.default ?? { type: 'doc', content: [] })
        setDiff(changes)
      },
      (failure) => setError(messageOf(failure)),
    )
  }, [version.seq])

  if (error) {
    return (
      <p class="error" role="alert">
        {error}
      </p>
    )
  }
  return (
    <div class="stack">
      <h3>Version {version.seq}</h3>
      {content && <VersionPreview content={content} label={`Version ${version.seq} content`} />}
      <h3>{isNewest ? 'Changes in this session' : 'Changes since this version'}</h3>
      <p class="diff" aria-label="Changes">
        {diff?.changes.length === 0 || diff?.changes.every((change) => change.op === 'equal')
          ? 'No changes.'
          : diff?.changes.map((change, index) =>
              change.op === 'insert' ? (
                <ins key={index}>{change.text}</ins>
              ) : change.op === 'delete' ? (
                <del key={index}>{change.text}</del>
              ) : (
                <span key={index}>{change.text}</span>
              ),
            )}
      </p>
      {canEdit && (
        <>
          <form
            class="row"
            onSubmit={(event) => {
              event.preventDefault()
              onName(label)
            }}
          >
            <label class="grow">
              Version name
              <input value={label} maxLength={200} onInput={(event) => setLabel(event.currentTarget.value)} />
            </label>
            <button type="submit">Name version</button>
          </form>
          <div class="actions">
            <button type="button" class="primary" disabled={isNewest} onClick={onRestore}>
              Restore
            </button>
          </div>
        </>
      )}
    </div>
  )
}
