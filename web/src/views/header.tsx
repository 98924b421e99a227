import type { UserDto } from '../../../shared/api/auth.ts'
import type { ApiClient } from '../api/client.ts'
import type { Session } from '../auth/session.ts'

interface Props {
  user: UserDto
  session: Session
  api: ApiClient
}

export function Header({ user, session }: Props) {
  return (
    <header class="app-header">
      <a href="#/" class="brand">
        Collab
      </a>
      <nav aria-label="Account" class="app-header__right">
        <span class="muted">{user.name}</span>
        <button type="button" onClick={() => void session.signOut()}>
          Sign out
        </button>
      </nav>
    </header>
  )
}
