import { once } from 'node:events'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { expect, it } from 'vitest'
import { WebSocket } from 'ws'
import type { Awareness } from 'y-protocols/awareness'
import { encodeAuthFrame } from '../../../server/collab/frames.ts'
import { createShareLink, documentWithOwner, registerUser, share, type TestUser } from '../../helpers/api.ts'
import { defer } from '../../helpers/cleanup.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase, type TestDatabases } from '../../helpers/databases.ts'
import { type ConfigOverrides, startTestServer, type TestServer } from '../../helpers/server.ts'

const DOC = 'presence'
const FORGED_NAME = 'Ada (owner)'

type State = Record<string, unknown> | null
interface Entry {
  clientId: number
  clock: number
  state: State
  /** Sent instead of `JSON.stringify(state)`. */
  rawJson?: string
}

/** A y-protocols awareness update: `varUint count`, then `varUint clientId, varUint clock, varString JSON`. */
function awarenessUpdate(entries: Entry[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, entries.length)
  for (const { clientId, clock, state, rawJson } of entries) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, rawJson ?? JSON.stringify(state))
  }
  return encoding.toUint8Array(encoder)
}

const PROTOCOLS = ['collab', 'yjs'] as const
type Protocol = (typeof PROTOCOLS)[number]

/** A hand-driven socket that sends whatever awareness it likes, on either protocol. */
interface RawPeer {
  send(entries: Entry[]): void
  /** An awareness frame around `update` as is. */
  sendUpdate(update: Uint8Array): void
  closed: Promise<number>
  terminate(): void
}

/**
 * When the peer's awareness frames reach the server: `queued` right behind its token (as a
 * HocuspocusProvider sends its first awareness), so Hocuspocus holds them until authentication;
 * `established` once the connection has answered a sync step 1. See awareness-routing.ts.
 */
const ARRIVALS = ['queued', 'established'] as const
type Arrival = (typeof ARRIVALS)[number]

async function openRawPeer(server: TestServer, via: Protocol, token: string, arrival: Arrival = 'queued'): Promise<RawPeer> {
  const url =
    via === 'collab' ? `${server.wsUrl}/collab` : `${server.wsUrl}/yjs/${DOC}?token=${encodeURIComponent(token)}`
  const ws = new WebSocket(url)
  defer(() => ws.terminate())
  await once(ws, 'open')
  const frame = (write: (encoder: encoding.Encoder) => void) => {
    const encoder = encoding.createEncoder()
    if (via === 'collab') encoding.writeVarString(encoder, DOC)
    write(encoder)
    return encoding.toUint8Array(encoder)
  }
  // Hocuspocus queues a document's frames until its Auth frame has been accepted.
  if (via === 'collab') ws.send(encodeAuthFrame(DOC, token))
  if (arrival === 'established') {
    const synced = new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        const decoder = decoding.createDecoder(data)
        if (via === 'collab') decoding.readVarString(decoder)
        const type = decoding.readVarUint(decoder)
        if ((type === 0 || type === 4) && decoding.readVarUint(decoder) === 1) resolve()
      })
    })
    // Sync step 1 with an empty state vector: the server answers with step 2 once connected.
    ws.send(frame((encoder) => encoding.writeUint8Array(encoder, new Uint8Array([0, 0, 1, 0]))))
    await synced
  }
  const closed = once(ws, 'close').then(([code]) => code as number)
  const sendUpdate = (update: Uint8Array) =>
    ws.send(
      frame((encoder) => {
        encoding.writeVarUint(encoder, 1)
        encoding.writeVarUint8Array(encoder, update)
      }),
    )
  return {
    send: (entries) => sendUpdate(awarenessUpdate(entries)),
    sendUpdate,
    closed,
    terminate: () => ws.terminate(),
  }
}

