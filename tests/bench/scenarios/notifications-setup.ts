import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { sleep } from '../lib/ipc.ts'

/**
 * REST and delivery plumbing of the notifications scenario, all through the server's public
 * surface: accounts registered and a document shared over REST, inboxes read over REST, live
 * streams over SSE, and the local endpoints webhooks and email go to.
 */

export interface Account {
  id: string
  email: string
  token: string
}

async function call<T>(base: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {}
  if (init.token) headers.authorization = `Bearer ${init.token}`
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  const text = await response.text()
  if (response.status >= 300) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${text.slice(0, 300)}`)
  return (text ? JSON.parse(text) : null) as T
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!, index)
    }
  })
  await Promise.all(lanes)
  return results
}

/** Registers `count` accounts (`POST /auth/register`; each is a scrypt hash, so a few at a time). */
export function registerAccounts(base: string, count: number): Promise<Account[]> {
  return pool(Array.from({ length: count }, (_, i) => i), 4, async (i) => {
    const email = `person${i}@example.test`
    const session = await call<{ user: { id: string }; accessToken: string }>(base, '/api/v1/auth/register', {
      method: 'POST',
      body: { email, password: 'bench-password', name: `Person ${i}` },
    })
    return { id: session.user.id, email, token: session.accessToken }
  })
}

/** The owner creates a document and adds every collaborator (`PUT …/collaborators/:userId`). */
export async function shareDocument(
  base: string,
  owner: Account,
  collaborators: readonly { account: Account; role: 'editor' | 'viewer' }[],
): Promise<string> {
  const document = await call<{ id: string }>(base, '/api/v1/documents', {
    method: 'POST',
    token: owner.token,
    body: { title: 'Notifications bench' },
  })
  await pool(collaborators, 4, ({ account, role }) =>
    call(base, `/api/v1/documents/${document.id}/collaborators/${account.id}`, { method: 'PUT', token: owner.token, body: { role } }),
  )
  return document.id
}

/** Users who read their whole inbox every `everyMs` (`POST /notifications/read-all`), staggered over the period. */
export function startReaders(base: string, readers: readonly Account[], everyMs: number) {
  let running = true
  let reads = 0
  const loops = readers.map(async (reader, i) => {
    const started = performance.now()
    for (let round = 0; running; round++) {
      const wait = started + (round + i / readers.length) * everyMs - performance.now()
      if (wait > 0) await sleep(wait)
      if (!running) break
      await call(base, '/api/v1/notifications/read-all', { method: 'POST', token: reader.token })
      reads++
    }
  })
  return {
    async stop(): Promise<number> {
      running = false
      await Promise.all(loops)
      return reads
    },
  }
}

/** A received `notification` stream event: when it arrived and the item's `updatedAt`. */
export interface StreamArrival {
  arrivedAt: number
  updatedAt: number
  type: string
}

/** `GET /notifications/stream` per account, parsed as Server-Sent Events; keeps every `notification` event. */
export async function openStreams(base: string, accounts: readonly Account[]) {
  const arrivals: StreamArrival[] = []
  const aborts: AbortController[] = []
  await Promise.all(
    accounts.map(async (account) => {
      const abort = new AbortController()
      aborts.push(abort)
      const response = await fetch(`${base}/api/v1/notifications/stream`, {
        headers: { accept: 'text/event-stream', authorization: `Bearer ${account.token}` },
        signal: abort.signal,
      })
      if (response.status !== 200) throw new Error(`stream: ${response.status} ${await response.text()}`)
      void pump(response.body!, (event, data) => {
        if (event !== 'notification') return
        const item = JSON.parse(data) as { type: string; updatedAt: string }
        arrivals.push({ arrivedAt: Date.now(), updatedAt: Date.parse(item.updatedAt), type: item.type })
      })
    }),
  )
  return {
    arrivals,
    close() {
      for (const abort of aborts) abort.abort()
    },
  }
}

async function pump(body: NonNullable<Response['body']>, onEvent: (event: string, data: string) => void): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        let event = 'message'
        const data: string[] = []
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim()
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
        }
        if (data.length > 0) onEvent(event, data.join('\n'))
      }
    }
  } catch {
    // Aborted at the end of the run.
  }
}

/**
 * Where delivery goes: an HTTP endpoint that accepts every webhook (204) and an SMTP server that
 * accepts every message (`smtp-server`). Both count what they get.
 */
export async function startSinks() {
  // Webhook ids by what they announce (`notification.created` split by the item's type), each once.
  const received = { webhooks: new Map<string, Set<string>>(), emails: 0 }
  const http: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { type: string; data: { notification?: { type: string } } }
      const kind = body.data.notification ? `${body.type} (${body.data.notification.type})` : body.type
      const ids = received.webhooks.get(kind) ?? new Set<string>()
      ids.add(String(request.headers['webhook-id']))
      received.webhooks.set(kind, ids)
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      stream.resume()
      stream.on('end', () => {
        received.emails++
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve))
  const smtpPort = (smtp.server.address() as AddressInfo).port
  return {
    received,
    /** Server settings that send webhooks and email here. */
    env: {
      WEBHOOK_URLS: `http://127.0.0.1:${(http.address() as AddressInfo).port}/hooks`,
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    },
    async close() {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
      await new Promise<void>((resolve) => smtp.close(() => resolve()))
    },
  }
}
