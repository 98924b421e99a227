import { useState } from 'preact/hooks'
import { messageOf } from '../api/errors.ts'
import type { Session } from '../auth/session.ts'
import { navigate } from '../router.ts'

interface Props {
  session: Session
  mode: 'signin' | 'signup'
  /** Why the last session ended, shown above the form. */
  reason?: string | undefined
}

/** The first screen: sign in, or create an account (built-in provider). */
export function AuthForm({ session, mode, reason }: Props) {
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const signup = mode === 'signup'

  async function submit(event: Event) {
    event.preventDefault()
    const data = new FormData(event.currentTarget as HTMLFormElement)
    const email = String(data.get('email') ?? '')
    const password = String(data.get('password') ?? '')
    setBusy(true)
    setError(undefined)
    try {
      if (signup) await session.signUp(String(data.get('name') ?? ''), email, password)
      else await session.signIn(email, password)
      // Signing in keeps the page that asked for it (a document link); signing up starts at the list.
      if (signup) navigate('#/')
    } catch (failure) {
      setError(signup ? messageOf(failure) : signInMessage(failure))
      setBusy(false)
    }
  }

  return (
    <main class="auth">
      <h1>{signup ? 'Create an account' : 'Sign in'}</h1>
      {reason && !signup && <p class="info">{reason}</p>}
      <form onSubmit={submit} class="stack" aria-label={signup ? 'Create an account' : 'Sign in'}>
        {signup && (
          <label>
            Name
            <input name="name" autocomplete="name" required maxLength={255} />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autocomplete="email" required maxLength={320} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={signup ? 'new-password' : 'current-password'}
            required
            minLength={signup ? 8 : 1}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {signup ? 'Sign up' : 'Sign in'}
        </button>
      </form>
      <p>
        {signup ? (
          <>
            Have an account? <a href="#/">Sign in</a>
          </>
        ) : (
          <>
            New here? <a href="#/signup">Create an account</a>
          </>
        )}
      </p>
    </main>
  )
}

function signInMessage(error: unknown): string {
  const message = messageOf(error)
  // A wrong password is a 401 like an expired session; say what it means here.
  return message.startsWith('Your session has expired') ? 'Wrong email or password.' : message
}

/** In Clerk mode the sign-in belongs to Clerk's own frontend SDK, which this small app does not embed. */
export function ClerkNotice() {
  return (
    <main class="auth">
      <h1>Sign in with Clerk</h1>
      <p>
        This server uses Clerk for accounts, so the way in is Clerk's own frontend SDK (
        <a href="https://clerk.com/docs" rel="noopener noreferrer">Clerk documentation</a>): your app signs people in
        with it and sends the Clerk session token to this API and its sockets. The project README's “Identity”
        section explains the setup, and the API itself is described at <a href="/docs">/docs</a>.
      </p>
    </main>
  )
}
