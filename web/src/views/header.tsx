import type { UserDto } from '../../../shared/api/auth.ts'
import type { ApiClient } from '../api/client.ts'
import type { Session } from '../auth/session.ts'
import { InboxButton } from './inbox.tsx'

interface Props {
  user: UserDto
  session: Session
  api: ApiClient
}

export function Header({ user, session, api }: Props) {
  return (
    <header class="app-header">
      <a href="#/" class="brand">
        Collab
      </a>
      <nav aria-label="Account" class="app-header__right">
        <InboxButton api={api} session={session} />
        <span class="muted">{user.name}</span>
        <button type="button" onClick={() => void session.signOut()}>
          Sign out
        </button>
      </nav>
    </header>
  )
}
