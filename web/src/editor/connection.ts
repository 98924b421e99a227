import { HocuspocusProvider } from '@hocuspocus/provider'
import * as Y from 'yjs'
import { type CollabNotice, parseCollabNotice } from '../../../shared/collab-notices.ts'
import type { Role } from '../../../shared/roles.ts'

/** What the status line says: the provider's socket, and whether our edits reached the server. */
export type SyncStatus = 'connecting' | 'saved' | 'unsynced' | 'offline' | 'closed'

/** Someone in the document, from the awareness states (the server stamps `user.id` and `user.name`). */
export interface Peer {
  id: string
  name: string
  color: string
  self: boolean
}

interface Options {
  documentId: string
  /** Asked on every (re)connect and whenever the server wants a fresh token before ours expires. */
  token: () => Promise<string>
  /** The server refused us for good (access revoked, document deleted, link no longer valid). */
  onDenied: (reason: string) => void
  /** The server told us something about the open document (our role changed, it was renamed). */
  onNotice?: (notice: CollabNotice) => void
}

const PALETTE = ['#e03131', '#2f9e44', '#1971c2', '#f08c00', '#9c36b5', '#0c8599', '#e8590c', '#5c940d']

/** A stable colour per user id; a random one for guests without one. */
export function colorFor(id: string | undefined): string {
  if (!id) return PALETTE[Math.floor(Math.random() * PALETTE.length)] ?? '#1971c2'
  let hash = 0
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  return PALETTE[hash % PALETTE.length] ?? '#1971c2'
}

/**
 * One open document: its Y.Doc, the HocuspocusProvider on `/collab`, and the status and presence
 * derived from them. The browser's offline emulation (and some real outages) leave a WebSocket
 * open that can no longer deliver, so we close the socket ourselves when the browser goes offline
 * and reconnect when it is back; edits made meanwhile stay in the Y.Doc and merge on reconnect.
 */
export class DocumentConnection {
  readonly doc = new Y.Doc()
  readonly provider: HocuspocusProvider
  #status: SyncStatus = 'connecting'
  #socket = 'connecting'
  #peers: Peer[] = []
  /** Our role as the server last told it while connected; the sign-in's scope until then. */
  #role: Role | undefined
  #closed = false
  #listeners = new Set<() => void>()
  readonly #onOffline = () => {
    this.provider.disconnect()
    this.#update()
  }
  readonly #onOnline = () => {
    void this.provider.connect()
    this.#update()
  }

  constructor({ documentId, token, onDenied, onNotice }: Options) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
    this.provider = new HocuspocusProvider({
      url: `${scheme}://${location.host}/collab`,
      name: documentId,
      document: this.doc,
      token,
      onAuthenticationFailed: ({ reason }) => {
        // An expired access token is renewed by `token` on the next attempt; anything else is final.
        if (reason.includes('token-expired')) return
        this.close()
        onDenied(reason)
      },
    })
    this.provider.on('status', ({ status }: { status: string }) => {
      this.#socket = status
      this.#update()
    })
    for (const event of ['synced', 'unsyncedChanges']) {
      this.provider.on(event, () => this.#update())
    }
    // A (re)connection is authorised afresh: its scope is current again.
    this.provider.on('authenticated', () => {
      this.#role = undefined
      this.#emit()
      this.#update()
    })
    this.provider.on('stateless', ({ payload }: { payload: string }) => {
      const notice = parseCollabNotice(payload)
      if (!notice) return
      if (notice.type === 'access') this.#role = notice.role
      onNotice?.(notice)
      this.#emit()
    })
    this.provider.awareness?.on('change', () => this.#updatePeers())
    window.addEventListener('offline', this.#onOffline)
    window.addEventListener('online', this.#onOnline)
    if (!navigator.onLine) this.provider.disconnect()
  }

  get status(): SyncStatus {
    return this.#status
  }

  get peers(): readonly Peer[] {
    return this.#peers
  }

  /** The server made this connection read-only (a viewer, or a viewer link), on connecting or since. */
  get readOnly(): boolean {
    return this.#role ? this.#role === 'viewer' : this.provider.authorizedScope === 'readonly'
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    window.removeEventListener('offline', this.#onOffline)
    window.removeEventListener('online', this.#onOnline)
    this.provider.destroy()
    this.#update()
  }

  #update(): void {
    const status = this.#computeStatus()
    if (status !== this.#status) {
      this.#status = status
      this.#emit()
    }
  }

  #computeStatus(): SyncStatus {
    if (this.#closed) return 'closed'
    if (!navigator.onLine) return 'offline'
    if (this.#socket !== 'connected' || !this.provider.isSynced) return 'connecting'
    return this.provider.hasUnsyncedChanges ? 'unsynced' : 'saved'
  }

  #updatePeers(): void {
    const awareness = this.provider.awareness
    if (!awareness) return
    const byUser = new Map<string, Peer>()
    for (const [clientId, state] of awareness.getStates()) {
      const user = (state as { user?: { id?: string; name?: string; color?: string } }).user
      if (!user?.name) continue
      const id = user.id ?? `client:${clientId}`
      const self = clientId === awareness.clientID
      // The same person in two tabs is one avatar.
      if (byUser.has(id) && !self) continue
      byUser.set(id, { id, name: user.name, color: user.color ?? colorFor(id), self })
    }
    this.#peers = [...byUser.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name))
    this.#emit()
  }

  #emit(): void {
    for (const listener of this.#listeners) listener()
  }
}