/** Every state an observer was ever shown, as JSON: "never saw X" is checked against all of them. */
function recordStates(awareness: Awareness): string[] {
  const seen: string[] = []
  awareness.on('update', ({ added, updated }: { added: number[]; updated: number[] }) => {
    for (const id of [...added, ...updated]) seen.push(JSON.stringify(awareness.getStates().get(id)))
  })
  return seen
}

interface Observer {
  name: string
  awareness: Awareness
  seen: string[]
}

/** An honest HocuspocusProvider and an honest y-websocket client, both watching presence. */
async function observers(server: TestServer, token: string): Promise<Observer[]> {
  const hp = connectHocuspocus(server, DOC, { token })
  const yws = connectYWebsocket(server, DOC, { token })
  await Promise.all([hp.synced, yws.synced])
  return [
    { name: 'HocuspocusProvider', awareness: hp.provider.awareness!, seen: recordStates(hp.provider.awareness!) },
    { name: 'WebsocketProvider', awareness: yws.provider.awareness, seen: recordStates(yws.provider.awareness) },
  ]
}

function stateOf(observer: Observer, clientId: number): State | undefined {
  return observer.awareness.getStates().get(clientId) as State | undefined
}

async function setup(databases: TestDatabases, overrides?: ConfigOverrides) {
  const server = await startTestServer(await databases.create(), overrides)
  const owner = await documentWithOwner(server, DOC)
  const mallory = await registerUser(server, 'Mallory')
  await share(server, owner, DOC, mallory, 'viewer')
  return { server, owner, mallory }
}

const stamped = (user: Pick<TestUser, 'id' | 'name'>) => ({ id: user.id, name: user.name })

