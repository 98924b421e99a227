import { expect, it, vi } from 'vitest'
import type { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { api, createDocument, registerUser, type TestUser } from '../../helpers/api.ts'
import { connectHocuspocus, connectYWebsocket } from '../../helpers/clients.ts'
import { describeEachDatabase } from '../../helpers/databases.ts'
import { checkpointRows, logRows, replayJson } from '../../helpers/log.ts'
import { contentJson, markers, openDatabase, seqs, startInstance, startInstances, stopAll } from '../../helpers/multi-instance.ts'
import type { ServerProcess } from '../../helpers/process.ts'

type Via = 'collab' | 'yjs'

/** A client of either protocol, reduced to what these tests use. */
interface Client {
  doc: Y.Doc
  awareness: Awareness
  synced: Promise<void>
  destroy(): void
}

function connect(instance: ServerProcess, via: Via, id: string, user: TestUser): Client {
  if (via === 'collab') {
    const client = connectHocuspocus(instance, id, { token: user.accessToken })
    return { doc: client.doc, awareness: client.provider.awareness!, synced: client.synced, destroy: client.destroy }
  }
  const client = connectYWebsocket(instance, id, { token: user.accessToken })
  return { doc: client.doc, awareness: client.provider.awareness, synced: client.synced, destroy: client.destroy }
}

// Not a goal of the issue (presence's 5 s is): generous, for a loaded machine.
const CONVERGED = { timeout: 20_000, interval: 20 }
/** The bound for a client's presence to disappear elsewhere once it left. */
const PRESENCE_GONE = { timeout: 5_000, interval: 20 }

async function ownerAndDocument(instance: ServerProcess) {
  const owner = await registerUser(instance, 'Owner')
  const { id } = await createDocument(instance, owner)
  return { owner, id }
}

describeEachDatabase('[multi-instance] document sync', (databases) => {
  it('clients on two instances converge on a text document, one per protocol each way', async () => {
    const [a, b] = await startInstances(await databases.create())
    // Created through B, first opened through A: users and documents are shared.
    const { owner, id } = await ownerAndDocument(b)
    const clients = [
      connect(a, 'collab', id, owner),
      connect(b, 'yjs', id, owner),
      connect(a, 'yjs', id, owner),
      connect(b, 'collab', id, owner),
    ]
    await Promise.all(clients.map((client) => client.synced))
    clients.forEach((client, i) => client.doc.getText('default').insert(0, `<${i}>`))
    await vi.waitFor(() => {
      const texts = clients.map((client) => client.doc.getText('default').toString())
      for (const text of texts) expect(text).toBe(texts[0])
      for (let i = 0; i < clients.length; i++) expect(texts[0]).toContain(`<${i}>`)
    }, CONVERGED)
  })

  it('clients on two instances converge on an XmlFragment document, one per protocol each way', async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, id } = await ownerAndDocument(a)
    const clients = [
      connect(a, 'collab', id, owner),
      connect(b, 'yjs', id, owner),
      connect(a, 'yjs', id, owner),
      connect(b, 'collab', id, owner),
    ]
    await Promise.all(clients.map((client) => client.synced))
    clients.forEach((client, i) => {
      const paragraph = new Y.XmlElement('paragraph')
      paragraph.insert(0, [new Y.XmlText(`from client ${i}`)])
      client.doc.getXmlFragment('prosemirror').insert(0, [paragraph])
    })
    await vi.waitFor(() => {
      const xml = clients.map((client) => client.doc.getXmlFragment('prosemirror').toString())
      for (const each of xml) expect(each).toBe(xml[0])
      for (let i = 0; i < clients.length; i++) expect(xml[0]).toContain(`from client ${i}`)
    }, CONVERGED)
  })

  it('presence crosses instances and disappears within 5 s when the last client of an instance leaves', async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, id } = await ownerAndDocument(a)
    for (const [viaA, viaB] of [['collab', 'yjs'], ['yjs', 'collab']] as const) {
      const onA = connect(a, viaA, id, owner)
      const onB = connect(b, viaB, id, owner)
      await Promise.all([onA.synced, onB.synced])
      onA.awareness.setLocalStateField('marker', `A-${viaA}`)
      onB.awareness.setLocalStateField('marker', `B-${viaB}`)
      await vi.waitFor(() => expect(markers(onB.awareness)).toContain(`A-${viaA}`), CONVERGED)
      await vi.waitFor(() => expect(markers(onA.awareness)).toContain(`B-${viaB}`), CONVERGED)
      // The identity is the authenticated user's, stamped by the instance the client is on.
      const seenOnB = [...onB.awareness.getStates().values()].find((s) => s.marker === `A-${viaA}`)
      expect(seenOnB?.user).toMatchObject({ id: owner.id, name: owner.name })

      // The only client on A leaves: B's client stops showing it.
      onA.destroy()
      await vi.waitFor(() => expect(markers(onB.awareness)).not.toContain(`A-${viaA}`), PRESENCE_GONE)

      // And the other way round: a new client on A sees B's, until B's only client leaves.
      const again = connect(a, viaA, id, owner)
      await again.synced
      await vi.waitFor(() => expect(markers(again.awareness)).toContain(`B-${viaB}`), CONVERGED)
      onB.destroy()
      await vi.waitFor(() => expect(markers(again.awareness)).not.toContain(`B-${viaB}`), PRESENCE_GONE)
      again.destroy()
    }
  })

  it('presence of an instance that is killed disappears from the others within 5 s', async () => {
    const [a, b] = await startInstances(await databases.create())
    const { owner, id } = await ownerAndDocument(b)
    const onA = [connect(a, 'collab', id, owner), connect(a, 'yjs', id, owner)]
    const onB = [connect(b, 'yjs', id, owner), connect(b, 'collab', id, owner)]
    await Promise.all([...onA, ...onB].map((client) => client.synced))
    onA.forEach((client, i) => client.awareness.setLocalStateField('marker', `A${i}`))
    onB.forEach((client, i) => client.awareness.setLocalStateField('marker', `B${i}`))
    for (const client of onB) {
      await vi.waitFor(() => expect(markers(client.awareness)).toEqual(expect.arrayContaining(['A0', 'A1'])), CONVERGED)
    }
    // No goodbye of any kind reaches B: its clients' sockets die with A (they keep retrying A).
    await a.stop('SIGKILL')
    for (const client of onB) {
      await vi.waitFor(() => expect(markers(client.awareness)).not.toContain('A0'), PRESENCE_GONE)
      await vi.waitFor(() => expect(markers(client.awareness)).not.toContain('A1'), PRESENCE_GONE)
      expect(markers(client.awareness)).toEqual(expect.arrayContaining(['B0', 'B1']))
    }
  })
})

