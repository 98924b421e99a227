import type { Hocuspocus } from '@hocuspocus/server'
import type { WebSocket } from 'ws'

type ClientConnection = ReturnType<Hocuspocus['handleConnection']>

/** How long a closed socket's frames may wait for their document's authentication to finish. */
const AUTHENTICATION_WAIT_MS = 10_000

/** Per Hocuspocus instance: closes not yet handed to Hocuspocus. */
const pending = new WeakMap<object, Set<Promise<void>>>()

/**
 * Keeps every frame read from a socket before it closed, then tells Hocuspocus of the close.
 *
 * Hocuspocus drops frames in two places once a socket is closing, although ws still delivers every
 * frame the peer sent before its close frame: `Connection.send` closes a document connection as
 * soon as it sees the socket CLOSING (later frames then land in a queue nobody reads), and
 * `setUpNewConnection` discards the frames queued behind an authentication if the socket closed
 * meanwhile. So Hocuspocus sees the socket open until it is told of the close (ws discards what it
 * sends to a closing socket), and the close waits until no authentication with frames queued
 * behind it is in flight.
 */
export class CloseHandover {
  readonly #owner: object
  readonly #socket: WebSocket
  #connection: ClientConnection | undefined
  #handedOver = false

  /** @param owner the Hocuspocus instance: `settled(owner)` waits for its handovers */
  constructor(owner: object, socket: WebSocket) {
    this.#owner = owner
    this.#socket = socket
  }

  /** Must be given before the socket can close. */
  attach(connection: ClientConnection): void {
    this.#connection = connection
  }

  /** The state to show Hocuspocus (`WebSocketLike.readyState`). */
  get readyState(): number {
    return this.#handedOver ? this.#socket.readyState : this.#socket.OPEN
  }

  /** Call from the socket's 'close' event, after handing Hocuspocus every frame read. */
  close(code: number, reason: string): void {
    const connection = this.#connection!
    const handOver = () => {
      this.#handedOver = true
      connection.handleClose({ code, reason })
    }
    if (!authenticating(connection)) return handOver()
    const done = waitWhileAuthenticating(connection).then(handOver)
    let set = pending.get(this.#owner)
    if (!set) pending.set(this.#owner, (set = new Set()))
    set.add(done)
    void done.finally(() => set.delete(done))
  }

  /** Resolves once every close on `owner`'s sockets has reached Hocuspocus. */
  static async settled(owner: object): Promise<void> {
    await Promise.all(pending.get(owner) ?? [])
  }
}

/** ClientConnection's pre-authentication state (TypeScript-private, so read defensively). */
interface PreAuthenticationState {
  incomingMessageQueue?: Record<string, unknown[]>
  documentConnectionsEstablished?: Set<string>
}

/** True while a document's authentication is running with frames queued behind it. */
function authenticating(connection: ClientConnection): boolean {
  const state = connection as unknown as PreAuthenticationState
  const queues = state.incomingMessageQueue
  const started = state.documentConnectionsEstablished
  if (!queues || !started) return false
  return Object.entries(queues).some(([key, queue]) => started.has(key) && queue.length > 0)
}

// Hocuspocus signals nothing when an authentication ends, so poll; this only happens for a socket
// that closed within moments of opening.
async function waitWhileAuthenticating(connection: ClientConnection): Promise<void> {
  const deadline = Date.now() + AUTHENTICATION_WAIT_MS
  while (authenticating(connection) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