describeEachDatabase('presence', (databases) => {
  for (const via of PROTOCOLS) for (const arrival of ARRIVALS) {
    it(`awareness for another client's id is dropped, and others see the stamped name (sender on /${via}, ${arrival})`, async () => {
      const { server, owner, mallory } = await setup(databases)
      const ada = connectHocuspocus(server, DOC, { token: owner.accessToken })
      await ada.synced
      ada.provider.setAwarenessField('user', { name: 'Ada', color: '#f00' })
      const watching = await observers(server, owner.accessToken)
      const adaId = ada.doc.clientID
      for (const o of watching) {
        await expect.poll(() => stateOf(o, adaId), { message: o.name }).toEqual({ user: { ...stamped(owner), color: '#f00' } })
      }

      const peer = await openRawPeer(server, via, mallory.accessToken, arrival)
      peer.send([{ clientId: adaId, clock: 1000, state: { user: { name: FORGED_NAME }, text: 'forged' } }])
      peer.send([{ clientId: adaId, clock: 1001, state: null }])
      const ownId = 0x7000_0001
      const ownState = { user: { name: FORGED_NAME, id: owner.id, color: '#0f0' }, cursor: { anchor: 3 } }
      peer.send([{ clientId: ownId, clock: 1, state: ownState }])

      // The peer's frames are handled in order: once its own state shows, the forgeries were refused.
      for (const o of watching) {
        await expect
          .poll(() => stateOf(o, ownId), { message: o.name })
          .toEqual({ user: { ...stamped(mallory), color: '#0f0' }, cursor: { anchor: 3 } })
        expect(stateOf(o, adaId), o.name).toEqual({ user: { ...stamped(owner), color: '#f00' } })
        expect(o.seen.join('\n'), o.name).not.toContain(FORGED_NAME)
      }
      expect(ada.provider.awareness!.getLocalState()).toEqual({ user: { name: 'Ada', color: '#f00' } })
      expect(server.collab.metrics.droppedAwarenessStates).toBeGreaterThanOrEqual(1)
    })

    it(`an oversized awareness state is dropped (sender on /${via}, ${arrival})`, async () => {
      const { server, owner, mallory } = await setup(databases)
      const watching = await observers(server, owner.accessToken)
      const peer = await openRawPeer(server, via, mallory.accessToken, arrival)
      const id = 0x7000_0002
      const big = 'x'.repeat(17 * 1024)
      // Over the default 16 KiB cap: as a first announcement, and as an update of an id it owns.
      peer.send([{ clientId: id, clock: 1, state: { big } }])
      peer.send([{ clientId: id, clock: 2, state: { step: 2 } }])
      peer.send([{ clientId: id, clock: 3, state: { big } }])
      peer.send([{ clientId: id, clock: 4, state: { step: 4, fits: 'y'.repeat(15 * 1024) } }])

      for (const o of watching) {
        await expect.poll(() => (stateOf(o, id) as { step?: number } | undefined)?.step, { message: o.name }).toBe(4)
        expect(o.seen.some((json) => json.includes(big)), o.name).toBe(false)
      }
      expect(server.collab.metrics.droppedAwarenessStates).toBe(2)
    })

    it(`a connection may announce at most 4 client ids (sender on /${via}, ${arrival})`, async () => {
      const { server, owner, mallory } = await setup(databases)
      const watching = await observers(server, owner.accessToken)
      const peer = await openRawPeer(server, via, mallory.accessToken, arrival)
      const ids = Array.from({ length: 10 }, (_, i) => 0x7100_0000 + i)
      peer.send(ids.map((clientId, i) => ({ clientId, clock: 1, state: { fake: i } })))
      peer.send([{ clientId: 0x7200_0000, clock: 1, state: { fake: 'later' } }])
      peer.send([{ clientId: ids[0]!, clock: 2, state: { fake: 0, done: true } }])

      const shown = (o: Observer) => [...o.awareness.getStates()].filter(([, s]) => 'fake' in s).map(([id]) => id)
      for (const o of watching) {
        await expect.poll(() => (stateOf(o, ids[0]!) as { done?: boolean } | undefined)?.done, { message: o.name }).toBe(true)
        expect(shown(o).sort(), o.name).toEqual(ids.slice(0, 4))
      }
    })

    it(`a client's own removal reaches the others, and whatever it leaves goes when it disconnects (/${via}, ${arrival})`, async () => {
      const { server, owner, mallory } = await setup(databases)
      const watching = await observers(server, owner.accessToken)
      const peer = await openRawPeer(server, via, mallory.accessToken, arrival)
      const id = 0x7000_0003
      peer.send([{ clientId: id, clock: 1, state: { step: 1 } }])
      for (const o of watching) await expect.poll(() => stateOf(o, id), { message: o.name }).toMatchObject({ step: 1 })

      peer.send([{ clientId: id, clock: 2, state: null }])
      for (const o of watching) await expect.poll(() => stateOf(o, id), { message: o.name }).toBeUndefined()

      // Back again, then the socket dies without a goodbye.
      peer.send([{ clientId: id, clock: 3, state: { step: 3 } }])
      for (const o of watching) await expect.poll(() => stateOf(o, id), { message: o.name }).toMatchObject({ step: 3 })
      peer.terminate()
      for (const o of watching) await expect.poll(() => stateOf(o, id), { message: o.name }).toBeUndefined()
    })
  }

  for (const via of PROTOCOLS) {
    it(`a state that is not JSON is dropped and the connection stays; an undecodable frame ends it (/${via})`, async () => {
      const { server, owner, mallory } = await setup(databases)
      const watching = await observers(server, owner.accessToken)
      const peer = await openRawPeer(server, via, mallory.accessToken, 'established')
      const id = 0x7000_0004
      peer.send([{ clientId: id, clock: 1, state: null, rawJson: '{"user": not json' }])
      peer.send([{ clientId: id, clock: 2, state: { step: 2 } }])
      for (const o of watching) await expect.poll(() => stateOf(o, id), { message: o.name }).toMatchObject({ step: 2 })
      expect(server.collab.metrics.droppedAwarenessStates).toBe(1)

      // Says 3 entries, holds 1.
      const update = awarenessUpdate([{ clientId: id, clock: 3, state: { step: 3 } }])
      update[0] = 3
      const invalid = server.collab.metrics.invalidMessages
      peer.sendUpdate(update)
      // /collab multiplexes documents, so only the document's connection ends, not the socket.
      if (via === 'yjs') expect(await peer.closed).toBe(4400)
      await expect.poll(() => server.collab.metrics.invalidMessages).toBe(invalid + 1)
      for (const o of watching) await expect.poll(() => stateOf(o, id), { message: o.name }).toBeUndefined()
    })
  }

  it('providers on either protocol remove their presence with setLocalState(null) and keep the connection', async () => {
    const { server, owner } = await setup(databases)
    const hp = connectHocuspocus(server, DOC, { token: owner.accessToken })
    const yws = connectYWebsocket(server, DOC, { token: owner.accessToken })
    await Promise.all([hp.synced, yws.synced])
    hp.provider.setAwarenessField('cursor', 1)
    yws.provider.awareness.setLocalStateField('cursor', 2)
    const hpId = hp.doc.clientID
    const ywsId = yws.doc.clientID
    await expect.poll(() => yws.provider.awareness.getStates().get(hpId)).toMatchObject({ cursor: 1 })
    await expect.poll(() => hp.provider.awareness!.getStates().get(ywsId)).toMatchObject({ cursor: 2 })

    hp.provider.awareness!.setLocalState(null)
    yws.provider.awareness.setLocalState(null)
    await expect.poll(() => yws.provider.awareness.getStates().has(hpId)).toBe(false)
    await expect.poll(() => hp.provider.awareness!.getStates().has(ywsId)).toBe(false)

    hp.provider.awareness!.setLocalState({ cursor: 10 })
    await expect.poll(() => yws.provider.awareness.getStates().get(hpId)).toMatchObject({ cursor: 10 })
  })

  it('the name others see is the caller’s, never the client’s claim; a share-link holder is "Guest"', async () => {
    const { server, owner, mallory } = await setup(databases)
    const link = await createShareLink(server, owner, DOC, 'editor')
    const watcher = connectHocuspocus(server, DOC, { token: owner.accessToken })
    const viaCollab = connectHocuspocus(server, DOC, { token: mallory.accessToken })
    const viaYjs = connectYWebsocket(server, DOC, { token: link.token })
    await Promise.all([watcher.synced, viaCollab.synced, viaYjs.synced])

    viaCollab.provider.setAwarenessField('user', { name: FORGED_NAME, id: owner.id, color: '#123456' })
    viaYjs.provider.awareness.setLocalStateField('user', { name: FORGED_NAME, color: '#abcdef' })
    const states = () => watcher.provider.awareness!.getStates()
    await expect
      .poll(() => states().get(viaCollab.doc.clientID))
      .toEqual({ user: { ...stamped(mallory), color: '#123456' } })
    await expect
      .poll(() => states().get(viaYjs.doc.clientID))
      .toEqual({ user: { id: `link:${link.id}`, name: 'Guest', color: '#abcdef' } })
  })

  it('the id cap and the size cap are configurable', async () => {
    const { server, owner, mallory } = await setup(databases, {
      PRESENCE_MAX_CLIENT_IDS: '1',
      PRESENCE_MAX_STATE_BYTES: '512',
    })
    const watching = await observers(server, owner.accessToken)
    const peer = await openRawPeer(server, 'collab', mallory.accessToken)
    const [first, second] = [0x7300_0001, 0x7300_0002]
    peer.send([
      { clientId: first, clock: 1, state: { n: 1 } },
      { clientId: second, clock: 1, state: { n: 2 } },
    ])
    peer.send([{ clientId: first, clock: 2, state: { n: 3, pad: 'p'.repeat(600) } }])
    peer.send([{ clientId: first, clock: 3, state: { n: 4 } }])
    for (const o of watching) {
      await expect.poll(() => stateOf(o, first), { message: o.name }).toMatchObject({ n: 4 })
      expect(stateOf(o, second), o.name).toBeUndefined()
      expect(o.seen.some((json) => json.includes('ppp')), o.name).toBe(false)
    }
  })
})
