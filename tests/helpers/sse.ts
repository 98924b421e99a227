import { vi } from 'vitest'
import { defer } from './cleanup.ts'

export interface SseEvent {
  id: string | undefined
  event: string
  data: string
}

export interface SseStream {
  status: number
  headers: Headers
  /** Events received so far, in order. */
  events: SseEvent[]
  /** Comment lines received so far (`: heartbeat` arrives as `heartbeat`). */
  comments: string[]
  /** Whether the server ended the stream. */
  ended(): boolean
  /** Waits until `count` events matching `match` have arrived (default timeout 5 s); returns them. */
  waitFor(match: (event: SseEvent) => boolean, options?: { count?: number; timeout?: number }): Promise<SseEvent[]>
  close(): void
}

export interface RefusedStream {
  status: number
  headers: Headers
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any
}

/**
 * Opens `GET /api/v1/notifications/stream` with a real HTTP client (fetch, reading the body as it
 * arrives) and parses Server-Sent Events as a browser would. A non-200 answer comes back as JSON.
 */
export async function openStream(
  server: { url: string },
  options: { token?: string; query?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<SseStream | RefusedStream> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  const query = options.query ? `?${new URLSearchParams(options.query)}` : ''
  const abort = new AbortController()
  const response = await fetch(`${server.url}/api/v1/notifications/stream${query}`, { headers, signal: abort.signal })
  if (response.status !== 200) return { status: response.status, headers: response.headers, body: await response.json() }
  const events: SseEvent[] = []
  const comments: string[] = []
  let done = false
  let buffer = ''
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const pump = async () => {
    try {
      for (;;) {
        const { value, done: finished } = await reader.read()
        if (finished) break
        buffer += value
        let end: number
        while ((end = buffer.search(/\r\n\r\n|\n\n|\r\r/)) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end).replace(/^(\r\n\r\n|\n\n|\r\r)/, '')
          parseBlock(block, events, comments)
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      done = true
    }
  }
  void pump()
  const close = () => abort.abort()
  defer(close)
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    ended: () => done,
    close,
    async waitFor(match, { count = 1, timeout = 5_000 } = {}) {
      return vi.waitFor(
        () => {
          const found = events.filter(match)
          if (found.length < count) throw new Error(`${found.length}/${count} events so far: ${JSON.stringify(events)}`)
          return found
        },
        { timeout, interval: 10 },
      )
    },
  }
}

function parseBlock(block: string, events: SseEvent[], comments: string[]): void {
  let id: string | undefined
  let event = 'message'
  const data: string[] = []
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line.startsWith(':')) {
      comments.push(line.slice(1).trim())
      continue
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') id = value
    else if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  if (data.length > 0) events.push({ id, event, data: data.join('\n') })
}

export function isStream(result: SseStream | RefusedStream): result is SseStream {
  return result.status === 200
}

/** Opens a stream that must be accepted. */
export async function stream(server: { url: string }, options: Parameters<typeof openStream>[1] = {}): Promise<SseStream> {
  const result = await openStream(server, options)
  if (!isStream(result)) throw new Error(`stream refused: ${result.status} ${JSON.stringify(result.body)}`)
  return result
}
