import { useEffect, useState } from 'preact/hooks'
import { ApiError, messageOf } from '../api/errors.ts'

interface Notice {
  id: number
  message: string
}

let notices: Notice[] = []
let nextId = 1
const listeners = new Set<(list: Notice[]) => void>()

function publish(list: Notice[]): void {
  notices = list
  for (const listener of listeners) listener(list)
}

/** Shows an error or status message at the top of the page until dismissed (or replaced). */
export function showNotice(message: string): void {
  // The same message twice (a retry that failed again) stays one line.
  publish([...notices.filter((notice) => notice.message !== message), { id: nextId++, message }])
}

/**
 * Shows what went wrong, except a refused sign-in: the session then ends and the sign-in form
 * says why, once.
 */
export function reportError(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) return
  showNotice(messageOf(error))
}

export function clearNotices(): void {
  publish([])
}

/** The page's alert region: screen readers announce every new message. */
export function Notices() {
  const [list, setList] = useState(notices)
  useEffect(() => {
    listeners.add(setList)
    return () => void listeners.delete(setList)
  }, [])
  return (
    <div class="notices" role="alert" aria-live="assertive">
      {list.map((notice) => (
        <div class="notice" key={notice.id}>
          <span>{notice.message}</span>
          <button
            type="button"
            class="icon-button"
            aria-label="Dismiss"
            onClick={() => publish(notices.filter((n) => n.id !== notice.id))}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  )
}