describeEachDatabase('[multi-instance] storage', (databases) => {
  it('a REST content read on B right after an edit through A shows it, before A has stored it', async () => {
    const database = await databases.create()
    // A holds its edits in memory for a minute: only the sync on load can bring them to B.
    const [a, b] = await startInstances(database, {
      perInstance: [{ STORE_DEBOUNCE_MS: '60000', STORE_MAX_DEBOUNCE_MS: '120000' }],
    })
    const db = openDatabase(database)
    const { owner, id } = await ownerAndDocument(a)
    const writer = connectHocuspocus(a, id, { token: owner.accessToken })
    await writer.synced
    writer.doc.getText('default').insert(0, 'typed on A')
    await vi.waitFor(() => expect(writer.provider.hasUnsyncedChanges).toBe(false), CONVERGED)
    expect(await seqs(db, id)).toEqual([])

    const read = await api(b, 'GET', `/documents/${id}/content?format=text`, { token: owner.accessToken })
    expect(read.status).toBe(200)
    expect(read.body.toString()).toBe('typed on A')
    // Read through B, not stored by B: the edit is still A's to store, once.
    expect(await seqs(db, id)).toEqual([])
    await stopAll([a, b])
    expect(await seqs(db, id)).toEqual([1])
    expect(await replayJson(db, id)).toEqual({ default: 'typed on A' })
  })

  /**
   * Types `edits` characters, alternating between the two clients, each stored before the next:
   * every edit is one row, and a relayed update stored a second time would be one more.
   */
  async function editScript(instances: [ServerProcess, ServerProcess], database: Awaited<ReturnType<typeof databases.create>>) {
    const [first, second] = instances
    const db = openDatabase(database)
    const { owner, id } = await ownerAndDocument(first)
    const clients = [connect(first, 'collab', id, owner), connect(second, 'yjs', id, owner)]
    await Promise.all(clients.map((client) => client.synced))
    const edits = 12
    for (let i = 0; i < edits; i++) {
      const client = clients[i % 2]!
      // Typed after the previous character arrived, so the text reads in order.
      await vi.waitFor(() => expect(client.doc.getText('default').length).toBe(i), CONVERGED)
      client.doc.getText('default').insert(i, String.fromCharCode(97 + i))
      await vi.waitFor(async () => expect((await seqs(db, id)).length).toBe(i + 1), CONVERGED)
    }
    await vi.waitFor(() => {
      for (const client of clients) expect(client.doc.getText('default').toString()).toBe('abcdefghijkl')
    }, CONVERGED)
    const live = contentJson(clients[0]!.doc)
    await stopAll([...new Set(instances)])
    return { rows: await seqs(db, id), replay: await replayJson(db, id), live }
  }

  it('stores every change once: the same edits through one instance and through two give the same rows', async () => {
    const one = await databases.create()
    const single = await startInstance(one)
    const throughOne = await editScript([single, single], one)
    const two = await databases.create()
    const [a, b] = await startInstances(two)
    const throughTwo = await editScript([a, b], two)

    const gapFree = Array.from({ length: 12 }, (_, i) => i + 1)
    expect(throughOne.rows).toEqual(gapFree)
    expect(throughTwo.rows).toEqual(gapFree)
    // Replaying the log gives what the clients show.
    expect(throughOne.replay).toEqual(throughOne.live)
    expect(throughTwo.replay).toEqual(throughTwo.live)
  })

  it('writes checkpoints one instance at a time: each is exact, and none follows another before the log has outgrown it', async () => {
    const database = await databases.create()
    const [a, b] = await startInstances(database)
    const db = openDatabase(database)
    const { owner, id } = await ownerAndDocument(a)
    const clients = [connect(a, 'collab', id, owner), connect(b, 'yjs', id, owner)]
    await Promise.all(clients.map((client) => client.synced))
    // Alternating instances, each batch stored before the next: both instances count rows toward
    // a checkpoint (64 KiB of rows outweighing the last one), only half of them their own.
    for (let batch = 0; batch < 24; batch++) {
      const text = clients[batch % 2]!.doc.getText('default')
      text.insert(text.length, `batch ${batch} `.repeat(1_000))
      await vi.waitFor(async () => expect((await seqs(db, id)).length).toBe(batch + 1), CONVERGED)
    }
    await vi.waitFor(async () => expect((await checkpointRows(db, id)).length).toBeGreaterThan(0), CONVERGED)
    await stopAll([a, b])

    const rows = await logRows(db, id)
    const checkpoints = await checkpointRows(db, id)
    for (let i = 1; i < checkpoints.length; i++) {
      const previous = checkpoints[i - 1]!
      const between = rows.filter((row) => row.seq > previous.seq && row.seq <= checkpoints[i]!.seq)
      const bytes = between.reduce((sum, row) => sum + row.bytes, 0)
      expect(bytes > Math.max(previous.bytes, 64 * 1024) || between.length >= 200).toBe(true)
    }
    // Each equals the log up to its seq, and loading through the newest equals the clients' document.
    for (const { seq } of checkpoints) {
      const upto = new Y.Doc()
      const data = await db.selectFrom('document_updates').select('data').where('document_id', '=', id).where('seq', '<=', seq).orderBy('seq').execute()
      for (const row of data) Y.applyUpdate(upto, row.data)
      expect(await replayJson(db, id, seq)).toEqual(contentJson(upto))
    }
    expect(await replayJson(db, id)).toEqual(contentJson(clients[0]!.doc))
    // No lease is left behind.
    expect(await db.selectFrom('job_locks').selectAll().where('name', 'like', 'checkpoint:%').execute()).toEqual([])
  })

  it('keeps seqs gap-free while two instances append to one document at once', async () => {
    const database = await databases.create()
    const [a, b] = await startInstances(database, { env: { STORE_DEBOUNCE_MS: '10', STORE_MAX_DEBOUNCE_MS: '40' } })
    const db = openDatabase(database)
    const { owner, id } = await ownerAndDocument(a)
    const clients = [connect(a, 'collab', id, owner), connect(a, 'yjs', id, owner), connect(b, 'yjs', id, owner), connect(b, 'collab', id, owner)]
    await Promise.all(clients.map((client) => client.synced))
    const perClient = 60
    // Every client types at once, a character per timer tick, so both instances append all along.
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < perClient; i++) {
          client.doc.getText('default').insert(0, String(c))
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
      }),
    )
    await vi.waitFor(() => {
      const texts = clients.map((client) => client.doc.getText('default').toString())
      expect(texts[0]).toHaveLength(clients.length * perClient)
      for (const text of texts) expect(text).toBe(texts[0])
    }, CONVERGED)
    const live = contentJson(clients[0]!.doc)
    await stopAll([a, b])
    const rows = await seqs(db, id)
    expect(rows).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1))
    expect(await replayJson(db, id)).toEqual(live)
    // Many appends, from both instances while the other was appending too.
    expect(rows.length).toBeGreaterThan(8)
  })
})
