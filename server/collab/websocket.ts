import { randomUUID } from 'node:crypto'
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Hocuspocus, WebSocketLike } from '@hocuspocus/server'
import type { FastifyBaseLogger } from 'fastify'
import { type WebSocket, WebSocketServer } from 'ws'
import { CloseEvents } from '../../shared/close-codes.ts'
import { isValidDocumentId } from '../../shared/documents.ts'
import type { CollabMetrics, CollabProtocol } from './collab-metrics.ts'
import type { CollabContext } from './context.ts'
import { CloseHandover } from './close-handover.ts'
import { UpdateCoalescer } from './update-coalescer.ts'
import { isAuthenticatedFrame, readClientFrameHeader } from './frames.ts'
import type { SocketAdmission, SocketLimits } from './socket-limits.ts'
import { toWebRequest } from './web-request.ts'
import { bridgeYWebsocket, type ClientConnection } from './y-websocket-bridge.ts'

export interface WebSocketGateway {
  /**
   * Refuses new upgrades, then closes every open socket (1001) with a close handshake, terminating
   * those that have not answered within `graceMs`; resolves once Hocuspocus has every frame read.
   */
  close(graceMs?: number): Promise<void>
  readonly openSockets: number
}

/**
 * Routes WebSocket upgrades on Fastify's HTTP server (Fastify never sees upgrades): `/collab` speaks
 * the Hocuspocus protocol, `/yjs/:documentId` the plain y-websocket protocol; anything else is 404.
 */
export function attachWebSockets(
  server: Server,
  hocuspocus: Hocuspocus<CollabContext>,
  options: {
    maxMessageBytes: number
    log: FastifyBaseLogger
    metrics: CollabMetrics
    /** Per-address socket caps, checked at upgrade. */
    limits: SocketLimits
    /** The client address of an upgrade request (honours TRUST_PROXY). */
    clientAddress: (req: IncomingMessage) => string
    /** A socket that has authenticated no document by then is closed (4408). */
    authTimeoutMs: number
  },
): WebSocketGateway {
  // ws enforces maxPayload while reading and closes with 1009 before buffering an oversized frame.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxMessageBytes,
    perMessageDeflate: false,
  })
  let accepting = true

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (!accepting) return refuseUpgrade(socket, 503, 'Service Unavailable')
    const isCollab = url.pathname === '/collab' || url.pathname === '/collab/'
    const documentName = url.pathname.startsWith('/yjs/') ? safeDecode(url.pathname.slice('/yjs/'.length)) : undefined
    if (!isCollab && (documentName === undefined || !isValidDocumentId(documentName)))
      return refuseUpgrade(socket, 404, 'Not Found')
    const address = options.clientAddress(req)
    const admission = options.limits.admit(address)
    if (typeof admission === 'string') {
      options.log.debug({ address, refusal: admission }, 'websocket upgrade refused')
      return refuseUpgrade(socket, 429, 'Too Many Requests')
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const protocol: CollabProtocol = isCollab ? 'collab' : 'y-websocket'
      const connection = isCollab
        ? serveCollab(ws, req, admission)
        : bridgeYWebsocket(hocuspocus, ws, req, documentName!, url.searchParams.get('token') ?? '', options.metrics, {
            onAuthenticated: admission.authenticated,
          })
      // Every line about this socket carries its id (never the URL: it may hold `?token=`). The
      // lines are all debug: below that level no child logger is kept per socket.
      const log = options.log.level === 'debug' || options.log.level === 'trace' ? options.log.child({ socketId: socketIdOf(connection), protocol }) : options.log
      log.debug({ address }, 'websocket opened')
      guardAuthentication(ws, admission, log)
      options.metrics.connections[protocol] += 1
      ws.once('close', (code: number) => {
        options.metrics.connections[protocol] -= 1
        log.debug({ code }, 'websocket closed')
      })
      ws.on('error', (error) => log.debug({ err: error }, 'websocket error'))
    })
  }

  /**
   * Until a socket has authenticated a document it holds a pre-authentication queue; it gets
   * `authTimeoutMs` to do so. (Hocuspocus' own `timeout` is checked only every `timeout` ms, so it
   * could take twice as long.) A peer that ignores the close handshake is cut off shortly after.
   */
  const guardAuthentication = (ws: WebSocket, admission: SocketAdmission, log: FastifyBaseLogger) => {
    const deadline = setTimeout(() => {
      if (admission.isAuthenticated) return
      log.debug('websocket closed: no authentication in time')
      const { code, reason } = CloseEvents.AuthenticationTimeout
      ws.close(code, reason)
      setTimeout(() => ws.terminate(), 2_000).unref()
    }, options.authTimeoutMs)
    deadline.unref()
    ws.once('close', () => {
      clearTimeout(deadline)
      admission.release()
    })
  }
  server.on('upgrade', onUpgrade)

  const serveCollab = (ws: WebSocket, req: IncomingMessage, admission: SocketAdmission): ClientConnection => {
    const handover = new CloseHandover(hocuspocus, ws)
    const socket: WebSocketLike = {
      get readyState() {
        return handover.readyState
      },
      send: (data) => {
        // Only until the first authentication: after that the socket is admitted for good.
        if (!admission.isAuthenticated && isAuthenticatedFrame(data as Uint8Array)) admission.authenticated()
        coalescer.fromServer(data as Uint8Array)
      },
      close: (code, reason) => ws.close(code, reason),
    }
    const connection = hocuspocus.handleConnection(socket, toWebRequest(req), { via: 'collab' })
    handover.attach(connection)
    const coalescer = new UpdateCoalescer(
      (frame) => connection.handleMessage(frame),
      (frame, times) => {
        for (let i = 0; i < times; i++) ws.send(frame)
      },
      (updates) => {
        options.metrics.droppedReadOnlyUpdates += updates
      },
    )
    let closed = false
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (closed || !isBinary) return
      const header = readClientFrameHeader(data)
      if (!header) {
        closed = true
        coalescer.flush()
        ws.close(CloseEvents.InvalidMessage.code, CloseEvents.InvalidMessage.reason)
        return
      }
      if (header.isUpdate) options.metrics.updatesReceived += 1
      coalescer.fromClient(data)
    })
    ws.once('close', (code: number, reason: Buffer) => {
      closed = true
      // Updates received before the close still count.
      coalescer.flush()
      handover.close(code, reason.toString())
    })
    // Logged with the socket's id by the upgrade handler.
    ws.on('error', () => ws.terminate())
    return connection
  }

  return {
    get openSockets() {
      return wss.clients.size
    },
    async close(graceMs = 1_000) {
      accepting = false
      server.off('upgrade', onUpgrade)
      const { code, reason } = CloseEvents.GoingAway
      // A handshake, not terminate(): the frames a client sent before its close reply are still on
      // their way (or in the socket buffers); ws delivers them all before the socket's 'close'.
      for (const ws of wss.clients) ws.close(code, reason)
      const deadline = Date.now() + graceMs
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await CloseHandover.settled(hocuspocus)
    },
  }
}

/**
 * Hocuspocus' id for a socket: the `socketId` its hooks report, so our lines about a socket and
 * theirs (access, presence, sessions) share one id. It is private in its types; should a release
 * drop it, a fresh id still tells one socket's lines from another's.
 */
function socketIdOf(connection: ClientConnection): string {
  const id: unknown = (connection as unknown as { socketId?: unknown }).socketId
  return typeof id === 'string' ? id : randomUUID()
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
  setTimeout(() => socket.destroy(), 1_000).unref()
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}
