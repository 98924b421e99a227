import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { defer } from './cleanup.ts'

/** One request the receiver got, as it arrived, and whether its signature verified. */
export interface ReceivedWebhook {
  id: string
  timestamp: string
  signature: string
  /** The raw body, exactly as signed. */
  raw: string
  // Tests read arbitrary event data.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: { type: string; timestamp: string; data: any }
  verified: boolean
  /** The status the receiver answered (0: it never answered). */
  status: number
  /** When it arrived (ms since the epoch). */
  receivedAt: number
}

export interface WebhookReceiver {
  url: string
  secret: string
  /** Every request, in arrival order. */
  requests: ReceivedWebhook[]
  /** Requests answered 2xx: what a receiver treats as delivered. */
  delivered(): ReceivedWebhook[]
  /** Answers for the next requests, in order (`hang`: never answer); once used up, `answer`'s. */
  respondWith(...answers: Answer[]): void
  /** The answer once `respondWith`'s are used up (default 200). */
  answer(status: Answer): void
  /** Verifies a request as a receiver would (throws when it doesn't verify). */
  verify(raw: string, headers: { id: string; timestamp: string; signature: string }): unknown
  close(): Promise<void>
}

export type Answer = number | 'hang'

/** A fresh Standard Webhooks secret, in the usual `whsec_<base64>` form. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`
}

/**
 * A real webhook endpoint on a local port: verifies each request's signature with the
 * `standardwebhooks` package, as any receiver would, and answers the statuses it is told to.
 */
export async function startWebhookReceiver(secret = newWebhookSecret()): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret)
  const requests: ReceivedWebhook[] = []
  const queued: Answer[] = []
  let fallback: Answer = 200
  const verify: WebhookReceiver['verify'] = (raw, h) =>
    verifier.verify(raw, { 'webhook-id': h.id, 'webhook-timestamp': h.timestamp, 'webhook-signature': h.signature })
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      const headers = signatureHeaders(request.headers)
      let verified = true
      try {
        verify(raw, headers)
      } catch {
        verified = false
      }
      // A receiver refuses what doesn't verify.
      const answer = verified ? (queued.shift() ?? fallback) : 401
      const status = answer === 'hang' ? 0 : answer
      requests.push({ ...headers, raw, body: JSON.parse(raw), verified, status, receivedAt: Date.now() })
      if (answer !== 'hang') response.writeHead(answer).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    secret,
    requests,
    delivered: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    respondWith: (...answers) => queued.push(...answers),
    answer: (status) => {
      fallback = status
    },
    verify,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  defer(() => receiver.close())
  return receiver
}

function signatureHeaders(headers: IncomingHttpHeaders): { id: string; timestamp: string; signature: string } {
  const one = (name: string) => String(headers[name] ?? '')
  return { id: one('webhook-id'), timestamp: one('webhook-timestamp'), signature: one('webhook-signature') }
}
