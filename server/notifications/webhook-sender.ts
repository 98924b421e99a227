import { Webhook } from 'standardwebhooks'
import type { ChannelSender } from './outbox-worker.ts'
import type { WebhookPayload } from './webhook-events.ts'

export const webhookSenderDefaults = {
  /** A receiver that hasn't answered by then is tried again later. */
  timeoutMs: 10_000,
}

/**
 * Sends webhook outbox rows, signed in the Standard Webhooks format by the `standardwebhooks`
 * package (the reference implementation), so receivers verify with any Standard Webhooks library.
 * Every try carries the row's `webhook-id` (receivers drop repeats by it) and a fresh
 * `webhook-timestamp`, which receivers check against their clock. 2xx is delivered; anything else,
 * a redirect included, is retried.
 */
export function createWebhookSender(secret: string, options: Partial<typeof webhookSenderDefaults> = {}): ChannelSender {
  const { timeoutMs } = { ...webhookSenderDefaults, ...options }
  const signer = new Webhook(secret)
  return async ({ payload, signal }) => {
    const { url, messageId, body } = payload as WebhookPayload
    const json = JSON.stringify(body)
    const now = new Date()
    let response: Response
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'collab-server-webhooks',
          'webhook-id': messageId,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signer.sign(messageId, now, json),
        },
        body: json,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      })
    } catch (error) {
      throw new Error(describeFetchError(error, timeoutMs), { cause: error })
    }
    // Only the status matters; reading the rest frees the connection.
    await response.body?.cancel().catch(() => undefined)
    if (response.status < 200 || response.status > 299) throw new Error(`receiver answered HTTP ${response.status}`)
  }
}

/** Why a request failed, without the URL (endpoints often carry a token) — this goes to `last_error` and logs. */
function describeFetchError(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; cause?: { code?: string; message?: string } }
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`
  if (e.name === 'AbortError') return 'aborted at shutdown'
  const code = e.cause?.code
  return code ? `request failed: ${code}` : 'request failed'
}
