import * as encoding from 'lib0/encoding'
import { expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { encodeAuthFrame } from '../../../server/collab/frames.ts'
import { createDocument, registerUser } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { connectHocuspocus, connectYWebsocket, type HocuspocusClient } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

interface RawSocket {
  ws: WebSocket
  opened: Promise<void>
  /** Resolves with the HTTP status when the upgrade is refused. */
  refused: Promise<number>
  closed: Promise<{ code: number; reason: string; at: number }>
}

function rawSocket(server: TestServer, path = '/collab'): RawSocket {
  const ws = new WebSocket(`${server.wsUrl}${path}`)
  defer(() => ws.terminate())
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()))
  const refused = new Promise<number>((resolve) =>
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    }),
  )
  ws.on('error', () => undefined)
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })),
  )
  return { ws, opened, refused, closed }
}

/** `[doc][1 Awareness][bytes]`: a well-formed frame Hocuspocus queues until the document authenticates. */
function queuedFrame(documentName: string, bytes: number): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarString(encoder, documentName)
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint8Array(encoder, new Uint8Array(bytes))
  return encoding.toUint8Array(encoder)
}

describeEachDatabase('limits before authentication', (databases) => {
  it('closes a socket whose unauthenticated queue passes 64 KiB', async () => {
    const server = await startTestServer(await databases.create())
    const socket = rawSocket(server)
    await socket.opened
    // Never authenticates; 40 KiB fits, 80 KiB does not.
    socket.ws.send(queuedFrame('queued', 40 * 1024))
    socket.ws.send(queuedFrame('queued', 40 * 1024))
    expect((await socket.closed).code).toBe(4205)
  })

  it('closes a socket that has not authenticated within 10 s, even while it keeps talking', async () => {
    const server = await startTestServer(await databases.create())
    const started = Date.now()
    const silent = rawSocket(server)
    const chatty = rawSocket(server)
    await Promise.all([silent.opened, chatty.opened])
    const chatter = setInterval(() => chatty.ws.readyState === WebSocket.OPEN && chatty.ws.send(queuedFrame('idle', 16)), 500)
    defer(() => clearInterval(chatter))
    const [a, b] = await Promise.all([silent.closed, chatty.closed])
    expect(a.code).toBe(4408)
    expect(b.code).toBe(4408)
    // Gone within 15 s of connecting, not after two Hocuspocus timeout periods.
    expect(Math.max(a.at, b.at) - started).toBeLessThan(15_000)
  })

  it('keeps an authenticated socket past the deadline', async () => {
    const server = await startTestServer(await databases.create(), { SOCKET_AUTH_TIMEOUT_MS: '1000' })
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'kept')
    const hp = connectHocuspocus(server, 'kept', { token: owner.accessToken })
    const yws = connectYWebsocket(server, 'kept', { token: owner.accessToken })
    await Promise.all([hp.synced, yws.synced])
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    hp.doc.getText('default').insert(0, 'still here')
    await expect.poll(() => yws.doc.getText('default').toString()).toBe('still here')
  })

  it('refuses unauthenticated sockets beyond the per-address cap, and admits again when one leaves', async () => {
    const server = await startTestServer(await databases.create(), { MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: '3' })
    const parked = [rawSocket(server), rawSocket(server), rawSocket(server)]
    await Promise.all(parked.map((s) => s.opened))
    expect(await rawSocket(server).refused).toBe(429)
    expect(await rawSocket(server, '/yjs/some-doc').refused).toBe(429)

    parked[0]!.ws.close()
    await parked[0]!.closed
    await expect.poll(async () => {
      const next = rawSocket(server)
      return Promise.race([next.opened.then(() => 'open'), next.refused.then(() => 'refused')])
    }).toBe('open')
  })

  it('an authenticated socket no longer counts against the unauthenticated cap', async () => {
    const server = await startTestServer(await databases.create(), { MAX_UNAUTHENTICATED_SOCKETS_PER_ADDRESS: '2' })
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'office')
    const raw = rawSocket(server)
    await raw.opened
    raw.ws.send(encodeAuthFrame('office', owner.accessToken))
    const clients = Array.from({ length: 5 }, () => connectHocuspocus(server, 'office', { token: owner.accessToken }))
    await Promise.all(clients.map((c) => c.synced))
    expect(raw.ws.readyState).toBe(WebSocket.OPEN)
  })

  it('caps all sockets per address separately, far above the unauthenticated cap', async () => {
    const server = await startTestServer(await databases.create(), { MAX_SOCKETS_PER_ADDRESS: '4' })
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'full')
    const clients = Array.from({ length: 4 }, () => connectHocuspocus(server, 'full', { token: owner.accessToken }))
    await Promise.all(clients.map((c) => c.synced))
    expect(await rawSocket(server).refused).toBe(429)
  })

  it('admits 200 readers from one address with the default limits', async () => {
    const server = await startTestServer(await databases.create())
    const owner = await registerUser(server, 'Owner')
    await createDocument(server, owner, 'crowd')
    const readers: HocuspocusClient[] = []
    // Batches of 25, as the benchmark connects them.
    for (let i = 0; i < 200; i += 25) {
      const batch = Array.from({ length: 25 }, () => connectHocuspocus(server, 'crowd', { token: owner.accessToken }))
      readers.push(...batch)
      await Promise.all(batch.map((c) => c.synced))
    }
    readers[0]!.doc.getText('default').insert(0, 'hello all')
    await expect.poll(() => readers.every((r) => r.doc.getText('default').toString() === 'hello all')).toBe(true)
  })
})
