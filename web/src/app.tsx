import { useEffect, useMemo, useState } from 'preact/hooks'
import { ApiClient } from './api/client.ts'
import type { Session } from './auth/session.ts'
import { Notices } from './components/notices.tsx'
import { useRoute } from './router.ts'
import { AuthForm, ClerkNotice } from './views/auth-form.tsx'
import { DocumentList } from './views/document-list.tsx'
import { DocumentView } from './views/document-view.tsx'
import { Header } from './views/header.tsx'

export type AuthMode = 'local' | 'clerk'

export function App({ session, authMode }: { session: Session; authMode: AuthMode }) {
  const route = useRoute()
  // Read at render time: a session that ended before this component subscribed still shows why.
  const [, changed] = useState(0)
  useEffect(() => session.subscribe(() => changed((n) => n + 1)), [])
  const user = session.user
  const reason = session.endReason
  const api = useMemo(() => new ApiClient(session), [])

  // A share link opens its document without an account, whoever is signed in.
  if (route.name === 'document' && route.linkToken) {
    return (
      <>
        <Notices />
        <DocumentView key={`${route.id}:link`} id={route.id} linkToken={route.linkToken} session={session} />
      </>
    )
  }
  if (!user) {
    return (
      <>
        <Notices />
        {authMode === 'clerk' ? (
          <ClerkNotice />
        ) : (
          <AuthForm session={session} mode={route.name === 'signup' ? 'signup' : 'signin'} reason={reason} />
        )}
      </>
    )
  }
  return (
    <>
      <Header user={user} session={session} api={api} />
      <Notices />
      {route.name === 'document' ? (
        <DocumentView key={route.id} id={route.id} session={session} />
      ) : (
        <DocumentList api={api} />
      )}
    </>
  )
}
