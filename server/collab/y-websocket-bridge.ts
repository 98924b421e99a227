import type { IncomingMessage } from 'node:http'
import type { Hocuspocus, WebSocketLike } from '@hocuspocus/server'
import type { WebSocket } from 'ws'
import { type CloseEvent, CloseEvents } from '../../shared/close-codes.ts'
import type { CollabContext } from './context.ts'
import { CloseHandover } from './close-handover.ts'
import type { CollabMetrics } from './collab-metrics.ts'
import {
  encodeAuthFrame,
  HocuspocusMessage,
  SYNC_UPDATE,
  isAuthenticatedFrame,
  isRefusedUpdateAck,
  prefixWithDocumentName,
} from './frames.ts'
import { toWebRequest } from './web-request.ts'
import { encodePong, translateServerFrame } from './y-websocket-protocol.ts'

/** One socket's connection to Hocuspocus (the class is not exported by name). */
export type ClientConnection = ReturnType<Hocuspocus['handleConnection']>

/** Frame types a y-websocket client sends: Sync, Awareness, QueryAwareness. */
const Y_WEBSOCKET_CLIENT_TYPES = new Set<number>([
  HocuspocusMessage.Sync,
  HocuspocusMessage.Awareness,
  HocuspocusMessage.QueryAwareness,
])

/**
 * Serves one plain y-websocket socket (`/yjs/:documentId?token=`) as a Hocuspocus connection to that
 * document: same Document, same hooks, same store. Client frames get the document name prefixed;
 * server frames are translated back (see y-websocket-protocol.ts). Returns the Hocuspocus connection.
 */
export function bridgeYWebsocket(
  hocuspocus: Hocuspocus<CollabContext>,
  socket: WebSocket,
  req: IncomingMessage,
  documentName: string,
  token: string,
  metrics: CollabMetrics,
  hooks: { onAuthenticated?: () => void } = {},
): ClientConnection {
  let closed = false
  let authenticated = false
  const handover = new CloseHandover(hocuspocus, socket)
  const closeSocket = ({ code, reason }: CloseEvent) => {
    if (closed) return
    closed = true
    socket.close(code, reason)
  }
  const proxy: WebSocketLike = {
    get readyState() {
      return handover.readyState
    },
    send(data) {
      if (closed || socket.readyState !== socket.OPEN) return
      if (!authenticated && isAuthenticatedFrame(data as Uint8Array)) {
        authenticated = true
        hooks.onAuthenticated?.()
      }
      if (isRefusedUpdateAck(data as Uint8Array)) metrics.droppedReadOnlyUpdates += 1
      const action = translateServerFrame(data as Uint8Array)
      switch (action.action) {
        case 'send':
          socket.send(action.frame)
          return
        case 'deny':
          socket.send(action.frame)
          closeSocket(action.close)
          return
        case 'close':
          closeSocket(action.close)
          return
        case 'resend-token':
          connection.handleMessage(encodeAuthFrame(documentName, token))
          return
        case 'pong':
          connection.handleMessage(encodePong(documentName))
          return
        case 'drop':
          return
      }
    },
    close(code, reason) {
      closeSocket({ code: code ?? 1000, reason: reason ?? '' } as CloseEvent)
    },
  }

  const connection = hocuspocus.handleConnection(proxy, toWebRequest(req), { via: 'y-websocket' })
  handover.attach(connection)
  // Listen before anything async: frames that arrive while onAuthenticate runs are queued by Hocuspocus.
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (closed || !isBinary) return
    if (data.byteLength === 0 || !Y_WEBSOCKET_CLIENT_TYPES.has(data[0]!)) {
      closeSocket(CloseEvents.InvalidMessage)
      return
    }
    // `[0 Sync][2 update]…`: two bytes read, the update itself left to Hocuspocus.
    if (data[0] === HocuspocusMessage.Sync && data[1] === SYNC_UPDATE) metrics.updatesReceived += 1
    connection.handleMessage(prefixWithDocumentName(documentName, data))
  })
  socket.once('close', (code: number, reason: Buffer) => {
    closed = true
    handover.close(code, reason.toString())
  })
  socket.on('error', () => socket.terminate())
  // y-websocket has no auth message: the token comes from the URL and is presented on the client's behalf.
  connection.handleMessage(encodeAuthFrame(documentName, token))
  return connection
}
