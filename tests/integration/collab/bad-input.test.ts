import { once } from 'node:events'
import * as encoding from 'lib0/encoding'
import { expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { encodeAuthFrame, prefixWithDocumentName } from '../../../server/collab/frames.ts'
import { translateServerFrame } from '../../../server/collab/y-websocket-protocol.ts'
import { docToJson } from '../../../server/documents/content.ts'
import { defer } from '../../helpers/cleanup.ts'
import { documentWithOwner } from '../../helpers/api.ts'
import { connectHocuspocus } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { replayJson } from '../../helpers/log.ts'
import { startTestServer, type TestServer } from '../../helpers/server.ts'

const DOC = 'guarded'

interface RawSocket {
  ws: WebSocket
  frames: Uint8Array[]
  closed: Promise<{ code: number; reason: string }>
}

async function openRaw(url: string): Promise<RawSocket> {
  const ws = new WebSocket(url)
  defer(() => ws.terminate())
  const frames: Uint8Array[] = []
  ws.on('message', (data: Buffer) => frames.push(new Uint8Array(data)))
  const closed = once(ws, 'close').then(([code, reason]) => ({
    code: code as number,
    reason: String(reason),
  }))
  await once(ws, 'open')
  return { ws, frames, closed }
}

/** Sync message "update" (y-protocols type 2) around raw bytes: `[0 Sync][2 Update][varUint8Array]`. */
function syncUpdateFrame(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, 2)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** An update that inserts text into `default`, cut short so it no longer decodes. */
function truncatedUpdate(): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('default').insert(0, 'this must never appear in the document')
  doc.getText('default').delete(0, 5)
  const update = Y.encodeStateAsUpdate(doc)
  return update.subarray(0, Math.floor(update.length * 0.6))
}

function seededBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    out[i] = x & 0xff
  }
  return out
}

async function startGuardedServer(databases: { create(): Promise<TestServer['config']['database']> }) {
  const server = await startTestServer(await databases.create(), { MAX_MESSAGE_BYTES: String(64 * 1024) })
  const { accessToken: token } = await documentWithOwner(server, DOC)
  const owner = connectHocuspocus(server, DOC, { token })
  await owner.synced
  owner.doc.getText('default').insert(0, 'original content')
  await expect.poll(() => server.collab.updateLog.pendingCount(DOC), { timeout: 5_000 }).toBe(0)
  await expect.poll(() => replayJson(server.database.db, DOC)).toEqual({ default: 'original content' })
  return { server, owner, token }
}

async function expectUntouched(server: TestServer, owner: ReturnType<typeof connectHocuspocus>) {
  // Give any (wrongly) accepted change time to spread before checking that none did.
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(docToJson(server.collab.hocuspocus.documents.get(DOC)!)).toEqual({ default: 'original content' })
  expect(docToJson(owner.doc)).toEqual({ default: 'original content' })
  expect(await replayJson(server.database.db, DOC)).toEqual({ default: 'original content' })
  // The server is alive and the well-behaved client still edits.
  owner.doc.getText('default').insert(0, '+')
  await expect
    .poll(() => server.collab.hocuspocus.documents.get(DOC)?.getText('default').toString())
    .toBe('+original content')
  expect((await fetch(`${server.url}/health`)).status).toBe(200)
}

describeEachDatabase('bad input', (databases) => {
  it('/collab: random bytes and malformed headers close that socket only (4400)', async () => {
    const { server, owner } = await startGuardedServer(databases)
    const frames = [
      seededBytes(1, 64),
      seededBytes(2, 3),
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]),
      prefixWithDocumentName('not a valid id!', new Uint8Array([0, 0])),
      prefixWithDocumentName(DOC, new Uint8Array([42])),
    ]
    for (const frame of frames) {
      const raw = await openRaw(`${server.wsUrl}/collab`)
      raw.ws.send(frame)
      expect(await raw.closed).toEqual({ code: 4400, reason: 'invalid-message' })
    }
    await expectUntouched(server, owner)
  })

  it('/collab: a truncated Yjs update closes that document connection and changes nothing', async () => {
    const { server, owner, token } = await startGuardedServer(databases)
    const raw = await openRaw(`${server.wsUrl}/collab`)
    raw.ws.send(encodeAuthFrame(DOC, token))
    raw.ws.send(prefixWithDocumentName(DOC, syncUpdateFrame(truncatedUpdate())))
    // Hocuspocus multiplexes documents over one socket, so the refusal is a CLOSE frame for the document.
    await expect
      .poll(() => raw.frames.map((f) => translateServerFrame(f)).find((a) => a.action === 'close'))
      .toEqual({ action: 'close', close: { code: 4400, reason: 'invalid-message' } })
    // A frame whose length prefix promises more bytes than it has.
    const cut = prefixWithDocumentName(DOC, syncUpdateFrame(seededBytes(3, 40))).subarray(0, 20)
    const second = await openRaw(`${server.wsUrl}/collab`)
    second.ws.send(encodeAuthFrame(DOC, token))
    second.ws.send(cut)
    await expect
      .poll(() => second.frames.map((f) => translateServerFrame(f)).some((a) => a.action === 'close'))
      .toBe(true)
    await expectUntouched(server, owner)
  })

  it('/yjs: random bytes, truncated updates and unknown message types close the socket (4400)', async () => {
    const { server, owner, token } = await startGuardedServer(databases)
    const cases = [
      seededBytes(4, 64).map((b, i) => (i === 0 ? 0xab : b)),
      new Uint8Array([7, 1, 2, 3]),
      syncUpdateFrame(truncatedUpdate()),
      syncUpdateFrame(seededBytes(5, 200)),
    ]
    for (const frame of cases) {
      const raw = await openRaw(`${server.wsUrl}/yjs/${DOC}?token=${token}`)
      raw.ws.send(frame)
      expect((await raw.closed).code).toBe(4400)
    }
    await expectUntouched(server, owner)
  })

  it('an oversized frame closes that socket with 1009 on both paths', async () => {
    const { server, owner, token } = await startGuardedServer(databases)
    const big = new Uint8Array(100 * 1024)
    for (const url of [`${server.wsUrl}/collab`, `${server.wsUrl}/yjs/${DOC}?token=${token}`]) {
      const raw = await openRaw(url)
      raw.ws.send(big)
      expect((await raw.closed).code).toBe(1009)
    }
    await expectUntouched(server, owner)
  })
})
