import { useEffect, useMemo, useState } from 'preact/hooks'
import type { DocumentDto } from '../../../shared/api/documents.ts'
import { ApiClient } from '../api/client.ts'
import { messageOf } from '../api/errors.ts'
import type { Session } from '../auth/session.ts'

interface Props {
  id: string
  session: Session
  /** Set when the document was opened through a share link: its token replaces the user's. */
  linkToken?: string
}

/** One document: its title, and (next) the editor. */
export function DocumentView({ id, session, linkToken }: Props) {
  const api = useMemo(
    () => (linkToken ? new ApiClient({ token: async () => linkToken }) : new ApiClient(session)),
    [linkToken],
  )
  const [document, setDocument] = useState<DocumentDto>()
  const [error, setError] = useState<string>()
  useEffect(() => {
    api.get<DocumentDto>(`/documents/${encodeURIComponent(id)}`).then(setDocument, (e) => setError(messageOf(e)))
  }, [id])

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
  if (!document) return <main class="document muted">Loading…</main>
  return (
    <main class="document">
      <h1>{document.title}</h1>
    </main>
  )
}
