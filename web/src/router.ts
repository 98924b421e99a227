import { useEffect, useState } from 'preact/hooks'

/** The app's screens, addressed by the URL hash so the server only ever serves `/`. */
export type Route =
  | { name: 'home' }
  | { name: 'signup' }
  | { name: 'document'; id: string; linkToken: string | undefined }

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2)
  if (path === '/signup') return { name: 'signup' }
  const match = /^\/d\/([^/]+)$/.exec(path)
  if (match?.[1]) {
    const linkToken = new URLSearchParams(query).get('link') ?? undefined
    return { name: 'document', id: decodeURIComponent(match[1]), linkToken }
  }
  return { name: 'home' }
}

export function documentHref(id: string, linkToken?: string): string {
  return `#/d/${encodeURIComponent(id)}${linkToken ? `?link=${encodeURIComponent(linkToken)}` : ''}`
}

export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash))
    window.addEventListener('hashchange', update)
    return () => window.removeEventListener('hashchange', update)
  }, [])
  return route
}
