import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { sleep } from './ipc.ts'

export interface BenchClient {
  doc: Y.Doc
  provider: HocuspocusProvider
  synced: Promise<void>
  destroy(): void
}

/**
 * A real `HocuspocusProvider` with its own WebSocket (as in tests/helpers/clients.ts).
 * `awareness: false` disables awareness, which keeps N readers from filling the run with N×N
 * awareness broadcasts at connect and every 15 s renewal; a reader still receives every update.
 */
export function connect(wsUrl: string, documentName: string, options: { awareness?: boolean; token?: string } = {}) {
  const doc = new Y.Doc()
  const socket = new HocuspocusProviderWebsocket({ url: wsUrl, WebSocketPolyfill: WebSocket })
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: documentName,
    document: doc,
    // A real account's token signs in as that account; `bench` is swapped by target A (targets/ours.ts).
    token: options.token ?? 'bench',
    ...(options.awareness === false ? { awareness: null } : {}),
  })
  provider.attach()
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve()
    else provider.on('synced', () => resolve())
  })
  const destroy = () => {
    provider.destroy()
    socket.destroy()
    doc.destroy()
  }
  return { doc, provider, synced, destroy } satisfies BenchClient
}

/** Resolves once the server acknowledged every update this provider sent. */
export async function untilAcknowledged(provider: HocuspocusProvider, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (provider.hasUnsyncedChanges) {
    if (performance.now() > deadline) throw new Error('server did not acknowledge all updates')
    await sleep(20)
  }
}

/** Deterministic PRNG (mulberry32) so every target sees the same edits. */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
