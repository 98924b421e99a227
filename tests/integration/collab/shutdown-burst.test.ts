import { once } from 'node:events'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { createConnection } from 'mysql2/promise'
import { expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { encodeAuthFrame, prefixWithDocumentName } from '../../../server/collab/frames.ts'
import type { DatabaseTarget } from '../../../server/config/config.ts'
import { createDocument, registerUser } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { startServerProcess } from '../../helpers/process.ts'
import { startTestServer } from '../../helpers/server.ts'

const EDITS = 5_000
const SIGTERM_AFTER = 1_000

type Protocol = 'hocuspocus' | 'y-websocket'

function socketUrl(wsUrl: string, protocol: Protocol, documentName: string, token: string): string {
  return protocol === 'hocuspocus'
    ? `${wsUrl}/collab`
    : `${wsUrl}/yjs/${documentName}?token=${encodeURIComponent(token)}`
}

/** `[0 Sync][2 Update][update]`, as y-protocols writes it. */
function updateFrame(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  syncProtocol.writeUpdate(encoder, update)
  return encoding.toUint8Array(encoder)
}

interface BurstClient {
  /** Edits handed to the socket so far, each while it was open. */
  readonly sent: string[]
  /** Sends up to `edits` edits, one update frame each, until the socket stops being open. */
  burst(edits: number): Promise<void>
}

/**
 * A bare client (no provider, so nothing is batched, retried or resent): one Yjs update frame per
 * edit, each appending a unique marker, sent as fast as the socket takes them.
 */
async function openBurstClient(
  wsUrl: string,
  protocol: Protocol,
  documentName: string,
  token: string,
): Promise<BurstClient> {
  const ws = new WebSocket(socketUrl(wsUrl, protocol, documentName, token))
  defer(() => ws.terminate())
  // The server's sync step 2 answers our step 1 only once the document is loaded and the
  // connection established: from then on, frames go straight to the document.
  const synced = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(data)
      if (protocol === 'hocuspocus') decoding.readVarString(decoder)
      const type = decoding.readVarUint(decoder)
      // Sync (0) or Hocuspocus' SyncReply (4), sub-message step 2 (1).
      if ((type === 0 || type === 4) && decoding.readVarUint(decoder) === syncProtocol.messageYjsSyncStep2) resolve()
    })
  })
  await once(ws, 'open')
  const wrap = (frame: Uint8Array) => (protocol === 'hocuspocus' ? prefixWithDocumentName(documentName, frame) : frame)
  if (protocol === 'hocuspocus') ws.send(encodeAuthFrame(documentName, token))
  const doc = new Y.Doc()
  const step1 = encoding.createEncoder()
  encoding.writeVarUint(step1, 0)
  syncProtocol.writeSyncStep1(step1, doc)
  ws.send(wrap(encoding.toUint8Array(step1)))
  await synced

  let frame: Uint8Array | undefined
  doc.on('update', (update: Uint8Array) => {
    frame = wrap(updateFrame(update))
  })
  const text = doc.getText('default')
  const sent: string[] = []
  return {
    sent,
    async burst(edits) {
      for (let i = 0; i < edits; i++) {
        // Once the server's close frame is read the socket is CLOSING: what was sent before it
        // precedes our close reply on the wire, so the server has read every frame in `sent`.
        if (ws.readyState !== WebSocket.OPEN) return
        const marker = `${i},`
        text.insert(text.length, marker)
        ws.send(frame!)
        sent.push(marker)
        // Let the socket read now and then, so the close frame is seen mid-burst.
        if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve))
      }
    },
  }
}

describeEachDatabase('shutdown during a burst', (databases) => {
  it('SIGTERM mid-burst stores every edit that reached the server, over both protocols', async () => {
    const database = await databases.create()
    // Nothing is stored before SIGTERM: only the shutdown flush can store the edits.
    const server = await startServerProcess({
      DATABASE_URL: database.url,
      STORE_DEBOUNCE_MS: '60000',
      STORE_MAX_DEBOUNCE_MS: '120000',
    })
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'burst-hp')
    await createDocument(server, owner, 'burst-yws')
    const clients = {
      'burst-hp': await openBurstClient(server.wsUrl, 'hocuspocus', 'burst-hp', owner.accessToken),
      'burst-yws': await openBurstClient(server.wsUrl, 'y-websocket', 'burst-yws', owner.accessToken),
    }
    const bursts = Promise.all(Object.values(clients).map((client) => client.burst(EDITS)))
    await expect
      .poll(() => Math.min(...Object.values(clients).map((client) => client.sent.length)), { interval: 1 })
      .toBeGreaterThanOrEqual(SIGTERM_AFTER)
    server.child.kill('SIGTERM')
    await bursts
    expect(await server.exited, server.output()).toBe(0)

    const reader = await startTestServer(database)
    for (const [documentName, client] of Object.entries(clients)) {
      const { default: stored } = await replayJson(reader.database.db, documentName)
      // Markers are appended in order, so a lost frame leaves the ones after it unapplied too.
      const storedEdits = typeof stored === 'string' ? stored.split(',').length - 1 : 0
      expect({ documentName, storedEdits }).toEqual({ documentName, storedEdits: client.sent.length })
      expect(stored).toBe(client.sent.join(''))
    }
  })
})

/**
 * Holds the server's authentication queries (it reads `users` first) until released. Only MySQL
 * can: node:sqlite waits for a lock synchronously, which would freeze the whole server instead.
 */
async function holdAuthentication(database: DatabaseTarget): Promise<() => Promise<void>> {
  if (database.kind !== 'mysql') return async () => undefined
  const connection = await createConnection({ uri: database.url })
  defer(() => connection.end())
  await connection.query('LOCK TABLES users WRITE')
  return async () => {
    await connection.query('UNLOCK TABLES')
  }
}

describeEachDatabase('closing right after writing', (databases) => {
  it('edits sent while the server was still authenticating the socket are stored after it closes', async () => {
    const database = await databases.create()
    const server = await startTestServer(database)
    const owner = await registerUser(server, 'Owner')
    for (const protocol of ['hocuspocus', 'y-websocket'] as const) {
      const documentName = `early-${protocol}`
      await createDocument(server, owner, documentName)
      const release = await holdAuthentication(database)
      const ws = new WebSocket(socketUrl(server.wsUrl, protocol, documentName, owner.accessToken))
      defer(() => ws.terminate())
      await once(ws, 'open')
      const wrap = (frame: Uint8Array) =>
        protocol === 'hocuspocus' ? prefixWithDocumentName(documentName, frame) : frame
      if (protocol === 'hocuspocus') ws.send(encodeAuthFrame(documentName, owner.accessToken))
      // Written and closed at once: Hocuspocus queues the edits behind the authentication.
      const doc = new Y.Doc()
      doc.on('update', (update: Uint8Array) => ws.send(wrap(updateFrame(update))))
      for (let i = 0; i < 20; i++) doc.getText('default').insert(i, 'x')
      ws.close()
      await expect.poll(() => server.websockets.openSockets).toBe(0)
      await release()
      await expect
        .poll(() => replayJson(server.database.db, documentName), { timeout: 10_000 })
        .toEqual({ default: 'x'.repeat(20) })
    }
  })
})
