import * as decoding from 'lib0/decoding'
import { type CollabNotice, parseCollabNotice } from '../../shared/collab-notices.ts'
import type { HocuspocusClient, YWebsocketClient } from './clients.ts'

/** Rejects with `what` unless `promise` settles within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The reason of the first permission-denied the provider hears (the server ends the document with it). */
export function hocuspocusDenied(client: HocuspocusClient): Promise<string> {
  return new Promise((resolve) =>
    client.provider.on('authenticationFailed', ({ reason }: { reason: string }) => resolve(reason)),
  )
}

/** The code and reason the server closes a y-websocket connection with. */
export function yWebsocketClosed(client: YWebsocketClient): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    client.provider.on('connection-close', (event: { code: number; reason: string } | null) =>
      resolve({ code: event?.code ?? 0, reason: event?.reason ?? '' }),
    ),
  )
}

/**
 * Counts the server's "not applied" acknowledgements (Hocuspocus SyncStatus false): what a
 * read-only connection answers to every document update it drops.
 */
export function refusedUpdates(client: HocuspocusClient): { readonly count: number } {
  const state = { count: 0 }
  client.socket.on('message', (event: { data: ArrayBuffer | Uint8Array }) => {
    const decoder = decoding.createDecoder(new Uint8Array(event.data))
    decoding.readVarString(decoder)
    if (decoding.readVarUint(decoder) === 8 && decoding.readVarInt(decoder) === 0) state.count++
  })
  return state
}

/** `GET /ready` with a client-side deadline, so a hanging check fails the test instead of stalling it. */
export async function ready(instance: { url: string }, timeoutMs = 2_000): Promise<{ status: number; body: { status: string; checks?: Record<string, string> } }> {
  const response = await fetch(`${instance.url}/ready`, { signal: AbortSignal.timeout(timeoutMs) })
  return { status: response.status, body: await response.json() }
}

/** Every CollabNotice the provider is sent from now on. */
export function collectNotices(client: HocuspocusClient): CollabNotice[] {
  const seen: CollabNotice[] = []
  client.provider.on('stateless', ({ payload }: { payload: string }) => {
    const notice = parseCollabNotice(payload)
    if (notice) seen.push(notice)
  })
  return seen
}
