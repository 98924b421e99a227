import { render } from 'preact'
import { App, type AuthMode } from './app.tsx'
import { Session } from './auth/session.ts'
import './styles.css'

// The server names its identity provider in the page (no script of its own may run inline).
const authMode: AuthMode =
  document.querySelector<HTMLMetaElement>('meta[name="collab-auth"]')?.content === 'clerk' ? 'clerk' : 'local'

const root = document.getElementById('app')
if (root) render(<App session={new Session()} authMode={authMode} />, root)
