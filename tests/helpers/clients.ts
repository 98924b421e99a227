import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { defer } from './cleanup.ts'
import type { TestServer } from './server.ts'

export interface HocuspocusClient {
  doc: Y.Doc
  provider: HocuspocusProvider
  socket: HocuspocusProviderWebsocket
  /** Resolves once the first sync with the server finished. */
  synced: Promise<void>
  destroy(): void
}

/** A real `HocuspocusProvider` on `/collab`, destroyed after the test. */
export function connectHocuspocus(
  server: Pick<TestServer, 'wsUrl'>,
  documentName: string,
  options: { token?: string | (() => string) | (() => Promise<string>); doc?: Y.Doc } = {},
): HocuspocusClient {
  const doc = options.doc ?? new Y.Doc()
  const socket = new HocuspocusProviderWebsocket({
    url: `${server.wsUrl}/collab`,
    WebSocketPolyfill: WebSocket,
    // Tests reconnect on purpose; don't wait out the default backoff.
    delay: 50,
    minDelay: 50,
    maxDelay: 200,
  })
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: documentName,
    document: doc,
    token: options.token ?? '',
  })
  provider.attach()
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve()
    else provider.on('synced', () => resolve())
  })
  let destroyed = false
  const destroy = () => {
    if (destroyed) return
    destroyed = true
    // Destroyed mid-reconnect, the provider closes a socket still connecting and removes its own
    // listeners first; ws then reports the aborted handshake as an 'error' event nobody hears,
    // which is an uncaught exception. The abort is what we asked for: hear it.
    const current = (socket as unknown as { webSocket: { on?: (event: 'error', listener: () => void) => void } | null }).webSocket
    current?.on?.('error', () => undefined)
    provider.destroy()
    socket.destroy()
  }
  defer(destroy)
  return { doc, provider, socket, synced, destroy }
}

export interface YWebsocketClient {
  doc: Y.Doc
  provider: WebsocketProvider
  synced: Promise<void>
  destroy(): void
}

/** A real y-websocket `WebsocketProvider` on `/yjs/:documentName`, destroyed after the test. */
export function connectYWebsocket(
  server: Pick<TestServer, 'wsUrl'>,
  documentName: string,
  options: { token?: string; doc?: Y.Doc } = {},
): YWebsocketClient {
  const doc = options.doc ?? new Y.Doc()
  const provider = new WebsocketProvider(`${server.wsUrl}/yjs`, documentName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: options.token ? { token: options.token } : {},
    disableBc: true,
    maxBackoffTime: 200,
  })
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve()
    else provider.once('sync', (isSynced: boolean) => isSynced && resolve())
  })
  let destroyed = false
  const destroy = () => {
    if (destroyed) return
    destroyed = true
    provider.destroy()
  }
  defer(destroy)
  return { doc, provider, synced, destroy }
}
